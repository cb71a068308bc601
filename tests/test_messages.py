"""Error messages stay one short, readable line: OS refusals on user paths, long user values, torch's
long load errors, bad gradcheck tolerances; and --expect on any metrics.csv column."""

from __future__ import annotations

import errno
import json
import math
import os
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from gdlab.errors import GdlabError
from tests.helpers import TINY as HELPER_TINY, invoke, one_error_line

LONG = "a" * 300  # longer than the 255 bytes a file name may have

# helpers.TINY as a YAML file, with mini-batches so checkpoints come mid-epoch
TINY = yaml.safe_dump(HELPER_TINY | {"seed": 3, "train": {"epochs": 3, "batch_size": 16, "device": "cpu"}}, sort_keys=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


# ---------------------------------------------------------------- OS refusals on run-folder paths
@pytest.mark.parametrize(
    "command, option",
    [(["train"], "--run-dir"), (["train"], "--runs"), (["sweep"], "--run-dir"), (["sweep"], "--runs"),
     (["lr-find"], "--run-dir"), (["lr-find"], "--runs")],
    ids=["train-run-dir", "train-runs", "sweep-run-dir", "sweep-runs", "lr-find-run-dir", "lr-find-runs"],
)
def test_a_too_long_output_path_is_one_line_exit_2(tmp_path, config, command, option):
    axes = ["optimizer.lr=0.1,0.2"] if command == ["sweep"] else []
    line = one_error_line(invoke(*command, config, *axes, option, tmp_path / LONG), 2, option, "cannot create the run folder",
                          os.strerror(errno.ENAMETOOLONG))
    assert len(line) < 250  # the 300-character name is shown shortened
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def test_a_symlink_loop_in_the_run_dir_is_one_line_exit_2(tmp_path, config):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    one_error_line(invoke("train", config, "--run-dir", tmp_path / "loop" / "run"), 2, "--run-dir", os.strerror(errno.ELOOP))


def test_an_os_error_naming_a_file_that_escapes_the_core_is_one_line_exit_1(monkeypatch, config):
    def broken(*args, **kwargs):
        raise OSError(errno.EIO, os.strerror(errno.EIO), "/data/disk.yaml")

    monkeypatch.setattr("gdlab.loading.load_config", broken)
    line = one_error_line(invoke("validate", config), 1)
    assert line == f"gdlab: error: /data/disk.yaml: {os.strerror(errno.EIO)}"


def test_an_os_error_without_a_file_name_is_a_bug_and_still_shows(monkeypatch, config):
    def broken(*args, **kwargs):
        raise OSError("no file involved")

    monkeypatch.setattr("gdlab.loading.load_config", broken)
    result = invoke("validate", config)
    assert result.exit_code == 1 and isinstance(result.exception, OSError)


# ---------------------------------------------------------------- long user values
def test_a_5000_character_name_is_not_echoed_whole(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(TINY.replace("name: tiny", "name: " + "x" * 5000))
    line = one_error_line(invoke("validate", path), 2, "name:", "x" * 60 + "…")
    assert len(line) < 400


def test_short_quoted_values_and_apostrophes_are_left_alone():
    text = "--expect 'val_loss<abc': 'abc' is not a number; Graphviz's 'dot' program " + "y" * 80
    assert GdlabError(text).message == text


def test_a_quoted_value_ending_in_a_dot_does_not_open_a_quote_over_the_prose_after_it():
    # the closing quote of 'name=..' follows a dot, not a letter: it once paired with the next quote, 70
    # characters on, and the message lost what is allowed ("(starting with a…'..')")
    text = ("tiny.yaml (with override 'name=..'): name: allowed: letters, digits and . _ - (starting with a letter "
            "or digit), at most 100 characters (got '..')")
    assert GdlabError(text).message == text


def test_an_override_of_a_bad_name_says_what_is_allowed(tmp_path, config):
    one_error_line(invoke("sweep", config, "optimizer.lr=0.1,0.2", "name=..", "--runs", tmp_path / "runs"), 2,
                   "'name=..'", "starting with a letter or digit), at most 100 characters (got '..')")
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- checkpoints and --resume
class Payload:
    def __reduce__(self):
        return (os.getcwd, ())  # harmless if it ever ran; weights_only refuses it anyway


def test_checkpoint_load_errors_end_at_a_sentence(tmp_path, config):
    run = tmp_path / "run"
    assert invoke("train", config, "train.checkpoint_every=5", "--run-dir", run, "-q").exit_code == 0
    (run / "summary.json").unlink()  # as if killed: resumable
    good = (run / "checkpoint.pt").read_bytes()
    torch.save({"flat": Payload(), "step": 5}, run / "checkpoint.pt")
    (run / "checkpoint.prev.pt").write_bytes(good[: len(good) // 2])
    line = one_error_line(invoke("train", "--resume", run, "-q"), 2, "no loadable checkpoint",
                          "checkpoint.pt: it holds pickled Python objects", f"(it calls {os.getcwd.__module__}.getcwd)",
                          "checkpoint.prev.pt: ")
    assert "weights_only" not in line  # torch's advice on loading the file unsafely is left out


def test_a_long_library_message_is_cut_after_its_first_sentence_or_at_a_word():
    from gdlab.errors import first_sentence

    text = "Weights only load failed. In PyTorch 2.6, we changed the default value of the argument from False to True."
    assert first_sentence(text) == "Weights only load failed."
    cut = first_sentence("word " * 100, limit=60)
    assert cut.endswith("word…") and len(cut) <= 61


def test_resume_of_a_missing_folder_says_so(tmp_path):
    from gdlab.train import resume

    with pytest.raises(GdlabError, match="^--resume .*nonexist: no such run folder$"):
        resume(tmp_path / "nonexist")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(GdlabError, match="a file, not a run folder"):
        resume(tmp_path / "afile")


# ---------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("option, value", [("--atol", "nan"), ("--rtol", "inf"), ("--atol", "-1e-3"), ("--eps", "nan"), ("--eps", "0")])
def test_gradcheck_refuses_non_finite_or_negative_tolerances(config, option, value):
    one_error_line(invoke("gradcheck", config, option, value), 2, f"{option} {value.replace('1e-3', '0.001')}", "finite")


@pytest.mark.parametrize("option, value, words", [
    ("--seed", "99999999999999999999", "from 0 to 2**63-1"),  # was torch's 'Overflow when unpacking long long'
    ("--seed", "-9223372036854775809", "from 0 to 2**63-1"),
    ("--seed", "-1", "from 0 to 2**63-1"),  # the config's seed is refused below 0 too
])
def test_gradcheck_refuses_a_seed_torch_cannot_take(config, option, value, words):
    one_error_line(invoke("gradcheck", config, option, value), 2, f"{option} {value}", words)


def test_a_nan_gradient_error_has_a_nan_relative_error(config):
    from gdlab.lab.gradcheck import gradcheck_model, plant_wrong_gradient

    model = plant_wrong_gradient(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)), after=0, factor=float("nan"))
    rows = gradcheck_model(model, nn.MSELoss(), torch.randn(5, 2), torch.randn(5, 1))
    assert any(math.isnan(r.max_abs) for r in rows)
    for r in rows:
        assert math.isnan(r.max_rel) == math.isnan(r.max_abs) and (r.passed is False or not math.isnan(r.max_abs))
    result = invoke("gradcheck", config, "--plant-bug", "nan")
    assert result.exit_code == 1
    first = next(line for line in result.stdout.splitlines() if "0.weight" in line)
    assert first.count("nan") == 2, first


# ---------------------------------------------------------------- --expect on metrics.csv columns
def test_expect_takes_any_metrics_column(tmp_path, config):
    run = tmp_path / "run"
    result = invoke("train", config, "train.sharpness_every=5", "--run-dir", run, "-q",
                    "--expect", "sharpness<1e9", "--expect", "grad_norm<1e9", "--expect", "lr==0.1", "--expect", "epoch==3")
    assert result.exit_code == 0, (result.stderr, result.exception)
    result = invoke("train", config, "--run-dir", tmp_path / "r2", "-q", "--expect", "grad_norm<0")
    assert result.exit_code == 1 and "expectation failed: expected grad_norm<0, got grad_norm=" in result.stderr
    assert json.loads((tmp_path / "r2" / "summary.json").read_text())["status"] == "completed"


def test_expect_on_a_name_the_run_lacks_lists_its_columns(tmp_path, config):
    line = one_error_line(invoke("train", config, "--runs", tmp_path / "runs", "--expect", "grad_nrm<1"), 2,
                          "unknown name 'grad_nrm'", "did you mean 'grad_norm'", "grad_norm, val_loss")
    assert line.endswith("columns step, epoch, lr, train_loss, train_accuracy, grad_norm, val_loss, val_accuracy, wall_s")
    one_error_line(invoke("train", config, "--runs", tmp_path / "runs", "--expect", "sharpness<1"), 2,
                   "records no sharpness", "train.sharpness_every")
    assert not (tmp_path / "runs").exists()


def test_train_resume_of_a_folder_that_is_not_there_says_so(tmp_path):
    from typer.testing import CliRunner

    from gdlab.cli import app

    result = CliRunner().invoke(app, ["train", "--resume", str(tmp_path / "nonexist")])
    assert result.exit_code == 2
    assert result.stderr == f"gdlab: error: --resume {tmp_path / 'nonexist'}: no such run folder\n"


@pytest.mark.parametrize("args, message", [
    (["train", "CONFIG", "--bogus"], "gdlab: error: No such option: --bogus (see"),  # click offered '--runs'
    (["sweep", "CONFIG", "--dryrun"], "gdlab: error: No such option: --dryrun. Did you mean '--dry-run'? (see"),
    (["plot", ".", "--outptu", "x"], "gdlab: error: No such option: --outptu. Did you mean '--output'? (see"),
    (["plot", ".", "--dpi", "5"], "gdlab: error: Invalid value for '--dpi'"),
    (["plot", ".", "--x", "bogus"],  # it read "Value error, 'bogus' is not one of", pydantic's prefix
     "gdlab: error: Invalid value for '--x': 'bogus' is not one of 'step', 'epoch'."),
    (["nosuchcommand"], "gdlab: error: No such command 'nosuchcommand'."),
    (["train", "CONFIG", "--expect"], "gdlab: error: Option '--expect' requires an argument."),  # was 'gdlab --help'
    (["sweep", "CONFIG", "--jobs"], "gdlab: error: Option '--jobs' requires an argument."),
])
def test_usage_errors_are_one_line_exit_2_like_any_bad_input(config, args, message):
    """The console script's own parsing errors (click's, before any gdlab code runs) follow the same rule."""
    import subprocess
    import sys

    args = [str(config) if a == "CONFIG" else a for a in args]
    result = subprocess.run([sys.executable, "-m", "gdlab", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.endswith(f"(see 'gdlab{'' if args[0] == 'nosuchcommand' else ' ' + args[0]} --help')\n")


def test_plain_gdlab_still_prints_the_help():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "gdlab"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout.count("Usage:") == 1 and "sweep" in result.stdout


@pytest.mark.parametrize("command", [["train", "configs/quickstart.yaml"], ["sweep", "configs/quickstart.yaml", "optimizer.lr=0.1,0.2"],
                                     ["lr-find", "configs/quickstart.yaml"]])
def test_runs_beside_run_dir_is_refused_not_ignored(tmp_path, command):
    """--run-dir names the folder itself, so a --runs beside it would be ignored: one line, exit 2, no folder."""
    result = invoke(*command, "--runs", tmp_path / "A", "--run-dir", tmp_path / "B")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "--runs" in result.stderr and "--run-dir" in result.stderr
    assert list(tmp_path.iterdir()) == []
