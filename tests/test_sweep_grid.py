"""Sweep axes that are huge, overflowing, empty or nested: refused as one-line usage errors (exit 2), or
read the same whichever way they are spelled."""

from __future__ import annotations

import copy
import re
import tracemalloc
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.errors import GdlabError
from tests.helpers import invoke
from gdlab.sweep.grid import MAX_VARIANTS, expand_function, grid, parse_axis_arg
from gdlab.sweep.section import read_section
from tests.helpers import TINY, entry_at

runner = CliRunner()


def axes_from_yaml(section, source: str) -> dict:
    """The axes a config's `sweep:` section gives (read_section without where each sits in the file)."""
    return read_section(section, source)[0]


def write_config(tmp_path: Path, **top) -> Path:
    raw = copy.deepcopy(TINY)
    raw.update(top)
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def sweep(tmp_path: Path, cfg: Path, *args: str):
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", str(cfg), *args, "--run-dir", str(out), "-q"])
    return result, out


def assert_usage_error(result, out: Path, *parts: str) -> None:
    """Exit 2 with one line on stderr holding every part, no traceback, and no sweep folder."""
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("gdlab: error: ") and result.stderr.count("\n") == 1, result.stderr
    for part in parts:
        assert part in result.stderr, result.stderr
    assert not out.exists()


# ---------------------------------------------------------------- 1. huge or overflowing axes
@pytest.mark.parametrize("axis,parts", [
    ("optimizer.lr=logspace(0,400,3)", ["sweep axis 'optimizer.lr=logspace(0,400,3)'", "not a finite number"]),
    ("optimizer.lr=linspace(-1e308,1e308,3)", ["sweep axis 'optimizer.lr=linspace(-1e308,1e308,3)'", "not a finite number"]),
    ("optimizer.lr=range(1e-9,1,1e-9)", ["sweep axis 'optimizer.lr=range(1e-9,1,1e-9)'", "999999999 values", f"the limit is {MAX_VARIANTS}"]),
    ("optimizer.lr=range(0,1e300,1e-300)", ["sweep axis 'optimizer.lr=range(0,1e300,1e-300)'", "values", f"the limit is {MAX_VARIANTS}"]),
    ("optimizer.lr=logspace(-3,0,1e10)", ["sweep axis 'optimizer.lr=logspace(-3,0,1e10)'", "10000000000 values", f"the limit is {MAX_VARIANTS}"]),
])
def test_huge_or_overflowing_cli_axes_are_usage_errors(tmp_path, axis, parts):
    result, out = sweep(tmp_path, write_config(tmp_path), axis)
    assert_usage_error(result, out, *parts)


def test_huge_yaml_axis_is_refused_by_its_count(tmp_path):
    cfg = write_config(tmp_path, sweep={"optimizer.lr": "logspace(-3, 0, 1e12)"})
    result, out = sweep(tmp_path, cfg)
    assert_usage_error(result, out, f"{entry_at(cfg, 'optimizer.lr:')}: sweep.optimizer.lr", "1000000000000 values", f"the limit is {MAX_VARIANTS}")


@pytest.mark.parametrize("text", ["logspace(-3, 0, 200001)", "linspace(0, 1, 200001)", "range(0.5, 200001)", "range(200001)"])
def test_an_axis_over_the_limit_is_counted_not_built(text):
    tracemalloc.start()
    try:
        with pytest.raises(GdlabError, match=f"200001 values; the limit is {MAX_VARIANTS}"):
            expand_function(text, "t")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200_000  # a list of 200001 floats alone takes ~6 MB


def test_an_axis_at_the_limit_is_still_allowed():
    assert len(expand_function(f"linspace(0, 1, {MAX_VARIANTS})", "t")) == MAX_VARIANTS


