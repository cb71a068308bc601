"""`gdlab validate` (configs checked without training) and `gdlab schema` (the config's JSON Schema)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from gdlab.cli.app import command
from gdlab.cli.train_cmd import in_config
from gdlab.errors import EXIT_USAGE, GdlabError


@command("validate")
def validate_command(
    configs: Annotated[list[Path], typer.Argument(help="config files", show_default=False)],
    no_data: Annotated[bool, typer.Option("--no-data", help="check what the config decides alone (schema, values, "
                                          "intervals); skip loading data, shapes and the device")] = False,
) -> None:
    """Check configs without training: schema, values, data, layer shapes and the device, and every variant of a `sweep:` section."""
    from gdlab.loading import load_config

    bad = 0
    for path in configs:
        cfg = None
        try:
            cfg = load_config(path)
            if not no_data:  # what `gdlab train` would refuse here: the data, the shapes, the device
                from gdlab.runner import prepare_data, resolve_device

                prepare_data(cfg)
                resolve_device(cfg.train.device)
            else:  # no data read, but a split of 0 is known to leave no validation rows, and train.steps the length
                from gdlab.engine.batches import check_intervals

                cfg.check_val_watchers(cfg.data.val_fraction > 0)
                check_intervals(cfg, None)
            if cfg.sweep:  # every variant of its `sweep:` section, as gdlab sweep would check them
                from gdlab.sweep.preflight import check_without_data, preflight
                from gdlab.sweep.setup import setup_sweep

                setup = setup_sweep(path, [])
                if no_data:
                    check_without_data(setup)
                else:
                    preflight(setup)
        except GdlabError as exc:
            bad += 1
            message = in_config(path, exc).message
            data_file = getattr(cfg.data, "path", None) if cfg is not None else None
            if data_file and message.startswith(str(data_file)):  # a data file's cell: which config read it
                message = f"{path}: {message}"
            sys.stderr.write(f"gdlab: error: {' '.join(message.split())}\n")
            continue
        sys.stdout.write(f"ok  {path}\n")
    if bad:
        raise typer.Exit(EXIT_USAGE)


@command("schema")
def schema_command() -> None:
    """Print the config's JSON Schema (for editors: yaml-language-server)."""
    from gdlab.config import Config

    # The draft says how to read it: prefixItems (a Linear's [in, out]) exists only from 2020-12 on, and an
    # editor that assumes draft-07 would let any list through.
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **Config.model_json_schema()}
    sys.stdout.write(json.dumps(schema, indent=2) + "\n")
