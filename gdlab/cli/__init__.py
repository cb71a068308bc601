"""Command-line interface. Each command module registers itself on `app`; none imports torch at load."""

from gdlab.cli.app import app
from gdlab.cli import train_cmd  # noqa: F401  (registers train, validate, schema)


def main() -> None:
    app()
