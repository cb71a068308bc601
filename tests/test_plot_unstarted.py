"""gdlab plot / compare on a sweep stopped before it reached every variant: a variant that never started has
no folder by design (interrupted with 0 steps, skipped after --fail-fast, pending after a kill), so it is
one line for all of them, not a 'no such file' warning each."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from tests.test_plot import make_sweep
from tests.test_plot_more import cli


def stopped_sweep(tmp_path):
    """A four-variant sweep whose last three never started, as gdlab leaves one (no folder, or an empty one)."""
    folder = make_sweep(tmp_path / "sw", lrs=(0.001, 0.01, 0.1, 0.2))
    table = pd.read_csv(folder / "sweep.csv")
    for i, status in zip((1, 2, 3), ("interrupted", "skipped", "pending")):
        shutil.rmtree(folder / table.loc[i, "run_dir"])
        if status == "pending":  # after a kill -9 a group not yet reached keeps the empty folders it was given
            (folder / table.loc[i, "run_dir"]).mkdir()
        table.loc[i, ["status", "final_train_loss", "best_val_loss", "wall_s"]] = [status, None, None, None]
        table.loc[i, "steps"] = 0 if status == "interrupted" else None
    table.to_csv(folder / "sweep.csv", index=False)
    return folder


@pytest.mark.parametrize("command", ["plot", "compare"])
def test_variants_that_never_started_are_one_line_not_a_missing_file_each(tmp_path, command):
    folder = stopped_sweep(tmp_path)
    args = [folder] if command == "plot" else [folder, "-o", tmp_path / "c.png"]
    result = cli(command, *args)
    assert result.exit_code == 0, result.output
    assert "no such file" not in result.stderr, result.stderr
    assert result.stderr.count("never started") == 1, result.stderr
    assert "3 variants never started" in result.stderr


def test_a_started_variant_whose_folder_is_gone_is_still_named(tmp_path):
    folder = make_sweep(tmp_path / "sw", lrs=(0.001, 0.01))
    shutil.rmtree(folder / pd.read_csv(folder / "sweep.csv").loc[1, "run_dir"])  # completed: it had a folder
    result = cli("plot", folder)
    assert result.exit_code == 0 and "no such file" in result.stderr and "never started" not in result.stderr
