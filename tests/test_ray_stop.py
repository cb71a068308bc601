"""A Ctrl-C under `--backend ray` with more groups than Ray runs at once: the running groups end `interrupted`
with their rows and files, as on the local backend. Ray is stood in for by a fake that behaves as Ray does on
a cancel: a queued task comes back cancelled at once, and a running one gets a KeyboardInterrupt per cancel."""

from __future__ import annotations

import sys
import types

from gdlab.sweep.execute import Job


class TaskCancelledError(Exception):
    pass


class FakeRay(types.ModuleType):
    """Task 0 trains (its stop takes three turns of the driver's loop to write its files); tasks 1-3 are queued."""

    def __init__(self):
        super().__init__("ray")
        self.exceptions = types.SimpleNamespace(TaskCancelledError=TaskCancelledError)
        self.cancels: dict[int, int] = {}
        self.turns_since_cancel = 0

    def remote(self, fn):
        return types.SimpleNamespace(remote=lambda job: job.indices[0])

    def cancel(self, ref):
        self.cancels[ref] = self.cancels.get(ref, 0) + 1

    def wait(self, refs, num_returns=1, timeout=None):
        if 0 in self.cancels:
            self.turns_since_cancel += 1
        ready = [r for r in refs if r != 0 and r in self.cancels][:1]  # a cancelled queued task: ready at once
        if not ready and 0 in refs and self.turns_since_cancel > 3:
            ready = [0]
        return ready, [r for r in refs if r not in ready]

    def get(self, ref, timeout=None):
        if ref != 0 or self.cancels.get(0, 0) > 1:  # queued, or a second KeyboardInterrupt in its file writing
            raise TaskCancelledError(f"task {ref} was cancelled")
        summary = {"status": "interrupted", "steps": 1234, "final_train_loss": 0.25}
        return [summary], [{"metrics.csv": b"step,train_loss\n1234,0.25\n", "summary.json": b"{}"}]


def test_a_stop_cancels_each_ray_task_once_so_a_running_group_keeps_its_files(tmp_path, monkeypatch):
    from gdlab.sweep.backends import _run_ray

    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    jobs = [Job([i], [{}], [str(tmp_path / f"{i:03d}")], [[]]) for i in range(4)]
    for job in jobs:
        (tmp_path / job.run_dirs[0]).mkdir()
    done: dict[int, dict] = {}
    _run_ray(jobs, should_stop=lambda: True, on_done=lambda job, results: done.update({job.indices[0]: results[0]}))
    assert set(fake.cancels.values()) == {1}
    assert done[0]["status"] == "interrupted" and done[0]["steps"] == 1234  # its rows so far, not "0 steps"
    assert (tmp_path / "000" / "metrics.csv").read_text() == "step,train_loss\n1234,0.25\n"


def test_a_group_ray_never_started_leaves_no_folder_as_on_the_local_backend(tmp_path, monkeypatch):
    """Its folder held only a summary.json gdlab made up (`interrupted`, 0 steps), which plot and compare then
    warned about as a run without metrics; locally such a variant's empty folder is removed."""
    import pandas as pd

    from gdlab.sweep.run import run_sweep
    from gdlab.sweep.setup import setup_sweep
    from tests.test_sweep import write_config

    fake = FakeRay()
    fake.is_initialized = lambda: True  # a session already connected: left as it is
    monkeypatch.setitem(sys.modules, "ray", fake)
    setup = setup_sweep(write_config(tmp_path), ["optimizer.lr=0.1,0.2,0.3,0.4"], None, None, None)
    folder = tmp_path / "sw"
    folder.mkdir()
    run_sweep(setup, folder, setup.plans, {}, vectorize="off", backend="ray", should_stop=lambda: True)
    table = pd.read_csv(folder / "sweep.csv")
    assert list(table["status"]) == ["interrupted"] * 4 and list(table["steps"]) == [1234, 0, 0, 0]
    assert sorted(p.name for p in folder.iterdir()) == ["000_lr=0.1", "sweep.csv"]


class NodeDiedError(Exception):
    pass


