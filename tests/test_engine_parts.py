"""Pieces of the engine checked against plain definitions: the two-class prediction against argmax
(special values included), the divergence rule against its statement, and the losses' backward
against their sum's."""

from __future__ import annotations

import itertools
import math

import torch

from gdlab.config import Config
from gdlab.engine.divergence import Divergence
from gdlab.engine.losses import StackedLoss
from tests.helpers import TINY


def test_two_class_accuracy_counts_exactly_what_argmax_counts():
    special = [0.0, 1.0, -1.0, math.nan, math.inf, -math.inf]
    pairs = torch.tensor(list(itertools.product(special, repeat=2)))  # every tie, NaN and inf combination
    K, N = 128, 72  # 128 x 72 x 2 outputs: past the size where the two-class path is taken
    out = torch.randn(K, N, 2)
    out[:, : len(pairs)] = pairs
    out[5, 40:] = out[5, 40:, :1]  # ties on a whole stretch of one model
    y = torch.randint(0, 2, (N,))
    loss = StackedLoss(Config.model_validate(TINY).loss, torch.device("cpu"), torch.float32)
    expected = (out.argmax(-1) == y).sum(-1).to(torch.float32)
    assert torch.equal(loss.correct(out, y), expected)
    assert torch.equal(loss.correct(out[:2], y), expected[:2])  # small: argmax itself


def test_divergence_rule():
    d = Divergence(5, factor=10.0, device=torch.device("cpu"))
    d.first_loss(torch.tensor([0.5, 2.0, 2.0, 2.0, 2.0]))  # limits: 10 x max(loss, 1) = 10, 20, 20, 20, 20
    d.note(1, [9.9, 20.0, 19.0, 1.0, 3.0])  # exactly at the limit is still training
    assert d.at == [None] * 5 and d.all_alive()
    d.note(2, [10.5, 20.0, 19.0, 1.0, 3.0])  # all finite, one above its limit
    assert d.at == [2, None, None, None, None]
    d.note(3, [10.5, 20.0, math.nan, math.inf, 3.0])
    assert d.at == [2, None, 3, 3, None]
    assert d.alive.tolist() == [False, True, False, False, True]
    d.note(4, [math.nan, 25.0, math.nan, 1.0, 3.0])  # a diverged model keeps its first divergence step
    assert d.at == [2, 4, 3, 3, None] and d.any_alive()
    d.note(4, [math.nan] * 5)  # a step is checked once
    assert d.at[4] is None
    unbounded = Divergence(2, factor=None, device=torch.device("cpu"))
    unbounded.first_loss(torch.tensor([1.0, 1.0]))
    unbounded.note(1, [1e30, -math.inf])
    assert unbounded.at == [None, 1]


