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


def running_sweep(root: Path) -> tuple[Path, Path, Path]:
    """(sweep, a variant training now, one not started) as a running sweep's folder is: sweep.csv says pending
    for both until their group ends, and every variant to run already has its folder (empty until it starts)."""
    sweep, _, going = half_done_sweep(root)
    queued = sweep / "002_lr=0.2_seed=0"
    queued.mkdir()
    lines = (sweep / "sweep.csv").read_text().splitlines()
    header = lines[0].split(",")
    pending = lambda name: ",".join({"status": "pending", "run_dir": name}.get(c, "") for c in header)  # noqa: E731
    lines = lines[:2] + [pending(going.name), pending(queued.name)]
    (sweep / "sweep.csv").write_text("\n".join(lines) + "\n")
    (sweep / "sweep.yaml").write_text((sweep / "sweep.yaml").read_text().replace("- 0.1\n", "- 0.1\n  - 0.2\n"))
    return sweep, going, queued


def test_a_running_sweep_counts_the_variant_it_trains_as_running_as_that_variant_reads(tmp_path):
    """The sweep's row took sweep.csv's `pending` (written before the group started) for a variant that
    `runs SWEEP/001_x` called running."""
    sweep, going, queued = running_sweep(tmp_path)
    with open(sweep / ".sweep.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        [row] = json.loads(cli("runs", tmp_path, "--json").stdout)
        variant = row_of(going)
    assert variant["status"] == "running"
    assert row["statuses"] == {"completed": 1, "running": 1, "pending": 1}, row
    assert row["status"] == "running, 3 variants: 1 completed, 1 running, 1 pending"
    stopped = json.loads(cli("runs", tmp_path, "--json").stdout)[0]  # no one trains it now: sweep.csv as it is
    assert stopped["statuses"] == {"completed": 1, "pending": 2}


def test_a_running_sweeps_steps_count_the_variant_it_trains_as_that_variant_reads(tmp_path):
    """The sweep's steps summed sweep.csv's cells, empty for the variant training now until its group ends,
    while `runs SWEEP/001_x` showed its steps so far."""
    sweep, going, _ = running_sweep(tmp_path)
    header, first = (line.split(",") for line in (sweep / "sweep.csv").read_text().splitlines()[:2])
    finished = int(first[header.index("steps")])  # the finished variant's steps cell
    with open(sweep / ".sweep.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        [row] = json.loads(cli("runs", tmp_path, "--json").stdout)
        variant = row_of(going)
    so_far = len((going / "metrics.csv").read_text().splitlines()) - 1  # its rows: steps 1..N, read another way
    assert variant["steps"] == so_far == 20
    assert row["steps"] == finished + so_far, row  # was the finished variant's alone
    stopped = json.loads(cli("runs", tmp_path, "--json").stdout)[0]  # no one trains it now: sweep.csv as it is
    assert stopped["steps"] == finished


def test_a_variant_not_started_yet_says_what_it_is(tmp_path):
    """It read 'no runs, sweeps or lr-find folders under SWEEP/002_x', as if it were no part of a sweep."""
    sweep, _, queued = running_sweep(tmp_path)
    with open(sweep / ".sweep.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = cli("runs", queued)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{queued}: a pending variant of the sweep {sweep}, no files yet; " \
                                    f"gdlab runs {sweep} lists the sweep"
    result = cli("runs", queued)
    assert result.stdout.strip() == f"{queued}: a variant of the sweep {sweep} with no files (the sweep " \
                                    f"stopped before it wrote any); gdlab sweep --resume {sweep} runs it"
    assert json.loads(cli("runs", queued, "--json").stdout) == []  # --json: no rows, as before
