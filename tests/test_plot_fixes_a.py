"""Plot fixes: the sweep's best star follows the CLI's over-seeds rule and partial means are marked, the
band stays near the seeds, the run's sharpness edge follows its optimizer, and empty panels say so."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gdlab.plotting.stability import sharpness_edge, stability_edge
from gdlab.sweep.rank import aggregate_over_seeds
from tests.test_plot import BASE_CONFIG, band_edges, figure_of, line, make_run, make_sweep, sweep_figure


def _gids(fig, prefix: str) -> list:
    """Lines and texts of the figure whose gid starts with `prefix`."""
    return [a for ax in fig.axes for a in [*ax.get_lines(), *ax.texts] if str(a.get_gid()).startswith(prefix)]


def _diverge(sweep, lr: float, seeds: tuple[int, ...]) -> pd.DataFrame:
    """Mark some seeds of one lr as diverged in sweep.csv, as a sweep writes them."""
    table = pd.read_csv(sweep / "sweep.csv")
    rows = (table["optimizer.lr"] == lr) & table["seed"].isin(seeds)
    table.loc[rows, ["status", "final_train_loss", "best_val_loss", "diverged_at_step"]] = ["diverged", math.inf, math.nan, 4]
    table.to_csv(sweep / "sweep.csv", index=False)
    return table


# ---------------------------------------------------------------- 1. the best star and partial means
def test_the_star_is_the_clis_best_over_seeds_not_a_mean_of_survivors(tmp_path):
    """lr=0.1 has the lower mean, but over 2 of its 4 seeds: `gdlab sweep` names lr=0.01 (4/4), so must the plot."""
    sweep = make_sweep(tmp_path / "sweep-x", lrs=(0.01, 0.1), seeds=(0, 1, 2, 3), diverge_above=1.0)
    table = _diverge(sweep, 0.1, (2, 3))
    rows = [{**r, "best_val_loss": None if pd.isna(r["best_val_loss"]) else r["best_val_loss"]}
            for r in table.to_dict("records")]
    complete = [a for a in aggregate_over_seeds(rows, ["optimizer.lr", "seed"]) if a.mean is not None and a.n_ok == a.n]
    cli_best = min(complete, key=lambda a: a.mean).point["optimizer.lr"]
    fig, _ = sweep_figure(sweep)
    assert list(line(fig, "best:None").get_xdata()) == [cli_best] == [0.01]


def test_a_mean_over_fewer_seeds_than_ran_is_hollow_and_says_k_of_n(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x", lrs=(0.01, 0.1), seeds=(0, 1, 2, 3), diverge_above=1.0)
    _diverge(sweep, 0.1, (2, 3))
    fig, _ = sweep_figure(sweep)
    hollow = line(fig, "partial:None:best_val_loss")
    assert list(hollow.get_xdata()) == [0.1] and hollow.get_markerfacecolor() == "white"
    # one text for both loss lines, which are partial alike here (tests/test_plot_seed_counts.py)
    assert [t.get_text() for t in _gids(fig, "seeds:None:")] == ["2/4 seeds"]
    assert all(list(ln.get_xdata()) == [0.1] for ln in _gids(fig, "partial:"))  # lr=0.01 ran all four


def test_a_band_far_below_every_seed_stops_at_the_lowest_seed(tmp_path):
    """Seeds 1, 1, 1, 4.99: mean - std is 0.0025, two decades under any seed; the band stops at 1."""
    sweep = make_sweep(tmp_path / "sweep-x", lrs=(0.01, 0.1), seeds=(0, 1, 2, 3), diverge_above=1.0)
    table = pd.read_csv(sweep / "sweep.csv")
    table.loc[table["optimizer.lr"] == 0.1, "final_train_loss"] = [1.0, 1.0, 1.0, 4.99]
    table.to_csv(sweep / "sweep.csv", index=False)
    fig, _ = sweep_figure(sweep)
    band = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "band:None:final_train_loss"][0]
    low, _ = band_edges(band, (0.01, 0.1))
    assert low[1] == pytest.approx(1.0)
    first = table[table["optimizer.lr"] == 0.01]["final_train_loss"]
    assert low[0] == pytest.approx(first.mean() - first.std())  # a band near its seeds is left as it is
    assert band.axes.get_ylim()[0] > 0.005  # no empty decades under the data


# ---------------------------------------------------------------- 2. the run's sharpness edge
HEADER = "step,epoch,lr,train_loss,grad_norm,sharpness,wall_s"
ROWS = [f"{s},0,{0.1 * s},{1 / s},1.0,{2.0 * s},{s}" for s in range(1, 5)]
LRS = np.array([0.1 * s for s in range(1, 5)])


@pytest.mark.parametrize("optimizer, expected, label", [
    ({"name": "GD", "lr": 0.1}, 2 / LRS, "2 / lr"),
    ({"name": "SGD", "lr": 0.1, "momentum": 0.9}, 2 * 1.9 / LRS, "2(1+momentum) / lr"),
    ({"name": "SGD", "lr": 0.1, "momentum": 0.5, "nesterov": True}, 2 * 1.5 / 2 / LRS,
     "2(1+momentum) / ((1+2·momentum) · lr)"),
    ({"name": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.5}, 2 * 1.9 / LRS - 0.5,
     "2(1+momentum) / lr - weight decay"),
], ids=["gd", "momentum", "nesterov", "weight-decay"])
def test_the_run_plots_its_optimizers_edge(tmp_path, optimizer, expected, label):
    config = {**BASE_CONFIG, "optimizer": optimizer}
    fig, _ = figure_of(make_run(tmp_path / "run", rows=ROWS, header=HEADER, config=config))
    edge = line(fig, "edge")
    np.testing.assert_allclose(edge.get_ydata(), expected)
    assert edge.get_label() == label


@pytest.mark.parametrize("optimizer", [{"name": "Adam", "lr": 0.1}, {"name": "RMSprop", "lr": 0.1}, None])
def test_no_edge_for_adam_or_an_unknown_optimizer(tmp_path, optimizer):
    run = make_run(tmp_path / "run", rows=ROWS, header=HEADER, config={**BASE_CONFIG, "optimizer": optimizer})
    if optimizer is None:
        (run / "config.yaml").unlink()
    fig, _ = figure_of(run)
    assert line(fig, "sharpness") and not _gids(fig, "edge")


def test_the_run_edge_and_the_sweep_edge_are_one_rule():
    """At the sharpness the run plot draws for an lr, the sweep's edge formula gives that lr back."""
    optimizer = {"name": "SGD", "momentum": 0.7, "dampening": 0.2, "weight_decay": 0.1}
    lam, _ = sharpness_edge(optimizer, pd.Series([0.05]))
    assert stability_edge(optimizer, float(lam.iloc[0]))[0] == pytest.approx(0.05)


