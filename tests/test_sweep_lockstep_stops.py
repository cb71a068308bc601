"""How a pruned sweep's groups (sweep/lockstep.py: a thread each) end when the sweep stops around them: a second
Ctrl-C or an error while this thread records a group's results, and --fail-fast before some groups began."""

from __future__ import annotations

import json
import signal
import threading
import time

import pandas as pd
import pytest
import yaml

from tests.helpers import TINY, invoke

AXES = ("optimizer.name=SGD,Adam", "optimizer.lr=0.003,0.03,0.3", "seed=0,1")


def config(tmp_path, steps: int) -> str:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({**TINY, "train": {"steps": steps, "device": "cpu"}}))
    return str(path)


def sweep_in_thread(*args, wait_s: float = 60):
    """The CLI run in a thread, so that a hang fails the test instead of stalling the suite."""
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("result", invoke("sweep", *args)), daemon=True)
    worker.start()
    worker.join(wait_s)
    assert not worker.is_alive(), "the sweep hung"
    return out["result"]


def group_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("gdlab-group-")]


def on_disk(folder) -> dict[str, tuple]:
    """Each variant's (status, steps) as its summary.json says."""
    return {d.name: (s["status"], s["steps"]) for d in folder.iterdir() if d.is_dir()
            for s in [json.loads((d / "summary.json").read_text())]}


@pytest.fixture
def first_result_line(monkeypatch):
    """Make the printing of the first finished variant's line (as a group's results are recorded) run `act` first."""
    import gdlab.cli.sweep_view as sweep_view

    real, acts = sweep_view.result_line, []

    def line(plan, summary):
        if acts:
            acts.pop()()
        return real(plan, summary)

    monkeypatch.setattr(sweep_view, "result_line", line)
    return acts.append


def test_a_second_ctrl_c_while_a_groups_results_are_recorded_ends_the_sweep_with_every_result(
        tmp_path, monkeypatch, first_result_line):
    """The Ctrl-C's KeyboardInterrupt landed in on_done: the group counted as still running, and the sweep waited
    for it forever; its results, recorded before the rest of the sweep's, must still reach sweep.csv."""
    from contextlib import contextmanager

    import gdlab.signals
    from gdlab.signals import StopFlag

    flag = StopFlag()
    monkeypatch.setattr(gdlab.signals, "graceful_stop", contextmanager(lambda: (yield flag)))

    def two_ctrl_cs():
        flag.signum = signal.SIGINT  # the first asked the groups to stop; the second lands here
        raise KeyboardInterrupt

    first_result_line(two_ctrl_cs)
    folder = tmp_path / "cut"
    r = sweep_in_thread(config(tmp_path, 2000), *AXES, "--prune", "halving", "--run-dir", folder)  # one trains on
    assert r.exit_code == 130, (r.stdout, r.stderr, r.exception)
    table = pd.read_csv(folder / "sweep.csv")
    assert {d: (s, n) for d, s, n in zip(table.run_dir, table.status, table.steps)} == on_disk(folder)


def test_an_error_recording_a_groups_results_stops_the_other_groups_before_gdlab_exits(tmp_path, monkeypatch):
    """sweep.csv refused (a full disk) as the first group ended: gdlab reported it and exited while the other group
    still trained in its thread, which the interpreter's exit then killed inside torch (abort, exit 134)."""
    import gdlab.sweep.run as sweep_run
    from gdlab.errors import GdlabError

    real, calls = sweep_run.write_sweep_csv, [0]

    def full_disk(folder, setup, summaries):
        calls[0] += 1
        if calls[0] == 2:
            raise GdlabError(f"{folder / 'sweep.csv'}: cannot write (No space left on device)")
        return real(folder, setup, summaries)

    monkeypatch.setattr(sweep_run, "write_sweep_csv", full_disk)
    folder = tmp_path / "full"
    r = sweep_in_thread(config(tmp_path, 2000), *AXES, "--prune", "halving", "--run-dir", folder, "-q")
    assert r.exit_code == 2 and "No space left on device" in r.stderr, (r.stdout, r.stderr, r.exception)
    assert group_threads() == []  # every group ended before gdlab did, each with its files
    statuses = on_disk(folder)
    assert len(statuses) == 12 and "interrupted" in {s for s, _ in statuses.values()}, statuses


