"""gdlab graph's first line says what the lines under it are: grad_fn nodes, or (grouped) layers."""

from __future__ import annotations

import re

import pytest

from tests.helpers import invoke
from tests.test_lab import REGRESSION


@pytest.mark.parametrize("group, node_lines", [("nodes", True), ("layers", False)])
def test_the_header_describes_the_view_printed_under_it(tmp_path, group, node_lines):
    config = tmp_path / "lab.yaml"
    config.write_text(REGRESSION)
    result = invoke("graph", config, "--group", group)
    assert result.exit_code == 0, result.output
    header, first, *_ = result.stdout.splitlines()
    assert header.startswith("lab: MSELoss on the first 4 training rows -> 10 autograd nodes, 4 of them parameter leaves.")
    assert ("Each node lists the grad_fns backward() visits next." in header) is node_lines
    assert ("One line per layer" in header) is not node_lines
    # and the lines are what the header says: a grad_fn, or the loss's line of the layer view
    assert first.startswith("MseLossBackward0") if node_lines else first.startswith("loss -> scalar")


def test_piped_the_header_and_a_deep_tree_keep_whole_lines(tmp_path, monkeypatch):
    """Piped, rich wrapped the by-layer header near 200 columns, and a deep node tree's lines past them."""
    monkeypatch.setenv("COLUMNS", "40")
    config = tmp_path / "lab.yaml"
    config.write_text(REGRESSION.replace("name: lab", "name: " + "a_long_experiment_name_" * 3))
    header = invoke("graph", config, "--group", "layers").stdout.splitlines()[0]
    assert header.endswith("its output shape, grad_fns and parameters.") and len(header) > 200, header
    deep = "model=[" + "{Linear: [2, 2]}, Tanh, " * 30 + "{Linear: [2, 1]}]"
    result = invoke("graph", config, deep, "--group", "nodes")
    assert result.exit_code == 0, result.output
    tree = result.stdout.splitlines()[1:]  # a node per line: its grad_fn's name, after the tree's guides
    assert all(re.match(r"^[│├└─ ]*(\w+Backward\d|AccumulateGrad) ", line) for line in tree), tree
    assert sum("AccumulateGrad" in line for line in tree) == 62 and max(map(len, tree)) > 200
