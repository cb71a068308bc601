"""More one-line error messages: over-long paths, keys and column names cut to their start and end, CSV
headers and data.features that would train on the wrong columns, non-ASCII digits as list indices, the
override behind a kind switch, empty output paths, and null in sweep labels."""

from __future__ import annotations

import copy
import errno
import os
from pathlib import Path

import pytest
import yaml

from gdlab.errors import GdlabError
from tests.helpers import TINY, invoke

LONG_NAME = "x" * 900  # longer than the 255 bytes a file name may have
CSV_ROWS = "".join(f"{i},{i % 3},{i % 2}\n" for i in range(24))


def one_error_line(result, *parts: str) -> str:
    """The single `gdlab: error:` line of an exit-2 failure, with no traceback; every part is in it."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [ln for ln in result.stderr.splitlines() if not ln.startswith("gdlab: note: ")]  # a kind switch's note
    assert len(lines) == 1 and lines[0].startswith("gdlab: error: "), result.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def write_config(tmp_path: Path, data: dict | None = None, name: str = "cfg.yaml") -> Path:
    raw = copy.deepcopy(TINY)
    if data is not None:
        raw["data"] = data
        raw["loss"] = "MSELoss"
        raw["model"] = [{"Linear": [2, 4]}, "Tanh", {"Linear": [4, 1]}]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def csv_config(tmp_path: Path, header: str, **data) -> Path:
    (tmp_path / "points.csv").write_text(header + "\n" + CSV_ROWS)
    return write_config(tmp_path, {"name": "csv", "path": "points.csv", "target": "y", **data})


def train(tmp_path: Path, config: Path, *overrides: str):
    return invoke("train", config, *overrides, "--runs", tmp_path / "runs", "-q")


def no_run_folder(tmp_path: Path) -> bool:
    runs = tmp_path / "runs"
    return not runs.exists() or not any(runs.rglob("*"))


# ---------------------------------------------------------------- 1. a data.path too long for the OS
def test_a_too_long_data_path_override_names_the_key_and_override(tmp_path):
    result = train(tmp_path, write_config(tmp_path), "data.name=csv", "data.target=y", f"data.path={LONG_NAME}")
    line = one_error_line(result, "cfg.yaml (with override", "data.path=x", ": data.path: ",
                          os.strerror(errno.ENAMETOOLONG))
    assert len(line) < 400
    assert no_run_folder(tmp_path)


def test_a_too_long_data_path_in_the_file_names_the_file_and_key(tmp_path):
    config = write_config(tmp_path, {"name": "csv", "path": LONG_NAME, "target": "y"})
    line = one_error_line(train(tmp_path, config), "cfg.yaml: data.path: ", os.strerror(errno.ENAMETOOLONG))
    assert "override" not in line and len(line) < 400
    assert no_run_folder(tmp_path)


# ---------------------------------------------------------------- 2. long runs of text are cut centrally
def test_a_long_word_keeps_its_start_and_end():
    path = "/tmp/" + "d" * 500 + "/config.yaml:3:1:"
    message = GdlabError(f"{path} data.path: required key is missing").message
    word = message.split()[0]
    assert len(word) <= 121 and word.startswith("/tmp/ddd") and word.endswith("d/config.yaml:3:1:") and "…" in word
    assert message.endswith(" data.path: required key is missing")


def test_a_long_message_is_capped_and_short_words_are_left_alone():
    message = GdlabError("word " * 400).message
    assert len(message) <= 600 and message.endswith("…")
    text = "a/b/c " * 20 + "x" * 120  # a 120-character word is not cut
    assert GdlabError(text).message == text


def test_a_900_character_unknown_key_override_is_one_short_line(tmp_path):
    line = one_error_line(train(tmp_path, write_config(tmp_path), f"data.{LONG_NAME}=1"), "unknown key")
    assert len(line) < 400


@pytest.mark.parametrize("command", ["train", "validate", "sweep", "plot", "compare", "runs"])
def test_a_deeply_nested_path_is_shown_by_its_start_and_end(tmp_path, command):
    deep = tmp_path.joinpath(*[c * 200 for c in "abcdefghijklmnopqrstuvwxyzABCD"]) / "my-config.yaml"
    line = one_error_line(invoke(command, deep))
    assert len(line) < 400 and "my-config.yaml" in line


def test_a_5000_character_csv_header_name_is_not_listed_whole(tmp_path):
    config = csv_config(tmp_path, f"a,{'b' * 5000},y")
    line = one_error_line(train(tmp_path, config, "data.features=[c]"), "no column 'c'", "columns: 'a', 'bbb")
    assert len(line) < 400


# ---------------------------------------------------------------- 3-5. features and header names
def test_a_feature_listed_twice_is_refused(tmp_path):
    config = csv_config(tmp_path, "a,b,y")
    line = one_error_line(train(tmp_path, config, "data.features=[a,b,a]"),
                          "override 'data.features=[a,b,a]': data.features: column 'a' is listed twice")
    assert no_run_folder(tmp_path) and "got" not in line


def test_a_blank_header_name_is_refused(tmp_path):
    config = csv_config(tmp_path, "a,,y")
    one_error_line(train(tmp_path, config), "cfg.yaml: data.path:", "points.csv", "column 2 has no name")
    assert no_run_folder(tmp_path)


def test_column_names_are_listed_quoted(tmp_path):
    config = csv_config(tmp_path, "a, b,y")
    one_error_line(train(tmp_path, config, "data.features=[b]"),
                   "no column 'b' (did you mean ' b'?)", "columns: 'a', ' b', 'y'")


# ---------------------------------------------------------------- 6. only ASCII digits index a list
@pytest.mark.parametrize("override", ["model.\uff11=Tanh", "model.\u0660.Linear.out_features=8"])
def test_a_non_ascii_digit_is_not_a_list_index(tmp_path, override):
    one_error_line(train(tmp_path, write_config(tmp_path), override), f"override '{override}'", "model")
    assert no_run_folder(tmp_path)


def test_a_non_ascii_digit_in_a_sweep_key_is_not_a_list_index(tmp_path):
    from gdlab.sweep.grid import parse_axis_arg

    assert parse_axis_arg("model.\uff11=Tanh,ReLU")[0] == "model.\uff11"
    assert parse_axis_arg("model.01=Tanh,ReLU")[0] == "model.1"
    for axis in ("model.\uff11=Tanh,ReLU", "model.\uff11=Tanh"):
        result = invoke("sweep", write_config(tmp_path), axis, "--run-dir", tmp_path / "sw", "-q")
        one_error_line(result, "model")
        assert not (tmp_path / "sw").exists()


# ---------------------------------------------------------------- 7. the override behind a kind switch
def test_a_key_missing_after_a_kind_switch_cites_the_switch(tmp_path):
    line = one_error_line(train(tmp_path, write_config(tmp_path), "data.name=csv"),
                          "cfg.yaml:", "(with override 'data.name=csv'): data.path: required key is missing")
    assert line.count("data.name=csv") == 1


# ---------------------------------------------------------------- 8. an empty output path
@pytest.mark.parametrize("keyword, option", [("runs_root", "--runs"), ("explicit", "--run-dir")])
def test_an_empty_output_path_is_refused(tmp_path, monkeypatch, keyword, option):
    from gdlab.rundir import create_run_dir

    monkeypatch.chdir(tmp_path)
    with pytest.raises(GdlabError, match=f"^{option}: empty path"):
        create_run_dir("tiny", **{keyword: ""})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["train", "sweep", "lr-find"])
@pytest.mark.parametrize("option", ["--runs", "--run-dir"])
def test_an_empty_output_path_on_the_command_line_is_refused(tmp_path, monkeypatch, command, option):
    config = write_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())
    extra = ["optimizer.lr=0.1,0.2"] if command == "sweep" else []
    result = invoke(command, config, *extra, option, "")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [f"gdlab: error: {option}: empty path; give a folder"]
    assert sorted(tmp_path.iterdir()) == before  # nothing written in the current folder


# ---------------------------------------------------------------- 9. null in sweep labels
def test_sweep_labels_and_folders_write_null(tmp_path):
    from gdlab.sweep.grid import variant_dir_name
    from gdlab.yamldump import format_value

    assert format_value(None) == "null" and format_value([0.9, None]) == "[0.9, null]"
    assert format_value(True) == "true" and format_value({"LeakyReLU": [0.1]}) == "{LeakyReLU: [0.1]}"  # YAML, not Python
    assert variant_dir_name(1, 3, {"train.batch_size": None}, ["train.batch_size"]) == "001_batch_size=null"
    assert variant_dir_name(2, 3, {"optimizer.betas": [0.9, None], "optimizer.nesterov": True, "model.1": {"LeakyReLU": [0.1]}},
                            ["optimizer.betas", "optimizer.nesterov", "model.1"]) == "002_betas=0.9-null_nesterov=true_model.1=LeakyReLU-0.1"
    result = invoke("sweep", write_config(tmp_path), "train.batch_size=null,16", "--run-dir", tmp_path / "sw", "-q")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert sorted(p.name for p in (tmp_path / "sw").iterdir() if p.is_dir()) == ["000_batch_size=null", "001_batch_size=16"]


# ---------------------------------------------------------------- a model too big for memory
@pytest.mark.parametrize("command", ["train", "sweep", "gradcheck", "graph", "lr-find"])
def test_a_model_too_big_for_memory_is_one_line_before_any_folder(tmp_path, monkeypatch, command):
    from gdlab.model import n_parameters

    raw = copy.deepcopy(TINY)
    raw["model"] = [{"Linear": [2, 50_000_000_000]}, "Tanh", {"Linear": [50_000_000_000, 2]}]
    config = tmp_path / "big.yaml"
    config.write_text(yaml.safe_dump(raw))
    monkeypatch.chdir(tmp_path)
    extra = ["optimizer.lr=0.1,0.2"] if command == "sweep" else []
    result = invoke(command, config, *extra)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "model: 250,000,000,002 parameters need about" in line and "GiB" in line and line.startswith(f"gdlab: error: {config}")
    assert not (tmp_path / "runs").exists()
    from gdlab.loading import load_config

    assert n_parameters(load_config(config)) == 250_000_000_002  # counted from the config: nothing allocated


def test_n_parameters_counts_what_torch_builds(tmp_path):
    from gdlab.loading import load_config
    from gdlab.model import build_sequential, n_parameters

    raw = copy.deepcopy(TINY)
    raw["model"] = [{"Linear": [2, 8]}, {"LayerNorm": 8}, "ReLU", {"Linear": {"in_features": 8, "out_features": 5, "bias": False}},
                    {"BatchNorm1d": 5}, {"Linear": [5, 2]}]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = load_config(path)
    assert n_parameters(cfg) == sum(p.numel() for p in build_sequential(cfg).parameters()) == 24 + 16 + 40 + 10 + 12
    # LayerNorm's bias: false keeps its weight only (it was counted as both); BatchNorm1d's affine: false neither
    raw["model"][1], raw["model"][4] = {"LayerNorm": {"normalized_shape": 8, "bias": False}}, {"BatchNorm1d": [5, 1e-5, 0.1, False]}
    path.write_text(yaml.safe_dump(raw))
    cfg = load_config(path)
    assert n_parameters(cfg) == sum(p.numel() for p in build_sequential(cfg).parameters()) == 24 + 8 + 40 + 12


# ---------------------------------------------------------------- values a float32 (or a std) cannot hold
@pytest.mark.parametrize("cells, overrides, words", [
    ("1e39", [], "data: feature 'a' has values beyond float32's range (±3.4e+38); rescale it, or set train.dtype: float64"),
])
def test_finite_csv_values_that_overflow_are_one_line(tmp_path, cells, overrides, words):  # noqa: D103
    rows = [f"{cells},2,0", f"-{cells},2,1"] + [f"{i % 3},{i % 5},{i % 2}" for i in range(10)]
    (tmp_path / "points.csv").write_text("a,b,y\n" + "\n".join(rows) + "\n")
    raw = copy.deepcopy(TINY)
    raw["data"] = {"name": "csv", "path": "points.csv", "target": "y", "val_fraction": 0}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(raw))
    result = invoke("train", tmp_path / "cfg.yaml", *overrides, "--runs", tmp_path / "runs")
    assert result.exit_code == 2 and words in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "runs").exists()
    if not overrides:  # in float64 the same file trains
        assert invoke("train", tmp_path / "cfg.yaml", "train.dtype=float64", "--runs", tmp_path / "runs", "-q").exit_code in (0, 3)


@pytest.mark.parametrize("line, words", [
    ("scheduler: StepLR", "scheduler.step_size: required key is missing"),
    ("scheduler: Foo", "scheduler: unknown scheduler 'Foo'; allowed: StepLR, CosineAnnealingLR"),
    ("optimizer: Adamm", "optimizer: unknown optimizer 'Adamm' (did you mean 'Adam'?)"),
])
def test_a_section_written_as_a_bare_name(tmp_path, line, words):
    raw = yaml.safe_dump({k: v for k, v in TINY.items() if not (line.startswith("optimizer") and k == "optimizer")})
    (tmp_path / "cfg.yaml").write_text(raw + line + "\n")
    result = invoke("validate", tmp_path / "cfg.yaml")
    assert result.exit_code == 2 and words in result.stderr, result.stderr


def test_a_bare_data_name_is_that_dataset_with_its_defaults(tmp_path):
    raw = copy.deepcopy(TINY)
    raw["data"] = "moons"
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(raw))
    from gdlab.loading import load_config

    assert load_config(tmp_path / "cfg.yaml").data.name == "moons"


def test_a_target_beyond_float32_is_named_as_the_target(tmp_path):
    rows = ["1,2,1e39"] + [f"{i % 3},{i % 5},{i}" for i in range(10)]
    (tmp_path / "points.csv").write_text("target,b,y\n" + "\n".join(rows) + "\n")  # a feature named "target" too
    raw = copy.deepcopy(TINY)
    raw["data"] = {"name": "csv", "path": "points.csv", "target": "y", "val_fraction": 0}
    raw["loss"], raw["model"] = "MSELoss", [{"Linear": [2, 4]}, "Tanh", {"Linear": [4, 1]}]
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(raw))
    result = invoke("train", tmp_path / "cfg.yaml", "--runs", tmp_path / "runs")
    assert result.exit_code == 2 and "data: the target has values beyond float32's range" in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["train", "gradcheck", "lr-find", "graph"])
def test_a_model_with_nothing_to_train_is_one_line_everywhere(tmp_path, command):
    """`model=[Tanh]` on 2-feature, 2-class data fits every shape, but backward() had nothing to reach:
    train said 'training failed', gradcheck and lr-find printed a traceback."""
    config = write_config(tmp_path)
    extra = ["--runs", tmp_path / "runs"] if command in ("train", "lr-find") else []
    one_error_line(invoke(command, config, "model=[Tanh]", *extra), "model: no layer has weights to train (Tanh)")
    assert no_run_folder(tmp_path)


def test_shape_messages_count_in_words_that_agree_and_say_where_a_class_count_comes_from(tmp_path):
    """'the data has 1 features', 'outputs 1 units'; and labels 1, 2, 3 were called '4 classes' with no word
    of why (torch counts class 0, which has no rows)."""
    from gdlab.errors import GdlabError
    from gdlab.model import check_shapes
    from tests.helpers import make_config

    cfg = make_config()  # 2 features, 2 classes, Linear(2, ...) first
    one = cfg.model_copy(update={"model": [type(cfg.model[0])(type="Linear", args={"in_features": 2, "out_features": 1, "bias": True})]})
    with pytest.raises(GdlabError) as info:
        check_shapes(one, 1, 4, 4)
    assert "the data has 1 feature;" in info.value.message, info.value.message
    with pytest.raises(GdlabError) as info:
        check_shapes(one, 2, 4, 4)
    assert "outputs 1 unit, but" in info.value.message and "labels 0 to 3 make 4 classes" in info.value.message


@pytest.mark.parametrize("section", [[1, 2], "optimizer.lr=0.1,1", 3])
def test_a_sweep_section_that_is_no_mapping_reads_alike_in_validate_train_and_sweep(tmp_path, section):
    """validate and train said pydantic's 'Input should be a valid dictionary'; sweep said what is expected,
    but without the line:column of the section the other two give."""
    raw = copy.deepcopy(TINY) | {"sweep": section}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    line = path.read_text().splitlines().index(next(t for t in path.read_text().splitlines() if t.startswith("sweep:"))) + 1
    expected = f"gdlab: error: {path}:{line}:1: sweep: must map dotted keys to lists of values, e.g. {{optimizer.lr: [0.01, 0.1]}}"
    lines = [one_error_line(invoke(*args), expected) for args in
             (["validate", path], ["train", path, "--run-dir", tmp_path / "r"], ["sweep", path, "--dry-run"],
              ["sweep", path, "--run-dir", tmp_path / "s"])]
    assert len(set(lines)) == 1, lines  # word for word, the value shown where it is one (got 3)
    assert not (tmp_path / "r").exists() and not (tmp_path / "s").exists()
