"""Robustness on odd inputs and a full disk: a config on a pipe or device is read only up to its size cap, a
sweep lock the disk refuses is one error line and no leftover folder, `gdlab runs` orders same-second
folders naturally and prints whole paths when piped, and an interrupted lr-find still flags a lower bound."""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.errors import GdlabError
from tests.helpers import TINY, make_config, one_error_line
from tests.test_plot import make_run

runner = CliRunner()


# ---------------------------------------------------------------- 1. a config on a pipe or device
def fifo_with(tmp_path: Path, data: bytes, name: str = "config.yaml") -> Path:
    """A named pipe that a background thread fills with `data` once a reader opens it: stat() says 0 bytes,
    as for /dev/stdin or /dev/zero, but finite, so a reader without a cap ends instead of eating memory."""
    path = tmp_path / name
    os.mkfifo(path)

    def feed() -> None:
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except BrokenPipeError:  # the reader stopped at its cap and closed: expected
            pass

    threading.Thread(target=feed, daemon=True).start()
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_config_on_a_pipe_past_the_size_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("gdlab.yamlio.MAX_CONFIG_BYTES", 100)
    path = fifo_with(tmp_path, yaml.safe_dump(TINY).encode() + b"# padding\n" * 100)
    line = one_error_line(runner.invoke(app, ["validate", str(path)]), 2, str(path), "more than 100 bytes", "limited")
    assert "YAML config" in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_read_user_text_reads_a_pipe_up_to_its_cap_and_no_further(tmp_path):
    from gdlab.files import read_user_text

    assert read_user_text(fifo_with(tmp_path, b"x" * 64, "at-cap"), "text", 64) == "x" * 64  # the cap itself is fine
    with pytest.raises(GdlabError, match="more than 64 bytes"):
        read_user_text(fifo_with(tmp_path, b"x" * 65, "past-cap"), "text", 64)


# ---------------------------------------------------------------- 2. a full disk when the sweep takes its lock
class FullDisk:
    """A lock file handle whose writes fail as on a full disk: OSError 28 with no file name."""

    def __init__(self, fh):
        self._fh = fh

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


def fill_the_disk(monkeypatch) -> None:
    import gdlab.folder_lock as lock

    monkeypatch.setattr(lock, "open", lambda *a, **k: FullDisk(open(*a, **k)), raising=False)


def sweep_config(tmp_path: Path) -> Path:
    raw = json.loads(json.dumps(TINY))
    raw["train"]["epochs"] = 2
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_full_disk_at_the_sweep_lock_is_one_line_exit_1_and_no_folder(tmp_path, monkeypatch):
    fill_the_disk(monkeypatch)
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(sweep_config(tmp_path)), "optimizer.lr=0.1,0.2", "--runs", str(runs), "-q"])
    one_error_line(result, 1, ".sweep.lock", "No space left on device")
    assert list((runs / "tiny").iterdir()) == []  # the sweep never started: no folder holding only its lock


def test_a_failed_sweep_yaml_write_removes_the_new_folder_too(tmp_path, monkeypatch):
    def full(folder, *a, **k):
        raise GdlabError(f"{folder / 'sweep.yaml'}: cannot write (No space left on device)", exit_code=1)

    monkeypatch.setattr("gdlab.sweep.run.write_sweep_yaml", full)
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(sweep_config(tmp_path)), "optimizer.lr=0.1,0.2", "--runs", str(runs), "-q"])
    one_error_line(result, 1, "sweep.yaml", "No space left on device")
    assert list((runs / "tiny").iterdir()) == []


def test_a_full_disk_at_a_resumed_sweeps_lock_keeps_its_folder(tmp_path, monkeypatch):
    out = tmp_path / "sw"
    done = runner.invoke(app, ["sweep", str(sweep_config(tmp_path)), "optimizer.lr=0.1,0.2", "--run-dir", str(out), "-q"])
    assert done.exit_code == 0, done.output
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    fill_the_disk(monkeypatch)
    one_error_line(runner.invoke(app, ["sweep", "--resume", str(out), "-q"]), 1, ".sweep.lock", "No space left")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # a resumed sweep's folder is never removed


# ---------------------------------------------------------------- 3. gdlab runs
def test_runs_lists_same_second_folders_in_the_order_they_were_made(tmp_path):
    root = tmp_path / "runs"
    names = ["2026-11-26_10-00-00"] + [f"2026-11-26_10-00-00_{i}" for i in range(2, 12)]
    for name in reversed(names):
        make_run(root / "tiny" / name)  # every summary says started_at 2026-11-26T10:00:00
    result = runner.invoke(app, ["runs", str(root), "--json"])
    assert result.exit_code == 0, result.output
    assert [Path(r["path"]).name for r in json.loads(result.stdout)] == names


