"""Every kind of bad input through `gdlab train`: one line on stderr starting `gdlab: error: ` that names
the file (or override), the key and what is allowed; exit code 2; no traceback; no run folder left behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gdlab.cli import app

GOOD = """\
name: tiny
seed: 0
data:
  name: moons
  n_samples: 64
  noise: 0.2
  val_fraction: 0.25
model:
  - Linear: [2, 8]
  - Tanh
  - Linear: [8, 2]
loss: CrossEntropyLoss
optimizer:
  name: SGD
  lr: 0.1
train:
  epochs: 2
  device: cpu
"""


def swap(old: str, new: str) -> str:
    """GOOD with one exact line (or fragment) replaced; fails loudly if the fragment is not there."""
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

# (id, config text or bytes, overrides, substrings the one error line must contain)
CASES = [
    # ---- YAML itself
    ("yaml-syntax", GOOD + "train: {epochs: [1, 2\n", [], ["bad.yaml:20:"]),
    ("tab-indent", swap("  name: SGD\n", "\tname: SGD\n"), [], ["bad.yaml:", "tab", "spaces"]),
    ("empty-file", "", [], ["bad.yaml", "empty", "data, model, loss, optimizer"]),
    ("comments-only", "# nothing here\n\n", [], ["bad.yaml", "empty"]),
    ("top-level-list", "- Linear: [2, 8]\n- ReLU\n", [], ["bad.yaml", "top level", "mapping", "list"]),
    ("top-level-scalar", "42\n", [], ["bad.yaml", "top level", "mapping", "got a number"]),
    ("duplicate-key", GOOD + "seed: 1\n", [], ["bad.yaml:", "duplicate key 'seed'", "first at line 2"]),
    ("duplicate-nested-key", swap("  lr: 0.1\n", "  lr: 0.1\n  lr: 0.2\n"), [], ["bad.yaml:", "duplicate key 'lr'"]),
    ("not-utf8", GOOD.encode() + b"# caf\xe9\n", [], ["bad.yaml", "UTF-8", "offset"]),
    ("too-big", GOOD + ("#" * 100 + "\n") * 11_000, [], ["bad.yaml", "bytes", "limited to 1048576"]),
    ("alias-bomb", BILLION_LAUGHS, [], ["bad.yaml:1:4", "anchors (&name) and aliases", "not allowed"]),  # refused at the first anchor
    ("alias-simple", GOOD + "x: &a 1\ny: *a\n", [], ["bad.yaml:", "aliases"]),
    ("python-tag", GOOD.replace("seed: 0", 'seed: !!python/object/apply:os.system ["touch {pwned}"]'), [],
     ["bad.yaml:", "tag", "not allowed", "plain YAML"]),
    ("python-name-tag", GOOD.replace("seed: 0", "seed: !!python/name:os.system"), [], ["bad.yaml:", "not allowed"]),
    # ---- values
    ("lr-string", swap("lr: 0.1", 'lr: "abc"'), [], ["bad.yaml:15:", "optimizer.lr", "number", "'abc'"]),
    ("lr-zero", swap("lr: 0.1", "lr: 0"), [], ["bad.yaml:15:", "optimizer.lr", "greater than 0", "got 0"]),
    ("lr-negative", swap("lr: 0.1", "lr: -0.1"), [], ["bad.yaml:15:", "optimizer.lr", "greater than 0", "-0.1"]),
    ("lr-nan", swap("lr: 0.1", "lr: .nan"), [], ["bad.yaml:15:", "optimizer.lr", "finite"]),
    ("lr-inf", swap("lr: 0.1", "lr: .inf"), [], ["bad.yaml:15:", "optimizer.lr", "finite"]),
    ("epochs-bool", swap("epochs: 2", "epochs: true"), [], ["bad.yaml:17:", "train.epochs", "integer", "true"]),
    ("epochs-yes", swap("epochs: 2", "epochs: yes"), [], ["bad.yaml:17:", "train.epochs", "integer"]),
    ("epochs-float", swap("epochs: 2", "epochs: 2.5"), [], ["bad.yaml:17:", "train.epochs", "integer", "2.5"]),
    ("epochs-negative", swap("epochs: 2", "epochs: -1"), [], ["bad.yaml:17:", "train.epochs", "greater than 0", "-1"]),
    ("epochs-and-steps", swap("epochs: 2", "epochs: 2\n  steps: 5"), [], ["bad.yaml:", "train", "exactly one of train.epochs and train.steps"]),
    ("seed-octal", swap("seed: 0", "seed: 017"), [], ["bad.yaml:2:7", "'017'", "octal", "plain decimal"]),
    ("epochs-base60", swap("epochs: 2", "epochs: 1:30"), [], ["bad.yaml:17:", "'1:30'", "base", "plain decimal"]),
    ("lr-base60-float", swap("lr: 0.1", "lr: 1:30.5"), [], ["bad.yaml:15:", "base-60"]),
    ("lr-trailing-underscore", swap("lr: 0.1", "lr: 0.1_"), [], ["bad.yaml:15:", "'0.1_'", "group thousands", "'0.1'"]),
    ("lr-underscore-in-fraction", swap("lr: 0.1", "lr: 0.1_5"), [], ["bad.yaml:15:", "'0.1_5'", "'0.15'"]),
    ("seed-underscore-not-thousands", swap("seed: 0", "seed: 1_0"), [], ["bad.yaml:2:7", "'1_0'"]),
    ("anchor-without-alias", swap("seed: 0", "seed: &s 0"), [], ["bad.yaml:2:7", "anchors (&name)"]),
    ("null-key", GOOD + "null: 3\n", [], ["bad.yaml:", "null: a key that YAML reads as null; quote it", "allowed: name, seed"]),
    ("boolean-key", GOOD + "yes: 3\n", [], ["bad.yaml", "a key that YAML reads as the boolean true"]),
    ("loss-off", swap("loss: CrossEntropyLoss", "loss: off"), [], ["bad.yaml:12:", "loss", "boolean", "CrossEntropyLoss"]),
    # YAML 1.1 reads an unquoted on/off/yes/no as a boolean: the error says so, not just true or false
    ("name-no", swap("name: tiny", "name: no"), [], ["bad.yaml:1:", "name: ", "quote it", "(got boolean false: YAML reads on/off/yes/no as booleans)"]),
    ("data-name-on", swap("name: moons", "name: on"), [],
     ["bad.yaml:4:", "data.name: got boolean true: YAML reads on/off/yes/no as booleans; allowed: moons, circles"]),
    ("optimizer-name-off", swap("name: SGD", "name: off"), [], ["optimizer.name: got boolean false: YAML reads on/off/yes/no"]),
    ("dtype-no", swap("device: cpu", "device: cpu\n  dtype: no"), [],
     ["train.dtype: Input should be 'float32' or 'float64' (got boolean false: YAML reads on/off/yes/no as booleans)"]),
    ("grad-clip-off", swap("device: cpu", "device: cpu\n  grad_clip: off"), [], ["train.grad_clip", "(got boolean false: YAML reads"]),
    ("gelu-approximate-off", swap("  - Tanh\n", "  - GELU: {approximate: off}\n"), [],
     ["model[1]: GELU.approximate", "(got boolean false: YAML reads on/off/yes/no as booleans)"]),
    # where the key takes null too, off/no most likely meant null: the error offers it, with what it means there
    ("batch-size-off", swap("device: cpu", "device: cpu\n  batch_size: off"), [],
     ["train.batch_size: Input should be a valid integer (got boolean false: YAML reads on/off/yes/no as booleans); "
      "if you meant null (full batch), write null"]),
    ("eval-every-no", GOOD, ["train.eval_every=no"], ["if you meant null (every epoch), write null"]),
    ("scheduler-off", GOOD + "scheduler: off\n", [], ["scheduler: got boolean false", "write a scheduler name: StepLR",
                                                     "; if you meant null (no scheduler), write null"]),
    ("data-seed-off", swap("name: moons", "name: moons\n  seed: off"), [], ["if you meant null (the config's seed)"]),
    ("grad-clip-off-null", swap("device: cpu", "device: cpu\n  grad_clip: off"), [], ["if you meant null (not set)"]),
    ("layer-on", swap("  - Tanh\n", "  - on\n"), [],
     ["model[1]: a layer is a name (ReLU)", "(got boolean true: YAML reads on/off/yes/no as booleans)"]),
    ("layer-key-off", swap("  - Tanh\n", "  - off: 3\n"), [],
     ["model[1]: unknown layer (got boolean false: YAML reads on/off/yes/no as booleans); allowed: Linear, ReLU"]),
    ("loss-unknown", swap("loss: CrossEntropyLoss", "loss: CrossEntropy"), [],
     ["bad.yaml:12:", "loss", "did you mean 'CrossEntropyLoss'", "MSELoss"]),
    ("missing-optimizer", swap("optimizer:\n  name: SGD\n  lr: 0.1\n", ""), [], ["bad.yaml", "optimizer", "required key is missing"]),
    ("loss-number", swap("loss: CrossEntropyLoss", "loss: 3"), [], ["bad.yaml:12:", "loss", "write a loss name (MSELoss", "got 3"]),
    ("loss-list", swap("loss: CrossEntropyLoss", "loss: [MSELoss]"), [], ["bad.yaml:12:", "loss", "write a loss name", "got ['MSELoss']"]),
    ("betas-too-short", swap("name: SGD\n  lr: 0.1", "name: Adam\n  lr: 0.1\n  betas: [0.9]"), [],
     ["bad.yaml:16:", "optimizer.betas", "too few items"]),
    ("name-number", swap("name: tiny", "name: 123"), [], ["bad.yaml:1:", "name", "valid string", "quote it", "got 123"]),
    ("missing-loss", swap("loss: CrossEntropyLoss\n", ""), [], ["bad.yaml", "loss", "required key is missing"]),
    ("missing-lr", swap("  lr: 0.1\n", ""), [], ["bad.yaml:", "optimizer.lr", "required key is missing"]),
    ("optimizer-unknown-name", swap("name: SGD", "name: Adamm"), [], ["bad.yaml:14:", "optimizer.name", "did you mean 'Adam'", "RMSprop"]),
    ("data-unknown-name", swap("name: moons", "name: moon"), [], ["bad.yaml:4:", "data.name", "did you mean 'moons'"]),
    ("unknown-top-key", GOOD + "optimiser: {name: SGD}\n", [], ["bad.yaml:19:1", "optimiser", "did you mean 'optimizer'", "allowed:"]),
    ("unknown-optimizer-key", swap("lr: 0.1", "lr: 0.1\n  momentun: 0.9"), [],
     ["bad.yaml:16:", "optimizer.momentun", "did you mean 'momentum'"]),
    ("unknown-train-key", swap("epochs: 2", "epochs: 2\n  epoch: 3"), [], ["bad.yaml:18:", "train.epoch", "did you mean 'epochs'"]),
    ("name-dotdot", swap("name: tiny", "name: ../x"), [], ["bad.yaml:1:", "name", "allowed: letters, digits and . _ -", "got '../x'"]),
    ("name-slash", swap("name: tiny", "name: a/b"), [], ["bad.yaml:1:", "name: allowed: letters"]),
    ("name-nul", swap("name: tiny", 'name: "a\\0b"'), [], ["bad.yaml:1:", "name: allowed: letters"]),
    ("name-too-long", swap("name: tiny", "name: " + "a" * 200), [], ["bad.yaml:1:", "name: allowed: letters"]),
    ("name-dot", swap("name: tiny", "name: ."), [], ["bad.yaml:1:", "name: allowed: letters", "got '.'"]),
    ("name-plus", swap("name: tiny", "name: +"), [], ["bad.yaml:1:", "name: allowed: letters", "got '+'"]),
    ("seed-dot", swap("seed: 0", "seed: -."), [], ["bad.yaml:2:", "seed", "integer", "got '-.'"]),
    ("seed-not-a-date", swap("seed: 0", "seed: 2024-13-45"), [], ["bad.yaml:2:7", "looks like a date", "quote it"]),
    ("seed-a-date", swap("seed: 0", "seed: 2024-01-01"), [], ["bad.yaml:2:", "seed", "integer"]),
    ("seed-5000-digits", swap("seed: 0", "seed: " + "9" * 5000), [], ["bad.yaml:2:7", "5000-digit integer"]),
    ("seed-too-big", swap("seed: 0", "seed: " + str(2**64)), [], ["bad.yaml:2:", "seed", "less than or equal"]),
    ("deep-nesting", GOOD + "x: " + "[" * 50_000 + "]" * 50_000 + "\n", [], ["bad.yaml:19:", "nested more than 64 levels"]),
    ("control-char", GOOD + "x: \x1b[31mred\n", [], ["bad.yaml:19:4", "#x001b", "not allowed"]),
    ("nul-byte", GOOD.encode() + b"x: a\x00b\n", [], ["bad.yaml:19:5", "#x0000"]),
    ("two-documents", GOOD + "---\nseed: 1\n", [], ["bad.yaml:19:1", "one YAML document"]),
    ("merge-alias", swap("  lr: 0.1\n", "  <<: *b\n") + "base: &b {lr: 0.1}\n", [], ["bad.yaml:15:7", "anchors and aliases"]),
    ("merge-key-inline", swap("  lr: 0.1\n", "  <<: {lr: 0.1}\n"), [], ["bad.yaml:15:3", "merge keys (<<) are not allowed"]),
    ("complex-key", GOOD + "? [a, b]\n: 1\n", [], ["bad.yaml:19:3", "a key must be a plain name"]),
    ("binary-tag", swap("name: tiny", "name: !!binary dGlueQ=="), [], ["bad.yaml:1:", "name", "string"]),
    # ---- overrides
    ("override-unknown-key", GOOD, ["optimizer.lrr=0.1"], ["override 'optimizer.lrr=0.1'", "optimizer.lrr", "did you mean 'lr'"]),
    ("override-unknown-top", GOOD, ["trian.epochs=3"], ["override 'trian.epochs=3'", "trian", "did you mean 'train'"]),
    ("override-bad-lr", GOOD, ["optimizer.lr=abc"], ["override 'optimizer.lr=abc'", "optimizer.lr", "number"]),
    ("override-negative-epochs", GOOD, ["train.epochs=-1"], ["override 'train.epochs=-1'", "train.epochs", "greater than 0"]),
    ("override-octal", GOOD, ["seed=017"], ["override 'seed=017'", "octal"]),
    ("override-no-equals", GOOD, ["optimizer.lr"], ["override 'optimizer.lr'", "KEY=VALUE"]),
    ("override-empty-key", GOOD, ["=3"], ["override '=3'", "dotted names"]),
    ("override-layer-out-of-range", GOOD, ["model.7.Linear.out_features=4"], ["override 'model.7.Linear.out_features=4'", "model", "7"]),
    ("override-into-scalar", GOOD, ["seed.x=1"], ["override 'seed.x=1'", "'seed' is a single value"]),
    ("override-yaml-error", GOOD, ["optimizer.lr=[1,"], ["override 'optimizer.lr=[1,'"]),
    ("override-tag", GOOD, ["seed=!!python/object/apply:os.getpid []"], ["override 'seed=!!python", "not allowed"]),
    # ---- model
    ("layer-unknown", swap("- Tanh", "- Tanhh"), [], ["bad.yaml:10:", "model[1]", "unknown layer 'Tanhh'", "did you mean 'Tanh'", "allowed:"]),
    ("layer-os-system", swap("- Tanh", "- os.system: [\"touch {pwned}\"]"), [], ["bad.yaml:10:", "model[1]", "unknown layer 'os.system'", "allowed: Linear"]),
    ("layer-dunder-import", swap("- Tanh", "- __import__: [os]"), [], ["bad.yaml:10:", "model[1]", "unknown layer '__import__'", "allowed:"]),
    ("layer-torch-path", swap("- Tanh", "- torch.nn.Tanh"), [], ["bad.yaml:10:", "model[1]", "unknown layer", "allowed:"]),
    ("layer-wrong-arg-name", swap("- Linear: [2, 8]", "- Linear: {in_feature: 2, out_features: 8}"), [],
     ["bad.yaml:9:", "model[0]", "Linear has no argument 'in_feature'", "did you mean 'in_features'"]),
    ("layer-too-many-args", swap("- Linear: [2, 8]", "- Linear: [2, 8, true, 4]"), [], ["bad.yaml:9:", "model[0]", "at most 3 arguments"]),
    ("layer-bad-arg-value", swap("- Linear: [2, 8]", "- Linear: [2, 0]"), [], ["bad.yaml:9:", "model[0]", "out_features", "greater than 0"]),
    ("layer-missing-arg", swap("- Linear: [2, 8]", "- Linear: [2]"), [], ["bad.yaml:9:", "model[0]", "Linear.out_features: required argument is missing"]),
    ("layer-not-a-layer", swap("- Tanh", "- {Tanh: null, ReLU: null}"), [], ["bad.yaml:10:", "model[1]", "a layer is one name", "Tanh, ReLU"]),
    ("layer-args-on-relu", swap("- Tanh", "- Tanh: {inplace: true}"), [], ["bad.yaml:10:", "model[1]", "no argument 'inplace'", "allowed: none"]),
    ("model-empty", swap("model:\n  - Linear: [2, 8]\n  - Tanh\n  - Linear: [8, 2]\n", "model: []\n"), [], ["bad.yaml:8:", "model", "at least 1"]),
    ("shape-between-layers", swap("- Linear: [8, 2]", "- Linear: [16, 2]"), [],
     ["bad.yaml: model[2]:", "in_features=16", "outputs 8"]),
    ("shape-vs-data", swap("- Linear: [2, 8]", "- Linear: [3, 8]"), [], ["bad.yaml: model[0]:", "in_features=3", "2 features"]),
    ("cross-entropy-one-output", swap("- Linear: [8, 2]", "- Linear: [8, 1]"), [],
     ["bad.yaml: model[2]:", "outputs 1 unit,", "labels 0 to 1 make 2 classes", "output 2"]),
    ("override-shape", GOOD, ["model.0.Linear.out_features=4"],
     ["bad.yaml (with override 'model.0.Linear.out_features=4'): model[2]:", "in_features=8", "outputs 4"]),
    ("override-layer-arg-value", GOOD, ["model.2.Linear.out_features=0"],
     ["bad.yaml:11:5 (with override 'model.2.Linear.out_features=0')", "model[2]", "out_features", "greater than 0", "got 0"]),
    ("override-into-bare-layer", GOOD, ["model.1.Tanh.x=1"], ["override 'model.1.Tanh.x=1'", "Tanh has no argument 'x'; allowed: none"]),
    ("override-changes-optimizer-kind", GOOD.replace("lr: 0.1", "lr: 0.1\n  momentum: 0.9"), ["optimizer.name=Adam", "optimizer.momentum=0.5"],
     ["override 'optimizer.momentum=0.5'", "optimizer.momentum", "unknown key", "allowed: name, lr"]),
    ("classification-loss-on-regression-data", swap("name: moons", "name: sine"), [], ["bad.yaml: data.name:", "regression dataset", "MSELoss"]),
    ("device-unknown", swap("device: cpu", "device: tpu"), [], ["bad.yaml:18:", "train.device: allowed: auto, cpu, cuda, cuda:N or mps", "got 'tpu'"]),
    # `{name:SGD}` is the one key 'name:SGD' to YAML: "missing 'name'" alone read as if gdlab had not seen it
    ("flow-key-without-space", swap("optimizer:\n  name: SGD\n  lr: 0.1\n", "optimizer: {name:SGD, lr: 0.1}\n"), [],
     ["bad.yaml:", "optimizer.name: missing 'name'", "YAML reads 'name:SGD' as one key: write 'name: SGD'"]),
    ("flow-value-without-space", swap("optimizer:\n  name: SGD\n  lr: 0.1\n", "optimizer: {name: SGD, lr:0.1}\n"), [],
     ["unknown key 'lr:0.1'", "write 'lr: 0.1'"]),
    ("override-flow-key-without-space", GOOD, ["scheduler={name:StepLR}"],
     ["override 'scheduler={name:StepLR}'", "scheduler.name: missing 'name'", "write 'name: StepLR'"]),
]


def check_one_error_line(result, *expected: str) -> str:
    """The shared contract: exit 2, one `gdlab: error:` line on stderr, no traceback, expected text present."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    # A GdlabError ends in SystemExit(2); any other exception would be a crash CliRunner swallowed.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), result.stderr
    line = lines[0]
    assert line.startswith("gdlab: error: "), line
    assert "Traceback" not in result.output
    for text in expected:
        assert text in line, f"{text!r} not in {line!r}"
    return line


