"""The config layer: strict YAML, the pydantic schema, overrides, the resolved round trip, `gdlab schema`
and the did-you-mean hints. No training here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.config import LOSS_NAMES, Config, did_you_mean
from gdlab.errors import GdlabError
from gdlab.layers import LAYER_ARGS
from gdlab.loading import load_config
from gdlab.yamldump import dump_yaml
from gdlab.yamlio import parse_scalar, parse_yaml

ROOT = Path(__file__).resolve().parents[1]
MOONS = ROOT / "configs" / "moons.yaml"

SMALL = """\
data: {name: moons, n_samples: 64}
model:
  - Linear: [2, 8]
  - ReLU
  - Linear: [8, 2]
loss: CrossEntropyLoss
optimizer: {name: SGD, lr: 0.1}
train: {epochs: 3}
"""


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, *overrides: str, name: str = "cfg.yaml") -> Config:
    return load_config(write(tmp_path, text, name), list(overrides))


def error_of(tmp_path: Path, text: str, *overrides: str) -> str:
    with pytest.raises(GdlabError) as info:
        load_text(tmp_path, text, *overrides)
    assert info.value.exit_code == 2
    assert "\n" not in info.value.message
    return info.value.message


# ---------------------------------------------------------------- the shipped config
def test_moons_yaml_loads_exactly():
    cfg = load_config(MOONS)
    assert cfg.name == "moons-sgd" and cfg.seed == 0
    assert (cfg.data.name, cfg.data.n_samples, cfg.data.noise, cfg.data.val_fraction) == ("moons", 1000, 0.2, 0.2)
    assert [layer.type for layer in cfg.model] == ["Linear", "ReLU", "Linear", "Tanh", "Linear"]
    assert cfg.model[0].args == {"in_features": 2, "out_features": 32, "bias": True}
    assert cfg.model[2].args == {"in_features": 32, "out_features": 32, "bias": True}
    assert cfg.model[4].args == {"in_features": 32, "out_features": 2, "bias": True}
    assert cfg.loss.name == "CrossEntropyLoss" and cfg.task == "classification"
    assert (cfg.optimizer.name, cfg.optimizer.lr, cfg.optimizer.momentum) == ("SGD", 0.1, 0.9)
    assert (cfg.train.epochs, cfg.train.steps, cfg.train.batch_size, cfg.train.device) == (200, None, None, "auto")
    assert cfg.scheduler is None


# ---------------------------------------------------------------- YAML numbers
@pytest.mark.parametrize(
    "text, value",
    [("1e-3", 0.001), ("1E-3", 0.001), ("5e2", 500.0), ("+1e5", 1e5), (".5", 0.5), ("1.", 1.0), ("2.5e-4", 2.5e-4)],
)
def test_exponent_floats_are_floats(tmp_path, text, value):
    """YAML 1.1 reads `1e-3` as a string; gdlab reads it as the number everyone means."""
    cfg = load_text(tmp_path, SMALL.replace("lr: 0.1", f"lr: {text}"))
    assert cfg.optimizer.lr == value
    assert type(cfg.optimizer.lr) is float


@pytest.mark.parametrize("text", [".", "+", "-.", "1e", "e3", "1e3e3"])
def test_almost_numbers_stay_strings(text):
    assert parse_yaml(f"a: {text}", "t.yaml")[0] == {"a": text}


def test_plain_ints_stay_ints(tmp_path):
    cfg = load_text(tmp_path, SMALL.replace("epochs: 3", "epochs: 30"))
    assert cfg.train.epochs == 30 and type(cfg.train.epochs) is int


@pytest.mark.parametrize("text", ["017", "0x1F", "0b101", "1:30", "1_0:00"])
def test_yaml11_surprises_are_errors(text):
    with pytest.raises(GdlabError, match=r"t\.yaml:1:4: .*plain decimal"):
        parse_yaml(f"a: {text}", "t.yaml")


def test_override_values_use_the_same_rules():
    assert parse_scalar("1e-3", "override 'x'") == 0.001
    assert parse_scalar("null", "override 'x'") is None
    assert parse_scalar("", "override 'x'") is None
    assert parse_scalar("[2, 8]", "override 'x'") == [2, 8]
    with pytest.raises(GdlabError, match=r"^override 'x': '017' is an ambiguous number"):
        parse_scalar("017", "override 'x'")


# ---------------------------------------------------------------- layers
def test_positional_and_keyword_layer_args_are_the_same_layer(tmp_path):
    positional = load_text(tmp_path, SMALL, name="a.yaml")
    keyword = load_text(
        tmp_path,
        SMALL.replace("- Linear: [2, 8]", "- Linear: {in_features: 2, out_features: 8}")
        .replace("- Linear: [8, 2]", "- {type: Linear, args: {in_features: 8, out_features: 2, bias: true}}"),
        name="b.yaml",
    )
    assert positional.model == keyword.model
    assert positional.model[0].args == {"in_features": 2, "out_features": 8, "bias": True}
    assert keyword.model[2].args == {"in_features": 8, "out_features": 2, "bias": True}


def test_layer_with_a_single_scalar_arg(tmp_path):
    cfg = load_text(tmp_path, SMALL.replace("- ReLU", "- LeakyReLU: 0.2"))
    assert cfg.model[1].type == "LeakyReLU" and cfg.model[1].args == {"negative_slope": 0.2}


# ---------------------------------------------------------------- round trip
ROUND_TRIP = {
    "moons": MOONS.read_text(),
    "adam-scheduler": SMALL.replace("{name: SGD, lr: 0.1}", "{name: Adam, lr: 1e-3, betas: [0.8, 0.99]}")
    + "scheduler: {name: OneCycleLR, pct_start: 0.25}\n",
    "regression": SMALL.replace("moons, n_samples: 64", "sine, n_features: 3")
    .replace("[2, 8]", "[3, 8]")
    .replace("[8, 2]", "[8, 1]")
    .replace("- ReLU", "- LeakyReLU: 0.2\n  - Dropout: {p: 0.1}")
    .replace("CrossEntropyLoss", "{name: HuberLoss, delta: 0.5}"),
    "tricky-strings": 'name: "1e3"\n' + SMALL.replace("{epochs: 3}", "{steps: 7, batch_size: 16, device: cpu, dtype: float64}"),
    "csv": SMALL.replace("{name: moons, n_samples: 64}", '{name: csv, path: "data 1e3.csv", target: "1e-3", features: ["017", "yes"]}'),
}


@pytest.mark.parametrize("text", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_resolved_config_loads_back_equal(tmp_path, text):
    cfg = load_text(tmp_path, text)
    dumped = dump_yaml(cfg.resolved())
    again = load_config(write(tmp_path, dumped, "resolved.yaml"))
    assert again == cfg
    assert dump_yaml(again.resolved()) == dumped  # a fixed point: saving a saved config changes nothing
    # every default is written out, so the saved file does not depend on gdlab's defaults
    data, _ = parse_yaml(dumped, "resolved.yaml")
    assert set(data) == set(Config.model_fields)
    assert set(data["train"]) == set(type(cfg.train).model_fields)


def test_resolved_keeps_the_name_of_a_config_without_one(tmp_path):
    cfg = load_text(tmp_path, SMALL, name="my moons.yaml")
    assert cfg.name == "my-moons"  # the file stem, made folder-safe
    assert load_text(tmp_path, SMALL, name="_x.yaml").name == "run"
    assert load_config(write(tmp_path, dump_yaml(cfg.resolved()), "other.yaml")).name == "my-moons"


# ---------------------------------------------------------------- overrides
def test_overrides(tmp_path):
    cfg = load_config(
        MOONS,
        ["optimizer.lr=0.05", "train.epochs=50", "model.0.Linear.out_features=16", "model.2.Linear.in_features=16",
         "train.batch_size=null", "seed=7", "data.noise=1e-1"],
    )
    assert cfg.optimizer.lr == 0.05 and type(cfg.optimizer.lr) is float
    assert cfg.train.epochs == 50 and type(cfg.train.epochs) is int
    assert cfg.model[0].args["out_features"] == 16 and cfg.model[2].args["in_features"] == 16
    assert cfg.model[0].args["in_features"] == 2  # the other positional args keep their values
    assert cfg.train.batch_size is None
    assert cfg.seed == 7 and cfg.data.noise == 0.1
    assert cfg.optimizer.momentum == 0.9  # untouched keys stay


def test_override_batch_size_then_back_to_null(tmp_path):
    path = write(tmp_path, SMALL.replace("{epochs: 3}", "{epochs: 3, batch_size: 16}"))
    assert load_config(path).train.batch_size == 16
    assert load_config(path, ["train.batch_size=null"]).train.batch_size is None


def test_overrides_apply_in_order_and_can_swap_epochs_for_steps(tmp_path):
    cfg = load_config(MOONS, ["train.epochs=null", "train.steps=100", "optimizer.lr=0.2", "optimizer.lr=0.3"])
    assert (cfg.train.epochs, cfg.train.steps, cfg.optimizer.lr) == (None, 100, 0.3)


def test_override_positional_arg_by_index_and_whole_layer(tmp_path):
    cfg = load_config(MOONS, ["model.4.Linear.1=3", "model.1=Tanh", "model.3={LeakyReLU: [0.1]}"])
    assert cfg.model[4].args["out_features"] == 3
    assert cfg.model[1].type == "Tanh" and cfg.model[3].args == {"negative_slope": 0.1}


def test_override_expands_a_loss_shorthand(tmp_path):
    cfg = load_config(MOONS, ["loss.label_smoothing=0.1"])
    assert (cfg.loss.name, cfg.loss.label_smoothing) == ("CrossEntropyLoss", 0.1)
    assert load_config(MOONS, ["loss=MSELoss"]).loss.name == "MSELoss"


def test_override_can_add_a_section(tmp_path):
    cfg = load_config(MOONS, ["scheduler.name=StepLR", "scheduler.step_size=10"])
    assert (cfg.scheduler.name, cfg.scheduler.step_size, cfg.scheduler.gamma) == ("StepLR", 10, 0.1)


def test_override_errors_name_the_override():
    with pytest.raises(GdlabError, match=r"^override 'train\.epochs=abc': train\.epochs: .*integer"):
        load_config(MOONS, ["train.epochs=abc"])
    with pytest.raises(GdlabError, match=r"^override 'optimizer\.lrr=1': optimizer\.lrr: unknown key 'lrr' \(did you mean 'lr'\?\)"):
        load_config(MOONS, ["optimizer.lrr=1"])



@pytest.mark.parametrize("overrides, message", [
    (["optimizer.name=GD", "optimizer.momentum=0.9"], "unknown key 'momentum' for GD (SGD and RMSprop take it); allowed: name, lr"),
    (["optimizer.name=SGD", "optimizer.betas=[0.9,0.99]"], "unknown key 'betas' for SGD (Adam and AdamW take it); allowed: name, lr,"),
    (["optimizer.name=GD", "optimizer.nesterov=true"], "unknown key 'nesterov' for GD (SGD takes it); allowed: name, lr"),
    (["scheduler={name: StepLR, T_max: 3}"], "unknown key 'T_max' for StepLR (CosineAnnealingLR takes it); allowed:"),
    (["optimizer.name=SGD", "optimizer.foo=1"], "unknown key 'foo'; allowed: name, lr,"),  # no kind takes it: no hint
])
def test_a_key_of_another_optimizer_or_scheduler_names_the_kinds_that_take_it(overrides, message):
    # a student who adds momentum to GD is told which optimizers have one, not only that GD has none
    with pytest.raises(GdlabError) as err:
        load_config(MOONS, overrides)
    assert message in str(err.value), str(err.value)

# ---------------------------------------------------------------- schema
def test_schema_command_prints_json_schema_with_every_top_level_key():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    import jsonschema  # the draft is named, so editors read prefixItems (2020-12 only) as meant

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert jsonschema.validators.validator_for(schema, default=None) is jsonschema.Draft202012Validator
    assert set(schema["properties"]) == set(Config.model_fields)
    assert {"name", "seed", "data", "model", "loss", "optimizer", "scheduler", "train"} <= set(schema["properties"])
    assert set(schema["required"]) == {"data", "model", "loss", "optimizer", "train"}
    text = json.dumps(schema)
    for name in ["moons", "csv", "SGD", "Adam", "OneCycleLR", *LAYER_ARGS, *LOSS_NAMES]:
        assert f'"{name}"' in text, name


def test_schema_allows_the_loss_shorthand_moons_yaml_uses():
    schema = json.loads(CliRunner().invoke(app, ["schema"]).stdout)
    options = schema["properties"]["loss"].get("anyOf") or schema["properties"]["loss"].get("oneOf")
    assert {"enum": LOSS_NAMES} in options


def test_schema_allows_every_layer_form():
    schema = json.loads(CliRunner().invoke(app, ["schema"]).stdout)
    layer = schema["$defs"]["Layer"]
    bare = next(o["enum"] for o in layer["anyOf"] if "enum" in o)
    assert "ReLU" in bare and "Linear" not in bare  # a bare Linear lacks in_features and out_features
    linear = next(o for o in layer["anyOf"] if "Linear" in o.get("properties", {}))
    forms = linear["properties"]["Linear"]["anyOf"]
    positional = next(f for f in forms if f.get("type") == "array")
    assert (positional["minItems"], positional["maxItems"], len(positional["prefixItems"])) == (2, 3, 3)
    assert any("in_features" in f.get("properties", {}) for f in forms)


# ---------------------------------------------------------------- did you mean
@pytest.mark.parametrize(
    "change, expected",
    [
        (("optimizer: {name: SGD, lr: 0.1}", "optimizer: {name: SGD, lr: 0.1}\noptimiser: {}"),
         r"cfg\.yaml:8:1: optimiser: unknown key 'optimiser' \(did you mean 'optimizer'\?\); allowed: name, seed, data"),
        (("train: {epochs: 3}", "trian: {epochs: 3}"), r"cfg\.yaml:8:1: trian: unknown key 'trian' \(did you mean 'train'\?\)"),
        (("lr: 0.1}", "lr: 0.1, momentm: 0.9}"),
         r"cfg\.yaml:7:\d+: optimizer\.momentm: unknown key 'momentm' \(did you mean 'momentum'\?\); allowed: name, lr, momentum"),
        (("name: SGD", "name: sgd"), r"cfg\.yaml:7:\d+: optimizer\.name: 'sgd' is not one of GD, SGD, .* \(did you mean 'SGD'\?\)"),
        (("name: SGD", "name: Adan"), r"optimizer\.name: 'Adan' is not one of .* \(did you mean 'Adam'\?\)"),
        (("- ReLU", "- Relu"), r"cfg\.yaml:4:5: model\[1\]: unknown layer 'Relu' \(did you mean 'ReLU'\?\); allowed: Linear, ReLU"),
        (("- ReLU", "- relu"), r"model\[1\]: unknown layer 'relu' \(did you mean 'ReLU'\?\)"),
        (("- ReLU", "- LeakyRelu: 0.1"), r"model\[1\]: unknown layer 'LeakyRelu' \(did you mean 'LeakyReLU'\?\)"),
        (("- Linear: [2, 8]", "- linear: [2, 8]"), r"model\[0\]: unknown layer 'linear' \(did you mean 'Linear'\?\)"),
        (("- Linear: [2, 8]", "- Linear: {in_features: 2, out_feature: 8}"),
         r"model\[0\]: Linear has no argument 'out_feature' \(did you mean 'out_features'\?\)"),
        (("loss: CrossEntropyLoss", "loss: CrossEntropy"),
         r"cfg\.yaml:6:1: loss: unknown loss 'CrossEntropy' \(did you mean 'CrossEntropyLoss'\?\); allowed: MSELoss"),
        (("loss: CrossEntropyLoss", "loss: mseloss"), r"loss: unknown loss 'mseloss' \(did you mean 'MSELoss'\?\)"),
        (("loss: CrossEntropyLoss", "loss: {name: MSELos}"), r"loss\.name: 'MSELos' is not one of .* \(did you mean 'MSELoss'\?\)"),
        (("{name: moons, n_samples: 64}", "{name: moons, n_sample: 64}"),
         r"data\.n_sample: unknown key 'n_sample' \(did you mean 'n_samples'\?\)"),
    ],
    ids=["top-level", "top-level-train", "optimizer-key", "optimizer-name-case", "optimizer-name", "layer-case",
         "layer-lower", "layer-leaky", "layer-linear", "layer-arg", "loss", "loss-case", "loss-mapping", "data-key"],
)
def test_did_you_mean(tmp_path, change, expected):
    old, new = change
    assert old in SMALL
    message = error_of(tmp_path, SMALL.replace(old, new, 1))
    assert re.search(expected, message), message


def test_no_suggestion_when_nothing_is_close(tmp_path):
    message = error_of(tmp_path, SMALL.replace("- ReLU", "- Conv2d"))
    assert "did you mean" not in message and "unknown layer 'Conv2d'" in message and "allowed: Linear" in message
    assert did_you_mean("zzzz", ["Linear", "ReLU"]) == ""
    assert did_you_mean("RELU", ["Linear", "ReLU"]) == " (did you mean 'ReLU'?)"


@pytest.mark.parametrize("override, shown", [("name=\n|:", "name=\\n|:"), ("optimizer.lr=1\u20282", "optimizer.lr=1\\u20282")])
def test_an_override_with_a_line_break_is_quoted_on_one_line(tmp_path, override, shown):
    """Found by the fuzz test: user text with a line break must not split the one-line error."""
    message = error_of(tmp_path, SMALL, override)
    assert f"override '{shown}'" in message and len(message.splitlines()) == 1


@pytest.mark.parametrize("data", ["{name: moons, n_samples: 64, noise: -0.0}", "{name: circles, n_samples: 64, noise: -0.0}",
                                  "{name: blobs, n_samples: 64, noise: -0.0}", "{name: gaussians, n_samples: 64, noise: -0.0}",
                                  "{name: moons, n_samples: 64, val_fraction: -0.0}"])
def test_negative_zero_is_zero_not_a_numpy_traceback(tmp_path, data):
    """-0.0 passes ge=0, but numpy's samplers refuse a scale with its sign bit set: 'ValueError: scale < 0',
    exit 1 and a traceback from `train` and `validate`."""
    from gdlab.data import load_data

    text = SMALL.replace("data: {name: moons, n_samples: 64}", f"data: {data}")
    cfg = load_text(tmp_path, text)
    key = "val_fraction" if "val_fraction" in data else "noise"
    value = cfg.resolved()["data"][key]
    assert value == 0.0 and str(value) == "0.0"  # what config.yaml records
    load_data(cfg)  # no ValueError
    cfg = load_text(tmp_path, SMALL, "optimizer.momentum=-0.0", "optimizer.weight_decay=-0.0")
    assert [str(cfg.optimizer.momentum), str(cfg.optimizer.weight_decay)] == ["0.0", "0.0"]


@pytest.mark.parametrize("text, where, words", [
    ("a:\n\tb: 1\n", ":2:1:", "tab characters cannot indent YAML"),
    ("lr:\t0.1\n", ":1:4:", "a tab after 'lr:'"),
    ("lr: 0.1\t# c\n", ":1:8:", "a tab after 'lr: 0.1'"),
    ("x: [1,\t2]\n", ":1:7:", "a tab after 'x: [1,'"),
])
def test_a_tab_is_called_indentation_only_where_it_indents(text, where, words):
    """`lr:<TAB>0.1` indents nothing, but the message said tabs cannot indent."""
    with pytest.raises(GdlabError) as info:
        parse_yaml(text, "f.yaml")
    assert f"f.yaml{where} {words}" in info.value.message and "use spaces" in info.value.message


@pytest.mark.parametrize("layer, got", [("{Identity: 3}", "got 3"), ("{Identity: [3]}", "got [3]"), ("{ReLU: 0.5}", "got 0.5")])
def test_a_layer_without_arguments_given_one_says_it_takes_none(tmp_path, layer, got):
    """'Identity has no argument '''; allowed: none' named an argument nobody wrote."""
    message = error_of(tmp_path, SMALL.replace("  - ReLU\n", f"  - {layer}\n"))
    assert f"takes no arguments, {got}" in message and "''" not in message, message
