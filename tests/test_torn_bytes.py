"""A run killed mid-write can leave any bytes in metrics.csv's unterminated last line (a multi-byte character
cut short, a block of a page never written): that line is dropped as a torn line is; elsewhere they are refused."""

from __future__ import annotations

import json

import pandas as pd
import yaml

from gdlab.plotting.readers import read_metrics
from tests.helpers import TINY, invoke, one_error_line


def finished_run(tmp_path):
    raw = json.loads(json.dumps(TINY))
    raw["train"]["epochs"] = 3
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    assert invoke("train", cfg, "--run-dir", tmp_path / "run", "-q").exit_code == 0
    return tmp_path / "run"


def test_plot_drops_a_torn_last_line_that_is_not_utf8(tmp_path):
    run = finished_run(tmp_path)
    whole = pd.read_csv(run / "metrics.csv")
    rows = len(whole)
    with open(run / "metrics.csv", "ab") as fh:
        fh.write(b"4,0.5\xe2\x82")  # the first two bytes of a three-byte character
    result = invoke("plot", run, "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.stderr
    assert f"dropped the torn last line {rows + 2}" in result.stderr
    assert (tmp_path / "out.png").stat().st_size > 0
    frame, _ = read_metrics(run / "metrics.csv")  # what the plot drew: every whole row, as pandas reads them
    pd.testing.assert_frame_equal(frame, whole, check_dtype=False)


def test_plot_refuses_bytes_that_are_not_utf8_before_the_last_line(tmp_path):
    run = finished_run(tmp_path)
    text = (run / "metrics.csv").read_bytes()
    cut = text.index(b"\n", text.index(b"\n") + 1)  # the end of the first row
    (run / "metrics.csv").write_bytes(text[:cut] + b"\xff" + text[cut:])
    one_error_line(invoke("plot", run, "-o", tmp_path / "out.png"), 2, f"{run / 'metrics.csv'}: not UTF-8",
                   f"offset {cut}")
