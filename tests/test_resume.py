"""Crash safety: killed, interrupted or resumed, a run ends with exactly the rows, losses and weights
of an uninterrupted run (on CPU), and bad checkpoints are refused loudly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from gdlab.cli import app
from tests.helpers import TINY

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def config(tmp_path: Path, epochs: int = 12) -> Path:
    raw = json.loads(json.dumps(TINY))
    raw["model"] = [{"Linear": [2, 16]}, {"Dropout": [0.1]}, "Tanh", {"Linear": [16, 2]}]
    raw["optimizer"] = {"name": "Adam", "lr": 0.01}
    raw["scheduler"] = {"name": "StepLR", "step_size": 3, "gamma": 0.7}
    raw["train"].update(epochs=epochs, batch_size=16, checkpoint_every=5)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def gdlab(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gdlab", *args], cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def train_until_first_checkpoint(cfg: Path, run: Path) -> subprocess.Popen:
    """`gdlab train` in a real process, returned once its first checkpoint is on disk (or after 60 s)."""
    proc = gdlab("train", str(cfg), "--run-dir", str(run), "-q")
    deadline = time.time() + 60
    while time.time() < deadline and not (run / "checkpoint.pt").exists():
        time.sleep(0.02)
    return proc


def without_wall(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "metrics.csv").drop(columns="wall_s")


def assert_same_run(a: Path, b: Path) -> None:
    ma, mb = without_wall(a), without_wall(b)
    assert list(mb.step) == list(range(1, len(mb) + 1))  # no gaps, no duplicates
    pd.testing.assert_frame_equal(ma, mb)
    wa, wb = torch.load(a / "model.pt", weights_only=True), torch.load(b / "model.pt", weights_only=True)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("ref")
    cfg = config(tmp)
    result = runner.invoke(app, ["train", str(cfg), "--run-dir", str(tmp / "ref"), "-q"])
    assert result.exit_code == 0
    return cfg, tmp / "ref"


def test_kill_during_a_checkpoint_write_then_resume(reference, tmp_path):
    cfg, ref = reference
    run = tmp_path / "run"
    proc = gdlab("train", str(cfg), "--run-dir", str(run), "-q", env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "10"})
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "summary.json").exists() and (run / "checkpoint.prev.pt").exists()
    with open(run / "metrics.csv", "a") as fh:
        fh.write("11,0.6875,0.00")  # a torn row, as if killed mid-write
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 0, result.output
    assert_same_run(ref, run)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["resumed_from_step"] == 5


def test_sigkill_at_a_random_moment_then_resume(reference, tmp_path):
    cfg, _ = reference
    long_cfg = config(tmp_path, epochs=300)
    ref = tmp_path / "ref"
    assert runner.invoke(app, ["train", str(long_cfg), "--run-dir", str(ref), "-q"]).exit_code == 0
    run = tmp_path / "run"
    proc = train_until_first_checkpoint(long_cfg, run)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    rows_at_kill = len(pd.read_csv(run / "metrics.csv"))
    assert rows_at_kill < len(pd.read_csv(ref / "metrics.csv"))
    assert runner.invoke(app, ["train", "--resume", str(run), "-q"]).exit_code == 0
    assert_same_run(ref, run)


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_stop_cleanly_with_a_loadable_checkpoint(tmp_path, sig, code):
    cfg = config(tmp_path, epochs=2000)
    run = tmp_path / "run"
    proc = train_until_first_checkpoint(cfg, run)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert f"continue with: gdlab train --resume {run}" in stderr  # how to go on, not just that it stopped
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == summary["steps"] == len(pd.read_csv(run / "metrics.csv"))


def test_a_sigint_the_run_was_started_ignoring_stays_ignored(tmp_path):
    """A shell starts a script's background jobs with SIGINT ignored; gdlab honoured a Ctrl-C all the same,
    or not, depending on whether it came before or after the handler went in."""
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "gdlab", "train", str(config(tmp_path, epochs=2000)), "--run-dir",
                             str(run), "-q"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    deadline = time.time() + 60
    while time.time() < deadline and not (run / "checkpoint.pt").exists():
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    still = proc.poll() is None
    proc.send_signal(signal.SIGTERM)  # what it does not ignore stops it as ever
    proc.communicate(timeout=60)
    assert still and proc.returncode == 143


def test_corrupt_checkpoint_falls_back_to_the_previous_one(reference, tmp_path):
    cfg, ref = reference
    run = tmp_path / "run"
    gdlab("train", str(cfg), "--run-dir", str(run), "-q", env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "15"}).communicate(timeout=120)
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")  # both files now exist: .pt is garbage
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 0
    assert "warning" in result.stderr and "checkpoint.prev.pt" in result.stderr
    assert_same_run(ref, run)


def test_a_crash_after_falling_back_still_finds_the_good_checkpoint(reference, tmp_path):
    """Falling back from a corrupt checkpoint.pt, the next save rotated that corrupt file over the good
    checkpoint.prev.pt: a crash during the write then left no loadable checkpoint at all."""
    cfg, ref = reference
    run = tmp_path / "run"
    kill_at_15 = {"GDLAB_TEST_KILL_DURING_CHECKPOINT": "15"}
    gdlab("train", str(cfg), "--run-dir", str(run), "-q", env=kill_at_15).communicate(timeout=120)
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    _, stderr = gdlab("train", "--resume", str(run), "-q", env=kill_at_15).communicate(timeout=120)  # killed again
    assert "resuming from checkpoint.prev.pt" in stderr and "the unreadable checkpoint.pt is removed" in stderr
    (run / ".summary.json.x1y2z3.tmp").write_text("{")  # what write_atomic leaves when killed mid-write
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 0, result.stderr
    assert_same_run(ref, run)
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]  # the killed writes' temp files are gone


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_resume_refuses_pickle_payloads_and_missing_or_mismatched_checkpoints(reference, tmp_path):
    cfg, _ = reference
    run = tmp_path / "run"
    gdlab("train", str(cfg), "--run-dir", str(run), "-q", env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "10"}).communicate(timeout=120)
    before = (run / "metrics.csv").read_bytes()
    torch.save({"flat": Payload(), "step": 1}, run / "checkpoint.prev.pt")
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 2 and "no loadable checkpoint" in result.stderr
    assert "Warning" not in result.stderr and result.stderr.count("\n") == 1  # torch's own pickle warning stays out
    assert not (ROOT / "pwned").exists() and not Path("pwned").exists()
    (run / "checkpoint.prev.pt").unlink()
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 2 and "no checkpoint.pt" in result.stderr
    # a model that no longer matches its checkpoint: a clear error, never a silent fresh start
    gdlab("train", str(cfg), "--run-dir", str(tmp_path / "r2"), "-q", env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "15"}).communicate(timeout=120)
    conf = yaml.safe_load((tmp_path / "r2" / "config.yaml").read_text())
    conf["model"][0]["Linear"]["out_features"] = 8
    conf["model"][3]["Linear"]["in_features"] = 8
    (tmp_path / "r2" / "config.yaml").write_text(yaml.safe_dump(conf))
    metrics = (tmp_path / "r2" / "metrics.csv").read_bytes()
    result = runner.invoke(app, ["train", "--resume", str(tmp_path / "r2"), "-q"])
    assert result.exit_code == 2 and "model.0.Linear.out_features: 16 -> 8" in result.stderr
    assert (tmp_path / "r2" / "metrics.csv").read_bytes() == metrics
    assert (run / "metrics.csv").read_bytes() == before


def test_resume_refuses_a_config_edited_where_the_weights_depend_on_it(reference, tmp_path):
    cfg, ref = reference
    run = tmp_path / "run"
    gdlab("train", str(cfg), "--run-dir", str(run), "-q", env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "10"}).communicate(timeout=120)
    original = (run / "config.yaml").read_text()
    conf = yaml.safe_load(original)
    conf["data"]["noise"], conf["optimizer"]["lr"] = 0.3, 0.02
    (run / "config.yaml").write_text(yaml.safe_dump(conf))
    metrics = (run / "metrics.csv").read_bytes()
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"gdlab: error: --resume {run}: config.yaml changed since the checkpoint at step 5 (data.noise: 0.2 -> 0.3, "
        "optimizer.lr: 0.01 -> 0.02); resuming would splice two different runs: start a new one with gdlab train"]
    assert (run / "metrics.csv").read_bytes() == metrics  # nothing touched
    # logging keys may change: the resumed run is still the reference run, step for step
    conf = yaml.safe_load(original)
    conf["name"], conf["train"]["checkpoint_every"] = "renamed", 7
    (run / "config.yaml").write_text(yaml.safe_dump(conf))
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 0, result.output
    assert_same_run(ref, run)


def test_a_second_ctrl_c_stops_at_once_and_leaves_whole_files(tmp_path):
    cfg = config(tmp_path, epochs=5000)
    run = tmp_path / "run"
    proc = train_until_first_checkpoint(cfg, run)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.4)  # later than SAME_SIGNAL_S: a second Ctrl-C, not one signal delivered twice
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    metrics = pd.read_csv(run / "metrics.csv")
    assert list(metrics.step) == list(range(1, len(metrics) + 1))
    torch.load(run / "checkpoint.pt", weights_only=True)  # the last good checkpoint, whole


def test_a_full_disk_fails_naming_the_path_and_keeps_earlier_rows(tmp_path, monkeypatch):
    from gdlab.csvlog import CsvAppender

    real = CsvAppender.flush
    calls = {"n": 0}

    def filling_up(self):
        calls["n"] += 1
        if calls["n"] > 11:  # the header and 10 rows fit on the disk
            self._fh = _FullDisk(self._fh)
        real(self)

    monkeypatch.setattr(CsvAppender, "flush", filling_up)
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(config(tmp_path)), "--run-dir", str(run), "-q"])
    assert result.exit_code == 1
    assert f"{run / 'metrics.csv'}: cannot write (No space left on device)" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert len(pd.read_csv(run / "metrics.csv")) == 10  # what was written before stays


def test_a_full_disk_before_the_first_step_leaves_no_run_folder(tmp_path, monkeypatch):
    import errno
    import tempfile

    real = tempfile.mkstemp

    def no_space(*args, **kwargs):  # the first file a run writes is its config.yaml, through mkstemp
        if str(kwargs.get("prefix", "")).startswith(".overrides.yaml"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", no_space)
    result = runner.invoke(app, ["train", str(config(tmp_path)), "--runs", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 1 and "overrides.yaml: cannot write (No space left on device)" in result.stderr
    assert list((tmp_path / "runs").rglob("*")) == [tmp_path / "runs" / "tiny"]  # config.yaml, written, went too


def test_resume_takes_edits_that_change_nothing_it_depends_on(reference, tmp_path):
    """Rows written every 2 steps are checked against that, not the new log_every; data.seed written out
    as the run's own seed is the same data."""
    cfg, _ = reference
    run = tmp_path / "run"
    gdlab("train", str(cfg), "train.log_every=2", "--run-dir", str(run), "-q",
          env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "10"}).communicate(timeout=120)
    conf = yaml.safe_load((run / "config.yaml").read_text())
    conf["train"]["log_every"], conf["data"]["seed"] = 1, conf["seed"]
    (run / "config.yaml").write_text(yaml.safe_dump(conf))
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 0, result.stderr
    steps = list(pd.read_csv(run / "metrics.csv").step)
    assert steps[:4] == [1, 2, 4, 5] and steps[4:7] == [6, 7, 8]  # step 1, every 2 steps (and the epoch's val row), then every step


