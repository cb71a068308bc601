"""sweep.csv and sweep.yaml are names any tool may write: a folder is a gdlab sweep by what its sweep.yaml holds
(gdlab.folder_kinds.is_sweep_folder), for `runs`, `plot` and `gdlab train --resume` alike."""

from __future__ import annotations

import json

import pytest
import yaml

from gdlab.folder_kinds import kind_of
from tests.helpers import invoke
from tests.test_commands_more import write_config
from tests.test_plot import make_run, make_sweep, png_size
from tests.test_plot_more import cli, one_line_error
from tests.test_runs_foreign_sweep_yaml import WANDB

FOREIGN_CSV = "lr,val_loss\n0.01,0.31\n0.1,0.27\n"  # a results table another script exported


def test_runs_lists_the_runs_under_a_folder_with_another_tools_sweep_csv(tmp_path):
    root = tmp_path / "project"
    run = make_run(root / "runs" / "2026-11-26_10-00-00")
    (root / "sweep.csv").write_text(FOREIGN_CSV)
    result = cli("runs", root, "--json")
    assert result.exit_code == 0, result.stderr
    assert [(r["kind"], r["path"]) for r in json.loads(result.stdout)] == [("run", str(run))]  # was one "sweep" row
    one_line_error(cli("plot", root), f"{root}: not a run folder", "it holds 1 such folder(s)")


def test_plot_of_a_run_with_another_tools_sweep_csv_beside_it_plots_the_run(tmp_path):
    run = make_run(tmp_path / "run")
    (run / "sweep.csv").write_text(FOREIGN_CSV)
    assert kind_of(run) == "run"
    result = cli("plot", run, "--output", tmp_path / "run.png")
    assert result.exit_code == 0, result.stderr
    assert png_size(tmp_path / "run.png")[0] > 0


def test_a_gdlab_sweep_is_still_a_sweep(tmp_path):
    sweep = make_sweep(tmp_path / "sweep", lrs=(0.01, 0.1))
    assert kind_of(sweep) == "sweep"
    rows = json.loads(cli("runs", tmp_path, "--json").stdout)
    assert [(r["kind"], r["path"]) for r in rows] == [("sweep", str(sweep))]


@pytest.mark.parametrize("where", ["parent", "run"])
def test_train_resume_goes_on_beside_another_tools_sweep_yaml(tmp_path, where):
    config = write_config(tmp_path, train={"epochs": 3, "batch_size": 16, "device": "cpu", "checkpoint_every": 5})
    run = tmp_path / "project" / "run"
    assert invoke("train", config, "--run-dir", run, "-q").exit_code == 0
    (run / "summary.json").unlink()  # as if killed: resumable
    (run.parent if where == "parent" else run).joinpath("sweep.yaml").write_text(yaml.safe_dump(WANDB))
    result = invoke("train", "--resume", run, "-q")
    assert result.exit_code == 0, result.stderr  # was "a variant of the sweep ..." / "this is a sweep folder"
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("sweep_yaml, why", [(None, "which is missing"), ("axes: [\n", "which is not gdlab's")])
def test_plot_of_a_sweep_csv_without_gdlabs_sweep_yaml_says_that_is_why(tmp_path, sweep_yaml, why):
    """A sweep whose sweep.yaml is gone or broken is refused, and the message says sweep.yaml is the reason."""
    folder = make_sweep(tmp_path / "s")
    (folder / "sweep.yaml").unlink(missing_ok=True)
    if sweep_yaml is not None:
        (folder / "sweep.yaml").write_text(sweep_yaml)
    one_line_error(cli("plot", folder), "sweep.yaml", why)
