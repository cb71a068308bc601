"""The lr range test's figure: loss and smoothed loss against the learning rate on a log axis, with the
suggested lr and the lr at the smoothed minimum marked, as `gdlab lr-find` chose them (lr_find.json)."""

from __future__ import annotations

from gdlab.errors import GdlabError
from gdlab.plotting.lrfind_data import LRFindData, no_suggestion
from gdlab.plotting.labels import figure_title
from gdlab.plotting.output import finite, log_if_positive, new_figure

# (lr_find.json key, legend text, colour, line style); a key that is missing or null is not drawn.
MARKS = (("suggested_lr", "suggested lr", "C2", "--"), ("min_loss_lr", "min-loss lr", "C3", ":"))
# What the suggestion is, in its legend entry as `gdlab lr-find` says it: a rule of thumb, or only a lower bound.
HEURISTIC = "steepest fall: a heuristic"


def _curve(ax, data: LRFindData, column: str, **style):
    """The finite points of one column against lr; None when the column is absent or has none."""
    table = data.table
    if column not in table:
        return None
    mask = finite(table[column])
    if not mask.any():
        return None
    (line,) = ax.plot(table["lr"][mask].to_numpy(), table[column][mask].to_numpy(), gid=column, **style)
    return line


def _note(data: LRFindData) -> str | None:
    """What the reader must know before trusting the marks: a lower-bound suggestion, or none at all and why,
    as far as lr_find.json says (a missing key says nothing)."""
    if not data.result:
        return None
    why = no_suggestion(data.result)
    if why == "unreadable":  # the test may well have found one: give no reason it did not
        return "no suggestion marked: lr_find.json's suggested_lr is unreadable"
    falling = data.result.get("loss_still_falling") is True
    where = "when the test was interrupted" if data.result.get("interrupted") is True else "at the largest lr"
    if falling and data.lr("suggested_lr") is None:
        return f"no suggestion yet: the loss was still falling {where}"
    if falling:
        return f"the loss was still falling {where}: the suggestion is only a lower bound"
    return {"interrupted": "no suggestion: the test was interrupted before the loss fell steadily",
            "no steady fall": "no suggestion: the smoothed loss never fell steadily"}.get(why)


def _mark_label(data: LRFindData, key: str, text: str, lr: float) -> str:
    """`min-loss lr = 0.739`; the suggestion says what it is (`suggested lr = 0.0464 (steepest fall: a
    heuristic)`), and `suggested lr ≥ 0.005 (a lower bound)` where the loss was still falling, as the terminal says."""
    if key != "suggested_lr":  # a loss still falling has its minimum where the test stopped, not in a valley
        return f"{text} = {lr:.3g}" + (" (where the test ended)" if data.result.get("loss_still_falling") is True else "")
    if data.result.get("loss_still_falling") is True:
        return f"{text} ≥ {lr:.3g} (a lower bound)"
    return f"{text} = {lr:.3g} ({HEURISTIC})"


def plot_lr_find(data: LRFindData, title: str | None = None):
    """Draw the range test; lines carry gids loss, smoothed_loss, suggested_lr and min_loss_lr for tests."""
    fig = new_figure(8.0, 5.0)
    ax = fig.subplots()
    curves = [c for c in (
        _curve(ax, data, "loss", color="C0", lw=1, alpha=0.45, label="loss"),
        _curve(ax, data, "smoothed_loss", color="C0", lw=2, label="smoothed loss"),
    ) if c is not None]
    if not curves:
        raise GdlabError(f"{data.path / 'lr_find.csv'}: no finite loss values to plot")
    ax.set_xscale("log")  # the range test multiplies the lr by a constant factor each step
    # Log only when positive: the blow-up at the end can be decades above the rest.
    log_if_positive(ax, [c.get_ydata() for c in curves])
    for key, text, color, style in MARKS:
        lr = data.lr(key)
        if lr is not None:
            ax.axvline(lr, color=color, ls=style, lw=1.5, gid=key, label=_mark_label(data, key, text, lr))
    ax.set_xlabel("learning rate")
    ax.set_ylabel("train loss")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    note = _note(data)
    if note:
        ax.set_title(note, fontsize="small")
    name = (data.config or {}).get("name") or data.path.parent.name
    figure_title(fig, title or f"{name} — {data.path.name}: learning-rate range test")
    return fig
