"""The autograd graph behind a loss: walk `grad_fn.next_functions` from the loss down to the parameters,
note what each node produced and the gradient that flowed back into it, and draw it as a tree or as DOT."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

COLLAPSE_ABOVE = 40  # nodes; larger graphs are shown one line per layer


@dataclass
class GraphNode:
    """One autograd node (a `grad_fn`), what it produced in the forward pass and what flowed back into it."""

    id: int
    name: str  # the grad_fn class, e.g. AddmmBackward0
    children: list[int]  # ids of next_functions (None entries, inputs that need no grad, are left out)
    layer: int | None  # the top-level module whose forward created it; None for the loss
    shape: tuple[int, ...] | None
    value: torch.Tensor | None  # the tensor it produced, when a torch function returned it
    grad: torch.Tensor | None  # d loss / d that tensor, from the backward pass
    param: str | None = None  # AccumulateGrad: the parameter's name, e.g. 0.weight
    requires_grad: bool | None = None

    @property
    def label(self) -> str:
        return f"{self.name}[{self.param}]" if self.param else self.name


@dataclass
class Graph:
    nodes: list[GraphNode]  # depth-first from the loss: nodes[0] is the loss's grad_fn
    layers: list[str]  # one description per top-level module

    def edges(self) -> list[tuple[str, list[str]]]:
        """(node label, child labels) per node in depth-first order: the structure without the numbers."""
        return [(n.label, [self.nodes[c].label for c in n.children]) for n in self.nodes]


class _Outputs(TorchFunctionMode):
    """Keeps every tensor a torch function returns, keyed by the grad_fn that produced it."""

    def __init__(self):
        super().__init__()
        self.seen: dict = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if isinstance(out, torch.Tensor) and out.grad_fn is not None:
            self.seen.setdefault(out.grad_fn, out.detach().clone())
        return out


def trace(model: nn.Module, loss_fn, x: torch.Tensor, y: torch.Tensor) -> Graph:
    """Run forward, loss and backward once, and return the graph behind the loss with shapes, values and grads."""
    layers = list(model.children()) or [model]
    owner: dict = {}  # grad_fn of a layer's output -> layer index
    hooks = [m.register_forward_hook(lambda m, i, out, k=k: _own(owner, out, k)) for k, m in enumerate(layers)]
    # Values come from a TorchFunctionMode, and every shape from the gradient each node receives in
    # backward (autograd checks it has the produced tensor's shape): both public APIs, unlike the
    # private `_saved_*` / `_input_metadata` attributes that differ between grad_fn classes and versions.
    outputs = _Outputs()
    try:
        with outputs:
            loss = loss_fn(model(x), y)
    finally:
        for h in hooks:
            h.remove()
    if loss.grad_fn is None:
        raise ValueError("the loss does not depend on any parameter that requires grad")
    order, parent_layer, index = [], {}, {}
    stack = [(loss.grad_fn, None)]
    while stack:  # depth-first, children in next_functions order; a shared node is visited once
        fn, layer = stack.pop()
        if fn in index:
            continue
        index[fn] = len(order)
        order.append(fn)
        parent_layer[fn] = owner.get(fn, layer)
        stack.extend((c, parent_layer[fn]) for c, _ in reversed(fn.next_functions) if c is not None)
    grads: dict = {}
    handles = [fn.register_prehook(lambda g, fn=fn: grads.__setitem__(fn, g)) for fn in order]
    try:
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    names = {id(p): n for n, p in model.named_parameters()}
    nodes = []
    for i, fn in enumerate(order):
        grad = next((g for g in grads.get(fn, ()) if g is not None), None)
        value, param, requires = outputs.seen.get(fn), None, None
        if hasattr(fn, "variable"):  # AccumulateGrad: the leaf is the parameter itself
            value, param, requires = fn.variable.detach(), names.get(id(fn.variable), "?"), fn.variable.requires_grad
        shape = tuple(value.shape) if value is not None else (tuple(grad.shape) if grad is not None else None)
        children = [index[c] for c, _ in fn.next_functions if c is not None]
        nodes.append(GraphNode(i, type(fn).__name__, children, parent_layer[fn], shape, value, grad, param, requires))
    return Graph(nodes, [_describe(m) for m in layers])


def _own(owner: dict, out, k: int) -> None:
    # setdefault: a layer that returns its input (Identity, eval Dropout) adds no node of its own.
    if isinstance(out, torch.Tensor) and out.grad_fn is not None:
        owner.setdefault(out.grad_fn, k)


def _describe(module: nn.Module) -> str:
    """`Linear(2, 16)`, `Dropout(p=0.5)`, `ReLU`: the class and its first argument, short enough for one line."""
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}, {module.out_features})"
    if isinstance(module, nn.LayerNorm):  # its extra_repr starts with a tuple, "(8,), eps=...": a comma inside
        return f"LayerNorm({', '.join(map(str, module.normalized_shape))})"
    first = module.extra_repr().split(",")[0]
    return f"{type(module).__name__}({first})" if first else type(module).__name__


def summarize(t: torch.Tensor | None) -> str:
    """A tensor in a few characters: the number itself when it has one element, else its shape and norm."""
    if t is None:
        return "?"
    if t.numel() == 1:
        return f"{t.item():.4g}"
    return f"{list(t.shape)} norm {torch.linalg.vector_norm(t.double()).item():.4g}"


def group_layers(graph: Graph) -> list[dict]:
    """One entry per layer that created nodes, in the order backward reaches them (the loss first):
    its grad_fn counts, its parameters and the shape of its output."""
    groups: dict = {}
    for n in graph.nodes:
        g = groups.setdefault(n.layer, {"layer": n.layer, "ops": Counter(), "params": [], "shape": n.shape})
        if n.param:
            g["params"].append((n.param, n.shape))
        else:
            g["ops"][n.name] += 1
    return list(groups.values())


def to_dot(graph: Graph) -> str:
    """Graphviz DOT with one micrograd-style record `{ name | value | grad }` per node; edges point the way
    the forward pass went."""
    lines = ["digraph autograd {", "  rankdir=LR;", '  node [shape=record, fontname="Helvetica"];']
    for n in graph.nodes:
        name = f"{n.name} {n.param}" if n.param else n.name
        # A value no torch function returned (e.g. the transpose inside F.linear) is shown by its shape only.
        value = summarize(n.value) if n.value is not None or n.shape is None else str(list(n.shape))
        label = " | ".join(_escape(s) for s in (name, f"value {value}", f"grad {summarize(n.grad)}"))
        lines.append(f'  n{n.id} [label="{{ {label} }}"];')
    for n in graph.nodes:
        lines.extend(f"  n{c} -> n{n.id};" for c in n.children)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    for ch in '\\{}|<>"':
        text = text.replace(ch, "\\" + ch)
    return text
