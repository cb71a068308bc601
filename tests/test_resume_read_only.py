"""--resume of a run folder it cannot write (a read-only share, another user's run) is refused up front as
bad input, exit 2, like --run-dir in such a folder; it was exit 1, a runtime failure, at its metrics.csv."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from helpers import TINY, invoke, one_error_line


def test_resume_of_a_folder_it_cannot_write_is_exit_2(tmp_path, monkeypatch):
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({**TINY, "train": {"steps": 40, "device": "cpu"}}))
    run = tmp_path / "run"
    assert invoke("train", tmp_path / "cfg.yaml", "train.steps=20", "--run-dir", run, "-q").exit_code == 0
    summary = run / "summary.json"
    summary.write_text(summary.read_text().replace('"completed"', '"interrupted"'))  # as Ctrl-C leaves it
    (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("steps: 20", "steps: 40"))
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    real_access = os.access
    # root writes through a mode of 0o555, so the OS's answer for a folder it may not write is simulated
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == run and mode & os.W_OK
                        else real_access(p, mode, **kw))
    run.chmod(0o555)
    try:
        line = one_error_line(invoke("train", "--resume", run), 2, "--resume", "not writable")
    finally:
        run.chmod(0o755)
    assert str(run) in line
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
