"""`gdlab schema` (the JSON Schema editors check configs with) accepts exactly what `gdlab validate --no-data`
accepts: every shipped config, the README's examples, and a matrix of valid and invalid sections and layer
forms, each checked both ways. The few rules JSON Schema cannot state are listed in SCHEMA_CANNOT_SAY,
with the way each one disagrees, so a change on either side shows up here. No training, no torch."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.layers import LAYER_ARGS
from gdlab.yamlio import read_yaml_file

jsonschema = pytest.importorskip("jsonschema", reason="checking configs against `gdlab schema` needs the jsonschema package")

ROOT = Path(__file__).resolve().parents[1]
DROP = object()  # a section value that means: leave the key out

BASE = {
    "data": {"name": "moons", "n_samples": 64},
    "model": [{"Linear": [2, 8]}, "ReLU", {"Linear": [8, 2]}],
    "loss": "CrossEntropyLoss",
    "optimizer": {"name": "SGD", "lr": 0.1},
    "train": {"epochs": 3},
}


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expect: bool | None = None  # what validate says, where the case is about a known answer


def config(**sections) -> str:
    """BASE with whole top-level sections replaced (DROP removes one), as YAML text."""
    raw = {**BASE, **sections}
    return yaml.safe_dump({k: v for k, v in raw.items() if v is not DROP}, sort_keys=False)


def case(id: str, expect: bool | None = None, **sections) -> Case:
    return Case(id, config(**sections), expect)


def layer(id: str, entry, expect: bool | None = None) -> Case:
    """A one-entry model, so only the entry decides (validate --no-data checks no shapes)."""
    return case(f"layer:{id}", expect, model=[entry])


# ---------------------------------------------------------------- the bug report's cases
REPORTED = [
    # valid, but the schema used to refuse them
    case("data-shorthand", True, data="moons"),
    case("scheduler-shorthand", True, scheduler="CosineAnnealingLR"),
    case("loss-shorthand", True, loss="CrossEntropyLoss"),
    layer("Dropout-scalar", {"Dropout": 0.0}, True),
    layer("BatchNorm1d-scalar", {"BatchNorm1d": 4}, True),
    layer("LayerNorm-scalar", {"LayerNorm": 4}, True),
    layer("LeakyReLU-scalar", {"LeakyReLU": 0.1}, True),
    layer("GELU-scalar", {"GELU": "tanh"}, True),
    layer("ELU-scalar", {"ELU": -1}, True),
    # `optimizer: Adam` is NOT valid: every optimizer needs lr, and validate names it as missing
    case("optimizer-shorthand-needs-lr", False, optimizer="Adam"),
    case("scheduler-shorthand-needs-step_size", False, scheduler="StepLR"),
    # invalid, but the schema used to accept any list
    layer("Linear-zero-in", {"Linear": [0, 3]}, False),
    layer("Linear-one-arg", {"Linear": [2]}, False),
    layer("Linear-bias-0", {"Linear": [2, 3, 0]}, False),
    layer("Linear-four-args", {"Linear": [2, 3, True, 4]}, False),
    layer("Flatten-args", {"Flatten": [1, -1]}, False),
    layer("Softplus-zero-beta", {"Softplus": [0, 20]}, False),
    layer("LayerNorm-nested-list", {"LayerNorm": [[4]]}, False),
    layer("Linear-bare-needs-args", "Linear", False),  # the schema used to allow the bare name
    layer("Linear-null-needs-args", {"Linear": None}, False),
    # JSON Schema's integer is any number with no fractional part (1.0 == 1 in JSON), so validate takes 1.0 as 1
    # (it used to refuse it, which no schema can say); 2.5 is refused by both
    layer("int-as-float", {"Linear": [2.0, 3]}, True),
    layer("int-as-float-keyword", {"Linear": {"in_features": 2.0, "out_features": 3}}, True),
    layer("int-as-float-scalar", {"LayerNorm": 4.0}, True),
    layer("fraction-as-int", {"Linear": [2.5, 3]}, False),
    case("seed-integral-float", True, seed=1.0),
    case("data-seed-integral-float", True, data={"name": "moons", "seed": 3.0}),
    case("data-n_samples-integral-float", True, data={"name": "moons", "n_samples": 64.0}),
    case("data-n_samples-fraction", False, data={"name": "moons", "n_samples": 64.5}),
    case("train-steps-1e4", True, train={"steps": 1e4}),
    case("train-epochs-fraction", False, train={"epochs": 2.5}),
    case("train-epochs-inf", False, train={"epochs": float("inf")}),
    case("scheduler-step_size-integral-float", True, scheduler={"name": "StepLR", "step_size": 2.0}),
    case("seed-integral-float-too-big", False, seed=2.0**63),
]

# ---------------------------------------------------------------- every layer, every form
GOOD = {
    "in_features": 2, "out_features": 3, "bias": False, "negative_slope": 0.2, "alpha": -1, "approximate": "tanh",
    "beta": 2, "threshold": 10.5, "p": 0.0, "num_features": 4, "eps": 1e-3, "momentum": 1, "affine": False,
    "normalized_shape": 4, "elementwise_affine": False,
}
BAD = {  # beyond what is bad for every argument ("x", null, a list, a mapping)
    "in_features": [0, -1, True, 2.5], "out_features": [0, True], "num_features": [0, True, 4.5],
    "normalized_shape": [0, -2, False], "bias": [0, 1], "affine": [1], "elementwise_affine": [0],
    "negative_slope": [True], "alpha": [False], "approximate": ["exact", 1, True],
    "beta": [0, -1, True], "threshold": [0, True], "p": [1, -0.1, 1.5, True],
    "eps": [0, -1e-5, True], "momentum": [0, 1.5, True],
}
ALWAYS_BAD = ["x", None, [1], {"a": 1}]


def layer_matrix() -> list[Case]:
    cases = []
    for name, spec in LAYER_ARGS.items():
        args = list(spec.model_fields)
        good = [GOOD[a] for a in args]
        cases += [layer(f"{name}-bare", name), layer(f"{name}-null", {name: None}), layer(f"{name}-empty-mapping", {name: {}}),
                  layer(f"{name}-unknown-key", {name: {"nope": 1}}), layer(f"{name}-scalar-x", {name: "x"}),
                  layer(f"{name}-scalar-1", {name: 1}), layer(f"{name}-scalar-true", {name: True})]
        for k in range(len(args) + 2):  # every prefix, and one too many
            cases.append(layer(f"{name}-list{k}", {name: (good + [1])[:k]}))
        cases.append(layer(f"{name}-mapping", {name: dict(zip(args, good))}))
        cases.append(layer(f"{name}-type-args-list", {"type": name, "args": good}))
        cases.append(layer(f"{name}-type-args-null", {"type": name, "args": None}))
        cases.append(layer(f"{name}-type-only", {"type": name}))
        cases.append(layer(f"{name}-type-args-extra", {"type": name, "args": good, "x": 1}))
        if args:
            cases.append(layer(f"{name}-scalar-good", {name: good[0]}))
            cases.append(layer(f"{name}-type-args-scalar", {"type": name, "args": good[0]}))
        for i, arg in enumerate(args):
            cases.append(layer(f"{name}-mapping-only-{arg}", {name: {arg: good[i]}}))
            for j, bad in enumerate(BAD[arg] + ALWAYS_BAD):
                cases.append(layer(f"{name}-list-bad-{arg}{j}", {name: good[:i] + [bad] + good[i + 1:]}))
                cases.append(layer(f"{name}-mapping-bad-{arg}{j}", {name: {**dict(zip(args, good)), arg: bad}}))
                if i == 0:
                    cases.append(layer(f"{name}-scalar-bad{j}", {name: bad}))
    cases += [layer("unknown", "Conv2d", False), layer("two-keys", {"ReLU": None, "Tanh": None}, False),
              layer("lowercase", "relu", False), layer("number", 3, False), layer("list", ["ReLU"], False)]
    return cases


# ---------------------------------------------------------------- the sections
SECTIONS = [
    # top level
    case("minimal", True),
    case("unknown-key", False, epochs=3),
    case("name-ok", True, name="run-1.a_b"),
    case("name-space", False, name="bad name"),
    case("name-dot-first", False, name=".hidden"),
    case("seed-negative", False, seed=-1),
    case("seed-bool", False, seed=True),
    case("seed-float", False, seed=1.5),
    case("model-empty", False, model=[]),
    case("model-missing", False, model=DROP),
    case("model-mapping", False, model={"Linear": [2, 2]}),
    case("train-missing", False, train=DROP),
    case("sweep-ok", True, sweep={"optimizer.lr": [0.1, 0.2], "seed": [0, 1]}),
    case("sweep-null", True, sweep=None),
    # data
    *[case(f"data-{n}", True, data=n) for n in ["circles", "xor", "spiral", "blobs", "gaussians", "sine", "linear",
                                                 "friedman", "iris", "wine", "breast_cancer", "digits", "diabetes"]],
    case("data-csv-shorthand", False, data="csv"),  # csv needs path and target
    case("data-misspelt", False, data="Moons"),
    case("data-bool", False, data=True),
    case("data-number", False, data=3),
    case("data-list", False, data=["moons"]),
    case("data-no-name", False, data={"n_samples": 64}),
    case("data-csv", True, data={"name": "csv", "path": "x.csv", "target": "y"}),
    case("data-csv-features", True, data={"name": "csv", "path": "x.csv", "target": "y", "features": ["a", "b"]}),
    case("data-csv-features-twice", False, data={"name": "csv", "path": "x.csv", "target": "y", "features": ["a", "b", "a"]}),
    case("data-csv-features-null", True, data={"name": "csv", "path": "x.csv", "target": "y", "features": None}),
    case("data-csv-no-target", False, data={"name": "csv", "path": "x.csv"}),
    case("data-csv-empty-target", False, data={"name": "csv", "path": "x.csv", "target": ""}),
    case("data-iris-n_samples", False, data={"name": "iris", "n_samples": 64}),
    case("data-blobs-features", True, data={"name": "blobs", "n_features": 5, "centers": 4, "noise": 0.5}),
    case("data-blobs-0-features", False, data={"name": "blobs", "n_features": 0}),
    case("data-spiral-11", False, data={"name": "spiral", "n_classes": 11}),
    case("data-circles-factor-1", False, data={"name": "circles", "factor": 1}),
    case("data-friedman-4", False, data={"name": "friedman", "n_features": 4}),
    case("data-n_samples-3", False, data={"name": "moons", "n_samples": 3}),
    case("data-noise-negative", False, data={"name": "moons", "noise": -0.1}),
    case("data-val_fraction-1", False, data={"name": "moons", "val_fraction": 1}),
    case("data-val_fraction-0", True, data={"name": "moons", "val_fraction": 0}),
    case("data-seed-null", True, data={"name": "moons", "seed": None}),
    case("data-seed-negative", False, data={"name": "moons", "seed": -1}),
    case("data-standardize-yes-string", False, data={"name": "moons", "standardize": "yes"}),
    # loss
    *[case(f"loss-{n}", True, loss=n) for n in ["MSELoss", "L1Loss", "HuberLoss", "BCEWithLogitsLoss"]],
    case("loss-mapping", True, loss={"name": "CrossEntropyLoss", "label_smoothing": 0.1}),
    case("loss-lowercase", False, loss="mseloss"),
    case("loss-smoothing-1", False, loss={"name": "CrossEntropyLoss", "label_smoothing": 1}),
    case("loss-weight", True, loss={"name": "CrossEntropyLoss", "weight": [1, 2.5]}),
    case("loss-weight-0", False, loss={"name": "CrossEntropyLoss", "weight": [1, 0]}),
    case("loss-huber-delta-0", False, loss={"name": "HuberLoss", "delta": 0}),
    case("loss-pos_weight-null", True, loss={"name": "BCEWithLogitsLoss", "pos_weight": None}),
    case("loss-mse-delta", False, loss={"name": "MSELoss", "delta": 1}),
    # optimizer
    *[case(f"optimizer-{n}-shorthand", False, optimizer=n) for n in ["GD", "SGD", "AdamW", "RMSprop"]],
    case("optimizer-GD", True, optimizer={"name": "GD", "lr": 1}),
    case("optimizer-GD-momentum", False, optimizer={"name": "GD", "lr": 1, "momentum": 0.9}),
    case("optimizer-lr-0", False, optimizer={"name": "SGD", "lr": 0}),
    case("optimizer-lr-bool", False, optimizer={"name": "SGD", "lr": True}),
    case("optimizer-lr-string", False, optimizer={"name": "SGD", "lr": "0.1"}),
    case("optimizer-adam", True, optimizer={"name": "Adam", "lr": 1e-3, "betas": [0.8, 0.99], "amsgrad": True}),
    case("optimizer-adam-one-beta", False, optimizer={"name": "Adam", "lr": 1e-3, "betas": [0.9]}),
    case("optimizer-adam-three-betas", False, optimizer={"name": "Adam", "lr": 1e-3, "betas": [0.9, 0.9, 0.9]}),
    case("optimizer-adam-beta-1", False, optimizer={"name": "Adam", "lr": 1e-3, "betas": [1, 0.9]}),
    case("optimizer-adam-eps-0", False, optimizer={"name": "Adam", "lr": 1e-3, "eps": 0}),
    case("optimizer-adamw", True, optimizer={"name": "AdamW", "lr": 1e-3, "weight_decay": 0}),
    case("optimizer-rmsprop", True, optimizer={"name": "RMSprop", "lr": 1e-3, "centered": True, "momentum": 0.5}),
    case("optimizer-rmsprop-alpha-1", False, optimizer={"name": "RMSprop", "lr": 1e-3, "alpha": 1}),
    case("optimizer-sgd-full", True, optimizer={"name": "SGD", "lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-4}),
    case("optimizer-nesterov", True, optimizer={"name": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True}),
    case("optimizer-nesterov-dampening-0", True, optimizer={"name": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True, "dampening": 0}),
    case("optimizer-nesterov-no-momentum", False, optimizer={"name": "SGD", "lr": 0.1, "nesterov": True}),
    case("optimizer-nesterov-momentum-0", False, optimizer={"name": "SGD", "lr": 0.1, "nesterov": True, "momentum": 0}),
    case("optimizer-nesterov-dampening", False, optimizer={"name": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True, "dampening": 0.1}),
    case("optimizer-nesterov-false", True, optimizer={"name": "SGD", "lr": 0.1, "nesterov": False, "dampening": 0.5}),
    case("optimizer-unknown", False, optimizer={"name": "LBFGS", "lr": 1}),
    case("optimizer-null", False, optimizer=None),
    # scheduler
    case("scheduler-null", True, scheduler=None),
    case("scheduler-onecycle-shorthand", True, scheduler="OneCycleLR"),
    case("scheduler-exponential-shorthand", False, scheduler="ExponentialLR"),
    case("scheduler-misspelt", False, scheduler="cosine"),
    case("scheduler-step", True, scheduler={"name": "StepLR", "step_size": 10, "interval": "step"}),
    case("scheduler-step-0", False, scheduler={"name": "StepLR", "step_size": 0}),
    case("scheduler-interval-batch", False, scheduler={"name": "StepLR", "step_size": 1, "interval": "batch"}),
    case("scheduler-cosine-T_max-null", True, scheduler={"name": "CosineAnnealingLR", "T_max": None, "eta_min": 0}),
    case("scheduler-exponential", True, scheduler={"name": "ExponentialLR", "gamma": 0.9}),
    case("scheduler-exponential-gamma-0", False, scheduler={"name": "ExponentialLR", "gamma": 0}),
    case("scheduler-onecycle-pct-1", False, scheduler={"name": "OneCycleLR", "pct_start": 1}),
    case("scheduler-onecycle-linear", True, scheduler={"name": "OneCycleLR", "anneal_strategy": "linear", "three_phase": True}),
    # train
    case("train-steps", True, train={"steps": 10}),
    case("train-both", False, train={"epochs": 3, "steps": 10}),
    case("train-neither", False, train={"batch_size": 8}),
    case("train-both-null", False, train={"epochs": None, "steps": None}),
    case("train-epochs-null-steps", True, train={"epochs": None, "steps": 10}),
    case("train-steps-null-epochs", True, train={"epochs": 3, "steps": None}),
    case("train-epochs-0", False, train={"epochs": 0}),
    case("train-epochs-bool", False, train={"epochs": True}),
    case("train-epochs-string", False, train={"epochs": "3"}),
    case("train-empty", False, train={}),
    case("train-null", False, train=None),
    case("train-batch_size-null", True, train={"epochs": 3, "batch_size": None, "accumulate": 2}),
    case("train-accumulate-0", False, train={"epochs": 3, "accumulate": 0}),
    case("train-device-cuda-1", True, train={"epochs": 3, "device": "cuda:1"}),
    case("train-device-gpu", False, train={"epochs": 3, "device": "gpu"}),
    case("train-dtype-float16", False, train={"epochs": 3, "dtype": "float16"}),
    case("train-sharpness", True, train={"epochs": 3, "sharpness_every": 5, "sharpness_iters": 1000}),
    case("train-sharpness_iters-1001", False, train={"epochs": 3, "sharpness_iters": 1001}),
    case("train-diverge_factor-1", False, train={"epochs": 3, "diverge_factor": 1}),
    case("train-diverge_factor-null", True, train={"epochs": 3, "diverge_factor": None}),
    case("train-grad_clip-0", False, train={"epochs": 3, "grad_clip": 0}),
    case("train-unknown", False, train={"epochs": 3, "lr": 0.1}),
    # odd keys and sizes
    case("top-level-number-key", False, **{"1": 2}),
    layer("number-key", {"Linear": {1: 2}}, False),
    layer("bool-key", {"Linear": {True: 2}}, False),
    layer("huge-int", {"Linear": [2**70, 3]}, True),
    case("seed-max", True, seed=2**63 - 1),
    case("seed-too-big", False, seed=2**63),
    case("name-unicode", False, name="r\u00fcn"),
    case("data-csv-features-empty", True, data={"name": "csv", "path": "x.csv", "target": "y", "features": []}),
    case("loss-weight-empty", True, loss={"name": "CrossEntropyLoss", "weight": []}),
]


def readme_cases() -> list[Case]:
    """The README's full example config, and the one-line forms it names in its prose."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if "model:" in b]
    assert blocks, "the README's example config is gone; update this test"
    return [Case(f"readme-{i}", b, True) for i, b in enumerate(blocks)] + [
        case("readme-loss-MSELoss", True, loss="MSELoss"),
        case("readme-data-moons", True, data="moons"),
        case("readme-scheduler-StepLR", False, scheduler="StepLR"),  # "a setting it still needs is then named"
        case("readme-loss-mapping", True, loss={"name": "CrossEntropyLoss", "label_smoothing": 0.1}),
        case("readme-keyword-linear", True, model=[{"Linear": {"in_features": 32, "out_features": 32}}]),
    ]


