"""A variant's folder holds the same files whatever backend or grouping ran it: snapshots come back from
Ray workers, no grouping writes checkpoints, every variant of a failed group has its error.log; and
sweep.csv and the over-seeds table say what ran (a swept null, a point without a validation split)."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

import gdlab.engine.loop
from gdlab.cli.sweep_ranking import ranking_tables
from gdlab.sweep.execute import Job, run_job, run_job_returning_files, write_returned_files
from gdlab.sweep.rank import aggregate_over_seeds
from tests.helpers import make_config
from tests.test_sweep import runner, sweep, write_config
from gdlab.cli import app


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_files_returned_by_a_remote_worker_are_every_file_the_run_wrote(tmp_path, monkeypatch):
    cfgs = [make_config(**{"optimizer.lr": lr, "train.epochs": 12, "train.snapshot_every": 5}).resolved() for lr in (0.1, 0.5)]
    here = [tmp_path / "here" / str(i) for i in range(2)]
    for d in here:
        d.mkdir(parents=True)
    run_job(Job([0, 1], cfgs, [str(d) for d in here], [[], []]))
    remote = [tmp_path / "remote" / str(i) for i in range(2)]
    job = Job([0, 1], cfgs, [str(d) for d in remote], [[], []])
    summaries, files = run_job_returning_files(job)
    seen = fsynced_files(monkeypatch)
    write_returned_files(job, files)
    assert seen == []  # the driver writes a Ray sweep's files as the local backend does: not fsynced
    for a, b in zip(here, remote):
        assert tree(a) == tree(b) and "snapshots/step_0000010.pt" in tree(b)
        for name in ("snapshots/step_0000005.pt", "model.pt"):
            wa, wb = torch.load(a / name, weights_only=True), torch.load(b / name, weights_only=True)
            assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_no_grouping_writes_checkpoints_and_a_note_says_the_key_is_not_used(tmp_path):
    cfg = write_config(tmp_path, **{"train.checkpoint_every": 5})
    for folder, extra in (("grouped", []), ("alone", ["--vectorize", "off"]), ("jobs", ["--jobs", "2"])):
        result, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1", *extra, folder=folder)
        assert result.exit_code == 0, result.output
        assert "train.checkpoint_every is not used by a sweep" in result.stderr
        files = tree(out)
        assert not [f for f in files if "checkpoint" in f], files
        assert len([f for f in files if f.endswith("summary.json")]) == 2


def test_every_variant_of_a_failed_group_has_its_error_log(tmp_path, monkeypatch):
    real = gdlab.engine.loop.GroupTrainer._update

    def update(self, lr, must_mask):
        if self.step == 3:
            raise RuntimeError("simulated failure at step 3")
        real(self, lr, must_mask)

    monkeypatch.setattr(gdlab.engine.loop.GroupTrainer, "_update", update)
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.01,0.1,0.2")
    assert result.exit_code == 1
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.status) == ["failed"] * 3
    for run_dir in table.run_dir:
        assert "simulated failure at step 3" in (out / run_dir / "error.log").read_text()


def test_a_group_that_fails_before_training_leaves_a_failed_summary_in_each_folder(tmp_path, monkeypatch):
    """Its status and error were only in sweep.csv; the README lists failed as a summary.json status, and
    `gdlab runs` showed those folders as runs with no summary. --resume still reruns them."""
    import json

    import gdlab.runner
    from gdlab.errors import GdlabError

    real = gdlab.runner.run_group

    def broken(*args, **kwargs):
        raise GdlabError("simulated: the group failed before its first step")

    monkeypatch.setattr(gdlab.runner, "run_group", broken)
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.01,0.1")
    assert result.exit_code == 1, result.output
    table = pd.read_csv(out / "sweep.csv")
    for run_dir, seed in zip(table.run_dir, [0, 0]):
        summary = json.loads((out / run_dir / "summary.json").read_text())
        assert (summary["status"], summary["error"], summary["steps"], summary["seed"]) == \
            ("failed", "simulated: the group failed before its first step", 0, seed)
        assert summary["name"] and not (out / run_dir / "model.pt").exists()
    monkeypatch.setattr(gdlab.runner, "run_group", real)
    resumed = runner.invoke(app, ["sweep", "--resume", str(out), "-q"])
    assert resumed.exit_code == 0, resumed.output
    assert list(pd.read_csv(out / "sweep.csv").status) == ["completed"] * 2
    assert json.loads((out / table.run_dir[0] / "summary.json").read_text())["status"] == "completed"


def test_a_swept_null_reads_null_in_sweep_csv_and_plots(tmp_path):
    cfg = write_config(tmp_path, **{"train.epochs": 3})
    result, out = sweep(tmp_path, cfg, "train.batch_size=null,32", "optimizer.lr=0.01,0.1")
    assert result.exit_code == 0, result.output
    lines = (out / "sweep.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["null", "null", "32", "32"]
    plotted = runner.invoke(app, ["plot", str(out), "-o", str(tmp_path / "s.png")])
    assert plotted.exit_code == 0, plotted.output
    assert (tmp_path / "s.png").stat().st_size > 0


def test_swept_text_that_reads_as_a_number_is_quoted_where_it_is_written_to_be_pasted_back(tmp_path):
    """name='2024' ran, but overrides.yaml said name=2024 and sweep.csv 2024: pasted back, both read as a
    number, which `name` refuses."""
    import yaml

    from gdlab.config.overrides import parse_override
    from gdlab.loading import load_config

    cfg = write_config(tmp_path, **{"train.epochs": 2})
    result, out = sweep(tmp_path, cfg, "name='2024',abc,'true'")
    assert result.exit_code == 0, result.output
    runs = sorted(p for p in out.iterdir() if p.is_dir())
    overrides = [yaml.safe_load((run / "overrides.yaml").read_text()) for run in runs]
    assert [o[-1] for o in overrides] == ["name='2024'", "name=abc", "name='true'"]
    assert [load_config(cfg, o).name for o in overrides] == ["2024", "abc", "true"]  # each replays as it ran
    cells = [line.split(",")[0] for line in (out / "sweep.csv").read_text().splitlines()[1:]]
    assert [parse_override(f"name={cell}")[1] for cell in cells] == ["2024", "abc", "true"]


def test_a_point_without_validation_is_scored_by_training_loss_over_seeds():
    rows = [{"data.val_fraction": vf, "seed": seed, "status": "completed", "final_train_loss": 0.1 * (seed + 1) + vf,
             "best_val_loss": (0.5 + seed if vf else None), "run_dir": f"{vf}_{seed}"} for vf in (0.0, 0.25) for seed in (0, 1)]
    with_val, without = aggregate_over_seeds(rows, ["data.val_fraction", "seed"])
    assert (with_val.metric, with_val.mean, with_val.n_ok) == ("best_val_loss", 1.0, 2)
    assert (without.metric, without.mean, without.n_ok) == ("final_train_loss", pytest.approx(0.15), 2)
    from rich.console import Console

    console = Console(width=200, record=True)
    for table in ranking_tables(rows, ["data.val_fraction", "seed"]):
        console.print(table)
    text = console.export_text()
    assert "0.15 ± 0.071 (final_train_loss)" in text and "2/2" in text and "0/2" not in text
    assert "best over seeds: data.val_fraction=0.25  (best_val_loss 1 ± 0.71, 2/2 seeds)" in text


def fsynced_files(monkeypatch) -> list[str]:
    """Record the path of every file os.fsync is called on."""
    seen: list[str] = []
    real = os.fsync

    def fsync(fd):
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return seen


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name a file descriptor")
def test_a_sweep_fsyncs_its_table_not_each_variants_files_while_a_run_alone_does(tmp_path, monkeypatch):
    seen = fsynced_files(monkeypatch)
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.01,0.02,0.05,0.1")
    assert result.exit_code == 0, result.output
    # sweep.yaml and sweep.csv, and the sweep folder after their renames (write_atomic's durable path): none per variant
    assert seen and all(Path(p).parent == out or Path(p) == out for p in seen), seen
    assert str(out) in seen
    assert seen[-1] == str(out)  # the last write, sweep.csv's rename, is kept by a folder fsync too
    seen.clear()
    trained = runner.invoke(app, ["train", str(write_config(tmp_path)), "--run-dir", str(tmp_path / "alone"), "-q"])
    assert trained.exit_code == 0
    names = [Path(p).name for p in seen]
    assert "metrics.csv" in names and any(n.startswith(".summary.json.") for n in names), names


def test_resume_reruns_a_variant_whose_weights_or_rows_did_not_survive(tmp_path):
    """Unfsynced files can come back short after a power cut: a summary without its model.pt, or whose
    last metrics row is gone, is unfinished."""
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.01,0.1")
    assert result.exit_code == 0
    (out / "001_lr=0.1" / "model.pt").write_bytes(b"")
    metrics = out / "000_lr=0.01" / "metrics.csv"
    full = metrics.read_text()
    metrics.write_text(full[: full.rstrip("\n").rfind("\n") + 1])  # the last row lost
    dry = runner.invoke(app, ["sweep", "--resume", str(out), "--dry-run"])
    assert dry.exit_code == 0 and "rerun 2 of 2 variants" in dry.output
    assert runner.invoke(app, ["sweep", "--resume", str(out), "-q"]).exit_code == 0
    weights = torch.load(out / "001_lr=0.1" / "model.pt", weights_only=True)
    assert set(weights) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    strip = lambda text: [line.rsplit(",", 1)[0] for line in text.splitlines()]  # noqa: E731  (wall_s aside)
    assert strip(metrics.read_text()) == strip(full)


def test_a_full_disk_while_rewriting_sweep_csv_keeps_the_last_table_and_leaves_no_partial(tmp_path, monkeypatch):
    from gdlab.csvlog import CsvAppender
    from gdlab.errors import GdlabError

    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.01,0.1")
    before = (out / "sweep.csv").read_text()

    def full(self, line):
        raise GdlabError(f"{self.path}: cannot write (No space left on device)", exit_code=1)

    (out / "000_lr=0.01" / "summary.json").unlink()  # the resume reruns one, so sweep.csv is rewritten
    monkeypatch.setattr(CsvAppender, "write_line", full)
    resumed = runner.invoke(app, ["sweep", "--resume", str(out)])
    assert resumed.exit_code == 1 and "No space left on device" in resumed.stderr
    # named as sweep.csv, the file the user knows, not the temp file it is written through (and is gone)
    assert resumed.stderr.endswith(f"gdlab: error: {out / 'sweep.csv'}: cannot write (No space left on device)\n")
    assert (out / "sweep.csv").read_text() == before and not (out / ".sweep.csv.partial").exists()


def test_a_csv_header_that_the_disk_refuses_is_one_line_naming_the_file():
    from gdlab.csvlog import CsvAppender
    from gdlab.errors import GdlabError

    with pytest.raises(GdlabError, match=r"^/dev/full: cannot write \(No space left on device\)$"):
        CsvAppender(Path("/dev/full"), ["step", "loss"])


def test_resume_keeps_finished_variants_whose_last_row_is_a_divergence_or_an_unlogged_step(tmp_path):
    """The rows-survived check reads the last metrics row: with log_every 7 and a divergence at step 3 it
    must still be each finished variant's last step, or --resume would rerun sound variants."""
    cfg = Path(__file__).resolve().parents[1] / "configs" / "sine.yaml"
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.1,30", "train.log_every=7", "train.steps=30",
                        "train.eval_every=4")
    assert result.exit_code == 0, result.output
    assert sorted(pd.read_csv(out / "sweep.csv").status) == ["completed", "diverged"]
    dry = runner.invoke(app, ["sweep", "--resume", str(out), "--dry-run"])
    assert dry.exit_code == 0 and "rerun 0 of 2 variants" in dry.output


