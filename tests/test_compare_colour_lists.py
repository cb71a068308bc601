"""`compare --color-by` takes a list-valued key such as optimizer.betas, as a sweep axis and its sweep.csv
column name it, one colour per list."""

from __future__ import annotations

from gdlab.plotting.compare import plot_compare
from gdlab.plotting.load import load_runs
from tests.helpers import invoke, one_error_line
from tests.test_sweep import write_config


def test_a_list_valued_key_colours_by_each_list(tmp_path):
    cfg = write_config(tmp_path, **{"train.epochs": 2, "optimizer.name": "Adam"})
    runs = []
    for i, betas in enumerate(["[0.9,0.999]", "[0.8,0.99]", "[0.9,0.999]"]):
        ran = invoke("train", cfg, f"optimizer.betas={betas}", f"seed={i}", "--run-dir", tmp_path / f"r{i}", "-q")
        assert ran.exit_code == 0, ran.output
        runs.append(tmp_path / f"r{i}")
    ok = invoke("compare", *runs, "--color-by", "optimizer.betas", "-o", tmp_path / "c.png")
    assert ok.exit_code == 0, ok.output
    fig = plot_compare(load_runs(runs, []), "train_loss", "step", [], color_by="optimizer.betas")
    lines = sorted((ln for ln in fig.axes[0].get_lines() if str(ln.get_gid()).startswith("compare:")),
                   key=lambda ln: ln.get_gid())
    colours = [ln.get_color() for ln in lines]
    assert colours[0] == colours[2] != colours[1]
    one_error_line(invoke("compare", *runs, "--color-by", "optimizer", "-o", tmp_path / "d.png"), 2,
                   "--color-by optimizer: no run's config.yaml has that key")


def test_an_empty_key_is_refused_not_ignored(tmp_path):
    cfg = write_config(tmp_path, **{"train.epochs": 2})
    assert invoke("train", cfg, "--run-dir", tmp_path / "r", "-q").exit_code == 0
    one_error_line(invoke("compare", tmp_path / "r", "--color-by", "", "-o", tmp_path / "c.png"), 2,
                   "--color-by: expected a dotted config key, e.g. optimizer.lr; got ''")
    assert not (tmp_path / "c.png").exists()
