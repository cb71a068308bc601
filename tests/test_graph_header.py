"""gdlab graph's first line says what the lines under it are: grad_fn nodes, or (grouped) layers."""

from __future__ import annotations

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
