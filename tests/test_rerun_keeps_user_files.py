"""A rerun clears only what gdlab wrote: `sweep --resume` restarts an unfinished variant without its old files
(snapshots, error.log, the plots gdlab drew there) but keeps the notes a user put in its folder, and
`train --resume` removes the temp files of its own killed writes, not a user's."""

from __future__ import annotations

import json

from tests.helpers import invoke
from tests.test_sweep import write_config


def test_sweep_resume_reruns_a_variant_but_keeps_the_users_files_in_its_folder(tmp_path):
    cfg = write_config(tmp_path, **{"train.epochs": 2, "train.snapshot_every": 1})
    out = tmp_path / "sw"
    assert invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--run-dir", out, "-q").exit_code == 0
    variant = out / "000_lr=0.1"
    steps = json.loads((variant / "summary.json").read_text())["steps"]
    (variant / "summary.json").unlink()  # unfinished: a resume reruns it
    gdlab_leftovers = ["error.log", "loss.png", "boundary.png", "boundary_snapshots.png", ".metrics.csv.a1b2.tmp", "snapshots/step_0000099.pt"]
    for name in gdlab_leftovers:
        (variant / name).write_text("old")
    mine = {"notes.txt": "x", ".notes.tmp": "y", "plots/mine.png": "z", "snapshots/README": "w"}
    for name, text in mine.items():
        (variant / name).parent.mkdir(exist_ok=True)
        (variant / name).write_text(text)

    assert invoke("sweep", "--resume", out, "-q").exit_code == 0

    for name, text in mine.items():
        assert (variant / name).read_text() == text, name
    for name in gdlab_leftovers:
        assert not (variant / name).exists(), name
    summary = json.loads((variant / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == steps
    snapshots = sorted(p.name for p in (variant / "snapshots").glob("*.pt"))
    assert snapshots == [f"step_{s:07d}.pt" for s in range(steps + 1)]  # the rerun's, none left from before


def test_train_resume_removes_its_own_temp_files_but_not_a_users(tmp_path):
    cfg = write_config(tmp_path, **{"train.epochs": 4, "train.checkpoint_every": 1})
    run = tmp_path / "run"
    assert invoke("train", cfg, "--run-dir", run, "-q").exit_code == 0
    (run / "summary.json").unlink()  # as a killed run leaves it: --resume goes on from its last checkpoint
    (run / ".checkpoint.pt.k1l2.tmp").write_text("killed")
    (run / ".notes.tmp").write_text("mine")
    (run / "snapshots").mkdir(exist_ok=True)  # a snapshot's write killed: it stayed, only the top level was cleared
    (run / "snapshots" / ".step_0000003.pt.x9y8.tmp").write_text("killed")
    (run / "snapshots" / "notes.tmp").write_text("mine")
    result = invoke("train", "--resume", run, "-q")
    assert result.exit_code == 0, result.stderr
    assert not (run / ".checkpoint.pt.k1l2.tmp").exists(), result.stderr
    assert not (run / "snapshots" / ".step_0000003.pt.x9y8.tmp").exists()
    assert (run / ".notes.tmp").read_text() == "mine" and (run / "snapshots" / "notes.tmp").read_text() == "mine"
