"""The CUDA-graph step's bookkeeping (engine/graphs.py), on any machine: a capture that fails is tried
again later and the steps run eagerly meanwhile, exactly once each. Replays themselves are checked on a
GPU (tests/test_device.py)."""

from __future__ import annotations

import contextlib
import gc
import re
from pathlib import Path

import pytest
import torch

from gdlab.data import load_data
from gdlab.engine import graphs
from gdlab.engine.loop import GroupTrainer
from tests.helpers import make_config, step_records


class _Stream:
    def wait_stream(self, other):
        pass


def test_a_capture_that_fails_is_retried_and_every_step_runs_once_eagerly(monkeypatch):
    cfg = make_config(**{"optimizer": {"name": "Adam", "lr": 0.01}, "train.epochs": 120, "train.eval_every": 5,
                         "train.dtype": "float64", "scheduler": {"name": "StepLR", "step_size": 10, "gamma": 0.5, "interval": "step"}})
    configs = [cfg, cfg.model_copy(update={"optimizer": cfg.optimizer.model_copy(update={"lr": 0.05})})]
    data = load_data(cfg, torch.float64)
    plain = GroupTrainer(configs, [data] * 2, torch.device("cpu"), sync_every=32)
    want = step_records(plain)

    captures, collecting = [], []

    def no_capture(graph, stream=None):
        captures.append(trainer.step)
        collecting.append(gc.isenabled())  # a collection mid-capture could free another graph
        raise RuntimeError("operation not permitted when stream is capturing\nmore detail")

    monkeypatch.setattr(torch.cuda, "Stream", lambda device=None: _Stream())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: _Stream())
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: object())
    monkeypatch.setattr(torch.cuda, "graph", no_capture)
    trainer = GroupTrainer(configs, [data] * 2, torch.device("cpu"), sync_every=32)
    trainer.graph = graphs.StepGraph(trainer)  # as on a GPU (can_capture is True only there)
    forgotten = []  # labels flattened during a failed capture were never filled in: the eager step remakes them
    monkeypatch.setattr(trainer.loss, "forget_labels", lambda: forgotten.append(trainer.step))
    got = step_records(trainer)
    assert captures == [4, 36, 68]  # after the warm-up, then every RETRY_AFTER steps, TRIES times
    assert collecting == [False] * 3 and gc.isenabled()  # paused for each capture, on again after a failed one
    assert forgotten == captures
    assert got == want  # no step skipped or run twice around the failed captures
    assert trainer.optimizer.step_count == plain.optimizer.step_count == 120
    assert torch.equal(trainer.model.flat, plain.model.flat)
    assert re.fullmatch(r"eager \(capture failed at step 68: RuntimeError: operation not permitted when stream is "
                        r"capturing \(at engine/graphs\.py:\d+: with torch\.cuda\.stream\(self\.stream\), .*\)\)",
                        trainer.graph.status), trainer.graph.status


def test_the_parameter_views_are_made_again_on_the_capture_stream_before_each_capture(monkeypatch):
    """Autograd runs a backward node on the stream its forward ran on: views of the weights kept from
    step 1 (default stream) broke every capture on an H100. They are made again inside the side stream's
    warm-up step before each try, and training is unchanged by it."""
    cfg = make_config(**{"train.epochs": 80, "train.dtype": "float64"})
    configs = [cfg, cfg.model_copy(update={"optimizer": cfg.optimizer.model_copy(update={"lr": 0.05})})]
    data = load_data(cfg, torch.float64)
    plain = GroupTrainer(configs, [data] * 2, torch.device("cpu"), sync_every=32)
    want = step_records(plain)
    on_side, made = [False], []

    @contextlib.contextmanager
    def side_stream(s):
        on_side[0] = True
        yield
        on_side[0] = False

    def no_capture(graph, stream=None):
        raise RuntimeError("operation would make the legacy stream depend on a capturing blocking stream")

    monkeypatch.setattr(torch.cuda, "Stream", lambda device=None: _Stream())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: _Stream())
    monkeypatch.setattr(torch.cuda, "stream", side_stream)
    monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: object())
    monkeypatch.setattr(torch.cuda, "graph", no_capture)
    trainer = GroupTrainer(configs, [data] * 2, torch.device("cpu"), sync_every=32)
    trainer.graph = graphs.StepGraph(trainer)
    views = trainer.model.views
    monkeypatch.setattr(trainer.model, "views", lambda flat=None: views(flat) if flat is not None or trainer.model._views
                        else made.append((trainer.step, on_side[0])) or views(flat))
    assert step_records(trainer) == want
    assert made == [(1, False), (3, True), (35, True), (67, True)]
    assert torch.equal(trainer.model.flat, plain.model.flat)


