"""`compare --color-by KEY`: each curve coloured by its run's config value, with a colour bar for numbers."""

from __future__ import annotations

import pytest
from matplotlib import colormaps
from matplotlib.colors import LogNorm, to_rgba

from gdlab.plotting.compare import plot_compare
from gdlab.plotting.load import load_runs
from tests.helpers import invoke, one_error_line
from tests.test_sweep import write_config


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("colour")
    cfg = write_config(tmp, **{"train.epochs": 2})
    made = []
    for i, (opt, lr) in enumerate([("SGD", 0.01), ("Adam", 0.1), ("SGD", 1.0)]):
        ran = invoke("train", cfg, f"optimizer.name={opt}", f"optimizer.lr={lr}", "--run-dir", tmp / f"r{i}", "-q")
        assert ran.exit_code == 0, ran.output
        made.append(tmp / f"r{i}")
    return made


def curves(fig):
    return sorted((ln for ln in fig.axes[0].get_lines() if str(ln.get_gid()).startswith("compare:")), key=lambda ln: ln.get_gid())


def test_numbers_get_a_colour_bar_on_a_log_scale_when_they_span_decades(runs):
    fig = plot_compare(load_runs(runs, []), "train_loss", "step", [], color_by="optimizer.lr")
    norm, cmap = LogNorm(0.01, 1.0), colormaps["viridis"]
    assert [to_rgba(ln.get_color()) for ln in curves(fig)] == [pytest.approx(cmap(norm(v))) for v in (0.01, 0.1, 1.0)]
    assert any(ax.get_ylabel() == "optimizer.lr" for ax in fig.axes[1:])  # the colour bar names the key


def test_text_values_get_one_colour_each(runs):
    fig = plot_compare(load_runs(runs, []), "train_loss", "step", [], color_by="optimizer.name")
    colours = [ln.get_color() for ln in curves(fig)]
    assert colours[0] == colours[2] != colours[1] and len(fig.axes) == 1


def test_an_unknown_key_is_one_line_with_a_suggestion(runs, tmp_path):
    one_error_line(invoke("compare", *runs, "--color-by", "optimizer.lrr", "-o", tmp_path / "c.png"), 2,
                   "--color-by optimizer.lrr: no run's config.yaml has that key; did you mean optimizer.lr")
    assert not (tmp_path / "c.png").exists()
    assert invoke("compare", *runs, "--color-by", "optimizer.lr", "-o", tmp_path / "c.png").exit_code == 0
