"""choice() refuses values that are the same config value written twice (16 and 16.0): a key takes both
alike, so the choice would silently draw that value twice as often, or train one config twice."""

from __future__ import annotations

import pytest

from gdlab.errors import GdlabError
from gdlab.sweep.distributions import parse_distribution


@pytest.mark.parametrize("text", ["choice(16,16.0)", "choice(16,16.0,8)", "choice(0.1,1e-1,1)"])
def test_equal_numbers_are_one_value(text):
    with pytest.raises(GdlabError, match="choice expects 2 or more different values"):
        parse_distribution(text, "t")


def test_different_values_and_types_stay_apart():
    assert parse_distribution("choice(1,true,'1',null)", "t").args == (1, True, "1", None)