def test_log_every_changed_at_one_resume_is_remembered_at_the_next(reference, tmp_path):
    """Rows every 2 steps, then every 3 after a resume: the second resume checks each stretch with its own
    log_every (it assumed 3 from step 1 and refused the intact file), and the weights are the reference's."""
    cfg, ref = reference
    run = tmp_path / "run"
    gdlab("train", str(cfg), "train.log_every=2", "--run-dir", str(run), "-q",
          env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "10"}).communicate(timeout=120)
    from gdlab.checkpoint import load_checkpoint

    first = load_checkpoint(run)["step"]
    (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("log_every: 2", "log_every: 3"))
    gdlab("train", "--resume", str(run), "-q", env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "25"}).communicate(timeout=120)
    assert load_checkpoint(run)["log_segments"] == [[1, 2], [first + 1, 3]]
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 0, result.stderr
    logged = set(pd.read_csv(run / "metrics.csv").step)
    assert {s for s in range(1, first + 1) if s % 2 == 0} <= logged
    assert {s for s in range(first + 1, 40) if s % 3 == 0} <= logged
    wa, wb = torch.load(ref / "model.pt", weights_only=True), torch.load(run / "model.pt", weights_only=True)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_refuses_a_new_sharpness_column(reference, tmp_path):
    """train.sharpness_every set before a resume would append 10-cell rows under a 9-column header."""
    cfg, _ = reference
    run = tmp_path / "run"
    gdlab("train", str(cfg), "--run-dir", str(run), "-q", env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "10"}).communicate(timeout=120)
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text.replace("sharpness_every: null", "sharpness_every: 5"))
    before = (run / "metrics.csv").read_text()
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 2 and "+sharpness" in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert (run / "metrics.csv").read_text() == before


