"""`gdlab plot SWEEP` with facets (a swept axis besides lr, seed and optimizer gets a panel per value): the panels of
a row plot the same quantity, so they share one y axis, scale and limits, whatever a diverged variant did."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.test_plot import make_sweep, sweep_figure


def faceted(tmp_path, lrs):
    sweep = make_sweep(tmp_path / "sweep-x", lrs=lrs)
    table = pd.read_csv(sweep / "sweep.csv")
    table.insert(0, "data.noise", [0.1, 0.1, 0.3, 0.3])
    table.to_csv(sweep / "sweep.csv", index=False)
    fig, warnings = sweep_figure(sweep)
    return fig, [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def finite_y(ax, calm: bool = False) -> np.ndarray:
    """The finite values of the curves and sensitivity lines (`calm`: leaving out the variant that diverged, row 3)."""
    ys = [np.asarray(ln.get_ydata(), dtype=float) for ln in ax.get_lines() if str(ln.get_gid()).startswith(("curve:", "sensitivity:"))
          and not (calm and ln.get_gid() == "curve:3")]
    data = np.concatenate(ys) if ys else np.array([])
    return data[np.isfinite(data)]


def test_facet_panels_of_a_row_share_one_y_axis_with_a_diverged_variant(tmp_path):
    fig, axes = faceted(tmp_path, (0.001, 0.01, 0.1, 1.0))  # lr 1.0 diverges, in the second facet only
    assert [ax.get_title() for ax in axes[:2]] == ["data.noise=0.1", "data.noise=0.3"]  # curves above, scores below
    for row in ((axes[0], axes[1]), (axes[2], axes[3])):
        a, b = row
        assert a.get_ylim() == b.get_ylim() and a.get_yscale() == b.get_yscale() == "log"
        assert a.get_shared_y_axes().joined(a, b)
        low_lim, high_lim = a.get_ylim()
        values = np.concatenate([finite_y(a), finite_y(b, calm=True)])
        assert np.isfinite([low_lim, high_lim]).all() and low_lim <= values.min() and values.max() <= high_lim
    top_a, top_b = axes[0], axes[1]
    # the diverged curve's rise (to 1000, in the second facet) is cut a decade above the highest calm curve,
    # in both panels: the first facet's curves keep the height they would have alone
    assert finite_y(top_b).max() >= 1000
    calm_top = max(finite_y(top_a).max(), finite_y(top_b, calm=True).max())
    assert top_a.get_ylim()[1] == top_b.get_ylim()[1] == np.float64(calm_top * 10)


def test_a_facet_whose_variants_all_diverged_leaves_the_others_ticks(tmp_path):
    fig, axes = faceted(tmp_path, (0.001, 0.01, 1.0, 2.0))  # the second facet: both diverged, no final loss
    low_a, low_b = axes[2], axes[3]
    assert [t.get_gid() for t in low_b.texts if t.get_gid() == "no_finite"] == ["no_finite"]
    assert low_a.get_ylim() == low_b.get_ylim() and len(low_a.get_yticks()) > 0
    low, high = low_a.get_ylim()
    assert low <= finite_y(low_a).min() and finite_y(low_a).max() <= high
