"""The "k/n seeds" texts of a sweep's sensitivity panel: beside each mean taken over fewer seeds than its
setting ran. One text per group and swept value, however many loss lines are partial there, and the texts of
several groups at one value stacked, so that none is drawn over another."""

from __future__ import annotations

from dataclasses import dataclass

SHORT = {"final_train_loss": "train", "best_val_loss": "val"}  # how a mixed text names each line's count


@dataclass
class Partial:
    """One hollow point: a group's loss line whose mean at `x` is over `k` of the `n` seeds that ran."""

    group: object
    color: str
    column: str
    x: float
    y: float
    k: int
    n: int


def draw_seed_counts(ax, partials: list[Partial]) -> None:
    """Label the hollow points. A group's lines at one x share one text (`2/4 seeds`, or `train 2/4, val 1/4
    seeds` where they differ) at its highest point; the groups' texts at one x are stacked a line apart
    upwards from the highest of their points, in the order the groups were drawn, each in its group's colour.
    Texts have gid `seeds:<group>:<column>[+<column>]`."""
    from matplotlib.font_manager import FontProperties

    step = 1.3 * FontProperties(size="x-small").get_size_in_points()  # a line of text, in points
    by_x: dict[float, dict[object, list[Partial]]] = {}
    for p in partials:
        by_x.setdefault(p.x, {}).setdefault(p.group, []).append(p)
    for x, groups in by_x.items():
        top = max(p.y for points in groups.values() for p in points)
        for row, points in enumerate(groups.values()):
            counts = [f"{p.k}/{p.n}" for p in points]
            text = (f"{counts[0]} seeds" if len(set(counts)) == 1
                    else ", ".join(f"{SHORT.get(p.column, p.column)} {c}" for p, c in zip(points, counts)) + " seeds")
            gid = f"seeds:{points[0].group}:" + "+".join(p.column for p in points)
            ax.annotate(text, (x, top), xytext=(4, 4 + row * step), textcoords="offset points", fontsize="x-small",
                        color=points[0].color, gid=gid)
