"""A metrics.csv damaged before the checkpoint (a bad disk block: bytes that are not UTF-8, a row cut to fewer
cells) is refused by --resume, which kept such a row with its bytes replaced; damage after it is dropped."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gdlab.cli import app
from tests.helpers import one_error_line
from tests.test_resume import assert_same_run, config

runner = CliRunner()


@pytest.fixture
def killed(tmp_path):
    """(a finished reference run, the same run as if killed after its checkpoint at step 5 of 10)."""
    ref, run = tmp_path / "ref", tmp_path / "run"
    for folder in (ref, run):
        assert runner.invoke(app, ["train", str(config(tmp_path, epochs=2)), "--run-dir", str(folder), "-q"]).exit_code == 0
    for name in ("summary.json", "model.pt", "checkpoint.pt"):  # the last checkpoint left: checkpoint.prev.pt, step 5
        (run / name).unlink()
    return ref, run


def damage(run, step: int, row: bytes | None = None) -> bytes:
    """metrics.csv with the row of `step` replaced by `row` (default: a byte that is not UTF-8 put in it)."""
    lines = (run / "metrics.csv").read_bytes().split(b"\n")
    lines[step] = row if row is not None else lines[step][:6] + b"\xff" + lines[step][6:]
    (run / "metrics.csv").write_bytes(b"\n".join(lines))
    return (run / "metrics.csv").read_bytes()


@pytest.mark.parametrize("row, what", [(None, "bytes that are not UTF-8"), (b"3,0.6", "a wrong number of cells")])
def test_a_damaged_row_before_the_checkpoint_is_refused_and_the_file_left_as_it_was(killed, row, what):
    _, run = killed
    before = damage(run, 3, row)
    one_error_line(runner.invoke(app, ["train", "--resume", str(run), "-q"]), 2,
                   f"{run / 'metrics.csv'}: line 4 (step 3) is damaged ({what})", "restore the file")
    assert (run / "metrics.csv").read_bytes() == before


def test_a_damaged_row_after_the_checkpoint_is_dropped_with_the_rows_the_resume_retrains(killed):
    ref, run = killed
    damage(run, 7)
    assert runner.invoke(app, ["train", "--resume", str(run), "-q"]).exit_code == 0
    assert_same_run(ref, run)
