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
