"""A sweep's terminal output as a CI log keeps it: swept values and errors shown as they are (not read as rich
markup), and each variant's line and each best line on one line, however long, for grep."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.helpers import invoke

# Column names as a real table has them: long, and a list of them is `[...]` text that starts with a letter.
LONG = [f"sensor_reading_from_the_{side}_side_of_the_intake_manifold_in_volts_per_second" for side in ("left", "right")]
SWAPPED = f"data.features=[{LONG[0]},{LONG[1]}],[{LONG[1]},{LONG[0]}]"


def csv_config(tmp_path: Path) -> Path:
    rows = [f"{i / 40},{(i * 7 % 40) / 40},{i / 40 + 2 * (i * 7 % 40) / 40}" for i in range(40)]
    (tmp_path / "d.csv").write_text(f"{LONG[0]},{LONG[1]},y\n" + "\n".join(rows) + "\n")
    path = tmp_path / "c.yaml"
    path.write_text(f"name: csvreg\ndata: {{name: csv, path: d.csv, target: y, features: [{LONG[0]}, {LONG[1]}]}}\n"
                    "model:\n  - Linear: [2, 1]\nloss: MSELoss\noptimizer: {name: GD, lr: 0.1}\n"
                    "train: {steps: 3, device: cpu}\n")
    return path


def test_list_values_of_text_show_in_the_tables_and_the_best_line_is_one_line(tmp_path):
    """`data.features=[a, b]` read as a markup tag left the column blank and the best line said `data.features= `;
    past 200 characters the best line was wrapped, its run folder on a line of its own."""
    out = tmp_path / "sw"
    result = invoke("sweep", csv_config(tmp_path), SWAPPED, "--run-dir", out)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    shown = f"[{LONG[0]}, {LONG[1]}]"
    assert any(line.startswith("│") and shown in line for line in result.stdout.splitlines()), result.stdout
    best = [line for line in result.stdout.splitlines() if line.startswith("best: ")]
    run_dir = pd.read_csv(out / "sweep.csv").sort_values("best_val_loss").run_dir.iloc[0]
    assert len(best) == 1 and "data.features=[" in best[0] and best[0].endswith(f"  {run_dir}"), result.stdout
    assert len(best[0]) > 200


def test_a_failed_variants_error_is_shown_as_it_is(tmp_path, monkeypatch):
    """torch's CPU out-of-memory error starts `[enforce fail at ...]`, which rich took for a tag and dropped;
    a `[/...]` in an error stopped the sweep half-way with a MarkupError traceback."""
    import gdlab.runner

    error = "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory [/dev/shm]"

    def run_group(variants, *args, **kwargs):
        raise RuntimeError(error)

    monkeypatch.setattr(gdlab.runner, "run_group", run_group)
    out = tmp_path / "sw"
    result = invoke("sweep", csv_config(tmp_path), "optimizer.lr=0.1,0.2", "--vectorize", "off", "--run-dir", out)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (result.stdout, result.exception)
    lines = [line for line in result.stdout.splitlines() if line.lstrip().startswith("failed")]
    assert len(lines) == 2 and all(line.endswith(f"RuntimeError: {error}") for line in lines), result.stdout
    assert list(pd.read_csv(out / "sweep.csv").status) == ["failed", "failed"]


def test_a_grid_or_ranking_wider_than_200_columns_is_printed_whole_when_piped(tmp_path):
    """Piped, the tables were squeezed into 200 columns: a long value wrapped over two lines and the --dry-run
    folder names were cut (`000_features=sensor_readi…`), so a log named no folder a script could use."""
    cfg = csv_config(tmp_path)
    dry = invoke("sweep", cfg, SWAPPED, "optimizer.lr=0.1,0.2", "--dry-run")
    assert dry.exit_code == 0, (dry.stdout, dry.stderr, dry.exception)
    rows = [line for line in dry.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 4 and all("_in_volts_per_second]" in row and "…" not in row for row in rows), dry.stdout
    out = tmp_path / "sw"
    ran = invoke("sweep", cfg, SWAPPED, "optimizer.lr=0.1,0.2", "--run-dir", out)
    assert ran.exit_code == 0, (ran.stdout, ran.stderr, ran.exception)
    names = set(pd.read_csv(out / "sweep.csv").run_dir)
    assert all(any(name in row for row in rows) for name in names), dry.stdout  # the folders it then made
    ranked = [line for line in ran.stdout.splitlines() if line.startswith("│")]
    assert len(ranked) == 4 and all(f"[{LONG[0]}, {LONG[1]}]" in row or f"[{LONG[1]}, {LONG[0]}]" in row
                                    for row in ranked), ran.stdout
