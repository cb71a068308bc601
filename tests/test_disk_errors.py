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
