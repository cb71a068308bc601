"""A group's first files written while it trains (on an accelerator: runner.files_in_background), forced
here on the CPU: the same files as writing them first, rows that wait for their file, and write errors
that still fail the group before any summary.json, with nothing left being written."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pytest
import torch

import gdlab.records as records
import gdlab.runner as runner
from gdlab.data import load_data
from gdlab.errors import GdlabError
from gdlab.records import GroupMetrics, metric_columns
from gdlab.runner import Variant, run_group
from tests.helpers import make_config
from tests.test_run_files import record

TIMINGS = {"wall_s", "steps_per_s", "started_at", "finished_at"}


def group(tmp_path, tag: str) -> list[Variant]:
    cfg = make_config(**{"train.epochs": 30})
    variants = []
    for k, lr in enumerate((0.01, 0.1, 0.5, 2.0)):
        folder = tmp_path / tag / f"{k:03d}"
        folder.mkdir(parents=True)
        variants.append(Variant(cfg.model_copy(update={"optimizer": cfg.optimizer.model_copy(update={"lr": lr})}), folder,
                                [f"optimizer.lr={lr}"]))
    return variants


def run(variants: list[Variant]) -> list[dict]:
    data = load_data(variants[0].cfg)
    return run_group(variants, [data] * len(variants), torch.device("cpu"), flush_every=7, in_sweep=True)


def test_files_written_while_training_equal_files_written_first(tmp_path, monkeypatch):
    first = run(group(tmp_path, "first"))
    monkeypatch.setattr(runner, "files_in_background", lambda device, n: True)
    meanwhile = run(group(tmp_path, "meanwhile"))
    assert [{k: v for k, v in s.items() if k not in TIMINGS} for s in meanwhile] == \
           [{k: v for k, v in s.items() if k not in TIMINGS} for s in first]
    for k in range(4):
        a, b = tmp_path / "first" / f"{k:03d}", tmp_path / "meanwhile" / f"{k:03d}"
        for name in ("config.yaml", "overrides.yaml"):
            assert (a / name).read_text() == (b / name).read_text()
        got, want = pd.read_csv(b / "metrics.csv"), pd.read_csv(a / "metrics.csv")
        assert got.drop(columns="wall_s").equals(want.drop(columns="wall_s")) and len(got) == 30
        assert json.loads((b / "summary.json").read_text())["status"] == "completed"


def test_a_header_that_cannot_be_written_fails_the_group_before_any_summary(tmp_path, monkeypatch):
    written = []

    def header(v: Variant) -> None:
        if v.run_dir.name == "002":
            raise GdlabError(f"{v.run_dir / 'config.yaml'}: cannot write: No space left on device")
        written.append(v.run_dir.name)
        (v.run_dir / "config.yaml").write_text("x: 1\n")

    monkeypatch.setattr(runner, "files_in_background", lambda device, n: True)
    monkeypatch.setattr(runner, "write_run_header", header)
    variants = group(tmp_path, "g")
    with pytest.raises(GdlabError, match="002/config.yaml: cannot write"):
        run(variants)
    assert sorted(written) == ["000", "001", "003"]  # every other header finished before the error surfaced
    assert not any((v.run_dir / "summary.json").exists() for v in variants)


def test_rows_wait_in_memory_until_their_files_exist(tmp_path, monkeypatch):
    """Blocks of rows come due while the files are still being created: none is dropped or reordered."""
    release = threading.Event()
    made = records.CsvAppender

    def slow_appender(*args, **kwargs):
        assert release.wait(30)
        return made(*args, **kwargs)

    monkeypatch.setattr(records, "CsvAppender", slow_appender)
    paths = [tmp_path / f"m{k}.csv" for k in range(5)]
    metrics = GroupMetrics(paths, metric_columns("regression", False), flush_every=2, background=True)
    for step in range(1, 8):
        metrics.consume(record(step, 5, [True] * 5))
    assert not any(p.exists() for p in paths) and len(metrics.block) == 7  # three blocks came due meanwhile
    release.set()
    for step in range(8, 10):
        metrics.consume(record(step, 5, [True] * 5))
    metrics.close()
    for k, path in enumerate(paths):
        table = pd.read_csv(path)
        assert table.step.tolist() == list(range(1, 10))
        assert table.train_loss.tolist() == [1 / (s + k + 3) for s in range(1, 10)]


def test_a_metrics_file_that_cannot_be_created_is_named_and_the_others_are_closed(tmp_path, monkeypatch):
    made, opened = records.CsvAppender, []

    def appender(path, *args, **kwargs):
        if path.name == "m3.csv":
            raise GdlabError(f"{path}: cannot write: Permission denied")
        opened.append(made(path, *args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(records, "CsvAppender", appender)
    paths = [tmp_path / f"m{k}.csv" for k in range(5)]
    metrics = GroupMetrics(paths, metric_columns("regression", False), flush_every=2, background=True)
    metrics.consume(record(1, 5, [True] * 5))
    with pytest.raises(GdlabError, match="m3.csv: cannot write"):
        metrics.close()
    assert len(opened) == 4 and all(f._fh.closed for f in opened)


def test_a_group_stopped_early_while_its_files_are_written_meanwhile_keeps_them_all(tmp_path, monkeypatch):
    """A graceful stop (Ctrl-C in a sweep) with the first files still on the I/O threads: every variant
    ends `interrupted` with its header, its rows up to the stop and its summary."""
    monkeypatch.setattr(runner, "files_in_background", lambda device, n: True)
    variants = group(tmp_path, "stopped")
    data = load_data(variants[0].cfg)
    seen = []
    summaries = run_group(variants, [data] * 4, torch.device("cpu"), flush_every=7, in_sweep=True,
                          observers=[lambda rec: seen.append(rec.step)], should_stop=lambda: len(seen) >= 5)
    assert [s["status"] for s in summaries] == ["interrupted"] * 4 and {s["steps"] for s in summaries} == {5}
    for v in variants:
        assert (v.run_dir / "config.yaml").is_file() and (v.run_dir / "overrides.yaml").is_file()
        assert pd.read_csv(v.run_dir / "metrics.csv").step.tolist() == [1, 2, 3, 4, 5]
        assert json.loads((v.run_dir / "summary.json").read_text())["status"] == "interrupted"