def assert_no_run_folder(root: Path) -> None:
    """A run that never started leaves nothing: the folder is absent or empty (no files anywhere under it)."""
    if root.exists():
        assert [p for p in root.rglob("*")] == [], sorted(map(str, root.rglob("*")))


def write_config(tmp_path: Path, content, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content.replace("{pwned}", str(tmp_path / "pwned")), encoding="utf-8")
    return path


def run_train(*args) -> object:
    return CliRunner().invoke(app, ["train", *map(str, args)])


def test_good_config_trains(tmp_path):
    """The base every bad case starts from is itself fine, so each case fails only for its one change."""
    cfg = write_config(tmp_path, GOOD, "good.yaml")
    result = run_train(cfg, "--runs", tmp_path / "runs", "-q")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (Path(result.stdout.splitlines()[-1]) / "summary.json").is_file()


@pytest.mark.parametrize("content, overrides, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_is_one_line_exit_2(tmp_path, content, overrides, expected):
    cfg = write_config(tmp_path, content)
    runs = tmp_path / "runs"
    check_one_error_line(run_train(cfg, "--runs", runs, *overrides), *expected)
    assert_no_run_folder(runs)
    assert not (tmp_path / "pwned").exists(), "a YAML tag or layer name ran a command"


@pytest.mark.parametrize("content", [
    swap("lr: 0.1", "lr: off"),  # no null here
    swap("device: cpu", "device: cpu\n  batch_size: on"),  # on is no null
    swap("epochs: 2", "epochs: off"),  # null is taken, but then the run has no length
], ids=["lr-off", "batch-size-on", "epochs-off"])
def test_a_boolean_where_null_would_be_refused_too_offers_no_null(tmp_path, content):
    line = check_one_error_line(run_train(write_config(tmp_path, content), "--runs", tmp_path / "runs"),
                                "YAML reads on/off/yes/no as booleans")
    assert "write null" not in line, line


def test_alias_bomb_is_rejected_fast(tmp_path):
    cfg = write_config(tmp_path, BILLION_LAUGHS)
    run_train(tmp_path / "warm-up-imports.yaml")  # the first call imports pydantic and rich; time only the parse
    started = time.perf_counter()
    result = run_train(cfg, "--runs", tmp_path / "runs")
    assert time.perf_counter() - started < 2.0  # a real expansion takes minutes and gigabytes; 2 s forgives a loaded CI machine
    check_one_error_line(result, "bad.yaml:1:4", "aliases")
    assert_no_run_folder(tmp_path / "runs")


def test_python_tag_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    cfg = write_config(tmp_path, f'name: !!python/object/apply:os.system ["touch {marker}"]\n' + GOOD.split("\n", 1)[1])
    result = run_train(cfg, "--runs", tmp_path / "runs")
    check_one_error_line(result, "bad.yaml:1:", "python/object/apply:os.system", "not allowed")
    assert not marker.exists()


@pytest.mark.parametrize(
    "content, expected",
    [
        (swap("lr: 0.1", "lr: -0.1"), ["bad.yaml:15:", "optimizer.lr", "greater than 0"]),
        (swap("- Linear: [8, 2]", "- Linear: [16, 2]"), ["bad.yaml", "model[2]", "in_features=16", "outputs 8"]),
    ],
    ids=["bad-value", "shape-mismatch"],
)
def test_bad_config_with_run_dir_leaves_it_absent(tmp_path, content, expected):
    cfg = write_config(tmp_path, content)
    run_dir = tmp_path / "out" / "run1"
    check_one_error_line(run_train(cfg, "--run-dir", run_dir), *expected)
    assert not run_dir.exists()
    assert_no_run_folder(tmp_path / "out")


# ---------------------------------------------------------------- output paths
def test_run_dir_not_empty_is_refused_and_untouched(tmp_path):
    cfg = write_config(tmp_path, GOOD, "good.yaml")
    run_dir = tmp_path / "existing"
    run_dir.mkdir()
    files = {"metrics.csv": b"step,train_loss\n1,0.5\n", "notes.txt": "keep me\n".encode(), "model.pt": os.urandom(64)}
    for name, data in files.items():
        (run_dir / name).write_bytes(data)
    check_one_error_line(run_train(cfg, "--run-dir", run_dir), "--run-dir", "existing", "not empty", "never overwrites")
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(files)
    for name, data in files.items():
        assert (run_dir / name).read_bytes() == data
    a_file = tmp_path / "a_file"
    a_file.write_text("mine\n")
    check_one_error_line(run_train(cfg, "--run-dir", a_file), "--run-dir", "a_file", "is a file, not a folder")
    assert a_file.read_text() == "mine\n"


def test_run_dir_that_is_a_file_is_refused(tmp_path):
    cfg = write_config(tmp_path, GOOD, "good.yaml")
    target = tmp_path / "afile"
    target.write_bytes(b"precious")
    check_one_error_line(run_train(cfg, "--run-dir", target), "--run-dir", "afile")
    assert target.read_bytes() == b"precious"


@pytest.mark.parametrize("option, child", [("--run-dir", "run"), ("--runs", "runs")])
def test_output_folder_whose_parent_is_a_file(tmp_path, option, child):
    # We run as root, so a chmod 0o500 folder would still be writable; a file as parent cannot be.
    cfg = write_config(tmp_path, GOOD, "good.yaml")
    parent = tmp_path / "parent"
    parent.write_bytes(b"not a folder")
    check_one_error_line(run_train(cfg, option, parent / child), f"{option} {parent / child}: {parent} is a file, not a folder")
    assert parent.read_bytes() == b"not a folder"
    if option == "--runs":  # the run's own folder under it (--runs X/NAME/...) is not what the user typed
        check_one_error_line(run_train(cfg, option, parent), f"--runs {parent}: {parent} is a file, not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a 0o500 folder")
def test_unwritable_parent(tmp_path):
    cfg = write_config(tmp_path, GOOD, "good.yaml")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        check_one_error_line(run_train(cfg, "--runs", locked / "runs"), "locked", "not writable")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


# ---------------------------------------------------------------- --expect
@pytest.mark.parametrize(
    "expect, expected",
    [
        ("final_val_loss", ["--expect 'final_val_loss'", "NAME OP NUMBER"]),
        ("final_val_loss<", ["--expect 'final_val_loss<'", "NAME OP NUMBER"]),
        ("final_val_loss=<0.3", ["--expect 'final_val_loss=<0.3'", "NAME OP NUMBER", "OP: < <= > >= == !="]),
        ("val_loss<abc", ["--expect 'val_loss<abc'", "'abc' is not a number"]),
        ("final_val_los<0.3", ["--expect 'final_val_los<0.3'", "unknown name 'final_val_los'", "did you mean 'final_val_loss'", "allowed:"]),
        ("sharpness<10", ["--expect 'sharpness<10'", "records no sharpness", "train.sharpness_every"]),
        ("val_loss<nan", ["--expect 'val_loss<nan'", "no value can meet < nan"]),
        ("__import__('os')<1", ["--expect", "NAME OP NUMBER"]),
        ("val_loss<<1", ["--expect 'val_loss<<1'", "'<<' is not an operator"]),  # was "'<1' is not a number"
        ("wall_s<-inf", ["--expect 'wall_s<-inf'", "no value can meet < -inf"]),
        ("steps>inf", ["--expect 'steps>inf'", "no value can meet > inf"]),
        # only a finite value meets a bar: these failed after the whole run
        ("wall_s<=-inf", ["--expect 'wall_s<=-inf'", "no value can meet <= -inf"]),
        ("steps>=inf", ["--expect 'steps>=inf'", "no value can meet >= inf"]),
        ("val_loss==inf", ["--expect 'val_loss==inf'", "no value can meet == inf"]),
    ],
    ids=["no-op", "no-number", "bad-op", "not-a-number", "unknown-name", "column-not-recorded", "nan-bound", "code",
         "double-op", "below-minus-inf", "above-inf", "at-or-below-minus-inf", "at-or-above-inf", "equal-to-inf"],
)
def test_bad_expect_fails_before_training(tmp_path, expect, expected):
    cfg = write_config(tmp_path, GOOD, "good.yaml")
    runs = tmp_path / "runs"
    check_one_error_line(run_train(cfg, "--runs", runs, "--expect", expect), *expected)
    assert_no_run_folder(runs)
    run_dir = tmp_path / "rd"
    check_one_error_line(run_train(cfg, "--run-dir", run_dir, "--expect", expect), *expected)
    assert not run_dir.exists()


@pytest.mark.parametrize(
    "change, expect, expected",
    [
        (("data:\n  name: moons", "data:\n  name: sine"), "val_accuracy>0.5", ["--expect 'val_accuracy>0.5'", "regression loss", "no accuracy"]),
        (("val_fraction: 0.25", "val_fraction: 0"), "final_val_loss<1", ["--expect 'final_val_loss<1'", "val_fraction is 0"]),
    ],
    ids=["accuracy-on-regression", "val-without-split"],
)
def test_expect_the_run_cannot_report_fails_before_training(tmp_path, change, expect, expected):
    text = swap(*change)
    if "sine" in text:
        text = text.replace("[2, 8]", "[1, 8]").replace("[8, 2]", "[8, 1]").replace("CrossEntropyLoss", "MSELoss")
    cfg = write_config(tmp_path, text, "good.yaml")
    assert run_train(cfg, "--run-dir", tmp_path / "ok", "-q").exit_code == 0  # the config itself is fine
    check_one_error_line(run_train(cfg, "--runs", tmp_path / "runs", "--expect", expect), *expected)
    assert_no_run_folder(tmp_path / "runs")


# ---------------------------------------------------------------- config file and CSV data through the CLI
def test_missing_config_file(tmp_path):
    check_one_error_line(run_train(tmp_path / "nope.yaml", "--runs", tmp_path / "runs"), "nope.yaml", "no such file")
    assert_no_run_folder(tmp_path / "runs")


def test_config_is_a_directory(tmp_path):
    check_one_error_line(run_train(tmp_path, "--runs", tmp_path / "runs"), "is a directory")


CSV_CONFIG = swap("  name: moons\n  n_samples: 64\n  noise: 0.2\n", "  name: csv\n  path: {csv}\n  target: {target}\n")


def test_missing_csv_file(tmp_path):
    cfg = write_config(tmp_path, CSV_CONFIG.replace("{csv}", "missing.csv").replace("{target}", "y"))
    check_one_error_line(run_train(cfg, "--runs", tmp_path / "runs"), "bad.yaml", "data.path", "missing.csv", "no such file")
    assert_no_run_folder(tmp_path / "runs")


def test_csv_missing_target_column(tmp_path):
    (tmp_path / "points.csv").write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    cfg = write_config(tmp_path, CSV_CONFIG.replace("{csv}", "points.csv").replace("{target}", "lable"))
    line = check_one_error_line(run_train(cfg, "--runs", tmp_path / "runs"), "points.csv", "data.target", "lable", "label")
    assert "did you mean 'label'" in line
    assert_no_run_folder(tmp_path / "runs")


@pytest.mark.parametrize("command, option", [("train", "--run-dir"), ("train", "--runs"), ("sweep", "--runs")])
def test_a_name_too_long_at_the_end_of_a_path_leaves_none_of_the_folders_before_it(tmp_path, command, option):
    """mkdir -p made newa/ and newa/newb/ before the 300-character name was refused: exit 2, two folders left."""
    cfg = write_config(tmp_path, GOOD, "good.yaml")
    target = tmp_path / "newa" / "newb" / ("c" * 300)
    args = [command, str(cfg)] + (["optimizer.lr=0.1,0.2"] if command == "sweep" else []) + [option, str(target), "-q"]
    check_one_error_line(CliRunner().invoke(app, args), option, "cannot create the run folder")
    assert not (tmp_path / "newa").exists()


def test_a_run_dir_that_is_a_dangling_link_says_so(tmp_path):
    """mkdir's own word for it was 'cannot create the run folder (File exists)'."""
    cfg = write_config(tmp_path, GOOD, "good.yaml")
    link = tmp_path / "dl"
    link.symlink_to(tmp_path / "nowhere" / "zz")
    check_one_error_line(run_train(cfg, "--run-dir", link, "-q"), f"--run-dir {link}: a link to", "which does not exist")
    assert not (tmp_path / "nowhere").exists()


def test_the_resume_hint_is_a_command_that_pastes_whatever_the_folder_is_called(tmp_path, monkeypatch):
    import shlex

    import gdlab.train
    from gdlab.train import TrainResult

    folder = tmp_path / "sp ace"
    monkeypatch.setattr(gdlab.train, "train", lambda cfg, **kw: TrainResult(
        folder, {"status": "interrupted", "steps": 3, "name": "x"}, 130, []))
    result = run_train(write_config(tmp_path, GOOD, "good.yaml"), "-q")
    assert result.exit_code == 130
    hint = result.stderr.split("continue with: ")[1].strip()
    assert shlex.split(hint) == ["gdlab", "train", "--resume", str(folder)], hint


@pytest.mark.parametrize("option", ["--run-dir", "--runs"])
def test_a_run_path_with_a_line_break_is_refused_as_the_last_line_could_not_name_it(tmp_path, option):
    """'the last line is the run folder' (for scripts) cannot hold for a folder named 'a<newline>b'."""
    cfg = write_config(tmp_path, GOOD, "good.yaml")
    check_one_error_line(run_train(cfg, option, tmp_path / "a\nb", "-q"), option, "the path contains a line break")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("a")]