# ---------------------------------------------------------------- CPU threads
def test_tiny_steps_train_on_one_thread_and_the_setting_is_restored(tmp_path, monkeypatch):
    from gdlab.engine import threads as T
    from gdlab.train import train
    from tests.helpers import make_config

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cfg = make_config(**{"train.epochs": 2})
    assert T.activation_size(cfg) == 72 * 8  # 96 rows less a quarter for validation, x the widest layer
    cpu = torch.device("cpu")
    assert T.threads_for(cfg, 1, cpu) == 1
    assert T.threads_for(cfg, T.SERIAL_MAX_ACTIVATIONS // (72 * 8) + 1, cpu) is None  # a bigger step: torch's choice
    assert T.threads_for(cfg, 1, torch.device("cuda")) is None
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert T.threads_for(cfg, 1, cpu) is None  # the user's choice stands
    monkeypatch.delenv("OMP_NUM_THREADS")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = []
        train(cfg, tmp_path / "run", observers=[lambda rec: seen.append(torch.get_num_threads())])
        assert set(seen) == {1} and torch.get_num_threads() == 2  # restored after the run
    finally:
        torch.set_num_threads(before)


def test_a_sweep_workers_small_steps_train_on_one_thread_despite_the_omp_setting_it_made(tmp_path, monkeypatch):
    """A --jobs worker sets OMP_NUM_THREADS to its share of the cores; that read as the user's choice, so on a
    16-core machine with --jobs 2 a tiny group ran on 8 threads instead of 1."""
    import json

    from gdlab.config import Config
    from gdlab.engine import threads as T
    from gdlab.sweep.execute import Job, run_job
    from tests.helpers import TINY

    monkeypatch.setattr(T, "worker_threads_set", False)  # this process has run no worker's job yet
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # what the worker wrote before importing torch
    cfg = Config.model_validate(json.loads(json.dumps(TINY)) | {"train": {"steps": 3, "device": "cpu"}}).resolved()
    seen = []
    real = T.intra_op_threads
    monkeypatch.setattr("gdlab.runner.intra_op_threads", lambda n: (seen.append(n), real(n))[1])
    before = torch.get_num_threads()
    try:
        (tmp_path / "v").mkdir()
        summaries = run_job(Job([0], [cfg], [str(tmp_path / "v")], [[]], threads=2))
        assert summaries[0]["status"] == "completed" and seen == [1]
        assert torch.get_num_threads() == 2  # the worker's share, restored after its group
    finally:
        torch.set_num_threads(before)


def test_train_and_validation_labels_are_each_flattened_once_for_a_group(monkeypatch):
    """Validation and sharpness between steps used to evict the train labels' flattened copy (one slot),
    and validation's labels were a new view each time: every evaluated step copied labels twice."""
    from gdlab.data import load_data
    from gdlab.engine.loop import GroupTrainer

    cfg = Config.model_validate(TINY | {"train": {"epochs": 12, "eval_every": 1, "sharpness_every": 3, "sharpness_iters": 3}})
    trainer = GroupTrainer([cfg, cfg], [load_data(cfg)] * 2, torch.device("cpu"))
    copies = []
    flatten = torch.Tensor.reshape
    monkeypatch.setattr(torch.Tensor, "reshape", lambda t, *shape: copies.append(tuple(t.shape)) or flatten(t, *shape))
    records = list(trainer.run())
    assert len(records) == 12 and all(r.val_loss is not None for r in records)
    label_copies = [s for s in copies if len(s) == 2 and s[0] == 2 and s[1] in (trainer.data.n_train, trainer.data.x_val.shape[1])]
    assert len(label_copies) <= 3  # the step's labels, validation's, the whole train split's: once each


def test_weights_first_used_under_no_grad_still_train():
    """The engine keeps its views of the weights; a first forward under no_grad (an evaluation before
    any step) must not keep views that carry no gradient, or every later step would have none."""
    from gdlab.data import load_data
    from gdlab.engine.stack import StackedMLP

    cfg = Config.model_validate(TINY)
    data = load_data(cfg)
    x = data.x_train.unsqueeze(0).expand(2, -1, -1)
    grads = []
    for evaluate_first in (False, True):
        stack = StackedMLP(cfg, [0, 0], torch.device("cpu"), torch.float32)
        if evaluate_first:
            with torch.no_grad():
                stack.forward(x, training=False)
        stack.forward(x, training=True).square().sum().backward()
        grads.append(stack.flat.grad)
    assert grads[1] is not None and torch.equal(grads[0], grads[1])


def test_backward_of_per_model_losses_gives_the_gradients_their_sum_gives_bit_for_bit():
    loss = StackedLoss(Config.model_validate(TINY).loss, torch.device("cpu"), torch.float32)
    for K in (3, 5, 3):  # a compacted group has fewer models: the cached gradient of ones follows
        w = torch.randn(K, 7, requires_grad=True)
        scale = torch.rand(K)
        expected = torch.autograd.grad(((w * w).mean(1) * scale).sum(), w)[0]
        loss.backward((w * w).mean(1) * scale)
        assert torch.equal(w.grad, expected)
    w = torch.randn(4, requires_grad=True)  # a group of one backpropagates its scalar loss as it is
    loss.backward((w * w).mean())
    assert torch.equal(w.grad, 2 * w.detach() / 4)


def test_rows_in_order_give_the_same_batch_tensors_every_step():
    from gdlab.data import load_data
    from gdlab.engine.tensors import GroupData

    cfg = Config.model_validate(TINY)
    data = GroupData([load_data(cfg)] * 3, torch.device("cpu"), torch.float32)
    seeds = torch.zeros(3, dtype=torch.long)
    x, y = data.train_batch(None, 0, 8, seeds)
    assert data.train_batch(None, 0, 8, seeds)[0] is x and data.train_batch(None, 0, 8, seeds)[1] is y
    assert torch.equal(x, data.x_train[:, :8].expand(3, 8, -1)) and torch.equal(y, data.y_train[:, :8].expand(3, 8))
    assert data.train_batch(None, 8, 16, seeds)[0] is not x  # another stretch of rows: its own tensors