def test_piped_runs_table_prints_each_path_whole_as_its_last_field(tmp_path):
    root = tmp_path / "runs"
    deep = root / ("very-long-project-folder-" * 8) / "tiny"
    paths = [make_run(deep / "2026-11-26_10-00-00"), make_run(deep / "2026-11-26_10-00-00_2")]
    assert len(str(paths[0])) > 220
    result = runner.invoke(app, ["runs", str(root)])  # CliRunner's output is not a terminal, as a pipe
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "completed" in line]
    assert [line.split()[-1] for line in rows] == [str(p) for p in paths] and "…" not in result.stdout
    forced = runner.invoke(app, ["runs", str(root)], env={"FORCE_COLOR": "1", "COLUMNS": "40"})  # rich: "a terminal"
    assert str(paths[1]) in forced.stdout and "…" not in forced.stdout


# ---------------------------------------------------------------- 4. an interrupted lr-find
def test_an_lr_find_interrupted_while_the_loss_still_falls_is_a_lower_bound(tmp_path):
    from gdlab.lrfind import lr_find

    calls: list[int] = []
    result = lr_find(make_config(), tmp_path / "lf", min_lr=1e-3, max_lr=1e-1, steps=60,
                     should_stop=lambda: calls.append(1) or len(calls) > 40)  # a Ctrl-C two thirds in
    assert result.interrupted and 5 < len(result.lrs) < 60
    assert result.loss_still_falling and result.min_loss_lr == result.lrs[-1]
    info = json.loads((tmp_path / "lf" / "lr_find.json").read_text())
    assert info["interrupted"] is True and info["loss_still_falling"] is True and info["stopped_early"] is False
    assert "interrupted at lr" in info["note"] and "lower bound" in info["note"] and "at max_lr" not in info["note"]
    from gdlab.plotting.lrfind_data import load_lr_find
    from gdlab.plotting.lrfind_plot import _note

    assert "the loss was still falling when the test was interrupted" in _note(load_lr_find(tmp_path / "lf", []))


def test_lr_find_advice_after_an_interrupted_test_is_to_finish_it(tmp_path, monkeypatch):
    import gdlab.lrfind
    from gdlab.lrfind import LRFindResult

    def interrupted(cfg, run_dir, *args, **kwargs):
        return LRFindResult(tmp_path, [1e-3, 1e-2], [1.0, 0.5], [1.0, 0.6], 5e-3, 1e-2, stopped_early=False,
                            loss_still_falling=True, interrupted=True)

    monkeypatch.setattr(gdlab.lrfind, "lr_find", interrupted)
    result = runner.invoke(app, ["lr-find", str(Path(__file__).resolve().parents[1] / "configs" / "sine.yaml")])
    assert result.exit_code == 0, result.output
    assert "only a lower bound: run it to the end" in result.stdout and "--max-lr" not in result.stdout


def test_train_resume_of_a_sweep_variant_points_to_sweep_resume(tmp_path):
    from tests.test_sweep import sweep, write_config

    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.01,0.1")
    assert result.exit_code == 0
    resumed = runner.invoke(app, ["train", "--resume", str(out / "000_lr=0.01")])
    one_error_line(resumed, 2, "a variant of the sweep", f"gdlab sweep --resume {out}")


def test_gradcheck_says_when_it_planted_the_bug_and_counts_one_tensor_in_the_singular():
    config = str(Path(__file__).resolve().parents[1] / "configs" / "sine.yaml")
    planted = runner.invoke(app, ["gradcheck", config, "--plant-bug", "1.5"])
    assert planted.exit_code == 1 and "--plant-bug 1.5: the gradient flowing back" in planted.stdout
    one = runner.invoke(app, ["gradcheck", config, "model=[{Linear: {in_features: 1, out_features: 1, bias: false}}]"])
    assert one.exit_code == 0 and "ok: the one tensor matches finite differences" in one.stdout


def test_runs_takes_the_folder_as_runs_too_as_train_and_sweep_do(tmp_path):
    root = tmp_path / "elsewhere"
    make_run(root / "tiny" / "2026-11-26_10-00-00")
    by_option = runner.invoke(app, ["runs", "--runs", str(root), "--json"])
    by_argument = runner.invoke(app, ["runs", str(root), "--json"])
    assert by_option.exit_code == 0 and by_option.stdout == by_argument.stdout and '"kind": "run"' in by_option.stdout
    one_error_line(runner.invoke(app, ["runs", str(tmp_path), "--runs", str(root)]), 2, "give the folder once")
    # DIR written out as its default is still a second folder, not a silent loser to --runs
    one_error_line(runner.invoke(app, ["runs", "runs", "--runs", str(root)]), 2, "give the folder once", "got runs and")
