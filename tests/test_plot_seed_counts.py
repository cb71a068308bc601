"""The "k/n seeds" texts of the sweep plot's sensitivity panel: at one lr they never overlap, read back
from the drawn figure's text boxes."""

from __future__ import annotations

import itertools
import math

import pandas as pd

from tests.test_plot import make_sweep, sweep_figure


def _partial(sweep, lr: float, diverged: dict, losses: dict) -> None:
    """In sweep.csv, mark the seeds `diverged` (optimizer -> seeds) of one lr as diverged, and give the others
    at that lr the same final train and best val loss (optimizer -> loss): their means sit on one point."""
    table = pd.read_csv(sweep / "sweep.csv")
    for opt, seeds in diverged.items():
        here = (table["optimizer.lr"] == lr) & (table["optimizer.name"] == opt if opt else True)
        bad = here & table["seed"].isin(seeds)
        table.loc[bad, ["status", "final_train_loss", "best_val_loss", "diverged_at_step"]] = ["diverged", math.inf, math.nan, 4]
        table.loc[here & ~bad, ["final_train_loss", "best_val_loss"]] = losses[opt]
    table.to_csv(sweep / "sweep.csv", index=False)


def _seed_texts(fig) -> list:
    return [t for ax in fig.axes for t in ax.texts if str(t.get_gid()).startswith("seeds:")]


def _boxes(fig, texts) -> list:
    """Each text's box on the drawn figure, in pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # the final limits and log scale place the texts
    return [t.get_window_extent(canvas.get_renderer()) for t in texts]


def _overlapping(boxes) -> list[tuple[int, int]]:
    return [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2) if a.overlaps(b)]


def test_the_loss_lines_of_one_setting_share_one_text(tmp_path):
    """Final train loss and best val loss both over 1 of 2 seeds at lr 0.1, at one loss: before, two
    `1/2 seeds` texts were drawn on top of each other."""
    sweep = make_sweep(tmp_path / "sweep-x", lrs=(0.01, 0.1), seeds=(0, 1), diverge_above=1.0)
    _partial(sweep, 0.1, {None: (1,)}, {None: 0.3})
    fig, _ = sweep_figure(sweep)
    texts = _seed_texts(fig)
    assert _overlapping(_boxes(fig, texts)) == []
    assert [(t.get_text(), t.xy) for t in texts] == [("1/2 seeds", (0.1, 0.3))]
    assert texts[0].get_gid() == "seeds:None:final_train_loss+best_val_loss"


def test_the_texts_of_several_optimizers_at_one_lr_are_stacked_apart(tmp_path):
    sweep = make_sweep(tmp_path / "sweep-x", lrs=(0.01, 0.1), seeds=(0, 1, 2), optimizers=("SGD", "Adam"),
                       diverge_above=1.0)
    _partial(sweep, 0.1, {"SGD": (1,), "Adam": (1, 2)}, {"SGD": 0.3, "Adam": 0.301})
    fig, _ = sweep_figure(sweep)
    texts = _seed_texts(fig)
    assert sorted(t.get_text() for t in texts) == ["1/3 seeds", "2/3 seeds"]
    assert {t.get_color() for t in texts} == {"C0", "C1"}  # each in its optimizer's colour
    boxes = _boxes(fig, texts)
    assert _overlapping(boxes) == []
    (low, high) = sorted(boxes, key=lambda box: box.y0)
    assert abs(low.x0 - high.x0) < 1  # one above the other, at the lr
    assert high.y0 >= low.y1


def test_lines_partial_over_different_seeds_say_each_count(tmp_path):
    """A seed whose run completed without a best val loss: the val mean is over fewer seeds than the train one."""
    sweep = make_sweep(tmp_path / "sweep-x", lrs=(0.01, 0.1), seeds=(0, 1, 2, 3), diverge_above=1.0)
    _partial(sweep, 0.1, {None: (3,)}, {None: 0.3})
    table = pd.read_csv(sweep / "sweep.csv")
    table.loc[(table["optimizer.lr"] == 0.1) & (table["seed"] == 2), "best_val_loss"] = math.nan
    table.to_csv(sweep / "sweep.csv", index=False)
    fig, _ = sweep_figure(sweep)
    assert [t.get_text() for t in _seed_texts(fig)] == ["train 3/4, val 2/4 seeds"]
