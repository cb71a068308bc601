"""`--jobs N` worker processes: a dead worker fails only its own job, a stop or a fail-fast reaches
the running jobs (which end `interrupted`, files written), and Ctrl-C/SIGTERM to the whole process
group end a sweep as in one process."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from gdlab.sweep.execute import Job
from gdlab.sweep.workers import run_in_workers
from tests.helpers import TINY
from tests.worker_hooks import run_or_die


def job(tmp_path: Path, index: int, name: str, steps: int) -> Job:
    cfg = json.loads(json.dumps(TINY)) | {"name": name}
    cfg["train"] = {"epochs": None, "steps": steps, "device": "cpu"}
    folder = tmp_path / f"{index:03d}_{name}"
    folder.mkdir()
    from gdlab.config import Config

    return Job([index], [Config.model_validate(cfg).resolved()], [str(folder)], [[f"name={name}"]])


def run(jobs: list[Job], fail_fast: bool = False) -> tuple[dict[int, dict], list[tuple[int, dict]]]:
    done: dict[int, dict] = {}
    events: list[tuple[int, dict]] = []

    def on_done(j: Job, results: list[dict]) -> bool:
        done[j.indices[0]] = results[0]
        return fail_fast and results[0]["status"] == "failed"

    run_in_workers(jobs, 2, lambda: False, on_done, lambda j, e: events.append((j.indices[0], e)), run=run_or_die)
    return done, events


def test_a_killed_worker_fails_only_its_own_job(tmp_path):
    jobs = [job(tmp_path, 0, "ok", 20), job(tmp_path, 1, "die", 20), job(tmp_path, 2, "ok", 20), job(tmp_path, 3, "ok", 20)]
    done, events = run(jobs)
    assert done[1]["status"] == "failed" and "killed by signal 9" in done[1]["error"]
    assert [done[i]["status"] for i in (0, 2, 3)] == ["completed"] * 3  # a fresh worker took the rest
    assert all((Path(jobs[i].run_dirs[0]) / "summary.json").is_file() for i in (0, 2, 3))
    assert {"step": 20, "total": 20} in [e for i, e in events if i == 2]  # progress came through the pipe


def test_a_worker_killed_mid_training_reports_the_steps_its_metrics_csv_holds(tmp_path):
    jobs = [job(tmp_path, 0, "die-late", 2_000_000), job(tmp_path, 1, "ok", 5)]
    done, _ = run(jobs)
    assert done[0]["status"] == "failed" and "killed by signal 9" in done[0]["error"]
    rows = pd.read_csv(Path(jobs[0].run_dirs[0]) / "metrics.csv")
    assert done[0]["steps"] == rows["step"].iloc[-1] > 0
    assert done[0]["final_train_loss"] == rows["train_loss"].iloc[-1]
    assert done[1]["status"] == "completed"


def test_a_worker_killed_after_its_group_finished_reports_the_variants_its_files_show(tmp_path):
    """A group of two whose worker dies between writing both variants' files and reporting them: each is the
    completed run its summary.json, model.pt and rows say, as sweep --resume would find it, not failed."""
    from gdlab.config import Config

    configs, folders = [], []
    for lr in (0.1, 0.2):
        cfg = json.loads(json.dumps(TINY)) | {"name": "die-after-files"}
        cfg["train"], cfg["optimizer"]["lr"] = {"epochs": None, "steps": 5, "device": "cpu"}, lr
        configs.append(Config.model_validate(cfg).resolved())
        folders.append(tmp_path / f"{len(folders):03d}_lr={lr}")
        folders[-1].mkdir()
    reported: list[list[dict]] = []
    run_in_workers([Job([0, 1], configs, [str(f) for f in folders], [[], []])], 2, lambda: False,
                   lambda j, results: reported.append(results) and False, run=run_or_die)
    assert reported == [[json.loads((f / "summary.json").read_text()) for f in folders]]
    assert [s["status"] for s in reported[0]] == ["completed", "completed"]


def test_progress_on_disk_reads_the_last_complete_row(tmp_path):
    from gdlab.sweep.execute import progress_on_disk

    metrics = tmp_path / "metrics.csv"
    assert progress_on_disk(str(tmp_path)) == {"steps": 0}  # no file
    metrics.write_text("step,epoch,lr,train_loss,grad_norm,wall_s\n")
    assert progress_on_disk(str(tmp_path)) == {"steps": 0}  # header only
    metrics.write_text(metrics.read_text() + "".join(f"{i},{i / 4},0.1,{1 / i!r},0.5,0.01\n" for i in range(1, 3001)) + "3001,750.2")
    assert progress_on_disk(str(tmp_path)) == {"steps": 3000, "final_train_loss": 1 / 3000}  # 3001 was cut short


def test_fail_fast_stops_the_running_jobs_and_starts_no_more(tmp_path):
    long = 2_000_000  # hours of steps: the test only ends if the stop reaches the running job
    jobs = [job(tmp_path, 0, "long", long), job(tmp_path, 1, "fail", 5), job(tmp_path, 2, "ok", 5)]
    t0 = time.monotonic()
    done, _ = run(jobs, fail_fast=True)
    assert time.monotonic() - t0 < 120
    assert done[1]["status"] == "failed"
    assert done[0]["status"] == "interrupted" and 0 < done[0]["steps"] < long
    assert 2 not in done  # never started: the sweep records it as skipped


def long_parallel_sweep(tmp_path: Path, lrs: str, *extra: str) -> tuple[subprocess.Popen, Path]:
    """A `--jobs 2` sweep of 2,000,000-step variants in its own process group (like a terminal's job),
    returned once both workers are training."""
    cfg = json.loads(json.dumps(TINY))
    cfg["train"] = {"epochs": None, "steps": 2_000_000, "device": "cpu"}
    (tmp_path / "base.yaml").write_text(json.dumps(cfg))
    out = tmp_path / "sw"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gdlab", "sweep", str(tmp_path / "base.yaml"), f"optimizer.lr={lrs}",
         "--vectorize", "off", "--jobs", "2", "--run-dir", str(out), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/metrics.csv"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # both workers are training
    return proc, out


@pytest.mark.parametrize("signals, code, gap", [
    ([signal.SIGINT], 130, 0), ([signal.SIGTERM], 143, 0),
    ([signal.SIGINT, signal.SIGINT], 130, 0.3),  # a second Ctrl-C: stop at once
    ([signal.SIGINT, signal.SIGINT], 130, 0.0),  # `timeout -s INT`: the command, then its group, at once: one stop
])
def test_ctrl_c_or_sigterm_to_the_process_group_ends_a_parallel_sweep_cleanly(tmp_path, signals, code, gap):
    proc, out = long_parallel_sweep(tmp_path, "0.01,0.02,0.03,0.04")
    for i, signum in enumerate(signals):  # a second Ctrl-C, while the first one's stop is under way
        time.sleep(gap * i)
        (os.kill if i == 0 and gap == 0 and len(signals) > 1 else os.killpg)(proc.pid, signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert stdout.strip().splitlines()[-1] == str(out)  # the sweep still reports its folder
    table = pd.read_csv(out / "sweep.csv")
    assert set(table.status) <= {"interrupted", "completed"}
    assert (table.status == "interrupted").sum() == 4
    if len(signals) == 1 or gap == 0:
        running = [d for d in sorted(out.iterdir()) if (d / "summary.json").is_file()]
        assert len(running) == 2  # the two that ran stopped gracefully and wrote their files


def test_ray_fail_fast_reports_the_running_group_interrupted_with_its_files(tmp_path):
    """As the local backend does: what was training ends `interrupted` with its rows; what never started
    is left for the sweep to call skipped."""
    pytest.importorskip("ray", reason="the ray extra is not installed")
    from gdlab.sweep.backends import _run_ray, ray_session

    # Indices no other test uses: each task trains in its own temp folder named by its index (execute.py).
    jobs = [job(tmp_path, 9100, "long", 2_000_000), job(tmp_path, 9101, "short", 200), job(tmp_path, 9102, "queued", 2_000_000)]
    done: dict[int, dict] = {}

    def long_job_rows() -> int:
        found = glob.glob(os.path.join(tempfile.gettempdir(), "gdlab-ray-*", "9100", "metrics.csv"))
        return max((len(Path(f).read_text().splitlines()) - 1 for f in found), default=0)

    def on_done(j: Job, results: list[dict]) -> bool:
        done[j.indices[0]] = results[0]
        if j.indices[0] != 9101:
            return False
        # the short job's end stands in for a failure under --fail-fast, once the long one is training
        # (an explicit wait, not a race against its worker's torch import)
        deadline = time.monotonic() + 120
        while long_job_rows() < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert long_job_rows() >= 1, "the long job never started training"
        return True

    t0 = time.monotonic()
    with ray_session(None):
        _run_ray(jobs, lambda: False, on_done)
    assert time.monotonic() - t0 < 150
    assert done[9101]["status"] == "completed"
    assert done[9100]["status"] == "interrupted" and done[9100]["steps"] > 0
    rows = pd.read_csv(Path(jobs[0].run_dirs[0]) / "metrics.csv")
    assert rows["step"].iloc[-1] == done[9100]["steps"]  # its files came back from the task
    assert done.get(9102, {"status": "interrupted"})["status"] == "interrupted"  # queued: unreported (skipped), unless it ran


def test_a_signal_after_every_variant_finished_is_not_an_interrupted_exit(tmp_path, monkeypatch):
    """The exit code came from 'a signal arrived', not from the variants: a finished sweep exited 143."""
    import json
    import os
    import signal

    import gdlab.sweep.run as sweep_run
    from tests.test_sweep import sweep, write_config

    real = sweep_run.run_sweep

    def then_signalled(*args, **kwargs):
        summaries = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # lands after the last variant, before the sweep exits
        return summaries

    monkeypatch.setattr(sweep_run, "run_sweep", then_signalled)
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.01,0.1")
    assert result.exit_code == 0, result.output
    assert {json.loads(p.read_text())["status"] for p in out.glob("*/summary.json")} == {"completed"}


def test_a_signal_as_the_sweep_folder_is_made_leaves_no_folder(tmp_path, monkeypatch):
    """Before, the handlers went in later: SIGTERM there killed gdlab and left a folder with only its lock."""
    import os
    import signal

    import gdlab.rundir
    from tests.test_sweep import sweep, write_config

    real = gdlab.rundir.create_run_dir

    def signalled(*args, **kwargs):
        folder = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return folder

    monkeypatch.setattr(gdlab.rundir, "create_run_dir", signalled)
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.01,0.1")
    assert result.exit_code == 143 and "interrupted before the sweep began" in result.stderr, result.output
    assert not out.exists()


def test_workers_whose_sweep_was_killed_stop_quietly_without_making_up_a_failure(tmp_path):
    """After kill -9 of the sweep, its orphaned workers trained on, then wrote 'failed: BrokenPipeError' (their
    progress had nowhere to go) into a variant's summary.json and a worker traceback to the terminal."""
    proc, out = long_parallel_sweep(tmp_path, "0.01,0.02", "-q")
    proc.kill()
    _, stderr = proc.communicate(timeout=60)
    deadline = time.monotonic() + 60  # the orphans notice at their next step and end
    while len(list(out.glob("*/summary.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        summaries = [json.loads(p.read_text()) for p in out.glob("*/summary.json")]
        assert [s["status"] for s in summaries] == ["interrupted", "interrupted"], summaries
        assert not list(out.glob("*/error.log"))
        rows = [len(pd.read_csv(p)) for p in out.glob("*/metrics.csv")]
        time.sleep(1.0)
        assert [len(pd.read_csv(p)) for p in out.glob("*/metrics.csv")] == rows  # they stopped training
    finally:  # whatever happened, no orphan goes on training 2,000,000 steps beside the suite
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_two_sweeps_given_one_new_run_dir_do_not_share_it(tmp_path, monkeypatch):
    """As for train: the other sweep's first file lands between our 'new or empty' check and our lock; we
    must refuse, and leave its folder alone (a refused lock used to discard the folder as never started)."""
    import gdlab.rundir
    from tests.test_sweep import sweep, write_config

    real = gdlab.rundir.create_run_dir

    def raced(*args, **kwargs):
        folder = real(*args, **kwargs)
        (folder / "sweep.yaml").write_text("theirs")
        return folder

    monkeypatch.setattr(gdlab.rundir, "create_run_dir", raced)
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.01,0.1")
    assert result.exit_code == 2 and "another gdlab process wrote here just now" in result.stderr, result.output
    assert (out / "sweep.yaml").read_text() == "theirs"


def test_a_sweep_refuses_an_empty_run_dir_that_a_train_or_lr_find_holds(tmp_path):
    """`gdlab train --run-dir D` (or lr-find) started a moment earlier holds D's lock with nothing written yet;
    a sweep given D passed the 'new or empty' check and used to write its variants beside the run's files."""
    from gdlab.folder_lock import run_folder_lock
    from tests.test_sweep import sweep, write_config

    out = tmp_path / "sw"
    out.mkdir()
    with run_folder_lock(out, "held by gdlab train"):
        result, _ = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.01,0.1")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert f"--run-dir {out}: another gdlab process took this folder just now" in result.stderr
    assert list(out.iterdir()) == []  # not even a .sweep.lock: the folder is the other process's