def test_best_over_seeds_prefers_a_setting_every_seed_finished():
    from gdlab.sweep.rank import best_over_seeds

    # lr 3's mean is lowest but over 2 of 4 seeds; lr 2 finished all 4: the ranking and the plot's star pick 2
    assert best_over_seeds([(1, 0.5, 4, 4), (2, 0.3, 4, 4), (3, 0.1, 2, 4), (4, None, 0, 4)]) == 2
    assert best_over_seeds([(3, 0.1, 2, 4), (6, 0.2, 1, 4)]) == 3  # none complete: the lowest partial mean
    assert best_over_seeds([(4, None, 0, 4)]) is None


def test_a_batched_variants_weight_files_hold_its_own_weights_not_the_whole_stack(tmp_path):
    """model.pt and snapshots of a batched variant were the same size as K models' weights: a contiguous
    bias was saved as a view of the group's [K, P] tensor, storage and all (1.4 MB per file at K=1024,
    1.4 GB for the sweep). Each file must be what `gdlab train` writes for that variant alone."""
    lrs = [0.01 * (i + 1) for i in range(16)]
    cfgs = [make_config(**{"optimizer.lr": lr, "train.epochs": 6, "train.snapshot_every": 3}).resolved() for lr in lrs]
    dirs = [tmp_path / f"{i:03d}" for i in range(len(lrs) + 1)]
    for d in dirs:
        d.mkdir()
    run_job(Job(list(range(len(lrs))), cfgs, [str(d) for d in dirs[:-1]], [[] for _ in lrs]))
    run_job(Job([0], [cfgs[-1]], [str(dirs[-1])], [[]]))  # the last variant alone
    for name in ("model.pt", "snapshots/step_0000003.pt"):
        grouped, alone = torch.load(dirs[-2] / name, weights_only=True), torch.load(dirs[-1] / name, weights_only=True)
        for key, t in grouped.items():
            assert t.untyped_storage().nbytes() == t.numel() * t.element_size(), (name, key)
            assert torch.allclose(t, alone[key], rtol=1e-5, atol=1e-7), (name, key)
        size, own = (dirs[-2] / name).stat().st_size, (dirs[-1] / name).stat().st_size
        assert size <= own + 64, (name, size, own)  # names and zip headers aside, the same bytes


