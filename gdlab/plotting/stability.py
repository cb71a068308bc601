"""The learning rate past which an optimizer's steps diverge on a quadratic whose top curvature is a
variant's initial sharpness: the vertical line of a sweep's sensitivity panel, and the same edge in
sharpness units (at each step's lr) in a run's sharpness panel. Only for GD and SGD,
whose step is lr times a (momentum-averaged) gradient; Adam and RMSprop rescale it per weight."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from gdlab.plotting.cycled_momentum import cycle_of, momentum_at_peak, momentum_per_step
from gdlab.plotting.readers import finite_number


def _rule(optimizer: dict[str, Any], momentum: Any = None) -> tuple[Any, float, str] | None:
    """(scale, weight decay, formula with {} for the curvature) of the edge lr = 2·scale / (λ + decay), or None.
    On w'' = λ w: GD diverges past 2/λ, heavy-ball momentum β past 2(1+β)/λ, Nesterov past
    2(1+β)/((1+2β)λ); dampening τ scales the gradient by 1-τ and coupled weight decay adds to λ. `momentum`
    (a number, or a Series of one per step) is SGD's where a OneCycleLR cycles it, whatever the config says."""
    name = optimizer.get("name")
    if name not in ("GD", "SGD"):
        return None
    beta, damp, decay = (optimizer.get(k) or 0.0 for k in ("momentum", "dampening", "weight_decay"))
    if not all(map(_number, (beta, damp, decay))) or name == "GD":
        beta = damp = decay = 0.0  # GD is the textbook step: it takes none of them
    cycled = name == "SGD" and momentum is not None
    if cycled:
        beta = momentum
    elif not beta:
        return 1.0, decay, "2 / {}"
    if _flag(optimizer.get("nesterov")):
        scale, text = (1 + beta) / (1 + 2 * beta), "2(1+momentum) / ((1+2·momentum) · {})"
    elif not damp:
        scale, text = 1 + beta, "2(1+momentum) / {}"
    elif damp < 1:
        scale, text = (1 + beta) / (1 - damp), "2(1+momentum) / ((1-dampening) · {})"
    else:
        return None  # dampening 1 zeroes the gradient: no step, so no edge
    if not cycled:
        return scale, decay, text
    # a step the cycle gives momentum 0 takes the raw gradient, undamped, as torch does: GD's edge
    scale = scale.where(beta > 0, 1.0) if isinstance(beta, pd.Series) else (scale if beta > 0 else 1.0)
    return scale, decay, text + " with OneCycleLR's momentum"


def stability_edge(optimizer: dict[str, Any], sharpness: float, scheduler: Any = None) -> tuple[float, str] | None:
    """(edge lr, its formula) for one variant, or None where no such edge is known (see `_rule`). Under a
    OneCycleLR that cycles the momentum, the momentum is the one at the lr the edge is compared with, the peak."""
    cycle = cycle_of(scheduler)
    rule = _rule(optimizer, momentum_at_peak(cycle) if cycle else None)
    if rule is None or not _number(sharpness) or sharpness <= 0:
        return None
    scale, decay, text = rule
    edge = 2 * scale / (sharpness + decay)
    curvature = "(init sharpness + weight decay)" if decay else "init sharpness"
    return (edge, text.format(curvature)) if math.isfinite(edge) and edge > 0 else None


def sharpness_edge(optimizer: Any, lr: pd.Series, scheduler: Any = None) -> tuple[pd.Series, str] | None:
    """One run's edge in sharpness units at each step's lr (the same rule solved for λ: 2·scale/lr - decay),
    and its formula; None where no edge is known (Adam, RMSprop, or no config.yaml to say which optimizer).
    Under a OneCycleLR that cycles the momentum, each step's momentum is read back from its lr."""
    if not isinstance(optimizer, dict):
        return None
    cycle = cycle_of(scheduler)
    rule = _rule(optimizer, momentum_per_step(cycle, optimizer.get("lr"), lr) if cycle else None)
    if rule is None:
        return None
    scale, decay, text = rule
    edge = 2 * scale / lr.where(lr > 0) - decay
    return edge.where(edge > 0), text.format("lr") + (" - weight decay" if decay else "")