def test_repair_metrics_checks_each_log_every_stretch(tmp_path):
    from gdlab.checkpoint import repair_metrics
    from gdlab.errors import GdlabError

    path = tmp_path / "metrics.csv"
    path.write_text("step,train_loss\n3,0.5\n6,0.4\n9,0.3\n14,0.2\n21,0.1\n")
    assert len(repair_metrics(path, 21, [[1, 3], [10, 7]])) == 5
    with pytest.raises(GdlabError, match="from step 10"):
        repair_metrics(path, 21, [[1, 3], [10, 2]])


def test_resume_refuses_a_new_divergence_factor_and_a_run_shorter_than_its_checkpoint(reference, tmp_path):
    cfg, _ = reference
    run = tmp_path / "run"
    gdlab("train", str(cfg), "--run-dir", str(run), "-q", env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "10"}).communicate(timeout=120)
    conf = yaml.safe_load((run / "config.yaml").read_text())
    factor = conf["train"]["diverge_factor"]
    conf["train"]["diverge_factor"] = 3.0  # the checkpoint keeps the limit the old factor gave
    (run / "config.yaml").write_text(yaml.safe_dump(conf))
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 2 and f"train.diverge_factor: {factor} -> 3.0" in result.stderr
    # without a scheduler the length may change, but not to less than the checkpoint has done
    raw = yaml.safe_load(cfg.read_text())
    raw.pop("scheduler")
    (tmp_path / "plain.yaml").write_text(yaml.safe_dump(raw))
    plain = tmp_path / "plain"
    gdlab("train", str(tmp_path / "plain.yaml"), "--run-dir", str(plain), "-q",
          env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "10"}).communicate(timeout=120)
    conf = yaml.safe_load((plain / "config.yaml").read_text())
    conf["train"]["epochs"], conf["train"]["steps"] = None, 3
    (plain / "config.yaml").write_text(yaml.safe_dump(conf))
    result = runner.invoke(app, ["train", "--resume", str(plain), "-q"])
    assert result.exit_code == 2
    assert "config.yaml's run is 3 steps, but its checkpoint is at step 5 already" in result.stderr, result.stderr


