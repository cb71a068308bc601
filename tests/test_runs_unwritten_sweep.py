"""`gdlab runs` on a sweep folder that has sweep.yaml but no sweep.csv (a sweep stopped before it wrote one, or
still starting): one sweep row, not one run row per variant folder. Hand-made folders; no training, no torch."""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path

import pytest

from tests.test_plot import make_sweep
from tests.test_plot_more import cli, one_line_error

needs_proc_locks = pytest.mark.skipif(not Path("/proc/locks").exists(), reason="whether a sweep runs is read from /proc/locks")


def unwritten_sweep(root: Path) -> Path:
    """Three planned variants: the first finished, the second with rows and no summary, the third never started."""
    sweep = make_sweep(root / "s" / "sweep-2026-11-26_10-00-00", lrs=(0.01, 0.1, 0.2))
    (sweep / "sweep.csv").unlink()
    (sweep / "001_lr=0.1_seed=0" / "summary.json").unlink()
    shutil.rmtree(sweep / "002_lr=0.2_seed=0")
    (sweep / ".sweep.lock").write_text("")
    return sweep


@needs_proc_locks
def test_runs_lists_a_stopped_sweep_without_sweep_csv_as_one_interrupted_sweep(tmp_path):
    sweep = unwritten_sweep(tmp_path / "runs")
    result = cli("runs", tmp_path / "runs", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["kind"], r["path"]) for r in rows] == [("sweep", str(sweep))]  # were two "run" rows
    row = rows[0]
    assert row["status"] == "3 variants: 2 interrupted, 1 completed (no sweep.csv)"
    assert (row["statuses"], row["running"]) == ({"interrupted": 2, "completed": 1}, False)
    summary = json.loads((sweep / "000_lr=0.01_seed=0" / "summary.json").read_text())
    assert row["final_train_loss"] == pytest.approx(summary["final_train_loss"])  # the finished variant's only
    assert row["steps"] == 40  # 20 + 20 rows of the unfinished one + 0


@needs_proc_locks
def test_runs_lists_a_running_sweep_without_sweep_csv_as_running_with_its_training_and_pending_variants(tmp_path):
    sweep = unwritten_sweep(tmp_path / "runs")
    with open(sweep / ".sweep.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as the sweep's process holds it while it trains
        result = cli("runs", tmp_path / "runs", "--json")
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert (row["kind"], row["running"]) == ("sweep", True)
    # the variant with rows and no summary trains now, as `runs` of it alone says; the one with no folder waits
    assert row["status"] == "running, 3 variants: 1 completed, 1 running, 1 pending (no sweep.csv)"


def test_plot_of_a_sweep_without_sweep_csv_says_so_in_one_line(tmp_path):
    sweep = unwritten_sweep(tmp_path / "runs")
    one_line_error(cli("plot", sweep), str(sweep), "no sweep.csv")


@needs_proc_locks
def test_a_stopped_random_search_counts_its_joint_draws_once(tmp_path):
    """Drawn axes vary together: 3 draws of lr and momentum are 3 variants, not the 3 x 3 of a grid."""
    import yaml

    sweep = unwritten_sweep(tmp_path / "runs")
    doc = yaml.safe_load((sweep / "sweep.yaml").read_text())
    doc["axes"]["optimizer.momentum"] = [0.5, 0.6, 0.7]
    doc["sampling"] = {"samples": 3, "seed": 0, "draws": {"optimizer.lr": "loguniform(1e-3,1)",
                                                         "optimizer.momentum": "uniform(0,0.9)"}}
    (sweep / "sweep.yaml").write_text(yaml.safe_dump(doc))
    [row] = json.loads(cli("runs", tmp_path / "runs", "--json").stdout)
    assert row["status"] == "3 variants: 2 interrupted, 1 completed (no sweep.csv)"
