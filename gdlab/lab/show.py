"""How `gdlab graph` and `gdlab gradcheck` show their results: rich trees of the autograd graph, and the
gradcheck's header and tables. Kept apart from the commands, which only parse options and call these."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree


def shape(dims) -> str:
    return "?" if dims is None else ("scalar" if len(dims) == 0 else str(list(dims)))


def node_tree(graph) -> Tree:
    """Every grad_fn node, each under the node whose backward visits it, depth first in the order of graph.nodes
    (and of --dot's n0, n1 ...); a shared node is expanded where it first appears, and said to be below that."""
    def label(n) -> str:
        if n.param:
            return f"[bold]{n.name}[/] [cyan]{escape(n.param)}[/] {shape(n.shape)} requires_grad={n.requires_grad}"
        return f"[bold]{n.name}[/]  {shape(n.shape)}"

    root, under = Tree(label(graph.nodes[0])), {0: None}  # node -> the node it is expanded under
    stack = [(root, c, 0) for c in reversed(graph.nodes[0].children)]
    # A child's whole subtree before its next sibling. The walk added a node's children at once and expanded the last
    # one first, so a shared node was expanded at its last appearance, below the line that said "expanded elsewhere".
    while stack:
        branch, c, parent = stack.pop()
        node = graph.nodes[c]
        if c in under:  # a result used twice (the log-softmax label smoothing reads twice): referred to after
            first = graph.nodes[under[c]].name if under[c] is not None else "the loss"
            branch.add(label(node) + f"  [dim](shared: expanded above, under {first})[/]")
            continue
        under[c] = parent
        sub = branch.add(label(node))
        stack.extend((sub, g, c) for g in reversed(node.children))
    return root


def layer_tree(graph) -> Tree:
    """One line per layer: its output shape, the grad_fn kinds it made and its parameters."""
    from gdlab.lab.graph import group_layers

    def label(g) -> str:
        name = "loss" if g["layer"] is None else f"[{g['layer']}] {graph.layers[g['layer']]}"
        ops = ", ".join(f"{k} x{v}" if v > 1 else k for k, v in g["ops"].items())
        params = ", ".join(f"{n} {shape(s)}" for n, s in g["params"])
        text = f"[bold]{escape(name)}[/] -> {shape(g['shape'])}  {ops}"
        return text + (f"  [cyan]{escape(params)}[/]" if params else "")

    # A flat list, not a nested tree: the layers of a Sequential form a chain, and backward meets them in this order.
    first, *rest = group_layers(graph)
    root = Tree(label(first))
    for g in rest:
        root.add(label(g))
    return root


def gradcheck_header(cfg, model, rows: int, eps: float) -> str:
    """What was checked; the modes are explained only for the layers the model has that they change."""
    kinds = {type(m).__name__ for m in model.modules()}
    changed = [text for present, text in (
        (any("Dropout" in k for k in kinds), "Dropout is off (eval mode)"),
        (any(k.startswith("BatchNorm") for k in kinds),
         "BatchNorm normalizes by the batch, as in training (a bias just before it then has no effect: gradient 0)"),
    ) if present]
    text = (f"{cfg.name}: {cfg.loss.name} on the first {rows} training rows, float64, central differences "
            f"with eps={eps:g}.")
    if not changed:
        return text
    return text + f" {' and '.join(changed)}, so the loss is one fixed function of the weights."


def gradcheck_table(rows, atol: float, rtol: float) -> Table:
    caption = (f"pass: |autograd - numeric| <= {atol:g} + {rtol:g} * |numeric| for every checked element"
               + (" (–: every numeric gradient was 0 to float64's resolution: no relative error)"
                  if any(r.max_rel is None for r in rows) else ""))
    # as wide as the rule it passes by: a caption wraps at the table's width, and the rule was cut in two lines
    table = Table("tensor", "shape", "checked", "max abs err", "max rel err", "result", caption=caption,
                  min_width=len(caption) + 4)
    for r in rows:
        table.add_row(r.name, shape(r.shape), f"{r.checked}/{r.numel}", f"{r.max_abs:.2e}",
                      "–" if r.max_rel is None else f"{r.max_rel:.2e}",  # undefined: no numeric gradient was resolved
                      "[green]pass[/]" if r.passed else "[red]FAIL[/]")
    return table


def closed_form_table(closed) -> Table:
    """The closed-form gradient of a lone Linear under MSELoss beside autograd's, tensor by tensor."""
    from gdlab.lab.gradcheck import preview

    form = Table("tensor", "closed form", "autograd", "max |difference|")
    for name, mine, auto in closed:
        form.add_row(name, preview(mine), preview(auto), f"{(mine - auto).abs().max().item():.2e}")
    return form