def _number(value: Any) -> bool:
    return finite_number(value) is not None


def _flag(value: Any) -> bool:
    """A boolean from a config (True) or a sweep.csv cell (the text 'True' or 'true')."""
    return value is True or value is np.True_ or str(value).lower() == "true"


def edges_of(table: pd.DataFrame, base: dict | None, configs: dict[int, dict | None]) -> tuple[pd.Series, pd.Series]:
    """Each sweep.csv row's (edge, formula) from its init_sharpness and its optimizer: the variant's own
    config.yaml when it was read, else the sweep's base config with the row's swept optimizer keys."""
    edges, texts = pd.Series(math.nan, index=table.index), pd.Series(None, index=table.index, dtype=object)
    if "init_sharpness" not in table or table["init_sharpness"].dtype == object:
        return edges, texts
    swept = {c.split(".", 1)[1]: c for c in table.columns if c.startswith("optimizer.")}
    base_optimizer = (base or {}).get("optimizer")
    for index, row in table.iterrows():
        config = configs.get(index) if isinstance(configs.get(index), dict) else {}
        optimizer = config.get("optimizer")
        if not isinstance(optimizer, dict):
            optimizer = dict(base_optimizer) if isinstance(base_optimizer, dict) else {}
            optimizer.update({key: row[column] for key, column in swept.items() if not pd.isna(row[column])})
        found = stability_edge(optimizer, row["init_sharpness"], config.get("scheduler", (base or {}).get("scheduler")))
        if found is not None:
            edges[index], texts[index] = found
    return edges, texts


def draw_edge(ax, rows: pd.DataFrame, color: str, gid: str, prefix: str = "") -> None:
    """The predicted stability edge of one optimizer's rows as a vertical line at their mean. Seeds that start
    at different sharpness have different edges: the label then says it is a mean and gives their range, and a
    band spans it, so an lr that diverged on one seed but not another is seen to lie inside it."""
    edges = rows["stability_edge"].dropna()
    if not len(edges):
        return
    formula = rows.loc[edges.index, "stability_formula"].iloc[0]
    mean, low, high = float(edges.mean()), float(edges.min()), float(edges.max())
    label = f"{prefix}{formula} = {mean:.3g}"
    if not math.isclose(low, high, rel_tol=1e-3):
        label += f" (mean over seeds: {low:.3g} to {high:.3g})"
        ax.axvspan(low, high, color=color, alpha=0.1, lw=0, gid=gid + ":range")
    ax.axvline(mean, color=color, ls="-.", lw=1, gid=gid, label=label)


def tick_edges_beyond(ax, swept) -> None:
    """An edge beyond the swept lrs stretches an axis ticked at the swept values only (see
    value_ticks.label_swept_values): tick it too, or where it stands cannot be read (the edge-of-stability config swept
    over 0.02, 0.04, 0.06 put its edge at 0.17, past the last tick). An edge among the swept values stays
    unticked, where its label would collide with theirs."""
    from matplotlib.ticker import FixedLocator

    locator = ax.xaxis.get_major_locator()
    data = np.asarray(swept, dtype=float)
    data = data[np.isfinite(data) & (data > 0)]
    if not isinstance(locator, FixedLocator) or not data.size:
        return
    edges = [line.get_xdata()[0] for line in ax.get_lines() if str(line.get_gid()).startswith("stability_edge")]
    beyond = [e for e in edges if e > 1.25 * data.max() or e < data.min() / 1.25]
    if beyond:
        ax.xaxis.set_major_locator(FixedLocator(sorted([*locator.locs, *beyond])))
