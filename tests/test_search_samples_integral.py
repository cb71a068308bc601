"""`samples:` and `sample_seed:` in a `sweep:` section are integers as every config integer is: 4.0 and 1e1
are whole numbers (YAML reads 1e1 as a float), 4.5 is not."""

from __future__ import annotations

import pytest

from tests.helpers import invoke, one_error_line
from tests.test_sweep import write_config


@pytest.mark.parametrize("samples, seed, count", [(4.0, 5.0, 4), (1e1, 0, 10)])
def test_integral_floats_count_as_whole_numbers(tmp_path, samples, seed, count):
    cfg = write_config(tmp_path, sweep={"samples": samples, "sample_seed": seed, "optimizer": {"lr": "loguniform(1e-3,1)"}})
    shown = invoke("sweep", cfg, "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert f"{count} variants" in shown.stdout and f"(--sample-seed {int(seed)})" in shown.stdout


def test_a_fraction_is_still_refused(tmp_path):
    cfg = write_config(tmp_path, sweep={"samples": 4.5, "optimizer": {"lr": "loguniform(1e-3,1)"}})
    one_error_line(invoke("sweep", cfg, "--dry-run"), 2, "sweep.samples: expected a whole number >= 1, got 4.5")
