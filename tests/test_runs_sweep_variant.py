"""`gdlab runs SWEEP/000_x`: a variant folder listed on its own reads `running` while its sweep trains it
(the sweep's lock, not one of the variant's own, says so), as a running run does. Hand-made folders."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest

from tests.test_plot import make_sweep
from tests.test_plot_more import cli

pytestmark = pytest.mark.skipif(not Path("/proc/locks").exists(), reason="whether a sweep runs is read from /proc/locks")


def half_done_sweep(root: Path) -> tuple[Path, Path, Path]:
    """(sweep, a finished variant, a variant with 20 rows and no summary yet)."""
    sweep = make_sweep(root / "sweep-2026-11-29_07-00-00", lrs=(0.01, 0.1))
    done, going = sorted(d for d in sweep.iterdir() if d.is_dir())
    (going / "summary.json").unlink()
    (sweep / ".sweep.lock").write_text("")
    return sweep, done, going


def row_of(folder: Path) -> dict:
    result = cli("runs", folder, "--json")
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    return row


def test_a_variant_of_a_running_sweep_reads_running(tmp_path):
    sweep, done, going = half_done_sweep(tmp_path)
    with open(sweep / ".sweep.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as the sweep's process holds it while it trains
        row, finished = row_of(going), row_of(done)
        table = cli("runs", going)
    assert (row["status"], row["running"], row["steps"]) == ("running", True, 20)  # was "no summary", false
    assert "running" in table.stdout and "no summary" not in table.stdout
    # a variant that has written its summary is done, whatever its sweep still trains
    assert (finished["status"], finished["running"]) == ("completed", False)


def test_a_variant_of_a_stopped_sweep_keeps_what_it_had(tmp_path):
    sweep, done, going = half_done_sweep(tmp_path)
    assert (row_of(going)["status"], row_of(going)["running"]) == ("no summary", False)
    assert row_of(done)["status"] == "completed"
