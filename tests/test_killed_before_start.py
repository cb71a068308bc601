"""A sweep killed (-9) within milliseconds of its mkdir leaves its lock and maybe a temp sweep.yaml: `--resume`
said 'no sweep.yaml there; is it a sweep folder?' and `--run-dir` 'not empty', neither saying what happened or
what to do. Both now name the leftovers and say to remove the folder; a folder whose lock a live process
holds (a sweep starting now) keeps the plain refusal."""

from __future__ import annotations

import fcntl

import pytest
from typer.testing import CliRunner

from gdlab.cli import app
from tests.helpers import one_error_line
from tests.test_disk_errors import tiny_config

runner = CliRunner()


def killed_sweep_folder(tmp_path):
    folder = tmp_path / "sw"
    folder.mkdir()
    (folder / ".sweep.lock").write_text("4242\n")  # a dead process's pid
    (folder / ".sweep.yaml.k2j4.tmp").write_text("name: tin")  # its sweep.yaml, torn before the rename
    return folder


@pytest.mark.parametrize("command", [["sweep", "optimizer.lr=0.1,0.2"], ["train"], ["lr-find"]])
def test_run_dir_holding_only_a_killed_sweeps_leftovers_says_so(tmp_path, command):
    folder = killed_sweep_folder(tmp_path)
    result = runner.invoke(app, [command[0], str(tiny_config(tmp_path)), *command[1:], "--run-dir", str(folder)])
    one_error_line(result, 2, "holds only what a gdlab killed before it wrote anything left "
                              "(.sweep.lock, .sweep.yaml.k2j4.tmp)", "remove the folder")
    assert sorted(p.name for p in folder.iterdir()) == [".sweep.lock", ".sweep.yaml.k2j4.tmp"]  # nothing removed


def test_resume_of_a_killed_sweeps_leftovers_says_there_is_nothing_to_resume(tmp_path):
    folder = killed_sweep_folder(tmp_path)
    one_error_line(runner.invoke(app, ["sweep", "--resume", str(folder)]), 2,
                   "a sweep killed before it wrote sweep.yaml left only .sweep.lock, .sweep.yaml.k2j4.tmp",
                   "nothing to resume")


def test_a_lock_held_now_is_a_sweep_starting_not_a_killed_one(tmp_path):
    folder = killed_sweep_folder(tmp_path)
    with open(folder / ".sweep.lock", "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process's in life; /proc/locks shows ours alike
        result = runner.invoke(app, ["sweep", "--resume", str(folder)])
        one_error_line(result, 2, "no sweep.yaml there")
        result = runner.invoke(app, ["train", str(tiny_config(tmp_path)), "--run-dir", str(folder)])
        one_error_line(result, 2, "already exists and is not empty")