def test_the_over_seeds_table_lists_settings_every_seed_finished_first_and_shows_no_spread_for_one_seed():
    """lr 16 (1 of 3 seeds finished, mean 1.9) topped the table above lr 4 (3 of 3, mean 6.5) while the
    best line under it named lr 4; and one seed's spread read '± 0', as if perfectly reproducible."""
    from rich.console import Console

    from gdlab.cli.sweep_ranking import ranking_tables
    from gdlab.sweep.rank import aggregate_over_seeds

    def row(lr, seed, status, loss):
        return {"optimizer.lr": lr, "seed": seed, "status": status, "final_train_loss": loss, "best_val_loss": None,
                "diverged_at_step": 5 if status == "diverged" else None, "steps": 10, "run_dir": f"{lr}_{seed}"}

    rows = [row(4, s, "completed", v) for s, v in enumerate([1.0, 3.0, 15.4])]
    rows += [row(16, 0, "completed", 1.904), row(16, 1, "diverged", None), row(16, 2, "diverged", None)]
    points = aggregate_over_seeds(rows, ["optimizer.lr", "seed"])
    assert [(p.point["optimizer.lr"], p.n_ok) for p in points] == [(4, 3), (16, 1)]
    assert points[0].std == pytest.approx(statistics.stdev([1.0, 3.0, 15.4])) and points[1].std is None
    console = Console(width=200, record=True)
    for table in ranking_tables(rows, ["optimizer.lr", "seed"]):
        console.print(table)
    text = console.export_text()
    assert "1.904 ± " not in text and "1.904" in text
    assert "best over seeds: optimizer.lr=4" in text
    lines = [line for line in text.splitlines() if "/3 " in line and "│" in line]  # the over-seeds rows
    assert [line.split("│")[1].strip() for line in lines] == ["4", "16"]


def test_a_name_axis_names_the_variants_and_the_sweep_goes_under_the_base_configs_name(tmp_path):
    """It went under runs/<first value>/, where `gdlab runs` named the whole sweep after one of its variants."""
    cfg = write_config(tmp_path, **{"name": "base", "train.epochs": 1})
    result = runner.invoke(app, ["sweep", str(cfg), "name=a,b", "--runs", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert folder.parent == tmp_path / "runs" / "base" and sorted(os.listdir(tmp_path / "runs")) == ["base"]
    assert yaml.safe_load((folder / "sweep.yaml").read_text())["name"] == "base"
    assert [yaml.safe_load((folder / d / "config.yaml").read_text())["name"] for d in ("000_name=a", "001_name=b")] == ["a", "b"]
    listed = runner.invoke(app, ["runs", str(tmp_path / "runs"), "--json"])
    assert [(r["name"], r["kind"]) for r in json.loads(listed.stdout)] == [("base", "sweep")]
