"""-o without an image suffix (`-o loss`, or `-o .png`, a dot file's name) says the name has none."""

from __future__ import annotations

import pytest

from helpers import invoke, one_error_line
from tests.test_plot import make_run


@pytest.mark.parametrize("name", ["loss", ".png"])
def test_an_output_name_without_a_suffix_says_so(tmp_path, name):
    """It read "cannot write no suffix images"."""
    run = make_run(tmp_path / "run", steps=3)
    line = one_error_line(invoke("plot", run, "-o", tmp_path / name), 2)
    assert line.endswith(": the file name has no image suffix, so no image type; end it in one of .png, .svg, .pdf"), line
    assert not (tmp_path / name).exists()