class _FullDisk:
    """A file object whose flush fails as a full disk's does (errno ENOSPC, no path in the message)."""

    def __init__(self, fh):
        self._fh = fh

    def flush(self):
        import errno

        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._fh, name)


def test_repair_metrics_with_rows_every_few_steps(tmp_path):
    from gdlab.checkpoint import repair_metrics

    path = tmp_path / "metrics.csv"
    path.write_text("step,train_loss\n2,0.5\n4,0.4\n6,0.3\n")
    assert repair_metrics(path, 5, [[1, 2]]) == ["2,0.5", "4,0.4"]  # step 5 writes no row: no gap


@pytest.mark.parametrize("text,kept,error", [
    ("step,train_loss\n1,0.5\n2,0.4\nstep,train_loss\n3,0.3\n4,0.2\n", ["1,0.5", "2,0.4", "3,0.3"], None),  # repeated header
    ("step,train_loss\n1,0.5\n2,0.4\n3,0.3\n4,0.", ["1,0.5", "2,0.4", "3,0.3"], None),  # torn last line
    ("step,train_loss\n1,0.5\n2,0.4\n3,0.", None, r"the rows of 1 step\(s\) before the checkpoint at step 3 are missing \(from step 3"),
    ("step,train_loss\n", None, r"the rows of 3 step\(s\) .* \(from step 1;"),
    ("step,train_loss\n1,0.5\n3,0.3\n", None, r"the rows of 1 step\(s\) .* \(from step 2;"),  # a gap inside
    ("step,train_loss\n1,0.5\n2,0.4\n3,0.3\n4,0.2\n5,0.1\n", ["1,0.5", "2,0.4", "3,0.3"], None),  # rows after the checkpoint
    ("", None, "not a gdlab metrics file"),
    ("a,b,c\n1,2,3\n", None, "not a gdlab metrics file"),
])
def test_repair_metrics_before_a_resume(tmp_path, text, kept, error):
    from gdlab.checkpoint import repair_metrics
    from gdlab.errors import GdlabError

    path = tmp_path / "metrics.csv"
    path.write_text(text)
    if error:
        with pytest.raises(GdlabError, match=error):
            repair_metrics(path, 3)
        assert path.read_text() == text  # a foreign or cut file is left alone
        return
    assert repair_metrics(path, 3) == kept
    assert path.read_text() == "step,train_loss\n" + "".join(f"{r}\n" for r in kept)