def shipped_cases() -> list[Case]:
    return [Case(f"configs/{p.name}", p.read_text(encoding="utf-8"), True) for p in sorted((ROOT / "configs").glob("*.yaml"))]


# ---------------------------------------------------------------- what JSON Schema cannot say
# case id -> (validate's answer, the schema's answer, why they differ). Each must still differ exactly so.
SCHEMA_CANNOT_SAY: dict[str, tuple[bool, bool, str]] = {
    "sweep-bad-axis": (False, True, "sweep axes are checked by building the sweep's variants; the schema types "
                                    "`sweep` as any mapping"),
    "sweep-bad-variant": (False, True, "each sweep variant is validated as a whole config"),
    "lr-inf": (False, True, "JSON has no inf or NaN; `.inf` passes a bare `exclusiveMinimum`"),
    "lr-nan": (False, True, "NaN fails every comparison, so no bound refuses it"),
    "layer:eps-inf": (False, True, "as lr-inf, on a layer argument"),
    # Not JSON Schema's limit but the checker's: Python's `re` lets `$` match before a final newline, where
    # pydantic's regex and the ECMA-262 regexes editors use do not.
    "name-newline": (False, True, "jsonschema's Python regexes: `$` matches before a final newline"),
    "device-newline": (False, True, "as name-newline"),
    "csv-empty-path": (True, False, "validate resolves the path against the config's folder before checking "
                                    "min_length, so '' passes `validate --no-data` (and fails later, loading data)"),
}
CANNOT_SAY_CASES = [
    case("sweep-bad-axis", sweep={"optimizer.lrr": [0.1, 0.2]}),
    case("sweep-bad-variant", sweep={"optimizer.lr": [0.1, -1]}),
    case("lr-inf", optimizer={"name": "SGD", "lr": float("inf")}),
    case("lr-nan", optimizer={"name": "SGD", "lr": float("nan")}),
    layer("eps-inf", {"BatchNorm1d": {"num_features": 4, "eps": float("inf")}}),
    case("name-newline", name="run\n"),
    case("device-newline", train={"epochs": 3, "device": "cpu\n"}),
    case("csv-empty-path", data={"name": "csv", "path": "", "target": "y"}),
]

