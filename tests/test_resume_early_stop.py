"""train.early_stop_patience and early_stop_min_delta edited between a checkpoint and its --resume: refused where a
fresh run of the new config.yaml could differ (a smaller patience, one turned on, a new min_delta), taken where it
cannot (a larger patience, or none): the resumed run is then that fresh run, row for row and weight for weight."""

from __future__ import annotations

import json

import pytest
import yaml

from gdlab.checkpoint import check_config_unchanged
from gdlab.errors import GdlabError
from tests.helpers import invoke, make_config, one_error_line
from tests.test_resume import assert_same_run, config
from tests.test_resume_eval_every import killed_at_a_checkpoint

# On test_resume's config these stop a fresh run early at step 20 (patience 3) and 29 (patience 4)
EARLY = ("train.eval_every=1", "train.early_stop_min_delta=0.02")


def edit_train(run, **values) -> None:
    conf = yaml.safe_load((run / "config.yaml").read_text())
    conf["train"].update(values)
    (run / "config.yaml").write_text(yaml.safe_dump(conf))


@pytest.mark.parametrize("edit, shown", [
    ({"early_stop_patience": 2}, "train.early_stop_patience: 3 -> 2"),
    ({"early_stop_min_delta": 0.01}, "train.early_stop_min_delta: 0.02 -> 0.01"),
    ({"early_stop_patience": 5, "early_stop_min_delta": 0.05}, "train.early_stop_min_delta: 0.02 -> 0.05"),
])
def test_resume_refuses_an_early_stop_edit_a_fresh_run_could_have_stopped_under(tmp_path, edit, shown):
    run = killed_at_a_checkpoint(tmp_path, *EARLY, "train.early_stop_patience=3")
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    edit_train(run, **edit)
    files["config.yaml"] = (run / "config.yaml").read_bytes()
    one_error_line(invoke("train", "--resume", run, "-q"), 2, f"--resume {run}: config.yaml changed since the checkpoint",
                   shown, "could have stopped early before the checkpoint")
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files  # nothing written


@pytest.mark.parametrize("patience", [4, None])
def test_a_larger_patience_or_none_resumes_to_the_fresh_run_of_it(tmp_path, patience):
    ref = tmp_path / "ref"
    assert invoke("train", config(tmp_path), *EARLY, f"train.early_stop_patience={patience or 'null'}",
                  "--run-dir", ref, "-q").exit_code == 0
    run = killed_at_a_checkpoint(tmp_path, *EARLY, "train.early_stop_patience=3")
    edit_train(run, early_stop_patience=patience)
    result = invoke("train", "--resume", run, "-q")
    assert result.exit_code == 0, result.stderr
    assert_same_run(ref, run)
    stopped = [json.loads((r / "summary.json").read_text())["stopped_early_at_step"] for r in (ref, run)]
    assert stopped == [29, 29] if patience else stopped == [None, None]


@pytest.mark.parametrize("saved, now, refused", [
    ({}, {"train.early_stop_patience": 3}, ["train.early_stop_patience"]),  # turned on: it counts from now on
    ({"train.early_stop_patience": 3}, {"train.early_stop_patience": 2}, ["train.early_stop_patience"]),
    ({"train.early_stop_patience": 3}, {"train.early_stop_patience": 9}, []),
    ({"train.early_stop_patience": 3}, {"train.early_stop_min_delta": 0.5}, []),  # off now: min_delta counts nothing
    ({"train.early_stop_patience": 3}, {"train.early_stop_patience": 3, "train.early_stop_min_delta": 0.5},
     ["train.early_stop_min_delta"]),
    ({"train.early_stop_min_delta": 0.1}, {"train.early_stop_min_delta": 0.5}, []),  # never on
])
def test_early_stop_edits_are_refused_only_where_a_fresh_run_could_differ(saved, now, refused):
    before, after = make_config(**saved).resolved(), make_config(**now).resolved()
    if not refused:
        check_config_unchanged(".", before, after, 5)
        return
    with pytest.raises(GdlabError, match="could have stopped early before the checkpoint") as info:
        check_config_unchanged(".", before, after, 5)
    assert all(key in info.value.message for key in refused)


@pytest.mark.parametrize("patience, stops_at", [(3, 20), (4, 29)])
def test_a_run_killed_after_its_early_stop_resumes_as_stopped(tmp_path, patience, stops_at):
    """Stopped at step 20 (a checkpoint step, and the end's checkpoint) and killed before summary.json was written:
    the resume ends at step 20 as the run did. A patience raised at the resume trains on to the fresh run of it."""
    ref, run = tmp_path / "ref", tmp_path / "run"
    for folder, value in ((ref, patience), (run, 3)):
        assert invoke("train", config(tmp_path), *EARLY, f"train.early_stop_patience={value}",
                      "--run-dir", folder, "-q").exit_code == 0
    assert json.loads((run / "summary.json").read_text())["stopped_early_at_step"] == 20
    (run / "summary.json").unlink()  # what a kill between the checkpoint and the run's last files leaves
    (run / "model.pt").unlink()
    edit_train(run, early_stop_patience=patience)
    result = invoke("train", "--resume", run, "-q")
    assert result.exit_code == 0, result.stderr
    assert_same_run(ref, run)
    summaries = [json.loads((r / "summary.json").read_text()) for r in (ref, run)]
    assert [(s["status"], s["steps"], s["stopped_early_at_step"]) for s in summaries] == [("completed", stops_at, stops_at)] * 2


def test_a_resume_that_trains_no_step_keeps_the_runs_wall_time(tmp_path):
    """A resume with nothing left to train reports the run's own time (its last metrics row), not the few
    milliseconds the resuming process spent."""
    run = tmp_path / "run"
    assert invoke("train", config(tmp_path), *EARLY, "train.early_stop_patience=3", "--run-dir", run, "-q").exit_code == 0
    before = json.loads((run / "summary.json").read_text())["wall_s"]
    (run / "summary.json").unlink()
    assert invoke("train", "--resume", run, "-q").exit_code == 0
    last_row_wall = float((run / "metrics.csv").read_text().strip().splitlines()[-1].split(",")[-1])
    after = json.loads((run / "summary.json").read_text())["wall_s"]
    assert after == pytest.approx(last_row_wall, abs=1e-5) and after == pytest.approx(before, rel=0.05, abs=1e-3)