def test_one_signal_delivered_twice_is_one_stop_and_a_later_second_stops_at_once():
    """`timeout -s INT` signals the command and then its process group: two SIGINTs microseconds apart
    must not count as the user's second Ctrl-C (which stops at once, abandoning a sweep's workers)."""
    from gdlab.signals import SAME_SIGNAL_S, graceful_stop

    with graceful_stop() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        assert stop() and stop.signum == signal.SIGINT
        time.sleep(SAME_SIGNAL_S + 0.05)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)


# ---------------------------------------------------------------- one process per run folder
def test_resume_of_a_run_another_process_is_training_is_refused_and_touches_nothing(tmp_path):
    """It went ahead: its rewritten metrics.csv replaced the file the first process went on appending to,
    which then finished 'completed' with 7,697 of its rows gone."""
    from gdlab.folder_lock import run_folder_lock

    run = tmp_path / "run"
    assert runner.invoke(app, ["train", str(config(tmp_path, epochs=2)), "--run-dir", str(run), "-q"]).exit_code == 0
    (run / "summary.json").unlink()  # as if it were still training
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with run_folder_lock(run, "held by the test"):  # what a training `gdlab train` holds
        result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "this run is training now in another gdlab process" in result.stderr
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    assert runner.invoke(app, ["train", "--resume", str(run), "-q"]).exit_code == 0  # once it is free


def test_two_trains_given_one_new_run_dir_do_not_share_it(tmp_path, monkeypatch):
    """--run-dir checked 'new or empty', then mkdir(exist_ok=True): two processes could both pass the check."""
    import gdlab.train as train_mod

    run, real = tmp_path / "run", train_mod.create_run_dir

    def raced(*args, **kwargs):  # the other process's first file lands between our check and our lock
        folder = real(*args, **kwargs)
        (folder / "config.yaml").write_text("theirs")
        return folder

    monkeypatch.setattr(train_mod, "create_run_dir", raced)
    result = runner.invoke(app, ["train", str(config(tmp_path, epochs=1)), "--run-dir", str(run), "-q"])
    assert result.exit_code == 2 and "another gdlab process wrote here just now" in result.stderr, result.stderr
    assert [p.name for p in run.iterdir()] == ["config.yaml"] and (run / "config.yaml").read_text() == "theirs"


