"""`gdlab graph --group nodes` on a graph with a shared node (label smoothing reads the log-softmax twice): the tree
lists the nodes depth first in the order of --dot's n0, n1 ..., and expands a shared node where it first appears,
under its first consumer in the forward pass; later lines point back to it."""

from __future__ import annotations

import re

import torch
from torch import nn

from gdlab.lab import config_batch, config_loss, config_model
from gdlab.lab.graph import trace
from tests.helpers import invoke, make_config
from tests.test_lab import config  # noqa: F401  (the fixture)

SMOOTHED = ["loss={name: CrossEntropyLoss, label_smoothing: 0.1}", "data={name: moons, n_samples: 64, val_fraction: 0.25}",
            "model=[{Linear: [2, 3]}, Tanh, {Linear: [3, 2]}]"]


def tree_lines(output: str) -> list[tuple[str, bool]]:
    """(grad_fn name, whether the line is a reference to a shared node) per node line of the printed tree."""
    lines = [re.sub(r"^[\s│├└─]*", "", line) for line in output.splitlines()[1:] if line.strip()]
    return [(line.split()[0], "(shared" in line) for line in lines]


def first_consumer_in_forward() -> str:
    """Of the two nodes that read the log-softmax, the one autograd made first (sequence numbers: a private API, so
    here only, to check what the tree claims)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)(model(torch.randn(4, 2)), torch.tensor([0, 1, 0, 1]))
    parents, stack, seen = {}, [loss.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn not in seen:
            seen.add(fn)
            for child, _ in fn.next_functions:
                if child is not None:
                    parents.setdefault(child, []).append(fn)
                    stack.append(child)
    [users] = [p for p in parents.values() if len(p) > 1]
    return type(min(users, key=lambda fn: fn._sequence_nr())).__name__


def test_the_tree_is_depth_first_in_dot_order_with_a_shared_node_expanded_first(config):  # noqa: F811
    result = invoke("graph", config, *SMOOTHED, "--group", "nodes")
    assert result.exit_code == 0, result.output
    cfg = make_config(**{"loss": {"name": "CrossEntropyLoss", "label_smoothing": 0.1},
                         "model": [{"Linear": [2, 3]}, "Tanh", {"Linear": [3, 2]}]})
    x, y = config_batch(cfg, 4, torch.float32)
    graph = trace(config_model(cfg, torch.float32).train(), config_loss(cfg, torch.float32), x, y)
    lines = tree_lines(result.stdout)
    assert [name for name, shared in lines if not shared] == [n.name for n in graph.nodes]  # was another order
    [(at, name)] = [(i, name) for i, (name, shared) in enumerate(lines) if shared]
    first = [name for name, _ in lines].index(name)
    assert name == "LogSoftmaxBackward0" and first < at  # expanded above its second use, not below
    assert f"(shared: expanded above, under {first_consumer_in_forward()})" in result.stdout
    assert invoke("graph", config, *SMOOTHED, "--group", "nodes").stdout == result.stdout
