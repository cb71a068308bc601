"""A random search whose choice() picks lists (optimizer.betas) writes a sweep.yaml without YAML anchors or
aliases, which gdlab's reader refuses: `--resume` and `plot` read it back."""

from __future__ import annotations

import shutil

from gdlab.yamldump import dump_yaml
from tests.helpers import invoke
from tests.test_sweep import write_config


def test_a_value_used_twice_is_written_out_twice():
    betas = [0.9, 0.999]
    assert "&" not in dump_yaml({"axes": {"optimizer.betas": [betas, betas]}})


def test_a_search_over_a_choice_of_lists_resumes_and_plots(tmp_path):
    cfg = write_config(tmp_path, **{"train.epochs": 2, "optimizer.name": "Adam"})
    out = tmp_path / "sw"
    ran = invoke("sweep", cfg, "optimizer.betas=choice([0.9,0.999],[0.8,0.99])", "optimizer.lr=loguniform(1e-3,1e-1)",
                 "--samples", "4", "--run-dir", out, "-q")
    assert ran.exit_code == 0, ran.output
    text = (out / "sweep.yaml").read_text()
    assert "&id" not in text and "*id" not in text
    shutil.rmtree(next(out.glob("000_*")))
    resumed = invoke("sweep", "--resume", out, "-q")
    assert resumed.exit_code == 0, resumed.output
    plotted = invoke("plot", out)
    assert plotted.exit_code == 0 and "anchors" not in plotted.output, plotted.output