def test_a_signal_as_the_folder_is_made_leaves_no_folder_and_the_signals_exit_code(tmp_path, monkeypatch):
    """Before, the handlers went in after the folder was made: SIGTERM there killed gdlab and left it empty."""
    import gdlab.train as train_mod

    real = train_mod.create_run_dir

    def signalled(*args, **kwargs):
        folder = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return folder

    monkeypatch.setattr(train_mod, "create_run_dir", signalled)
    result = runner.invoke(app, ["train", str(config(tmp_path, epochs=1)), "--runs", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 143 and "interrupted before training began" in result.stderr, result.stderr
    assert not any((tmp_path / "runs").rglob("*.yaml")) and not any(p.is_dir() for p in (tmp_path / "runs").glob("*/*"))


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="the probe reads Linux's /proc/locks")
def test_runs_tells_a_run_or_sweep_training_now_from_a_killed_one(tmp_path):
    """Both read 'no summary' (and 'pending' variants) before: `runs` could not tell a live run from a dead one."""
    from gdlab.folder_lock import sweep_lock

    run = tmp_path / "runs" / "run"
    proc = train_until_first_checkpoint(config(tmp_path, epochs=100_000), run)
    try:
        rows = json.loads(runner.invoke(app, ["runs", str(tmp_path / "runs"), "--json"]).stdout)
        assert [(r["status"], r["running"]) for r in rows] == [("running", True)]
    finally:
        proc.kill()
        proc.wait()
    rows = json.loads(runner.invoke(app, ["runs", str(tmp_path / "runs"), "--json"]).stdout)
    assert [(r["status"], r["running"]) for r in rows] == [("no summary", False)]

    sweep = tmp_path / "runs" / "sweep"
    cfg = config(tmp_path, epochs=1)
    assert runner.invoke(app, ["sweep", str(cfg), "optimizer.lr=0.01,0.02", "--run-dir", str(sweep), "-q"]).exit_code == 0

    def sweep_row() -> dict:  # by kind: the killed run and the sweep can list in either order within a second
        rows = json.loads(runner.invoke(app, ["runs", str(tmp_path / "runs"), "--json"]).stdout)
        return next(r for r in rows if r["kind"] == "sweep")

    with sweep_lock(sweep):  # what a sweep holds while it runs
        listed = runner.invoke(app, ["runs", str(tmp_path / "runs")])
        row = sweep_row()
    assert (row["status"], row["running"]) == ("running, 2 variants: 2 completed", True)
    assert "running, 2 variants" in listed.stdout
    row = sweep_row()
    assert (row["status"], row["running"]) == ("2 variants: 2 completed", False)


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="the probe reads Linux's /proc/locks")
def test_runs_shows_a_resumed_run_training_now_where_it_is_not_where_it_was_interrupted(tmp_path):
    """A --resume keeps the summary.json its interruption wrote until it ends: `runs` read its steps and losses
    from there, so a run training on read `running` with the steps it had when it was stopped."""
    from gdlab.folder_lock import run_folder_lock

    run = tmp_path / "runs" / "run"
    assert runner.invoke(app, ["train", str(config(tmp_path, epochs=4)), "--run-dir", str(run), "-q"]).exit_code == 0
    metrics = pd.read_csv(run / "metrics.csv")
    summary = json.loads((run / "summary.json").read_text())  # as the run stopped at step 10 left it
    (run / "summary.json").write_text(json.dumps({**summary, "status": "interrupted", "steps": 10, "best_val_loss": 9.0}))
    with run_folder_lock(run, "taken"):  # what `gdlab train --resume` holds while it trains on
        (row,) = json.loads(runner.invoke(app, ["runs", str(tmp_path / "runs"), "--json"]).stdout)
    assert (row["status"], row["running"], row["steps"]) == ("running", True, int(metrics["step"].iloc[-1]))
    assert row["best_val_loss"] == pytest.approx(metrics["val_loss"].min())
    (row,) = json.loads(runner.invoke(app, ["runs", str(tmp_path / "runs"), "--json"]).stdout)
    assert (row["status"], row["running"], row["steps"], row["best_val_loss"]) == ("interrupted", False, 10, 9.0)