def test_fail_fast_skips_the_groups_that_had_not_begun_and_leaves_no_folder_of_theirs(tmp_path, monkeypatch):
    """They began after the failure anyway (each thread waited for its turn): `interrupted` at step 0, with a folder
    of initial weights, where the README and the other backends say `skipped`, its empty folder removed."""
    import gdlab.runner
    from gdlab.records import GroupMetrics

    failed = []

    class FirstGroupFails(GroupMetrics):
        def __init__(self, *args, **kwargs):
            if failed:  # a group that began as the failure was reported: slow, so that the sweep has heard of it
                time.sleep(0.3)
            super().__init__(*args, **kwargs)

        def consume(self, rec):
            if not failed:
                failed.append(rec.step)
                raise RuntimeError("boom")
            return super().consume(rec)

    monkeypatch.setattr(gdlab.runner, "GroupMetrics", FirstGroupFails)
    folder = tmp_path / "ff"
    r = sweep_in_thread(config(tmp_path, 27), *AXES, "--prune", "halving", "--vectorize", "off", "--fail-fast",
                        "--run-dir", folder, "-q")
    assert r.exit_code == 1, (r.stdout, r.stderr, r.exception)
    table = pd.read_csv(folder / "sweep.csv")
    assert list(table.status).count("failed") == 1, table[["run_dir", "status", "steps", "error"]].to_string()
    skipped = table[table.status == "skipped"]
    assert len(skipped) >= 6, table  # 11 groups waited for their turn; one or two may have begun meanwhile
    assert (skipped.steps == 0).all() and not any((folder / d).exists() for d in skipped.run_dir)


def test_each_group_trains_on_the_threads_it_would_in_an_unpruned_sweep(tmp_path, monkeypatch):
    """torch's thread count is each thread's own, and a new thread starts with the count last set anywhere: a large
    group whose turn came after a small one's (1 thread: engine/threads.py) trained on one core of many."""
    import torch

    import gdlab.runner
    from gdlab.records import GroupMetrics

    seen: dict[str, set[int]] = {}

    class CountThreads(GroupMetrics):
        def __init__(self, paths, *args, **kwargs):
            self.group = "large" if "n_samples=3000" in paths[0].parent.name else "small"
            super().__init__(paths, *args, **kwargs)

        def consume(self, rec):
            seen.setdefault(self.group, set()).add(torch.get_num_threads())
            return super().consume(rec)

    monkeypatch.setattr(gdlab.runner, "GroupMetrics", CountThreads)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # torch's choice for a large step, on any machine
    try:
        r = sweep_in_thread(config(tmp_path, 27), "data.n_samples=96,3000", "optimizer.lr=0.03,0.3", "--prune",
                            "halving", "--vectorize", "off", "--run-dir", tmp_path / "mixed", "-q")
    finally:
        torch.set_num_threads(before)
    assert r.exit_code == 0, (r.stdout, r.stderr, r.exception)
    assert seen == {"small": {1}, "large": {2}}  # the small steps' one thread, and torch's choice


def test_a_second_ctrl_c_that_loses_a_groups_message_does_not_hang_the_sweep(tmp_path, monkeypatch):
    """The KeyboardInterrupt can land in the queue's get after it took a group's end off the queue: the sweep
    counted the group as running and waited for its message forever."""
    import queue
    import types
    from contextlib import contextmanager

    import gdlab.signals
    import gdlab.sweep.lockstep as lockstep
    from gdlab.signals import StopFlag

    flag = StopFlag()
    monkeypatch.setattr(gdlab.signals, "graceful_stop", contextmanager(lambda: (yield flag)))

    class LosesTheFirstEnd(queue.Queue):
        def get(self, *args, **kwargs):
            message = super().get(*args, **kwargs)
            if message[0] == "done" and flag.signum is None:
                flag.signum = signal.SIGINT  # the first Ctrl-C; the second lands just after the message was taken
                raise KeyboardInterrupt
            return message

    monkeypatch.setattr(lockstep, "queue", types.SimpleNamespace(Queue=LosesTheFirstEnd, Empty=queue.Empty))
    folder = tmp_path / "cut"
    r = sweep_in_thread(config(tmp_path, 27), *AXES, "--prune", "halving", "--run-dir", folder, "-q")
    assert r.exit_code == 130, (r.stdout, r.stderr, r.exception)
    assert group_threads() == []
