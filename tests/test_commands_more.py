"""Audit findings on the lab, lr-find, resume and --expect: the lab ignores the training batch plan, lr-find
names the file and override in its errors, graph checks --dot/--png before any work, resume messages say what
a folder is, and --expect takes every number summary.json has."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.helpers import TINY, invoke
from tests.helpers import one_error_line as one_line

ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path, **changes) -> Path:
    """helpers.TINY as a YAML file, with top-level keys replaced."""
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(TINY)) | changes, sort_keys=False))
    return path


@pytest.fixture
def batchnorm(tmp_path) -> Path:
    """97 training rows in batches of 32: the last batch has 1 row, which BatchNorm1d cannot train on."""
    return write_config(
        tmp_path, data={"name": "moons", "n_samples": 97, "noise": 0.2, "val_fraction": 0},
        model=[{"Linear": [2, 8]}, {"BatchNorm1d": 8}, "Tanh", {"Linear": [8, 2]}],
        train={"epochs": 2, "batch_size": 32, "device": "cpu"},
    )


# ---------------------------------------------------------------- 1. the lab does not train
def test_graph_and_gradcheck_ignore_a_one_row_last_training_batch(batchnorm):
    assert invoke("graph", batchnorm).exit_code == 0
    assert invoke("gradcheck", batchnorm).exit_code == 0
    # training still refuses it, and graph's own --batch check stays
    one_line(invoke("validate", batchnorm), 2, "train.batch_size: 32 leaves a last batch of 1 row")
    one_line(invoke("graph", batchnorm, "--batch", "1"), 2, "--batch 1", "BatchNorm1d (model[1])")


def test_prepare_data_checks_the_batch_plan_only_for_training(batchnorm):
    from gdlab.errors import GdlabError
    from gdlab.loading import load_config
    from gdlab.runner import prepare_data

    cfg = load_config(batchnorm)
    assert prepare_data(cfg, training=False).x_train.shape[0] == 97
    with pytest.raises(GdlabError, match="train.batch_size"):
        prepare_data(cfg)


# ---------------------------------------------------------------- 2. lr-find names the file and override
@pytest.mark.parametrize("override, key", [
    ("train.batch_size=1", "train.batch_size: 1 makes batches of 1 row"),
    ("model.0.Linear.in_features=3", "model[0]: Linear expects in_features=3"),
])
def test_lr_find_errors_name_the_file_and_the_override(batchnorm, tmp_path, override, key):
    runs = tmp_path / "runs"
    line = one_line(invoke("lr-find", batchnorm, override, "--runs", runs), 2, key)
    assert line.startswith(f"gdlab: error: {batchnorm} (with override '{override}'): ")
    assert not runs.exists()


# ---------------------------------------------------------------- 3. graph's output files
@pytest.mark.parametrize("option", ["--dot", "--png"])
@pytest.mark.parametrize("name, words", [
    ("{tmp}", "a folder, not a file; name a file in it, e.g. {tmp}/graph."),
    ("", "'': the file name is empty"),
    ("{tmp}/cfg.yaml/g.out", "{tmp}/cfg.yaml is a file, not a folder"),
    ("{tmp}/" + "a" * 300 + ".out", "cannot write it (File name too long)"),
])
def test_a_graph_output_that_cannot_be_written_is_refused_before_any_work(batchnorm, tmp_path, option, name, words):
    tmp = str(tmp_path)
    result = invoke("graph", batchnorm, option, name.format(tmp=tmp))
    one_line(result, 2, f"{option} ", words.format(tmp=tmp))
    assert result.stdout == ""  # the graph is not printed first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.yaml"]


def test_graph_makes_the_folders_its_output_needs_as_plot_does(batchnorm, tmp_path):
    """`graph --dot no/such/g.dot` was refused while `plot -o no/such/a.png` made the folders."""
    result = invoke("graph", batchnorm, "--dot", tmp_path / "no" / "such" / "g.dot")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "no" / "such" / "g.dot").read_text().startswith("digraph")


def test_checking_an_output_leaves_an_existing_file_alone_and_adds_none(batchnorm, tmp_path):
    from gdlab.lab import check_output

    old = tmp_path / "old.dot"
    old.write_text("keep me")
    assert check_output("--dot", str(old)) == old and old.read_text() == "keep me"
    assert check_output("--dot", str(tmp_path / "new.dot")) == tmp_path / "new.dot"
    assert not (tmp_path / "new.dot").exists()


def test_readme_gives_png_its_file_argument():
    readme = (ROOT / "README.md").read_text()
    assert "`--png FILE`" in readme and "`--png` renders the DOT file" not in readme
    assert "--png" in invoke("graph", "--help").stdout


# ---------------------------------------------------------------- 4. resume says what a folder is
def test_sweep_resume_of_a_missing_folder_says_no_such_sweep_folder(tmp_path):
    one_line(invoke("sweep", "--resume", tmp_path / "nope"), 2, f"--resume {tmp_path / 'nope'}: no such sweep folder")


def test_each_resume_names_the_other_kind_of_folder(tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "sweep.yaml").write_text("base: {}\naxes: {}\n")
    one_line(invoke("train", "--resume", sweep), 2, "this is a sweep folder: use gdlab sweep --resume")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("name: x\n")
    one_line(invoke("sweep", "--resume", run), 2, "this is a run folder, not a sweep folder", "gdlab train --resume")


def test_sweep_resume_of_a_variant_names_its_sweep_not_train_resume(tmp_path):
    sweep = tmp_path / "sweep"
    variant = sweep / "000_lr=0.1"
    variant.mkdir(parents=True)
    (sweep / "sweep.yaml").write_text("base: {}\naxes: {}\n")
    (variant / "config.yaml").write_text("name: x\n")
    line = one_line(invoke("sweep", "--resume", variant), 2, f"a variant of the sweep {sweep}",
                    f"gdlab sweep --resume {sweep} reruns")
    assert "train --resume" not in line  # which refuses a variant (it keeps no checkpoint): advice going in a circle
    one_line(invoke("train", "--resume", variant), 2, "keeps no checkpoint", f"gdlab sweep --resume {sweep}")


def test_an_lr_find_folder_is_not_resumable_and_says_so(tmp_path):
    config = write_config(tmp_path)
    folder = tmp_path / "lf"
    assert invoke("lr-find", config, "--steps", "5", "--run-dir", folder).exit_code == 0
    line = one_line(invoke("train", "--resume", folder), 2, "this is an lr-find folder, which cannot be resumed")
    assert "checkpoint_every" not in line
    one_line(invoke("sweep", "--resume", folder), 2, "lr-find folder")


def test_a_truncated_checkpoint_is_named_without_torch_internals(tmp_path):
    config = write_config(tmp_path, train={"epochs": 3, "batch_size": 16, "device": "cpu", "checkpoint_every": 5})
    run = tmp_path / "run"
    assert invoke("train", config, "--run-dir", run, "-q").exit_code == 0
    (run / "summary.json").unlink()  # as if killed: resumable
    (run / "checkpoint.prev.pt").unlink()
    data = (run / "checkpoint.pt").read_bytes()
    for cut in (100, len(data) - 10):  # torch fails differently as the cut moves towards the end
        (run / "checkpoint.pt").write_bytes(data[:cut])
        line = one_line(invoke("train", "--resume", run, "-q"), 2, "checkpoint.pt: truncated or not a torch file")
        assert "PytorchStreamReader" not in line and "Errno" not in line


# ---------------------------------------------------------------- 5. --expect on every summary.json number
def test_every_number_summary_json_holds_is_a_name_expect_takes(tmp_path):
    from gdlab.expect import SUMMARY_KEYS

    run = tmp_path / "run"
    assert invoke("train", write_config(tmp_path), "--run-dir", run, "-q").exit_code == 0
    words = {"status", "name", "init_hash", "task", "device", "started_at", "finished_at", "versions", "git_sha", "error",
             "cuda_graph"}
    summary = json.loads((run / "summary.json").read_text())
    assert sorted(set(summary) - words) == sorted(SUMMARY_KEYS)
    assert summary["cuda_graph"] is None  # on a CPU: there, not missing, as the README says of what does not apply


def test_expect_init_sharpness_measures_it(tmp_path):
    config, run = write_config(tmp_path), tmp_path / "run"
    assert invoke("train", config, "--run-dir", run, "-q", "--expect", "init_sharpness<1000").exit_code == 0
    assert json.loads((run / "summary.json").read_text())["init_sharpness"] > 0
    result = invoke("train", config, "--run-dir", tmp_path / "r2", "-q", "--expect", "init_sharpness<1e-9")
    assert result.exit_code == 1 and "expected init_sharpness<1e-9, got init_sharpness=" in result.stderr


def test_expect_resumed_from_step_needs_a_resume(tmp_path):
    config = write_config(tmp_path, train={"epochs": 3, "batch_size": 16, "device": "cpu", "checkpoint_every": 5})
    run = tmp_path / "run"
    one_line(invoke("train", config, "--run-dir", run, "--expect", "resumed_from_step>0"), 2,
             "only a resumed run (gdlab train --resume) reports resumed_from_step")
    assert not run.exists()
    assert invoke("train", config, "--run-dir", run, "-q").exit_code == 0
    (run / "summary.json").unlink()  # as if killed after its last checkpoint
    assert invoke("train", "--resume", run, "-q", "--expect", "resumed_from_step>0").exit_code == 0


# ---------------------------------------------------------------- 6. gradcheck's header
@pytest.mark.parametrize("middle, said, unsaid", [
    ([], ["with eps=1e-06. "], ["Dropout", "BatchNorm", "eval mode"]),
    ([{"Dropout": 0.5}], ["Dropout is off (eval mode), so"], ["BatchNorm"]),
    ([{"BatchNorm1d": 8}], ["BatchNorm normalizes by the batch, as in training"], ["Dropout", "eval mode"]),
    ([{"Dropout": 0.5}, {"BatchNorm1d": 8}], ["Dropout is off (eval mode) and BatchNorm normalizes by the batch"], []),
])
def test_gradcheck_explains_its_modes_only_for_the_layers_the_model_has(tmp_path, middle, said, unsaid):
    config = write_config(tmp_path, model=[{"Linear": [2, 8]}, *middle, "Tanh", {"Linear": [8, 2]}])
    result = invoke("gradcheck", config)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # rich wraps lines at the terminal width
    for words in said:
        assert words in text
    for word in unsaid:
        assert word not in text


def test_sweep_help_names_every_ray_address_form_the_sweep_takes():
    """--ray-address takes host:port too (README, and the error for a bad address lists it); the help left it out."""
    from gdlab.sweep.backends import RAY_ADDRESS_FORMS

    text = " ".join(invoke("sweep", "--help").stdout.split())
    for form in RAY_ADDRESS_FORMS.split(" | "):
        assert form in text, form
