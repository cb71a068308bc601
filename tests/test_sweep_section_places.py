"""An error inside a config's `sweep:` section points at the entry it is about, `file:line:col:` as errors
elsewhere in the file do, word for word the same in `gdlab validate` and `gdlab sweep`; a value given on the
command line has no place in the file, and its error names the file alone."""

from __future__ import annotations

import pytest

from tests.helpers import entry_at, invoke, one_error_line
from tests.test_sweep import write_config


def config_with(tmp_path, section: str):
    """TINY as the file, with a `sweep:` section written by hand (so the test knows where each entry is)."""
    path = write_config(tmp_path, **{"train.epochs": 2})
    path.write_text(path.read_text() + section)
    return path


@pytest.mark.parametrize("section, text, line_with, message", [
    ("sweep:\n  optimizer.lr: []\n", "optimizer.lr:", None, "sweep.optimizer.lr: needs at least one value"),
    ("sweep:\n  optimizer.lr: loguniform(0.1,1)\n  samples: -1\n", "samples:", " samples:",
     "sweep.samples: expected a whole number >= 1, got -1"),
    ("sweep:\n  optimizer.lr: [0.1, abc]\n", "abc", None,
     "variant 1 (optimizer.lr=abc): optimizer.lr: Input should be a valid number (got 'abc')"),
    ("sweep:\n  optimizer:\n    lr:\n    - 0.1\n    - -5\n", "- -5", None, "variant 1 (optimizer.lr=-5): optimizer.lr"),
    ("sweep:\n  optimizer: {}\n", "optimizer:", "optimizer: {}", "sweep.optimizer: an empty mapping"),
    ("sweep:\n  optimizer.lr: [0.1]\n  optimizer:\n    lr: [0.2]\n", "lr:", "lr: [0.2]", "sweep.optimizer.lr: given twice"),
    ("sweep:\n  optimizer.lr: loguniform(0.1,1)\n  samples: 2\n  sampler: foo\n", "sampler:", None,
     "sweep.sampler: 'foo' is not one of"),
    ("sweep:\n  optimizer.lr: loguniform(0.1,1)\n  samples: 2\n  sampler: off\n", "sampler:", None,
     "sweep.sampler: got boolean false: YAML reads on/off/yes/no as booleans; allowed: random"),
    ("sweep:\n  optimizer.lr: logspace(0, 400, 3)\n", "optimizer.lr:", None, "sweep.optimizer.lr: logspace(0, 400, 3)"),
    ("sweep:\n  optimizer.lr: loguniform(0.1,1)\n", "optimizer.lr:", None,
     "optimizer.lr=loguniform(0.1,1) is drawn at random"),
    ("sweep:\n  optimizer.amsgrad: choice(true,false)\n  samples: 4\n", "samples:", " samples:",
     "sweep.samples 4, but the drawn axes have only 2 distinct points"),
    ("sweep:\n  optimizer: [{name: SGD, lr: 0.1}]\n  optimizer.lr: [0.1, 0.2]\n", "optimizer.lr:", None,
     "the axes 'optimizer' and 'optimizer.lr' overlap"),
    ("sweep:\n  optimizer.lr: [0.1, 0.1]\n", "0.1]", None,
     "variants 0 (optimizer.lr=0.1) and 1 (optimizer.lr=0.1) are the same config"),
    ("sweep:\n  optimizer.lr: [0.1, 0.2]\n  seed: [1, 1]\n", "1]", None,  # ints 1 are one object: by position
     "variants 0 (optimizer.lr=0.1, seed=1) and 1 (optimizer.lr=0.1, seed=1) are the same config"),
    ("sweep:\n  optimizer.lr: linspace(0.1,1,1000)\n  seed: range(1000)\n", "sweep:", None,
     "sweep: the grid has 1000000 variants (optimizer.lr: 1000 x seed: 1000); the limit is 100000"),
    ("sweep:\n  optimizer.lr: loguniform(0.1,1)\n  samples: 200000\n", "sweep:", None,
     "sweep: the grid has 200000 variants (optimizer.lr: 200000)"),
], ids=["empty", "samples", "bad-value", "nested-item", "empty-mapping", "twice", "sampler", "sampler-off", "logspace", "no-samples",
        "too-few-points", "overlap", "same-config", "same-config-ints", "grid-size", "search-size"])
def test_a_sweep_section_error_points_at_its_entry_alike_in_validate_and_sweep(tmp_path, section, text, line_with,
                                                                              message):
    cfg = config_with(tmp_path, section)
    if text.startswith("- "):  # the list item itself, past its dash
        text, line_with = text[2:], text
    at = entry_at(cfg, text, line_with)
    line = one_error_line(invoke("sweep", cfg, "--dry-run"), 2, f"{at}: {message}")
    assert one_error_line(invoke("validate", cfg, "--no-data"), 2) == line
    assert one_error_line(invoke("validate", cfg), 2) == line
    assert not (tmp_path / "runs").exists()


def test_a_command_line_axis_replacing_the_sections_names_the_file_alone(tmp_path):
    cfg = config_with(tmp_path, "sweep:\n  optimizer.lr: [0.1, abc]\n")
    one_error_line(invoke("sweep", cfg, "optimizer.lr=0.2,xyz", "--dry-run"), 2,
                   f"gdlab: error: {cfg}: variant 1 (optimizer.lr=xyz): optimizer.lr")


def test_the_same_config_or_a_grid_too_large_by_a_command_line_axis_names_the_file_alone(tmp_path):
    """The command line's seed=1,1 makes variants 0 and 1 alike, not the section's lrs; axes that replace the
    section's make a grid too large that no line of the file gives."""
    cfg = config_with(tmp_path, "sweep:\n  optimizer.lr: [0.1, 0.2]\n")
    one_error_line(invoke("sweep", cfg, "seed=1,1", "--dry-run"), 2,
                   f"gdlab: error: {cfg}: variants 0 (optimizer.lr=0.1, seed=1) and 1 (optimizer.lr=0.1, seed=1) are")
    one_error_line(invoke("sweep", cfg, "optimizer.lr=linspace(0.1,1,1000)", "seed=range(1000)", "--dry-run"), 2,
                   f"gdlab: error: {cfg}: sweep: the grid has 1000000 variants")