# ---------------------------------------------------------------- 3. titles and empty panels
def test_a_sweep_of_one_variant_says_variant(tmp_path):
    fig, _ = sweep_figure(make_sweep(tmp_path / "sweep-x", lrs=(0.01,)))
    assert fig._suptitle.get_text().endswith("(1 variant)")
    fig, _ = sweep_figure(make_sweep(tmp_path / "sweep-y", lrs=(0.01, 0.1)))
    assert fig._suptitle.get_text().endswith("(2 variants)")


def _empty_with_note(ax) -> bool:
    notes = [t for t in ax.texts if t.get_gid() == "no_finite"]
    return len(notes) == 1 and "no finite" in notes[0].get_text() and len(ax.get_yticks()) == 0


def test_a_run_diverged_at_step_1_says_no_finite_loss(tmp_path):
    run = make_run(tmp_path / "run", rows=["1,0,10,inf,0.5,inf,,,0.01"], status="diverged", steps=1)
    fig, _ = figure_of(run)
    assert _empty_with_note(line(fig, "diverged").axes)


def test_an_all_diverged_sweep_says_so_in_its_empty_panels(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x", diverge_above=0.0)
    for folder in sweep.iterdir():  # every variant diverged at its first step
        if folder.is_dir():
            (folder / "metrics.csv").write_text("step,epoch,lr,train_loss\n1,0,1.0,inf\n")
    fig, _ = sweep_figure(sweep)
    curves, sensitivity = line(fig, "curve:0").axes, line(fig, "diverged:None").axes
    assert _empty_with_note(curves) and _empty_with_note(sensitivity)
    assert len(curves.get_xticks()) == 0  # no steps either: an empty step axis would show -0.04 ... 0.04


def test_a_sweep_still_running_is_not_called_non_finite(tmp_path):
    """Every row pending and no metrics.csv read: nothing diverged, so 'no finite loss' would be false."""
    sweep = make_sweep(tmp_path / "sweep-x")
    table = pd.read_csv(sweep / "sweep.csv")
    table["status"], table["final_train_loss"], table["best_val_loss"] = "pending", math.nan, math.nan
    table.to_csv(sweep / "sweep.csv", index=False)
    for folder in sweep.iterdir():
        if folder.is_dir():
            (folder / "metrics.csv").unlink()
    fig, _ = sweep_figure(sweep)
    notes = sorted(t.get_text() for t in _gids(fig, "no_finite"))
    assert notes == ["no finished variant yet", "no variant's metrics.csv could be read"]


def test_a_panel_with_data_has_no_note(tmp_path):
    fig, _ = sweep_figure(make_sweep(tmp_path / "sweep-x"))
    assert not _gids(fig, "no_finite")
    fig, _ = figure_of(make_run(tmp_path / "run"))
    assert not _gids(fig, "no_finite")


def test_plotting_still_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys, gdlab.plotting.run_plot, gdlab.plotting.sweep_plot, gdlab.plotting.stability; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