# ---------------------------------------------------------------- 2. range() like Python's
@pytest.mark.parametrize("text,values", [
    ("range(3)", [0, 1, 2]),
    ("range(1, 4)", [1, 2, 3]),
    ("range(1, 10, 4)", [1, 5, 9]),
    ("range(5, 0, -2)", [5, 3, 1]),
    ("range(0.5, 2)", [0.5, 1.5]),
    ("range(0, 1, 0.25)", [0.0, 0.25, 0.5, 0.75]),
    ("range(0.1, 1.0, 0.1)", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
])
def test_range_takes_one_two_or_three_arguments(text, values):
    got = expand_function(text, "t")
    assert got == values
    assert [type(v) for v in got] == [type(v) for v in values]  # whole numbers stay ints


@pytest.mark.parametrize("text", ["range()", "range(1, 2, 3, 4)"])
def test_range_with_no_or_four_arguments_says_what_it_takes(text):
    with pytest.raises(GdlabError, match=r"1 to 3 finite numbers \(stop \| start, stop \| start, stop, step\)"):
        expand_function(text, "t")


def test_range_of_one_argument_on_the_command_line(tmp_path):
    result, out = sweep(tmp_path, write_config(tmp_path), "seed=range(3)", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "3 variants" in result.output


# ---------------------------------------------------------------- 3. the grid limit names source and sizes
def test_grid_limit_names_the_config_and_each_axis_size(tmp_path):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=linspace(0.001,1,1000)", "seed=range(1000)")
    assert_usage_error(result, out, f"{cfg}: sweep: the grid has 1000000 variants (optimizer.lr: 1000 x seed: 1000); the limit is {MAX_VARIANTS}")


def test_grid_limit_without_a_source():
    axes = {"a": list(range(400)), "b": list(range(400)), "c": [0, 1]}
    with pytest.raises(GdlabError, match=r"^sweep: the grid has 320000 variants \(a: 400 x b: 400 x c: 2\); the limit is 100000$"):
        grid(axes)


# ---------------------------------------------------------------- 4. empty values
@pytest.mark.parametrize("axis,message", [
    ("optimizer.lr=", "sweep axis 'optimizer.lr=': no value after '='"),
    ("optimizer.lr= ", "sweep axis 'optimizer.lr= ': no value after '='"),
    ("optimizer.lr=0.1,,0.2", "sweep axis 'optimizer.lr=0.1,,0.2': empty value between commas"),
    ("optimizer.lr=0.1,0.2,", "sweep axis 'optimizer.lr=0.1,0.2,': empty value between commas"),
    ("optimizer.lr=,0.1", "sweep axis 'optimizer.lr=,0.1': empty value between commas"),
])
def test_empty_values_name_the_axis(tmp_path, axis, message):
    result, out = sweep(tmp_path, write_config(tmp_path), axis)
    assert_usage_error(result, out, message)


def test_an_explicit_null_is_still_a_value():
    assert parse_axis_arg("train.batch_size=null,16") == ("train.batch_size", [None, 16])


def test_an_empty_yaml_list_is_still_refused(tmp_path):
    cfg = write_config(tmp_path, sweep={"optimizer.lr": []})
    result, out = sweep(tmp_path, cfg)
    assert_usage_error(result, out, f"{entry_at(cfg, 'optimizer.lr:')}: sweep.optimizer.lr: needs at least one value")


def test_a_superscript_digit_in_a_key_is_a_name_not_a_crash(tmp_path):
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.\u00b2=1,2")
    assert_usage_error(result, out, "unknown key")


def test_an_axis_without_a_key_names_the_axis():
    with pytest.raises(GdlabError, match=r"^sweep axis '=0.1,0.2': the key must be dotted names"):
        parse_axis_arg("=0.1,0.2")


# ---------------------------------------------------------------- 5. nested sweep sections
def test_nested_and_dotted_sweep_sections_give_the_same_axes():
    nested = {"optimizer": {"lr": [0.01, 0.1], "momentum": "linspace(0, 0.9, 2)"}, "seed": [0, 1]}
    dotted = {"optimizer.lr": [0.01, 0.1], "optimizer.momentum": "linspace(0, 0.9, 2)", "seed": [0, 1]}
    assert axes_from_yaml(nested, "c.yaml") == axes_from_yaml(dotted, "c.yaml") == {
        "optimizer.lr": [0.01, 0.1], "optimizer.momentum": [0.0, 0.9], "seed": [0, 1]}
    assert grid(axes_from_yaml(nested, "c.yaml")) == grid(axes_from_yaml(dotted, "c.yaml"))


def test_nested_sweep_section_runs_like_the_dotted_one(tmp_path):
    outputs = []
    for section in ({"optimizer": {"lr": [0.01, 0.1]}, "seed": [0, 1]}, {"optimizer.lr": [0.01, 0.1], "seed": [0, 1]}):
        result, _ = sweep(tmp_path, write_config(tmp_path, sweep=section), "--dry-run")
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert "4 variants" in outputs[0] and outputs[0] == outputs[1]


def test_lists_of_mappings_stay_lists_of_values():
    section = {
        "model.0": [{"Linear": [2, 8]}, {"Linear": [2, 16]}],
        "optimizer": [{"name": "SGD", "lr": 0.1}, {"name": "Adam", "lr": 0.001}],
        "model": {"2": [{"Linear": [8, 2]}]},
    }
    assert axes_from_yaml(section, "c.yaml") == {
        "model.0": [{"Linear": [2, 8]}, {"Linear": [2, 16]}],
        "optimizer": [{"name": "SGD", "lr": 0.1}, {"name": "Adam", "lr": 0.001}],
        "model.2": [{"Linear": [8, 2]}],
    }


@pytest.mark.parametrize("section,message", [
    ({"optimizer.lr": [0.1], "optimizer": {"lr": [0.2]}}, "c.yaml: sweep.optimizer.lr: given twice"),
    ({"optimizer": {}}, "c.yaml: sweep.optimizer: an empty mapping"),
    ({"optimizer": {"lr": "logspace(0, 400, 3)"}}, "c.yaml: sweep.optimizer.lr: logspace(0, 400, 3) reaches a value that is not a finite number"),
])
def test_nested_section_errors_name_the_dotted_key(section, message):
    with pytest.raises(GdlabError, match="^" + re.escape(message)):
        axes_from_yaml(section, "c.yaml")


# ---------------------------------------------------------------- axes whose labels would lie
@pytest.mark.parametrize("args,parts", [
    (["sweep.optimizer.lr=0.001,0.5"], ["'sweep.optimizer.lr'", "sweep: section itself", "optimizer.lr=0.01,0.1"]),
    (["sweep.optimizer.lr=0.5", "optimizer.lr=0.1,0.2"], ["'sweep.optimizer.lr'"]),
    (["optimizer.lr=0.1,0.2", "optimizer={name: Adam, lr: 0.01},{name: SGD, lr: 0.5}"],
     ["axes 'optimizer' and 'optimizer.lr' overlap"]),
    (["optimizer.momentum=0.5", "optimizer={name: SGD, lr: 0.01},{name: SGD, lr: 0.5}"],
     ["the axis 'optimizer' replaces the override 'optimizer.momentum=0.5'"]),
    (["train.steps=5,10", "train.epochs=3"], ["train.steps and train.epochs are both given"]),
    (["train.steps=5,10", "train.epochs=3,4"], ["train.steps and train.epochs are both given"]),
])
def test_axes_that_would_mislabel_their_variants_are_refused(tmp_path, args, parts):
    """Each of these ran before: the sweep: axis changed nothing, the child axis's column was overwritten
    by its parent's values, a fixed train.epochs was silently dropped beside a train.steps axis."""
    result, out = sweep(tmp_path, write_config(tmp_path), *args)
    assert_usage_error(result, out, *parts)


@pytest.mark.parametrize("args", [["train.epochs=null", "train.steps=2", "optimizer.lr=0.1,0.2"],
                                  ["train.epochs=null", "train.steps=2,3"]])
def test_unsetting_epochs_for_steps_is_not_giving_both(tmp_path, args):
    """`gdlab train` takes train.epochs=null train.steps=N; so does a sweep."""
    result, out = sweep(tmp_path, write_config(tmp_path), *args)
    assert result.exit_code == 0, result.stderr


def test_a_fixed_parent_with_a_child_axis_is_still_a_sweep(tmp_path):
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer={name: SGD, lr: 0.3}", "optimizer.lr=0.1,0.2",
                        "train.steps=2")
    assert result.exit_code == 0, result.stderr
    configs = sorted(yaml.safe_load(p.read_text())["optimizer"]["lr"] for p in out.glob("*/config.yaml"))
    assert configs == [0.1, 0.2]


def test_train_refuses_an_override_of_the_sweep_section(tmp_path):
    result = runner.invoke(app, ["train", str(write_config(tmp_path)), "sweep.optimizer.lr=0.5", "--run-dir", str(tmp_path / "r")])
    assert_usage_error(result, tmp_path / "r", "override 'sweep.optimizer.lr=0.5'", "cannot be overridden")


@pytest.mark.parametrize("text, values", [
    ("data.path='a,b.csv',c.csv", ["a,b.csv", "c.csv"]),   # a quoted value is one value, as in YAML
    ('name="x,y", "z"', ["x,y", "z"]),
    ("data.path=o'b.csv,c.csv", ["o'b.csv", "c.csv"]),      # a quote inside a value quotes nothing
    ("optimizer.betas=[0.9,0.99],[0.8,0.9]", [[0.9, 0.99], [0.8, 0.9]]),
    ('name="a\\",b",c', ['a",b', "c"]),                      # YAML's escapes inside quotes
    ("name='a'',b',c", ["a',b", "c"]),
])
def test_commas_inside_quotes_do_not_split_values(text, values):
    assert parse_axis_arg(text)[1] == values


def test_sweep_csv_writes_lists_maps_and_booleans_as_yaml_that_reads_back(tmp_path):
    """They were Python reprs (`True`, `{'name': 'SGD'}`): not what an override takes."""
    import csv

    from gdlab.yamlio import parse_scalar

    result, out = sweep(tmp_path, write_config(tmp_path), "train.shuffle=true,false", "train.steps=2",
                        "optimizer={name: SGD, lr: 0.1},{name: Adam, lr: 0.01}")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [r["train.shuffle"] for r in rows] == ["true", "true", "false", "false"]
    assert rows[0]["optimizer"] == '{"name": "SGD", "lr": 0.1}'
    assert [parse_scalar(r["optimizer"], "cell") for r in rows[:2]] == [{"name": "SGD", "lr": 0.1}, {"name": "Adam", "lr": 0.01}]


def test_a_sweep_section_key_with_a_leading_zero_meets_the_command_lines_spelling(tmp_path):
    """sweep: {model.01: [...]} stayed 'model.01', so the command line's model.1=GELU neither replaced the axis
    (as one-value overrides of an axis do) nor was refused: every variant ran without it."""
    from gdlab.sweep.setup import setup_sweep

    cfg = write_config(tmp_path, sweep={"model.01": ["Tanh", "ReLU"], "optimizer.lr": [0.1, 0.2]})
    plain = setup_sweep(cfg, [])
    assert list(plain.axes) == ["model.1", "optimizer.lr"]
    assert [p.cfg.model[1].type for p in plain.plans][::2] == ["Tanh", "ReLU"]
    fixed = setup_sweep(cfg, ["model.1=GELU"])
    assert list(fixed.axes) == ["optimizer.lr"] and {p.cfg.model[1].type for p in fixed.plans} == {"GELU"}
    twice = write_config(tmp_path, sweep={"model.1": ["GELU"], "model.01": ["Tanh", "ReLU"]})
    assert_usage_error(sweep(tmp_path, twice)[0], tmp_path / "sw", "sweep.model.1", "sweep.model.01", "the same key as", "give it once")


@pytest.mark.parametrize("axes, parts", [
    (["optimizer.lr=0.1,0.1"], ["variants 0 (optimizer.lr=0.1) and 1 (optimizer.lr=0.1) are the same config"]),
    (["optimizer.lr=1,1.0"], ["variants 0 (optimizer.lr=1) and 1 (optimizer.lr=1) are the same config"]),  # lr is a float
    (["optimizer.name=SGD,Adam,SGD"], ["variants 0 (optimizer.name=SGD) and 2 (optimizer.name=SGD)"]),
    (["optimizer.lr=0.1,0.2", "seed=3,3"], ["variants 0 (optimizer.lr=0.1, seed=3) and 1 (optimizer.lr=0.1, seed=3)"]),
])
def test_an_axis_that_repeats_a_value_is_refused_before_it_trains_a_model_twice(tmp_path, axes, parts):
    assert_usage_error(sweep(tmp_path, write_config(tmp_path), *axes)[0], tmp_path / "sw", *parts, "give each value once")


def test_a_repeat_in_the_sweep_section_is_refused_too(tmp_path):
    cfg = write_config(tmp_path, sweep={"optimizer.lr": [0.1, 0.2, 0.1]})
    assert_usage_error(sweep(tmp_path, cfg)[0], tmp_path / "sw", "variants 0 (optimizer.lr=0.1) and 2 (optimizer.lr=0.1)")


def test_a_function_among_comma_items_says_it_must_stand_alone(tmp_path):
    """It read as the text 'logspace(-3,0,3)' and failed as 'Input should be a valid number'."""
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=logspace(-3,0,3),0.5")
    assert_usage_error(result, out, "logspace(-3,0,3) must be an axis's whole value")


@pytest.mark.parametrize("axis", ["optimizer.lr=0x10,0.1", "optimizer.lr=[1,0.1"])
def test_an_axis_value_error_has_no_line_and_column_of_a_file_it_is_not_in(tmp_path, axis):
    result, out = sweep(tmp_path, write_config(tmp_path), axis)
    assert_usage_error(result, out, f"sweep axis '{axis}': ")
    assert f"'{axis}':1:" not in result.stderr


def test_a_swept_data_path_names_folders_by_its_file_not_its_whole_path():
    """The absolute path filled the name (000_path=-home-...-data-a.csv), and past 120 characters the file's
    own name, the one part that differs, was cut off."""
    from gdlab.sweep.grid import variant_dir_name

    deep = "/" + "/".join(["a-rather-long-folder-name"] * 8) + "/train_2026.csv"
    assert variant_dir_name(3, 3, {"data.path": deep, "seed": 1}, ["data.path", "seed"]) == "003_path=train_2026.csv_seed=1"
    assert variant_dir_name(0, 3, {"data.path": "rel/b.csv"}, ["data.path"]) == "000_path=b.csv"


def test_a_dry_run_refuses_the_run_dir_the_real_run_would_refuse(tmp_path):
    """`--dry-run --run-dir X` said all was well for a non-empty X, which the run itself then refused."""
    cfg = write_config(tmp_path)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("theirs")
    result = runner.invoke(app, ["sweep", str(cfg), "optimizer.lr=0.1,0.2", "--run-dir", str(taken), "--dry-run"])
    assert result.exit_code == 2 and "already exists and is not empty" in result.stderr, result.output
    fresh = tmp_path / "fresh"
    assert runner.invoke(app, ["sweep", str(cfg), "optimizer.lr=0.1,0.2", "--run-dir", str(fresh), "--dry-run"]).exit_code == 0
    assert not fresh.exists()  # a dry run makes nothing


@pytest.mark.parametrize("extra, noted", [(["--max-group", "1"], True), (["--jobs", "2"], True), ([], False)])
def test_vectorize_on_says_so_when_nothing_is_batched(tmp_path, extra, noted):
    """--vectorize on with --max-group 1 (or --jobs splitting the one group) ran every model alone, silently."""
    result = runner.invoke(app, ["sweep", str(write_config(tmp_path)), "optimizer.lr=0.1,0.2", "--vectorize", "on",
                                 "--dry-run", *extra])
    assert result.exit_code == 0, result.output
    assert ("--vectorize on, but every group holds one model" in result.stderr) == noted, result.stderr


def test_a_swept_list_index_names_folders_with_the_key_it_indexes(tmp_path):
    """`optimizer.betas.1=0.99,0.999` named its folders 000_1=0.99 and 001_1=0.999."""
    result = invoke("sweep", "configs/moons.yaml", "optimizer.name=Adam", "optimizer.betas.1=0.99,0.999",
                    "train.steps=2", "--run-dir", tmp_path / "s", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "s").iterdir() if p.is_dir()) == ["000_betas.1=0.99", "001_betas.1=0.999"]


@pytest.mark.parametrize("axis, named", [
    ("scheduler.base_momentum=0.8,0.85", "scheduler.base_momentum"),  # it said 'architecture, data or batch schedule'
    ("optimizer.name=SGD,Adam", "optimizer.name"),  # not each kind's own defaults (amsgrad, nesterov) besides
    ("data.noise=0.1,0.2", "data.noise"),
])
def test_vectorize_on_names_the_keys_that_keep_variants_apart(axis, named):
    from tests.helpers import one_error_line

    one_error_line(invoke("sweep", "configs/moons.yaml", "scheduler={name: OneCycleLR, cycle_momentum: true}", axis,
                          "--vectorize", "on", "--dry-run"), 2, f"variants 0 and 1 differ in {named}, which")
