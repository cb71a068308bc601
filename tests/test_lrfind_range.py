"""gdlab lr-find's lr ramp: each step's lr evenly spaced in log10 from --min-lr to --max-lr, the ends exactly the
bounds given (a chain of multiplications ended 1e-4 .. 1 at 0.9999999999999972), and --steps bounded."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.test_lrfind import lr_find


def test_the_lrs_run_from_min_lr_to_exactly_max_lr(tmp_path):
    result, out = lr_find(tmp_path, "--min-lr", "1e-4", "--max-lr", "1", "--steps", "50", "--stop-factor", "1e9")
    assert result.exit_code == 0, result.output
    lrs = pd.read_csv(out / "lr_find.csv")["lr"].tolist()
    assert len(lrs) == 50 and lrs[0] == 1e-4 and lrs[-1] == 1.0
    assert lrs == pytest.approx([10 ** (-4 + 4 * k / 49) for k in range(50)], rel=1e-14)
    assert all(a < b for a, b in zip(lrs, lrs[1:]))
    assert "from 0.0001 to 1 (ran all steps)" in result.stdout


def test_whole_decades_are_exact(tmp_path):
    result, out = lr_find(tmp_path, "--min-lr", "1e-4", "--max-lr", "1", "--steps", "5", "--stop-factor", "1e9")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out / "lr_find.csv")["lr"].tolist() == [1e-4, 1e-3, 1e-2, 0.1, 1.0]


def test_the_ramp_never_leaves_the_range_at_the_extremes():
    from gdlab.lrfind import RangeRamp

    for lo, hi, n in ((1e-300, 1e300, 5), (1e300, 1.7976931348623157e308, 1000), (2.2250738585072014e-308, 1e-300, 7)):
        ramp = RangeRamp(lo, hi, n)
        lrs = []
        for _ in range(n):
            lrs += ramp.lrs()
            assert ramp.advance(True)
        assert lrs[0] == lo and lrs[-1] == hi and all(math.isfinite(x) and lo <= x <= hi for x in lrs)
        assert all(a <= b for a, b in zip(lrs, lrs[1:]))


MESSAGE = "need 5 to 100000 (a range test resolves any lr range in a few hundred to a few thousand steps)"


def test_too_many_steps_are_one_error_line_naming_the_range(tmp_path):
    result, out = lr_find(tmp_path, "--steps", str(10**20))  # was refused as a per-step factor of 1
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [f"gdlab: error: --steps {10**20}: {MESSAGE}"]
    assert not out.exists()


@pytest.mark.parametrize("steps", [100_001, 10**13])  # 10**13 ran, its lr rising 1e-06 to 1e-06 in 125k steps a minute
def test_too_many_steps_are_refused_before_anything_runs(steps):
    from gdlab.errors import GdlabError
    from gdlab.lrfind import check_range

    assert check_range(1e-6, 10.0, 100_000) == pytest.approx(10 ** (7 / 99_999))
    with pytest.raises(GdlabError) as refused:
        check_range(1e-6, 10.0, steps)
    assert refused.value.message == f"--steps {steps}: {MESSAGE}"



@pytest.mark.parametrize("max_lr, stop_factor, ran_all", [("1", "1e9", True), ("1e6", "4", False)])
def test_config_yaml_records_the_ramp_that_set_the_csv_lrs(tmp_path, max_lr, stop_factor, ran_all):
    """config.yaml said ExponentialLR with a gamma; the lrs come from RangeRamp. The ramp it records now gives every
    lr in lr_find.csv, computed again from the step number, also for a test stopped early by its blow-up."""
    import yaml

    result, out = lr_find(tmp_path, "--min-lr", "1e-4", "--max-lr", max_lr, "--steps", "30", "--stop-factor", stop_factor)
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((out / "config.yaml").read_text())
    ramp = saved["scheduler"]
    assert ramp == {"name": "RangeRamp", "min_lr": 1e-4, "max_lr": float(max_lr), "steps": 30, "interval": "step"}
    assert saved["optimizer"]["lr"] == ramp["min_lr"] and saved["train"]["steps"] == ramp["steps"]
    table = pd.read_csv(out / "lr_find.csv")
    assert (len(table) == 30) == ran_all
    lo, hi = math.log10(ramp["min_lr"]), math.log10(ramp["max_lr"])
    expected = [10 ** (lo + (hi - lo) * (step - 1) / (ramp["steps"] - 1)) for step in table["step"]]
    assert table["lr"].tolist() == pytest.approx(expected, rel=1e-13)
    assert table["lr"].iloc[0] == ramp["min_lr"] and (table["lr"].iloc[-1] == ramp["max_lr"]) == ran_all
