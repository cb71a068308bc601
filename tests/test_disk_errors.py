"""Disk errors in the middle of a command: a write the OS refuses (a file-size limit gives EFBIG as a full disk
gives ENOSPC, at the byte it is reached) is one line naming the file, exit 1, no traceback; what was written
before stays, and a command that never started leaves no folder."""

from __future__ import annotations

import json
import resource
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from gdlab.cli import app
from tests.helpers import TINY, one_error_line

runner = CliRunner()


@contextmanager
def file_size_limit(size: int):
    """Every file this process writes stops at `size` bytes (RLIMIT_FSIZE; Python ignores SIGXFSZ, so the write
    raises EFBIG, as one to a full disk raises ENOSPC): a real OS refusal, whichever call gdlab writes with."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def tiny_config(tmp_path: Path, **train) -> Path:
    raw = json.loads(json.dumps(TINY))
    raw["train"].update(train)
    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(raw))  # JSON is YAML
    return path


def test_lr_find_refused_its_config_yaml_is_one_line_and_leaves_no_folder(tmp_path):
    """The range test's config.yaml (about 900 bytes) is its first file: cut at 100 bytes, it was a traceback
    (OSError from a plain write_text) and a folder holding a torn config.yaml."""
    cfg, out = tiny_config(tmp_path), tmp_path / "runs"
    with file_size_limit(100):
        result = runner.invoke(app, ["lr-find", str(cfg), "--steps", "20", "--runs", str(out)])
    one_error_line(result, 1, "config.yaml: cannot write (File too large)")
    assert list(out.rglob("*")) == [out / "tiny"]  # no lr-find folder: the test never started


def test_lr_find_refused_a_row_keeps_the_rows_before(tmp_path):
    cfg, out = tiny_config(tmp_path), tmp_path / "lrf"
    with file_size_limit(1000):  # config.yaml fits; lr_find.csv stops at its 1000th byte
        result = runner.invoke(app, ["lr-find", str(cfg), "--steps", "100", "--run-dir", str(out)])
    one_error_line(result, 1, "lr_find.csv: cannot write (File too large)")
    rows = (out / "lr_find.csv").read_text().split("\n")
    assert rows[0] == "step,lr,loss,smoothed_loss" and len(rows) > 5
    assert [int(r.split(",")[0]) for r in rows[1:-1]] == list(range(1, len(rows) - 1))  # whole rows, from step 1


def test_a_folder_made_read_only_mid_run_names_the_checkpoint_and_the_run_resumes(tmp_path, monkeypatch):
    """The rename that keeps the last checkpoint as checkpoint.prev.pt is refused (a folder made read-only at
    step 10): one line naming checkpoint.pt, the rows and the checkpoint before kept, and --resume, once the
    folder is writable again, ends as the uninterrupted run. It was an OSError taken for a crash in the
    training (status failed, a traceback in error.log), or, with summary.json refused too, a line naming
    model.pt, the last file it tried."""
    import os

    import pandas as pd

    cfg, run, ref = tiny_config(tmp_path, epochs=None, steps=15, checkpoint_every=5), tmp_path / "run", tmp_path / "ref"
    assert runner.invoke(app, ["train", str(cfg), "--run-dir", str(ref), "-q"]).exit_code == 0
    real = os.replace

    def read_only(src, dst, *args, **kwargs):
        if Path(dst).name == "checkpoint.prev.pt" and len(pd.read_csv(Path(src).parent / "metrics.csv")) >= 10:
            raise PermissionError(13, "Permission denied", str(src), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", read_only)
    one_error_line(runner.invoke(app, ["train", str(cfg), "--run-dir", str(run), "-q"]), 1,
                   f"{run / 'checkpoint.pt'}: cannot write (Permission denied)")
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "config.yaml", "metrics.csv", "overrides.yaml"]
    assert list(pd.read_csv(run / "metrics.csv").step) == list(range(1, 11))
    monkeypatch.setattr(os, "replace", real)
    assert runner.invoke(app, ["train", "--resume", str(run), "-q"]).exit_code == 0
    pd.testing.assert_frame_equal(pd.read_csv(run / "metrics.csv").drop(columns="wall_s"),
                                  pd.read_csv(ref / "metrics.csv").drop(columns="wall_s"))
    assert json.loads((run / "summary.json").read_text())["resumed_from_step"] == 5


class _RefusedWrites:
    """A file whose writes fail as on a full disk (ENOSPC, no file name in the error)."""

    def __init__(self, fh):
        self._fh = fh

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def write(self, data):
        import errno

        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_at_the_metrics_header_leaves_no_run_folder(tmp_path, monkeypatch):
    """config.yaml and overrides.yaml fit, metrics.csv's header does not: the run never trained a step, and its
    folder (the two files and an empty metrics.csv) stayed behind."""
    import gdlab.csvlog

    monkeypatch.setattr(gdlab.csvlog, "open", lambda *a, **k: _RefusedWrites(open(*a, **k)), raising=False)
    runs = tmp_path / "runs"
    one_error_line(runner.invoke(app, ["train", str(tiny_config(tmp_path)), "--runs", str(runs), "-q"]), 1,
                   "metrics.csv: cannot write (No space left on device)")
    assert list(runs.rglob("*")) == [runs / "tiny"]


def test_a_final_checkpoint_refused_still_leaves_the_runs_model_and_summary(tmp_path):
    """The final checkpoint.pt (20 kB here, the largest file) is refused after every step: one line naming it,
    exit 1, and the finished run's rows, model.pt and summary.json (2 kB and 1 kB) are written, as an
    uninterrupted run's. It raised before writing either: the trained weights were lost with no checkpoint to
    resume from."""
    import pandas as pd
    import torch

    cfg, run, ref = tiny_config(tmp_path, epochs=None, steps=20), tmp_path / "run", tmp_path / "ref"
    assert runner.invoke(app, ["train", str(cfg), "--run-dir", str(ref), "-q"]).exit_code == 0
    with file_size_limit(5000):
        result = runner.invoke(app, ["train", str(cfg), "--run-dir", str(run), "-q"])
    one_error_line(result, 1, f"{run / 'checkpoint.pt'}: cannot write (File too large)")
    assert list(pd.read_csv(run / "metrics.csv").step) == list(range(1, 21))
    summary, expected = (json.loads((d / "summary.json").read_text()) for d in (run, ref))
    assert summary["status"] == "completed" and summary["final_val_loss"] == expected["final_val_loss"]
    weights, expected = (torch.load(d / "model.pt", weights_only=True) for d in (run, ref))
    assert all(torch.equal(weights[k], expected[k]) for k in expected)
    assert not (run / "checkpoint.pt").exists()


def test_a_variant_finished_before_its_group_failed_is_completed_in_sweep_csv(tmp_path, monkeypatch):
    """A batched group of two whose second model.pt the disk refuses: the first variant's files were all written,
    and sweep.csv says completed with its results, as its folder does (it said failed, with the other's error,
    and the sweep that 2 of 2 variants did not finish)."""
    import errno

    import pandas as pd

    import gdlab.runner
    from gdlab.files import cannot_write

    real = gdlab.runner.save_model

    def refuse_the_second(path, state):
        if path.parent.name.startswith("001_"):
            raise cannot_write(path, OSError(errno.ENOSPC, "No space left on device"))
        real(path, state)

    monkeypatch.setattr(gdlab.runner, "save_model", refuse_the_second)
    cfg, out = tiny_config(tmp_path, epochs=None, steps=10), tmp_path / "sweep"
    result = runner.invoke(app, ["sweep", str(cfg), "optimizer.lr=0.1,0.2", "--run-dir", str(out), "-q"])
    assert result.exit_code == 1 and "1 of 2 variants did not finish" in result.stderr, result.stderr
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.status) == ["completed", "failed"]
    summary = json.loads((out / table.run_dir[0] / "summary.json").read_text())
    assert table.final_val_loss[0] == summary["final_val_loss"] and table.steps[0] == summary["steps"] == 10
    assert "001_lr=0.2/model.pt: cannot write (No space left on device)" in table.error[1]


def test_a_crash_whose_error_log_the_disk_refuses_is_one_line_and_keeps_the_failed_summary(tmp_path, monkeypatch):
    """error.log was written with a plain write_text: on a full disk the crash report itself was a traceback
    (an OSError naming no file). Now one line names error.log; summary.json, written before, says failed."""
    import os

    import gdlab.engine.loop

    real_update = gdlab.engine.loop.GroupTrainer._update

    def update(self, lr, must_mask):
        if self.step == 3:
            raise RuntimeError("simulated failure at step 3")
        real_update(self, lr, must_mask)

    def refuse(kind, real):
        def call(*args, **kwargs):
            target = str(args[1] if kind == "replace" else args[0])
            if target.endswith("error.log"):
                raise OSError(28, "No space left on device")
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(gdlab.engine.loop.GroupTrainer, "_update", update)
    monkeypatch.setattr(os, "replace", refuse("replace", os.replace))  # write_atomic's last step
    monkeypatch.setattr(Path, "write_text", refuse("write_text", Path.write_text))
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(tiny_config(tmp_path)), "--run-dir", str(run), "-q"])
    one_error_line(result, 1, "error.log: cannot write (No space left on device)")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and "simulated failure at step 3" in summary["error"]
    assert not list(run.glob(".error.log*"))  # no temp file left
