"""The learning rate past which an optimizer's steps diverge on a quadratic whose top curvature is a
variant's initial sharpness: the vertical line of a sweep's sensitivity panel. Only for GD and SGD,
whose step is lr times a (momentum-averaged) gradient; Adam and RMSprop rescale it per weight."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd


def stability_edge(optimizer: dict[str, Any], sharpness: float) -> tuple[float, str] | None:
    """(edge lr, its formula) for one variant, or None where no such edge is known. On w'' = λ w:
    GD diverges past 2/λ, heavy-ball momentum β past 2(1+β)/λ, Nesterov past 2(1+β)/((1+2β)λ);
    dampening τ scales the gradient by 1-τ and coupled weight decay adds to λ."""
    name = optimizer.get("name")
    if name not in ("GD", "SGD") or not _number(sharpness) or sharpness <= 0:
        return None
    beta, damp, decay = (optimizer.get(k) or 0.0 for k in ("momentum", "dampening", "weight_decay"))
    if not all(map(_number, (beta, damp, decay))) or name == "GD":
        beta = damp = decay = 0.0  # GD is the textbook step: it takes none of them
    curvature = "init sharpness" if not decay else "(init sharpness + weight decay)"
    scale, text = 1.0, f"2 / {curvature}"
    if beta:
        if _flag(optimizer.get("nesterov")):
            scale, text = (1 + beta) / (1 + 2 * beta), f"2(1+momentum) / ((1+2·momentum) · {curvature})"
        else:
            scale, text = (1 + beta) / (1 - damp) if damp < 1 else math.inf, "2(1+momentum) / " + (
                f"((1-dampening) · {curvature})" if damp else curvature)
    edge = 2 * scale / (sharpness + decay)
    return (edge, text) if math.isfinite(edge) and edge > 0 else None


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)


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
        optimizer = (configs.get(index) or {}).get("optimizer")
        if not isinstance(optimizer, dict):
            optimizer = dict(base_optimizer) if isinstance(base_optimizer, dict) else {}
            optimizer.update({key: row[column] for key, column in swept.items() if not pd.isna(row[column])})
        found = stability_edge(optimizer, row["init_sharpness"])
        if found is not None:
            edges[index], texts[index] = found
    return edges, texts