CASES = [*shipped_cases(), *readme_cases(), *REPORTED, *SECTIONS, *layer_matrix(), *CANNOT_SAY_CASES]


@pytest.fixture(scope="module")
def schema_validator():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert {c.id for c in CANNOT_SAY_CASES} == set(SCHEMA_CANNOT_SAY)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_schema_accepts_exactly_what_validate_accepts(c: Case, tmp_path, schema_validator):
    path = tmp_path / "config.yaml"
    path.write_text(c.text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--no-data", str(path)])
    assert result.exit_code in (0, 2), result.output
    by_validate = result.exit_code == 0
    data, _ = read_yaml_file(path)  # what gdlab reads, which is what the editor checks
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message[:200]}" for e in schema_validator.iter_errors(data)]
    by_schema = not errors
    if c.expect is not None:
        assert by_validate is c.expect, f"validate --no-data: {result.output}"
    if c.id in SCHEMA_CANNOT_SAY:
        want_validate, want_schema, why = SCHEMA_CANNOT_SAY[c.id]
        assert (by_validate, by_schema) == (want_validate, want_schema), f"no longer a known gap ({why}); move the case"
        return
    assert by_schema == by_validate, (
        f"validate --no-data says {'ok' if by_validate else result.output.strip()}; "
        f"the schema says {errors or 'ok'}\n{c.text}"
    )


def test_the_schema_states_no_default_name_since_a_file_defaults_to_its_own_name(tmp_path):
    schema = json.loads(CliRunner().invoke(app, ["schema"]).stdout)
    assert "default" not in schema["properties"]["name"]  # it said "run"; editors showed that
    path = tmp_path / "my-experiment.yaml"
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "sine.yaml").read_text())
    raw.pop("name", None)
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(app, ["train", str(path), "train.steps=2", "--runs", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["my-experiment"]
