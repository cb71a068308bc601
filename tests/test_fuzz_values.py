"""Values a schema-driven fuzz of every config key found mishandled: each is either trained as documented
or refused in one line that names the file and the key, exit 2, with no run folder."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest
import yaml

from tests.helpers import TINY, invoke, one_error_line


def write_config(tmp_path: Path, raw: dict | None = None, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw or {**copy.deepcopy(TINY), "train": {"steps": 2, "device": "cpu"}}, sort_keys=False))
    return path


def train_losses(run_dir: Path) -> list[str]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return [row["train_loss"] for row in csv.DictReader(f)]


def test_a_batch_size_beyond_the_rows_is_the_full_batch_however_large(tmp_path):
    # The memory check counted batch_size rows of activations: 10**12 "needed" thousands of GiB, for 72 rows.
    config = write_config(tmp_path)
    full = invoke("train", config, "--run-dir", tmp_path / "full", "-q")
    huge = invoke("train", config, "train.batch_size=1000000000000", "--run-dir", tmp_path / "huge", "-q")
    assert full.exit_code == 0 and huge.exit_code == 0, huge.stderr
    assert train_losses(tmp_path / "huge") == train_losses(tmp_path / "full")


GOOD = """\
name: tiny
data: {name: moons, n_samples: 64}
model:
  - Linear: [2, 8]
  - LeakyReLU: 0.01
  - Linear: [8, 2]
loss: CrossEntropyLoss
optimizer: {name: Adam, lr: 0.1, betas: [0.9, 0.999]}
train:
  steps: 2
  device: cpu
