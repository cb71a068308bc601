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


@pytest.mark.parametrize("option", [["--smooth", "0.5"], ["--slices"]])
def test_an_option_refused_for_an_lr_find_folder_names_it_an_lr_find_folder(tmp_path, option):
    """It read "not to a lr-find folder" and "not a lr-find folder"."""
    folder = tmp_path / "lrfind"
    folder.mkdir()
    (folder / "lr_find.csv").write_text("step,lr,loss,smoothed_loss\n1,1e-06,0.7,0.7\n")
    line = one_error_line(invoke("plot", folder, *option), 2)
    assert line.endswith(" an lr-find folder"), line