def test_a_key_copied_from_an_error_works_as_an_override(tmp_path):
    """Errors name a layer `model[1]`; the override `model[1].Linear=...` was 'unknown key model[1]' (only model.1
    worked). Both spellings now set the same item, for `gdlab train` and for a sweep axis alike."""
    import yaml

    from tests.helpers import TINY, invoke

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "train": {"steps": 2, "device": "cpu"}}))
    configs = []
    for key in ("model[0].Linear", "model.0.Linear"):
        ran = invoke("train", cfg, f"{key}=[2,16]", "model[2].Linear=[16,2]", "--run-dir", tmp_path / key, "-q")
        assert ran.exit_code == 0, ran.stderr
        configs.append(yaml.safe_load((tmp_path / key / "config.yaml").read_text())["model"])
    assert configs[0] == configs[1] and configs[0][0]["Linear"]["out_features"] == 16
    swept = invoke("sweep", cfg, "model[0].Linear=[2,8],[2,16]", "model[2].Linear=[8,2],[16,2]", "--dry-run")
    assert swept.exit_code == 2 and "expects in_features" in swept.stderr and "unknown key" not in swept.stderr
    tables = []
    for key in ("model[1]", "model.1"):
        swept = invoke("sweep", cfg, f"{key}=ReLU,Tanh", "--run-dir", tmp_path / f"sw{key}", "-q")
        assert swept.exit_code == 0, swept.stderr
        tables.append((tmp_path / f"sw{key}" / "sweep.csv").read_text().splitlines())
    assert [line.split(",")[:2] for line in tables[0]] == [line.split(",")[:2] for line in tables[1]]
    assert tables[0][0].startswith("model.1,")  # one spelling in sweep.csv and the folders: the dotted one