class LostNodeRay(FakeRay):
    """As FakeRay, but queued task 1's node died at the moment of the stop: its get raises that, not a cancel."""

    def get(self, ref, timeout=None):
        if ref == 1:
            raise NodeDiedError("the node running task 1 died")
        return super().get(ref, timeout)


def test_an_error_other_than_a_cancel_after_a_stop_is_the_variants_failure(tmp_path, monkeypatch):
    """Only Ray's task-cancelled error means 'never started'; a lost node or a full disk at the moment of a stop
    was skipped too, its variant recorded as interrupted at step 0 as if nothing had run."""
    from gdlab.errors import GdlabError
    from gdlab.sweep import backends

    monkeypatch.setitem(sys.modules, "ray", LostNodeRay())

    def full_disk(job, files):
        raise GdlabError(f"{job.run_dirs[0]}/metrics.csv: cannot write it (No space left on device)")

    monkeypatch.setattr(backends, "write_returned_files", full_disk)
    jobs = [Job([i], [{}], [str(tmp_path / f"{i:03d}")], [[]]) for i in range(4)]
    done: dict[int, dict] = {}
    backends._run_ray(jobs, should_stop=lambda: True, on_done=lambda job, results: done.update({job.indices[0]: results[0]}))
    assert sorted(done) == [0, 1]  # 2 and 3 were cancelled before they started: left for the sweep to record
    assert done[0]["status"] == "failed" and "000/metrics.csv: cannot write it (No space left on device)" in done[0]["error"]
    assert done[1]["status"] == "failed" and done[1]["error"] == "NodeDiedError: the node running task 1 died"


class FailFastRay(FakeRay):
    """Task 0 comes back failed at once (--fail-fast stops the rest); of the others, 1 was still queued, 2 was on
    a node that died."""

    def wait(self, refs, num_returns=1, timeout=None):
        return [r for r in refs if r == 0], [r for r in refs if r != 0]

    def get(self, ref, timeout=None):
        if ref == 0:
            return [{"status": "failed", "error": "boom", "steps": 0}], [{}]
        if ref == 2:
            raise NodeDiedError("the node running task 2 died")
        raise TaskCancelledError(f"task {ref} was cancelled")


def test_fail_fast_under_ray_records_a_lost_task_as_failed_and_a_cancelled_one_as_left(tmp_path, monkeypatch):
    from gdlab.sweep.backends import _run_ray

    monkeypatch.setitem(sys.modules, "ray", FailFastRay())
    jobs = [Job([i], [{}], [str(tmp_path / f"{i:03d}")], [[]]) for i in range(3)]
    done: dict[int, dict] = {}

    def on_done(job, results):
        done[job.indices[0]] = results[0]
        return results[0]["status"] == "failed"

    _run_ray(jobs, should_stop=lambda: False, on_done=on_done)
    assert sorted(done) == [0, 2]
    assert done[2]["status"] == "failed" and done[2]["error"] == "NodeDiedError: the node running task 2 died"


class LostClusterRay(FakeRay):
    """Task 0 comes back completed; then the connection to the cluster breaks, as a ray:// one does."""

    def wait(self, refs, num_returns=1, timeout=None):
        if 0 in refs:
            return [0], [r for r in refs if r != 0]
        raise ConnectionError("Failed during this or a previous request.\nException that broke the connection: EOF")

    def get(self, ref, timeout=None):
        return [{"status": "completed", "steps": 20}], [{}]


def test_a_lost_ray_cluster_fails_the_groups_it_had_in_one_line_each(tmp_path, monkeypatch):
    """ray.wait's error escaped as a traceback, leaving those variants `pending` in sweep.csv."""
    from gdlab.sweep.backends import _run_ray

    monkeypatch.setitem(sys.modules, "ray", LostClusterRay())
    jobs = [Job([i], [{}], [str(tmp_path / f"{i:03d}")], [[]]) for i in range(3)]
    done: dict[int, dict] = {}
    _run_ray(jobs, should_stop=lambda: False, on_done=lambda job, results: done.update({job.indices[0]: results[0]}))
    assert done[0]["status"] == "completed"
    assert [(done[i]["status"], done[i]["error"]) for i in (1, 2)] == \
        [("failed", "ConnectionError: Failed during this or a previous request.")] * 2