def test_a_run_killed_after_it_diverged_resumes_as_diverged_at_that_step(tmp_path):
    """Its last checkpoint (at the end) is at the divergence step; without summary.json the resume trained one more
    step on the frozen weights and diverged again a step later, with a row the run never had."""
    kill_after_divergence_and_resume(tmp_path)


def kill_after_divergence_and_resume(tmp_path, *extra: str) -> None:
    """Train a run that diverges at step 2 twice, kill one after its last checkpoint (no summary.json, no model.pt),
    resume it, and check it ends as the uninterrupted one did."""
    ref, run = tmp_path / "ref", tmp_path / "run"
    diverging = ("optimizer.name=SGD", "optimizer.lr=1e4", "scheduler=null", "train.diverge_factor=2", *extra)
    for folder in (ref, run):
        result = runner.invoke(app, ["train", str(config(tmp_path)), *diverging, "--run-dir", str(folder), "-q"])
        assert result.exit_code == 3, result.output
    (run / "summary.json").unlink()  # killed after its checkpoint, before its last files
    (run / "model.pt").unlink()
    result = runner.invoke(app, ["train", "--resume", str(run), "-q"])
    assert result.exit_code == 3, result.stderr
    assert_same_run(ref, run)
    summaries = [json.loads((r / "summary.json").read_text()) for r in (ref, run)]
    assert [(s["status"], s["steps"], s["diverged_at_step"]) for s in summaries] == [("diverged", 2, 2)] * 2


def test_a_resumed_run_reports_the_summary_of_an_uninterrupted_one(tmp_path):
    """Its best val_loss was at step 42, before the checkpoint the resume goes on from: the summary takes it from
    the rows kept. The runs above compared rows and weights only, and their best came after the checkpoint, so
    a resume that forgot the kept rows' best passed."""
    raw = json.loads(json.dumps(TINY))
    raw["data"]["noise"], raw["model"] = 0.35, [{"Linear": [2, 32]}, "Tanh", {"Linear": [32, 2]}]
    raw["optimizer"]["lr"] = 3.0  # val_loss bottoms out at step 42 of 60, then rises
    raw["train"].update(epochs=20, batch_size=24, checkpoint_every=6)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    ref, run = tmp_path / "ref", tmp_path / "run"
    assert runner.invoke(app, ["train", str(cfg), "--run-dir", str(ref), "-q"]).exit_code == 0
    gdlab("train", str(cfg), "--run-dir", str(run), "-q", env={"GDLAB_TEST_KILL_DURING_CHECKPOINT": "48"}).communicate(timeout=120)
    assert runner.invoke(app, ["train", "--resume", str(run), "-q"]).exit_code == 0
    val = pd.read_csv(ref / "metrics.csv").set_index("step").val_loss.dropna()
    a, b = (json.loads((r / "summary.json").read_text()) for r in (ref, run))
    assert b["resumed_from_step"] == 42 and val.idxmin() <= 42  # the premise: the best is among the rows kept
    timing = {"wall_s", "steps_per_s", "started_at", "finished_at", "resumed_from_step"}
    assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}


@pytest.mark.parametrize("extra", [["--runs", "OUT"], ["--run-dir", "OUT"], ["--smoke"], ["optimizer.lr=0.1"]])
def test_resume_takes_the_run_folder_only(tmp_path, extra):
    """A resumed run stays in its folder: --runs was accepted and silently ignored."""
    from tests.helpers import invoke, one_error_line

    extra = [str(tmp_path / "out") if a == "OUT" else a for a in extra]
    args = ["train", *(["configs/quickstart.yaml"] if "=" in extra[0] else []), "--resume", tmp_path / "run", *extra]
    one_error_line(invoke(*args), 2, "--resume takes the run folder only")
    assert not (tmp_path / "out").exists()