"""


@pytest.mark.parametrize("old, new, where", [
    ("lr: 0.1", "lr: 0x10", "cfg.yaml:8:29: optimizer.lr: '0x10' is an ambiguous number"),
    ("steps: 2", "steps: 1:30", "cfg.yaml:10:10: train.steps: '1:30' is an ambiguous number"),
    ("betas: [0.9, 0.999]", "betas: [0.9, 017]", "cfg.yaml:8:47: optimizer.betas[1]: '017' is an ambiguous number"),
    ("LeakyReLU: 0.01", "LeakyReLU: 0.0_1", "cfg.yaml:5:16: model[1].LeakyReLU: '0.0_1': an underscore"),
    ("name: tiny", "name: 2024-13-45", "cfg.yaml:1:7: name: '2024-13-45' looks like a date"),
    ("steps: 2", "steps: !!python/name:os.getcwd", "cfg.yaml:10:10: train.steps: tag "),
])
@pytest.mark.parametrize("command", ["validate", "train"])
def test_a_value_the_yaml_reader_refuses_names_its_key(tmp_path, old, new, where, command):
    # These were refused at file:line:col alone, where every value the schema refuses also names its key.
    assert old in GOOD
    config = tmp_path / "cfg.yaml"
    config.write_text(GOOD.replace(old, new))
    result = invoke(command, config, *(["--runs", tmp_path / "runs"] if command == "train" else []))
    one_error_line(result, 2, f"{tmp_path}/{where}")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("data, what", [
    ({"name": "moons", "n_samples": 64}, "feature 'x1'"),
    ({"name": "sine", "n_samples": 64}, "the target"),
])
def test_a_noise_beyond_float32_names_data_noise_not_a_file_to_rescale(tmp_path, data, what):
    # Generated data has no file to rescale: the message said "rescale it" and named no key.
    raw = {**copy.deepcopy(TINY), "data": data, "train": {"steps": 2, "device": "cpu"}}
    if data["name"] == "sine":
        raw.update(loss="MSELoss", model=[{"Linear": [1, 8]}, "Tanh", {"Linear": [8, 1]}])
    config = write_config(tmp_path, raw)
    result = invoke("train", config, "data.noise=1e39", "--runs", tmp_path / "runs")
    one_error_line(result, 2, f"{config} (with override 'data.noise=1e39'): data.noise: 1e+39 puts values of {what} "
                              "beyond float32's range", "lower data.noise")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command, args", [
    ("validate", ["bad.yaml"]),
    ("train", ["good.yaml", 'data.path="pts\\0.csv"']),
    ("sweep", ["good.yaml", 'data.path="pts.csv","pts\\0.csv"', "--dry-run"]),
])
def test_a_csv_path_with_a_nul_is_refused_by_key(tmp_path, monkeypatch, command, args):
    # A NUL ("\0" in YAML) reached Path.resolve(): a ValueError traceback, exit 1.
    (tmp_path / "pts.csv").write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(24)))
    raw = {**copy.deepcopy(TINY), "data": {"name": "csv", "path": "pts.csv", "target": "y"},
           "train": {"steps": 2, "device": "cpu"}}
    write_config(tmp_path, raw, "good.yaml")
    (tmp_path / "bad.yaml").write_text((tmp_path / "good.yaml").read_text().replace("path: pts.csv", 'path: "pts\\0.csv"'))
    monkeypatch.chdir(tmp_path)
    result = invoke(command, *args)
    one_error_line(result, 2, "data.path: allowed: a file path, which cannot hold a NUL character")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "good.yaml", "pts.csv"]


@pytest.mark.parametrize("loss, model_out, words", [
    ({"name": "CrossEntropyLoss", "weight": [1e39, 1.0]}, 2, "loss.weight: 1e+39 is beyond float32's range"),
    ({"name": "BCEWithLogitsLoss", "pos_weight": 1e39}, 1, "loss.pos_weight: 1e+39 is beyond float32's range"),
    ({"name": "CrossEntropyLoss", "weight": [1.0, 1e-300]}, 2, "loss.weight: 1e-300 is below float32's smallest normal"),
])
@pytest.mark.parametrize("command", ["validate", "train"])
def test_a_loss_weight_float32_cannot_hold_is_refused(tmp_path, loss, model_out, words, command):
    # float32 made 1e39 inf, and the run "diverged" at step 1 (exit 3, a run folder) instead of a bad-config
    # exit 2; it made 1e-300 a 0, which the schema's weight > 0 refuses, and the run trained with it.
    raw = {**copy.deepcopy(TINY), "loss": loss, "model": [{"Linear": [2, 8]}, "Tanh", {"Linear": [8, model_out]}],
           "train": {"steps": 2, "device": "cpu"}}
    config = write_config(tmp_path, raw)
    result = invoke(command, config, *(["--runs", tmp_path / "runs"] if command == "train" else []))
    one_error_line(result, 2, str(config), words, "train.dtype: float64")
    assert not (tmp_path / "runs").exists()
    raw["train"]["dtype"] = "float64"  # in range there: the same weight is taken
    assert invoke("validate", write_config(tmp_path, raw, "f64.yaml")).exit_code == 0


@pytest.mark.parametrize("where", ["axis", "section"])
def test_control_characters_in_a_value_reach_the_terminal_escaped(tmp_path, where):
    # A variant's label quoted the value raw: an ESC from a YAML "\e[2J" could clear the user's terminal.
    config = write_config(tmp_path)
    value = '"\\e[2J\\0"'  # YAML's escapes for ESC and NUL
    if where == "section":
        config.write_text(config.read_text() + f"sweep:\n  optimizer.lr: [0.1, {value}]\n")
    axes = [f"optimizer.lr=0.1,{value}"] if where == "axis" else []
    result = invoke("sweep", config, *axes, "--dry-run", "--runs", tmp_path / "runs")
    line = one_error_line(result, 2, r"variant 1 (optimizer.lr=\x1b[2J\x00): optimizer.lr:")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in line)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command, args, words", [
    ("train", ["model.0.Linaer.bias=false"], "got 2 names: Linear, Linaer; 'Linaer' is no layer (did you mean 'Linear'?)"),
    ("sweep", ["model.0.Linaer.in_features=2,3", "--dry-run"], "got 2 names: Linear, Linaer; 'Linaer' is no layer"),
    ("train", ["model.0.Tanh.x=1"], "got 2 names: Linear, Tanh"),
])
def test_a_layer_argument_override_under_another_kind_names_both(tmp_path, command, args, words):
    # It read "a layer is a name (ReLU) or one key with its arguments": no misspelt name, no "did you mean".
    config = write_config(tmp_path)
    result = invoke(command, config, *args, "--runs", tmp_path / "runs")
    one_error_line(result, 2, "model[0]: a layer is one name with its arguments, " + words)
    assert not (tmp_path / "runs").exists()
