"""Dotted overrides through `gdlab train`: errors cite the override that set the key in error, a kind
switch drops the file's keys the new kind does not take, null unsets, epochs and steps replace each other;
and two inputs that used to get past the checks: a CSV header naming a column twice, BatchNorm1d on a one-row batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdlab.errors import GdlabError
from gdlab.loading import load_config
from gdlab.yamlio import parse_yaml
from tests.helpers import invoke
from tests.test_bad_inputs import assert_no_run_folder, check_one_error_line

ROOT = Path(__file__).resolve().parents[1]
BASE = """\
name: base
seed: 0
data: {name: moons, n_samples: 64, noise: 0.2, val_fraction: 0.25}
model:
  - Linear: [2, 8]
  - Tanh
  - Linear: [8, 2]
loss: CrossEntropyLoss
optimizer: {name: SGD, lr: 0.1, momentum: 0.9}
train: {epochs: 2, device: cpu}
"""
BATCHNORM = "model=[{Linear: [4, 16]}, {BatchNorm1d: [16]}, ReLU, {Linear: [16, 3]}]"  # iris: 105 training rows


def write(tmp_path: Path, text: str = BASE, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def train(tmp_path: Path, config: Path, *overrides: str):
    return invoke("train", config, *overrides, "--runs", tmp_path / "runs", "-q")


def resolved(result) -> dict:
    """The config.yaml a successful run saved."""
    assert result.exit_code == 0, (result.stdout, result.stderr)
    folder = Path(result.stdout.splitlines()[-1])
    return parse_yaml((folder / "config.yaml").read_text(), "config.yaml")[0]


# ---------------------------------------------------------------- which override an error cites
def test_runtime_error_cites_the_override_that_set_the_key_not_the_last_in_its_section(tmp_path):
    result = train(tmp_path, write(tmp_path), "train.device=cuda:99", "train.epochs=3")
    line = check_one_error_line(result, "cfg.yaml (with override 'train.device=cuda:99'): train.device:")
    assert "train.epochs=3" not in line
    assert_no_run_folder(tmp_path / "runs")


def test_shape_error_cites_the_layer_override_not_a_later_one_elsewhere_in_the_model(tmp_path):
    result = train(tmp_path, write(tmp_path), "model.2.Linear.out_features=3", "model.1=ReLU")
    line = check_one_error_line(result, "cfg.yaml (with override 'model.2.Linear.out_features=3'): model[2]:", "outputs 3")
    assert "model.1=ReLU" not in line


def test_error_from_the_file_cites_no_override(tmp_path):
    config = write(tmp_path, BASE.replace("- Linear: [8, 2]", "- Linear: [8, 5]"))
    line = check_one_error_line(train(tmp_path, config, "model.1=ReLU", "train.epochs=1"), "cfg.yaml: model[2]:")
    assert "with override" not in line


def test_schema_error_under_a_replaced_list_cites_the_override_not_the_old_file_line(tmp_path):
    result = train(tmp_path, write(tmp_path), "model=[{Linear: [2, 8]}, Tanh, {Linear: [8, 0]}]")
    line = check_one_error_line(result, "override 'model=[{Linear: [2, 8]}, Tanh, {Linear: [8, 0]}]': model[2]", "greater than 0")
    assert "cfg.yaml:" not in line  # line 7 of the file no longer holds that layer


def test_a_non_ascii_digit_in_a_key_is_an_error_not_a_crash(tmp_path):
    check_one_error_line(train(tmp_path, write(tmp_path), "model.²=Tanh"), "override 'model.²=Tanh'", "no item")


# ---------------------------------------------------------------- kind switches and null
def test_switching_the_optimizer_drops_the_files_keys_it_does_not_take_with_a_note(tmp_path):
    result = train(tmp_path, write(tmp_path), "optimizer.name=Adam")
    assert resolved(result)["optimizer"]["name"] == "Adam" and "momentum" not in resolved(result)["optimizer"]
    assert result.stderr.splitlines() == [
        f"gdlab: note: override 'optimizer.name=Adam': dropped optimizer.momentum from {tmp_path / 'cfg.yaml'} "
        "(Adam does not take it)"
    ]


def test_switching_to_a_kind_that_takes_the_key_keeps_it_and_says_so(tmp_path):
    """Kept silently before: 'SGD vs RMSprop' quietly compared SGD with a momentum RMSprop."""
    result = train(tmp_path, write(tmp_path), "optimizer.name=RMSprop")
    assert resolved(result)["optimizer"]["momentum"] == 0.9
    # (RMSprop with momentum at this lr ends above its first loss: that note may follow, about the run)
    notes = [line for line in result.stderr.splitlines() if "training loss above its first (" not in line]
    assert notes == ["gdlab: note: optimizer.momentum: 0.9 carries over from SGD to RMSprop, whose default is 0"]
    chosen = train(tmp_path, write(tmp_path), "optimizer.name=RMSprop", "optimizer.momentum=0.9").stderr
    assert [line for line in chosen.splitlines() if "training loss above its first (" not in line] == []  # chosen here: no note


def test_switching_the_dataset_drops_generator_keys(tmp_path):
    result = train(tmp_path, write(tmp_path), "data.name=iris", "model.0.Linear.in_features=4", "model.2.Linear.out_features=3")
    data = resolved(result)["data"]
    assert data["name"] == "iris" and "n_samples" not in data and "noise" not in data
    assert "dropped data.n_samples, data.noise" in result.stderr and "(iris does not take them)" in result.stderr


def test_a_kind_switch_on_a_saved_config_takes_the_new_kinds_defaults_not_the_old_ones(tmp_path):
    """A run's config.yaml writes out every default: StepLR's `interval: epoch`, SGD's `weight_decay: 0`.
    Switched to OneCycleLR and AdamW they stayed, so OneCycleLR stepped per epoch and AdamW did not decay."""
    first = train(tmp_path, write(tmp_path), "scheduler={name: StepLR, step_size: 5}")
    saved = Path(first.stdout.splitlines()[-1]) / "config.yaml"
    assert resolved(first)["scheduler"]["interval"] == "epoch" and resolved(first)["optimizer"]["weight_decay"] == 0
    result = train(tmp_path, saved, "scheduler.name=OneCycleLR", "optimizer.name=AdamW", "train.epochs=4")
    cfg = resolved(result)
    assert cfg["scheduler"]["interval"] == "step" and cfg["optimizer"]["weight_decay"] == 0.01
    assert "gdlab: note: scheduler.interval: epoch was StepLR's default; OneCycleLR's (step) applies " \
           "(set scheduler.interval=epoch to keep it)" in result.stderr.splitlines()
    assert "optimizer.weight_decay: 0 was SGD's default; AdamW's (0.01) applies" in result.stderr
    kept = resolved(train(tmp_path, saved, "scheduler.name=OneCycleLR", "scheduler.interval=epoch", "train.epochs=4"))
    assert kept["scheduler"]["interval"] == "epoch"  # said on the command line: kept
    same = train(tmp_path, saved, "optimizer.name=Adam")  # Adam's weight_decay default is SGD's: nothing to say
    assert resolved(same)["optimizer"]["weight_decay"] == 0 and "default" not in same.stderr


def test_a_kind_switch_keeps_a_value_written_by_hand_that_equals_the_old_kinds_default(tmp_path):
    """A hand-written section (not every key of its kind, as a run's config.yaml has) states choices:
    `weight_decay: 0` under SGD stays 0 under AdamW, and a section written out whole is still reset."""
    cfg = tmp_path / "hand.yaml"
    text = write(tmp_path).read_text()
    assert "weight_decay" not in text
    cfg.write_text(text.replace("optimizer: {name: SGD, lr: 0.1", "optimizer: {name: SGD, lr: 0.1, weight_decay: 0"))
    assert "weight_decay: 0" in cfg.read_text()
    result = train(tmp_path, cfg, "optimizer.name=AdamW")
    assert resolved(result)["optimizer"]["weight_decay"] == 0 and "was SGD's default" not in result.stderr
    assert "optimizer.weight_decay: 0 carries over from SGD to AdamW, whose default is 0.01" in result.stderr


def test_a_swept_kind_on_a_saved_config_takes_each_kinds_own_defaults(tmp_path):
    from gdlab.sweep.setup import setup_sweep

    first = train(tmp_path, write(tmp_path), "optimizer.momentum=0")
    saved = Path(first.stdout.splitlines()[-1]) / "config.yaml"
    setup = setup_sweep(saved, ["optimizer.name=SGD,AdamW"])
    assert [p.cfg.optimizer.weight_decay for p in setup.plans] == [0, 0.01]
    assert setup.plans[1].reset == ["optimizer.weight_decay: 0 was SGD's default; AdamW's (0.01) applies "
                                    "(set optimizer.weight_decay=0 to keep it)"] and setup.plans[0].reset == []
    result = invoke("sweep", saved, "optimizer.name=SGD,AdamW", "--dry-run")
    assert result.exit_code == 0 and result.stderr.count("was SGD's default") == 1
    kept = setup_sweep(saved, ["optimizer.name=SGD,AdamW", "optimizer.weight_decay=0"])  # said on the command line
    assert [p.cfg.optimizer.weight_decay for p in kept.plans] == [0, 0] and not kept.plans[1].reset
    assert "optimizer.weight_decay=0" in kept.plans[1].recorded_overrides  # replays as it ran


def test_a_foreign_key_given_as_an_override_is_still_an_error(tmp_path):
    result = train(tmp_path, write(tmp_path), "optimizer.name=Adam", "optimizer.momentum=0.5")
    check_one_error_line(result, "override 'optimizer.momentum=0.5': optimizer.momentum: unknown key 'momentum'")


def test_null_removes_a_key_that_does_not_take_null_so_its_default_applies(tmp_path):
    config = write(tmp_path, BASE.replace("device: cpu}", "device: cpu, diverge_factor: 100.0}"))
    cfg = load_config(config, ["optimizer.momentum=null", "train.device=null", "train.diverge_factor=null", "seed=null"])
    assert (cfg.optimizer.momentum, cfg.train.device, cfg.seed) == (0.0, "auto", 0)
    assert cfg.train.diverge_factor is None  # null is one of its values (no loss bar): set, not removed
    assert load_config(config, ["name=null"]).name == "cfg"  # a config without a name is named after its file


def test_null_on_a_key_the_kind_does_not_have_is_still_an_unknown_key(tmp_path):
    with pytest.raises(GdlabError, match=r"override 'optimizer\.momentun=null': optimizer\.momentun: unknown key .*did you mean 'momentum'"):
        load_config(write(tmp_path), ["optimizer.momentun=null"])


# ---------------------------------------------------------------- epochs and steps
def test_steps_override_replaces_the_files_epochs(tmp_path):
    train_section = resolved(train(tmp_path, write(tmp_path), "train.steps=3"))["train"]
    assert (train_section["steps"], train_section["epochs"]) == (3, None)


def test_epochs_override_replaces_the_files_steps(tmp_path):
    config = write(tmp_path, BASE.replace("{epochs: 2,", "{steps: 50,"))
    train_section = resolved(train(tmp_path, config, "train.epochs=1"))["train"]
    assert (train_section["steps"], train_section["epochs"]) == (None, 1)


def test_epochs_and_steps_both_on_the_command_line_stay_an_error(tmp_path):
    result = train(tmp_path, write(tmp_path), "train.steps=3", "train.epochs=2")
    check_one_error_line(result, "(with overrides 'train.steps=3', 'train.epochs=2')", "exactly one of train.epochs and train.steps", "got both")
    assert_no_run_folder(tmp_path / "runs")


# ---------------------------------------------------------------- a CSV header naming a column twice
def test_csv_with_a_repeated_column_name_is_refused(tmp_path):
    (tmp_path / "dup.csv").write_text("x1,x1,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    config = write(tmp_path, BASE.replace("{name: moons, n_samples: 64, noise: 0.2, val_fraction: 0.25}",
                                          "{name: csv, path: dup.csv, target: x1}"))
    result = train(tmp_path, config, "loss=MSELoss", "model.2.Linear.out_features=1")
    check_one_error_line(result, "cfg.yaml: data.path:", "dup.csv", "column 'x1' twice", "columns 1 and 2")
    assert_no_run_folder(tmp_path / "runs")


# ---------------------------------------------------------------- BatchNorm1d needs two rows a batch
@pytest.mark.parametrize("batch, expected", [
    (13, ["train.batch_size: 13", "last batch of 1 row of the 105 training rows", "e.g. 12 or 14"]),
    (1, ["train.batch_size: 1", "batches of 1 row"]),
])
def test_batchnorm_with_a_one_row_batch_is_refused_naming_the_key_and_layer(batch, expected):
    from gdlab.model import check_batch_rows

    cfg = load_config(ROOT / "configs" / "iris.yaml", [BATCHNORM, f"train.batch_size={batch}"])
    with pytest.raises(GdlabError) as info:
        check_batch_rows(cfg, 105)
    for text in expected + ["BatchNorm1d (model[1])", "2 rows or more"]:
        assert text in info.value.message
    check_batch_rows(load_config(ROOT / "configs" / "iris.yaml", [BATCHNORM, "train.batch_size=12"]), 105)


def test_batchnorm_with_full_batch_accumulation_names_accumulate():
    from gdlab.model import check_batch_rows

    cfg = load_config(ROOT / "configs" / "iris.yaml", [BATCHNORM, "train.batch_size=null", "train.accumulate=53"])
    with pytest.raises(GdlabError, match=r"^train\.accumulate: 53 .*micro-batches of 2, the last with 1 row"):
        check_batch_rows(cfg, 105)


def test_train_refuses_batchnorm_with_a_one_row_batch_before_any_folder(tmp_path):
    result = train(tmp_path, ROOT / "configs" / "iris.yaml", BATCHNORM, "train.batch_size=13", "train.epochs=1")
    check_one_error_line(result, "iris.yaml (with override 'train.batch_size=13'): train.batch_size: 13", "BatchNorm1d (model[1])")
    assert_no_run_folder(tmp_path / "runs")


def test_graph_refuses_batchnorm_with_a_one_row_batch(tmp_path):
    result = invoke("graph", ROOT / "configs" / "iris.yaml", BATCHNORM, "--batch", "1")
    check_one_error_line(result, "--batch 1", "BatchNorm1d (model[1])", "--batch 2 or more")
    assert invoke("graph", ROOT / "configs" / "iris.yaml", BATCHNORM, "--batch", "2").exit_code == 0


def test_an_argument_of_a_layer_written_as_a_bare_name_can_be_set(tmp_path):
    config = write(tmp_path, BASE.replace("  - Tanh\n", "  - LeakyReLU\n"))
    cfg = resolved(train(tmp_path, config, "model.1.LeakyReLU.negative_slope=0.2"))
    assert cfg["model"][1] == {"LeakyReLU": {"negative_slope": 0.2}}
    # a different layer's name under it is still an error, saying how to replace the value
    check_one_error_line(train(tmp_path, config, "model.1.Tanh.x=1"), "'model[1]' is a single value",
                         "replace the whole value with model.1=...")


def test_a_section_written_as_a_bare_name_takes_dotted_overrides(tmp_path):
    text = BASE.replace("optimizer: {name: SGD, lr: 0.1, momentum: 0.9}", "optimizer: Adam").replace(
        "data: {name: moons, n_samples: 64, noise: 0.2, val_fraction: 0.25}", "data: moons") + "scheduler: StepLR\n"
    config = write(tmp_path, text)
    cfg = resolved(train(tmp_path, config, "optimizer.lr=0.05", "data.n_samples=64", "scheduler.step_size=1"))
    assert cfg["optimizer"]["name"] == "Adam" and cfg["optimizer"]["lr"] == 0.05
    assert cfg["data"]["name"] == "moons" and cfg["data"]["n_samples"] == 64 and cfg["scheduler"]["step_size"] == 1
    # and an override that replaces it by a bare name, then sets a key
    cfg = resolved(train(tmp_path, config, "optimizer=SGD", "optimizer.lr=0.2", "data.n_samples=64", "scheduler.step_size=1"))
    assert cfg["optimizer"]["name"] == "SGD" and cfg["optimizer"]["lr"] == 0.2


@pytest.mark.parametrize("override, key", [
    ("optimizer.lr=null", "optimizer.lr"), ("optimizer.lr=", "optimizer.lr"), ("optimizer=null", "optimizer"),
    ("train=null", "train"), ("model.0.Linear.in_features=null", "model.0.Linear.in_features"),
])
def test_null_on_a_key_without_a_default_says_so_not_valid_number_got_none(tmp_path, override, key):
    """The README: null unsets a key, so its default applies. A key with none read 'Input should be a valid
    number (got None)', as if null were a value given."""
    result = train(tmp_path, write(tmp_path), override)
    check_one_error_line(result, f"override '{override}': {key} has no default, so null cannot unset it; give a value")
    assert_no_run_folder(tmp_path / "runs")
    cfg = write(tmp_path, BASE, "axis.yaml")
    swept = invoke("sweep", cfg, "optimizer.lr=0.1,null", "--run-dir", tmp_path / "sw", "-q")
    check_one_error_line(swept, "variant 1 (optimizer.lr=null): optimizer.lr has no default, so null cannot unset it")
    assert not (tmp_path / "sw").exists()


@pytest.mark.parametrize("layer, override, expected", [
    ("{Dropout: 0.2}", "model.1.Dropout.p=0.3", {"Dropout": {"p": 0.3}}),  # was "is a single value"
    ("{Dropout: null}", "model.1.Dropout.p=0.3", {"Dropout": {"p": 0.3}}),
    ("{type: Dropout, args: [0.2]}", "model.1.Dropout.p=0.3", {"Dropout": {"p": 0.3}}),  # was "a layer is a name..."
    ("{type: Dropout, args: {p: 0.2}}", "model.1.Dropout.p=0.3", {"Dropout": {"p": 0.3}}),
])
def test_a_layer_argument_can_be_overridden_whatever_form_the_file_wrote_the_layer_in(tmp_path, layer, override, expected):
    text = BASE.replace("  - Tanh\n", f"  - {layer}\n")
    assert resolved(train(tmp_path, write(tmp_path, text), override))["model"][1] == expected


def test_one_item_of_a_default_tuple_can_be_overridden_the_rest_stays_default(tmp_path):
    """optimizer.betas.0=0.8 on an Adam that leaves betas to its default read 'Input should be a valid tuple'."""
    cfg = write(tmp_path, BASE.replace("{name: SGD, lr: 0.1, momentum: 0.9}", "{name: Adam, lr: 0.01}"))
    assert resolved(train(tmp_path, cfg, "optimizer.betas.0=0.8"))["optimizer"]["betas"] == [0.8, 0.999]
    assert resolved(train(tmp_path, cfg, "optimizer.betas.1=0.9"))["optimizer"]["betas"] == [0.9, 0.9]
    both = resolved(train(tmp_path, write(tmp_path, name="sgd.yaml"), "optimizer.name=Adam", "optimizer.betas.1=0.99"))
    assert both["optimizer"]["betas"] == [0.9, 0.99]


def test_a_csv_key_error_names_the_config_and_the_override_that_set_the_key(tmp_path):
    """'data.features: y is the target column' began with the CSV's path, so `train` named neither the
    config nor the override that set data.features, which the README promises."""
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    cfg = write(tmp_path, BASE.replace("{name: moons, n_samples: 64, noise: 0.2, val_fraction: 0.25}",
                                       "{name: csv, path: d.csv, target: y, val_fraction: 0.25}"))
    result = train(tmp_path, cfg, "data.features=[a, y]")
    check_one_error_line(result, f"{cfg} (with override 'data.features=[a, y]'): data.features: 'y' is the target column",
                         str(tmp_path / "d.csv"))
    assert_no_run_folder(tmp_path / "runs")