def test_a_failed_captures_reason_names_the_error_that_caused_it():
    """Ending a capture that an op broke raises its own error over the op's: both are kept, cause last."""
    try:
        try:
            raise RuntimeError("CUDA error: operation not permitted when stream is capturing\ntrace")
        except RuntimeError:
            raise RuntimeError("operation failed due to a previous error during capture")
    except RuntimeError as exc:
        reason = graphs._reason(exc)
    assert reason == ("RuntimeError: operation failed due to a previous error during capture <- "
                      "RuntimeError: CUDA error: operation not permitted when stream is capturing")  # no gdlab line


def test_a_failed_captures_reason_names_the_gdlab_line_the_error_came_through(monkeypatch):
    """On the H100 the line (`summed.backward()` in engine/loop.py) is what found the cause."""
    from gdlab.io_pool import io_threads

    monkeypatch.setenv("GDLAB_IO_THREADS", "none")
    try:
        try:
            io_threads()
        except Exception:
            raise RuntimeError("operation failed due to a previous error during capture")
    except RuntimeError as exc:
        reason = graphs._reason(exc)
    assert re.fullmatch(r"RuntimeError: operation failed due to a previous error during capture <- GdlabError: "
                        r"GDLAB_IO_THREADS='none': .* \(at io_pool\.py:\d+: raise GdlabError\(.*\)\)", reason), reason


def test_a_trainer_and_its_graph_are_freed_without_the_garbage_collector(monkeypatch):
    """No reference cycle: a collection that runs while another trainer records its graph would destroy
    this one's graph mid-capture."""
    import weakref

    monkeypatch.setattr(torch.cuda, "Stream", lambda device=None: _Stream())
    cfg = make_config()
    trainer = GroupTrainer([cfg], [load_data(cfg)], torch.device("cpu"), sync_every=32)
    trainer.graph = graphs.StepGraph(trainer)
    gone = weakref.ref(trainer.graph)
    gc.disable()
    try:
        del trainer
        assert gone() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("change, ok", [
    ({}, True),
    ({"train.batch_size": 24}, False),  # mini-batches: each step another slice
    ({"model": [{"Linear": [2, 8]}, "Tanh", {"Dropout": [0.2]}, {"Linear": [8, 2]}]}, False),
    ({"model": [{"Linear": [2, 8]}, {"BatchNorm1d": [8]}, "Tanh", {"Linear": [8, 2]}]}, False),
    ({"loss": {"name": "CrossEntropyLoss", "weight": [1.0, 2.0]}}, False),
])
def test_which_steps_a_gpu_captures(change, ok, monkeypatch):
    cfg = make_config(**change)
    trainer = GroupTrainer([cfg], [load_data(cfg)], torch.device("cpu"), sync_every=32)
    monkeypatch.setattr(trainer, "device", torch.device("cuda"))  # can_capture reads the trainer only
    assert graphs.can_capture(trainer) is ok
    monkeypatch.setenv("GDLAB_CUDA_GRAPHS", "0")
    assert graphs.can_capture(trainer) is False
    trainer.sync_every = 1
    monkeypatch.delenv("GDLAB_CUDA_GRAPHS")
    assert graphs.can_capture(trainer) is False  # lr-find reads every loss before the update


def test_train_and_sweep_say_when_steps_ran_without_a_cuda_graph(tmp_path, monkeypatch):
    """A failed capture costs speed, not results (3x at small sizes on an H100): the commands say so on
    stderr, with the reason summary.json records, instead of leaving the user to find it there."""
    import json

    from gdlab.engine import loop
    from tests.helpers import invoke

    def no_capture(graph, stream=None):
        raise RuntimeError("operation would make the legacy stream depend on a capturing blocking stream")

    monkeypatch.setattr(loop, "can_capture", lambda trainer: True)  # as on a GPU, for full-batch steps
    monkeypatch.setattr(torch.cuda, "Stream", lambda device=None: _Stream())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: _Stream())
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: object())
    monkeypatch.setattr(torch.cuda, "graph", no_capture)
    config = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"
    result = invoke("train", config, "train.epochs=40", "--run-dir", tmp_path / "run", "-q")
    assert result.exit_code == 0, result.output
    reason = json.loads((tmp_path / "run" / "summary.json").read_text())["cuda_graph"]
    assert reason.startswith("eager (capture failed at step 36: RuntimeError: operation would make the legacy")
    assert result.stderr == f"gdlab: note: this run trained without a CUDA graph, one step at a time (slower): {reason[7:-1]}\n"
    result = invoke("sweep", config, "optimizer.lr=0.01,0.02", "train.epochs=40", "--run-dir", tmp_path / "sweep", "-q")
    assert result.exit_code == 0, result.output
    assert "gdlab: note: 2 of 2 variants trained without a CUDA graph, one step at a time (slower): capture failed at " \
           "step 36: RuntimeError: operation would make the legacy" in result.stderr
    monkeypatch.setattr(loop, "can_capture", lambda trainer: False)  # steps that are never captured: no note
    result = invoke("train", config, "train.epochs=4", "--run-dir", tmp_path / "plain", "-q")
    assert result.exit_code == 0 and result.stderr == ""
