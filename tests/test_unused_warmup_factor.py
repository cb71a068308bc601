"""warmup_start_factor on a schedule that refuses a warmup (OneCycleLR, ReduceLROnPlateau) is refused with
advice that works: drop it. 'set warmup' would only lead to the next refusal."""

from __future__ import annotations

import pytest

from tests.helpers import invoke, one_error_line


@pytest.mark.parametrize("kind", ["OneCycleLR", "ReduceLROnPlateau"])
def test_the_advice_is_to_drop_the_factor_not_to_set_a_warmup(tmp_path, kind):
    result = invoke("train", "configs/quickstart.yaml", f"scheduler={{name: {kind}, warmup_start_factor: 0.5}}",
                    "--run-dir", tmp_path / "r")
    one_error_line(result, 2, f"warmup_start_factor 0.5 does nothing: {kind} takes no warmup; drop warmup_start_factor")
    assert "set warmup" not in result.output and not (tmp_path / "r").exists()
