"""gdlab sweep --resume on a sweep.yaml that gdlab did not write as it is (a hand edit, another version):
one line naming the file and the key, exit 2, and the folder untouched."""

from __future__ import annotations

import pytest
import yaml

from tests.helpers import invoke, one_error_line
from tests.test_sweep import write_config


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished two-variant sweep whose first variant lost its summary (so a resume has work to do)."""
    tmp = tmp_path_factory.mktemp("sweep")
    cfg = write_config(tmp, **{"train.epochs": 2})
    out = tmp / "sw"
    assert invoke("sweep", cfg, "optimizer.lr=0.01,0.1", "--run-dir", out, "-q").exit_code == 0
    (out / "000_lr=0.01" / "summary.json").unlink()
    return out


def snapshot(folder):
    """Every file's bytes but the lock's (a process id, rewritten by whoever takes the lock)."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".sweep.lock"}


@pytest.mark.parametrize("edit, key", [
    (lambda d: d.update(axes={"optimizer.lr": 0.1}), "axes.optimizer.lr"),  # a scalar: once a TypeError
    (lambda d: d.update(axes={"optimizer.lr": "logspace(-2,-1,2)"}), "axes.optimizer.lr"),  # once one variant a letter
    (lambda d: d.update(axes={"optimizer.lr": []}), "axes.optimizer.lr"),
    (lambda d: d.update(axes=["optimizer.lr"]), "axes:"),
    (lambda d: d.update(base=[1]), "base:"),
    (lambda d: d.update(sampling={"x": 1}), "sampling:"),  # once a KeyError in --dry-run
    (lambda d: d.update(fixed_overrides="train.epochs=2"), "fixed_overrides:"),
    (lambda d: d.update(options={"max_group": "abc"}), "options.max_group"),  # once a TypeError
    (lambda d: d.update(options={"vectorize": "sideways"}), "options.vectorize"),
    (lambda d: d.update(options={"vectorize": False}),  # `vectorize: off` unquoted
     "options.vectorize: got boolean false: YAML reads on/off/yes/no as booleans; allowed: auto, on, off"),
    (lambda d: d.update(options={"sharpness": "yes"}), "options.sharpness"),
    (lambda d: d.update(options={"rank_by": "bogus"}),  # ranked by the default, silently
     "options.rank_by: 'bogus' is not one of best_val_loss"),
    (lambda d: d.update(options="fast"), "options:"),
], ids=["axis-scalar", "axis-text", "axis-empty", "axes-list", "base-list", "sampling", "fixed", "max-group",
        "vectorize", "vectorize-off", "sharpness", "rank-by", "options"])
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_a_sweep_yaml_part_gdlab_cannot_use_is_one_line_naming_its_key(finished, tmp_path, edit, key, dry_run):
    import shutil

    out = tmp_path / "sw"
    shutil.copytree(finished, out)
    doc = yaml.safe_load((out / "sweep.yaml").read_text())
    edit(doc)
    (out / "sweep.yaml").write_text(yaml.safe_dump(doc))
    before = snapshot(out)
    one_error_line(invoke("sweep", "--resume", out, *dry_run), 2, f"{out / 'sweep.yaml'}: {key}")
    assert snapshot(out) == before  # nothing cleared, nothing rerun


def test_a_sweep_yaml_as_gdlab_wrote_it_still_resumes(finished, tmp_path):
    import shutil

    out = tmp_path / "sw"
    shutil.copytree(finished, out)
    result = invoke("sweep", "--resume", out, "-q")
    assert result.exit_code == 0, result.output
    assert (out / "000_lr=0.01" / "summary.json").is_file()


def test_a_refused_resume_does_not_keep_its_rank_by(finished, tmp_path):
    # --rank-by on a resume is stored in sweep.yaml; a resume refused (here: an axis edited since the sweep
    # ran) must leave the file as it was, not rank the sweep differently from then on
    import shutil

    out = tmp_path / "sw"
    shutil.copytree(finished, out)
    text = (out / "sweep.yaml").read_text().replace("0.1]", "0.2]")
    (out / "sweep.yaml").write_text(text)
    one_error_line(invoke("sweep", "--resume", out, "--rank-by", "final_train_loss"), 2, "start a new")
    assert (out / "sweep.yaml").read_text() == text


def test_sharpness_asked_for_on_resume_of_a_sweep_that_ran_without_it_is_refused(finished, tmp_path):
    # only the rerun variants would get init_sharpness: a column half empty, and the plot's stability edge
    # taken from whichever variants happened to be rerun
    import shutil

    out = tmp_path / "sw"
    shutil.copytree(finished, out)
    before = snapshot(out)
    for extra in ([], ["--dry-run"]):
        one_error_line(invoke("sweep", "--resume", out, "--sharpness", *extra), 2, "--sharpness",
                       "ran without it", "start a new sweep with --sharpness")
    assert snapshot(out) == before


def test_sharpness_on_resume_of_a_sweep_with_nothing_finished_is_kept(finished, tmp_path):
    import shutil

    out = tmp_path / "sw"
    shutil.copytree(finished, out)
    (out / "001_lr=0.1" / "summary.json").unlink()  # now no variant is finished
    result = invoke("sweep", "--resume", out, "--sharpness", "-q")
    assert result.exit_code == 0, result.output
    import pandas as pd

    assert pd.read_csv(out / "sweep.csv")["init_sharpness"].notna().all()
    assert yaml.safe_load((out / "sweep.yaml").read_text())["options"]["sharpness"] is True  # a next resume keeps it
