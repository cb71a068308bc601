"""A folder is a gdlab sweep by what its sweep.yaml holds (the base config and the axes, as gdlab sweep writes it
and --resume rebuilds the sweep from), not by the file's name: another tool's sweep.yaml (a W&B sweep config in a
project folder, say) hid every run under it behind one empty "sweep" row. Hand-made folders; no training."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.test_plot import make_run, make_sweep
from tests.test_plot_more import cli, one_line_error

WANDB = {"program": "train.py", "method": "grid", "metric": {"name": "val_loss", "goal": "minimize"},
         "parameters": {"lr": {"values": [0.01, 0.1]}}}


@pytest.mark.parametrize("text", [yaml.safe_dump(WANDB).encode(), b"- a list\n- of things\n", b"axes: [unclosed\n", b"",
                                  b"base: not a config\naxes: {optimizer.lr: [0.1]}\n", b"\xff\xfe binary"])
def test_runs_lists_the_runs_under_another_tools_sweep_yaml(tmp_path, text):
    root = tmp_path / "project"
    run = make_run(root / "runs" / "moons" / "2026-11-26_10-00-00")
    (root / "sweep.yaml").write_bytes(text)
    result = cli("runs", root, "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["kind"], r["path"]) for r in rows] == [("run", str(run))]  # was one "sweep" row for the project
    assert rows[0]["final_train_loss"] == pytest.approx(json.loads((run / "summary.json").read_text())["final_train_loss"])


def test_a_gdlab_sweep_without_sweep_csv_is_still_one_sweep(tmp_path):
    sweep = make_sweep(tmp_path / "runs" / "sweep-2026-11-26_10-00-00", lrs=(0.01, 0.1))
    (sweep / "sweep.csv").unlink()
    rows = json.loads(cli("runs", tmp_path / "runs", "--json").stdout)
    assert [(r["kind"], r["path"]) for r in rows] == [("sweep", str(sweep))]
    assert rows[0]["status"].startswith("2 variants: ")


def test_plot_of_a_folder_with_another_tools_sweep_yaml_says_what_it_is_not(tmp_path):
    folder = tmp_path / "project"
    make_run(folder / "r1")
    (folder / "sweep.yaml").write_text(yaml.safe_dump(WANDB))
    # not "a sweep folder with no sweep.csv ... finish it with gdlab sweep --resume", which it never was
    one_line_error(cli("plot", folder), f"{folder}: not a run folder", "it holds 1 such folder(s)")


def test_runs_warns_when_a_sweeps_sweep_yaml_is_broken_instead_of_letting_the_sweep_vanish(tmp_path):
    """sweep.csv beside a sweep.yaml gdlab cannot read: the folder was silently listed as its variant runs."""
    sweep = make_sweep(tmp_path / "runs" / "sweep-2026-11-26_10-00-00", lrs=(0.01, 0.1))
    (sweep / "sweep.yaml").write_text("base: [\n")
    result = cli("runs", tmp_path / "runs", "--json")
    assert result.exit_code == 0, result.stderr
    assert all(r["kind"] == "run" for r in json.loads(result.stdout))
    warning = [line for line in result.stderr.splitlines() if "sweep.yaml" in line]
    assert len(warning) == 1 and warning[0].startswith(f"gdlab: warning: {sweep / 'sweep.yaml'}:")
    assert warning[0].endswith(f"; {sweep} is not listed as a sweep")
    (sweep / "sweep.yaml").write_text(yaml.safe_dump(WANDB))  # another tool's readable one: its own business
    assert "sweep.yaml" not in cli("runs", tmp_path / "runs").stderr


def test_a_broken_summary_json_is_named_with_its_line_and_column(tmp_path):
    run = make_run(tmp_path / "runs" / "moons" / "2026-11-26_10-00-00")
    (run / "summary.json").write_text('{"status": "comp\n')
    result = cli("runs", tmp_path / "runs")
    assert result.exit_code == 0
    assert (f"gdlab: warning: {run / 'summary.json'}: not valid JSON (invalid control character at line 1, column 17); "
            "ignoring it") in result.stderr  # json's own message ended "... at" with nothing after it
