"""A config whose `sweep:` section is a random search (`samples:` and a distribution) runs as a grid when the
command line gives every drawn axis as a list: its samples then have nothing to draw, and no flag unsets them."""

from __future__ import annotations

from tests.helpers import invoke, one_error_line
from tests.test_sweep import write_config


def test_command_line_lists_turn_a_yaml_search_into_a_grid(tmp_path):
    cfg = write_config(tmp_path, sweep={"samples": 4, "optimizer.lr": "loguniform(1e-3,1)"})
    shown = invoke("sweep", cfg, "optimizer.lr=0.01,0.1", "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert "2 variants" in shown.stdout and "random search" not in shown.stdout


def test_samples_with_no_distribution_anywhere_is_still_refused(tmp_path):
    cfg = write_config(tmp_path, sweep={"samples": 4, "optimizer.lr": [0.01, 0.1]})
    one_error_line(invoke("sweep", cfg, "--dry-run"), 2, "sweep.samples 4: no axis is drawn at random")
    cfg = write_config(tmp_path, sweep={"optimizer.lr": "loguniform(1e-3,1)"})
    one_error_line(invoke("sweep", cfg, "optimizer.lr=0.01,0.1", "--samples", "3", "--dry-run"), 2,
                   "--samples 3: no axis is drawn at random")


def test_a_sample_seed_for_a_grid_is_refused_as_samples_is(tmp_path):
    cfg = write_config(tmp_path)
    one_error_line(invoke("sweep", cfg, "optimizer.lr=0.01,0.1", "--sample-seed", "3", "--run-dir", tmp_path / "sw"), 2,
                   "--sample-seed 3: no axis is drawn at random")
    assert not (tmp_path / "sw").exists()
