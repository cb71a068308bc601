"""The sensitivity panel's one "diverged" ✕ and "pruned" ▽ legend entries: with several groups (optimizers) each
group's marks are in its own colour, so the entry is dark grey, naming the shape; with one group it is the
group's colour, as its marks are."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from gdlab.plotting.sensitivity import draw_sensitivity  # noqa: E402

STATUS = {0.01: ("completed", 0.3), 0.1: ("pruned", None), 1.0: ("diverged", float("inf"))}


def panel(optimizers: list[str]):
    rows = [{"optimizer.name": opt, "optimizer.lr": lr, "status": status, "final_train_loss": loss,
             "run_dir": f"{opt}-{lr}"} for opt in optimizers for lr, (status, loss) in STATUS.items()]
    fig, ax = plt.subplots()
    draw_sensitivity(ax, pd.DataFrame(rows), "optimizer.lr", "optimizer.name", [])
    entries = dict(zip(*reversed(ax.get_legend_handles_labels())))
    marks = {ln.get_gid(): to_rgba(ln.get_color()) for ln in ax.get_lines()}
    plt.close(fig)
    return {kind: to_rgba(entries[kind].get_color()) for kind in ("diverged", "pruned")}, marks


@pytest.mark.parametrize("kind", ["diverged", "pruned"])
def test_with_two_optimizers_the_entry_is_dark_grey_and_each_mark_keeps_its_colour(kind):
    entries, marks = panel(["SGD", "Adam"])
    assert entries[kind] == to_rgba("0.25")
    assert marks[f"{kind}:SGD"] == to_rgba("C0") and marks[f"{kind}:Adam"] == to_rgba("C1")


@pytest.mark.parametrize("kind", ["diverged", "pruned"])
def test_with_one_optimizer_the_entry_is_its_colour(kind):
    entries, marks = panel(["SGD"])
    assert entries[kind] == marks[f"{kind}:SGD"] == to_rgba("C0")
