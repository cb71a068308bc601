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


def test_every_setting_with_nothing_to_draw_is_refused_in_the_same_words(tmp_path):
    """--samples, --sample-seed, --sampler and the section's samples, sample_seed and sampler are refused for the
    same reason; the section's samples said it in other words than its sampler (and gave no way out)."""
    grid = {"optimizer.lr": [0.01, 0.1]}
    cases = [({**grid, key: value}, [], f"sweep.{key}") for key, value in (("samples", 4), ("sample_seed", 3),
                                                                          ("sampler", "sobol"))]
    cases += [(grid, [flag, value], flag) for flag, value in (("--samples", "4"), ("--sample-seed", "3"),
                                                              ("--sampler", "sobol"))]
    for section, flags, name in cases:
        cfg = write_config(tmp_path, sweep=section)
        line = one_error_line(invoke("sweep", cfg, *flags, "--dry-run"), 2, name)
        assert line.endswith(": no axis is drawn at random; give one as a distribution (loguniform, uniform, "
                             f"randint, choice), e.g. optimizer.lr=loguniform(1e-4,1), or drop {name}"), line
