"""Command-line interface. Each command module registers itself on `app`; none imports torch at load."""

from gdlab.cli.app import app
from gdlab.cli import lab_cmd, lrfind_cmd, plot_cmd, sweep_cmd, train_cmd  # noqa: F401  (each module registers its commands)


def main() -> None:
    app()
