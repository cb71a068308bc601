"""`gdlab runs`: the run, sweep and lr-find folders under a folder, as a table or JSON, from their files alone
(no torch; pandas only once the command runs)."""

import json
from pathlib import Path
from typing import Optional

import typer

from gdlab.cli.app import command
from gdlab.cli.plot_cmd import _warn
from gdlab.errors import GdlabError


@command("runs", help="List the runs, sweeps and lr-find folders under DIR (default: runs), oldest first.")
def runs(
    root: Optional[Path] = typer.Argument(None, metavar="DIR", help="Folder to search (default: runs)."),
    runs_root: Optional[Path] = typer.Option(None, "--runs", help="the same folder, named as train and sweep name it"),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as a JSON list, for scripts."),
) -> None:
    from gdlab.plotting.runs_index import list_runs

    # `gdlab train ... --runs X` then `gdlab runs --runs X` works as one would guess; `runs A --runs B` is a mistake
    if root is not None and runs_root is not None and root != runs_root:
        raise GdlabError(f"runs: give the folder once, as DIR or as --runs (got {root} and {runs_root})")
    root = root or runs_root or Path("runs")

    warnings: list[str] = []
    try:
        rows = list_runs(root, warnings)
    finally:
        _warn(warnings)
    if as_json:
        typer.echo(json.dumps([row | {"when": row["when"].isoformat(timespec="seconds")} for row in rows], indent=2))
        return
    if not rows:
        typer.echo(_unstarted_variant(root) or f"no runs, sweeps or lr-find folders under {root}")
        return
    _table(rows)


def _unstarted_variant(root: Path) -> str | None:
    """What an empty variant folder of a sweep is (else None): a sweep makes every variant's folder before it
    trains the first, and a stopped one leaves those it never reached (under Ray a variant's files come only
    when its task ends, so its folder is empty while it trains too)."""
    from gdlab.folder_kinds import VARIANT_NAME, is_sweep_folder
    from gdlab.folder_lock import LOCK_NAME, locked_now

    sweep = root.parent
    try:
        if not (VARIANT_NAME.match(root.name) and root.is_dir() and is_sweep_folder(sweep)):
            return None
    except OSError:
        return None
    held = locked_now([sweep / LOCK_NAME])
    if held is None:  # no /proc/locks: whether the sweep runs cannot be told
        return f"{root}: a variant of the sweep {sweep} with no files yet; gdlab runs {sweep} lists the sweep"
    if held:
        return f"{root}: a pending variant of the sweep {sweep}, no files yet; gdlab runs {sweep} lists the sweep"
    return (f"{root}: a variant of the sweep {sweep} with no files (the sweep stopped before it wrote any); "
            f"gdlab sweep --resume {sweep} runs it")


def _table(rows: list[dict]) -> None:
    from gdlab.cli.progress import fmt_number
    from gdlab.cli.streams import output_console
    from rich.table import Table
    from rich.text import Text

    def cell(value) -> Text:  # Text, not str: a '[' in a name or path is not rich markup; '-' as train's and sweep's
        return Text(fmt_number(value))

    table = Table(box=None, header_style="bold")
    for name in ("name", "when", "kind", "status", "final train loss", "best val loss", "steps", "path"):
        table.add_column(name, justify="right" if name in ("final train loss", "best val loss", "steps") else "left")
    for row in rows:
        table.add_row(cell(row["name"]), row["when"].strftime("%Y-%m-%d %H:%M"), row["kind"], cell(row["status"]),
                      cell(row["final_train_loss"]), cell(row["best_val_loss"]), cell(row["steps"]), cell(row["path"]))
    # piped: every run on one line with its whole path last, so grep and `awk '{print $NF}'` get a usable path
    output_console(fit=table).print(table)
