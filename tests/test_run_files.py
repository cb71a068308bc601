"""How a group's run files are written: rows buffered in blocks and read back exactly, a diverged
model's rows ending at its divergence step, and file work spread over threads without losing errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest

from gdlab.engine.step_record import StepRecord
from gdlab.errors import GdlabError
from gdlab.records import GroupMetrics, metric_columns
from gdlab.io_pool import in_parallel

ROOT = Path(__file__).resolve().parents[1]


def record(step: int, K: int, emit: list[bool]) -> StepRecord:
    return StepRecord(step=step, epoch=step / 2, wall_s=0.01 * step, emit=emit, lr=[0.1 * (k + 1) for k in range(K)],
                      train_loss=[1 / (step + k + 3) for k in range(K)], grad_norm=[float(step * 10 + k) for k in range(K)])


def test_group_rows_written_in_blocks_read_back_exactly(tmp_path):
    K, steps, dies_at = 5, 11, 4  # model 2 diverges at step 4: it writes that row, then none
    paths = [tmp_path / f"m{k}.csv" for k in range(K)]
    metrics = GroupMetrics(paths, metric_columns("regression", False), flush_every=3)
    for step in range(1, steps + 1):
        metrics.consume(record(step, K, [k != 2 or step <= dies_at for k in range(K)]))
        if step == 7:  # a block boundary has passed (steps 1-6), step 7 waits in memory
            assert len(pd.read_csv(paths[0])) == 6
    metrics.close()
    for k, path in enumerate(paths):
        table = pd.read_csv(path)
        expected_steps = list(range(1, (dies_at if k == 2 else steps) + 1))
        assert table.step.tolist() == expected_steps
        assert table.train_loss.tolist() == [1 / (s + k + 3) for s in expected_steps]  # repr round-trips exactly
        assert table.grad_norm.tolist() == [float(s * 10 + k) for s in expected_steps]
        assert table.lr.tolist() == [0.1 * (k + 1)] * len(expected_steps)
    assert metrics.summary_values(2)["final_train_loss"] == 1 / (dies_at + 2 + 3)


def test_unlogged_steps_write_no_rows(tmp_path):
    paths = [tmp_path / f"m{k}.csv" for k in range(4)]
    metrics = GroupMetrics(paths, metric_columns("regression", False), flush_every=50)
    for step in range(1, 7):
        metrics.consume(record(step, 4, [step % 3 == 0] * 4))
    metrics.close()
    assert all(pd.read_csv(p).step.tolist() == [3, 6] for p in paths)


def test_cells_reused_across_steps_are_exactly_each_steps_values(tmp_path):
    """Unchanged lr cells are reused and accuracies come from a cache: the text must still be each step's
    own repr, including a scheduler's change, 0.0 following -0.0, and accuracies that recur."""
    K = 3
    lrs = [[0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [-0.0, 0.2, 0.3], [0.0, 0.2, 0.3], [0.05, 0.2, 0.3], [0.05, 0.2, 0.3]]
    accs = [[0.5, 0.25, 1.0], [0.5, 0.75, 1.0], [0.0, 0.25, 0.5], [0.5, 0.5, 0.5], [1 / 3, 0.25, 0.0], [0.5, 0.25, 1.0]]
    paths = [tmp_path / f"m{k}.csv" for k in range(K)]
    metrics = GroupMetrics(paths, metric_columns("classification", False), flush_every=2)
    for step, (lr, acc) in enumerate(zip(lrs, accs), start=1):
        metrics.consume(StepRecord(step=step, epoch=float(step), wall_s=0.0, emit=[True] * K, lr=list(lr),
                                   train_loss=[0.5] * K, grad_norm=[1.0] * K, train_accuracy=list(acc)))
    metrics.close()
    for k, path in enumerate(paths):
        rows = [line.split(",") for line in path.read_text().splitlines()]
        lr_at, acc_at = rows[0].index("lr"), rows[0].index("train_accuracy")
        assert [r[lr_at] for r in rows[1:]] == [repr(lr[k]) for lr in lrs]
        assert [r[acc_at] for r in rows[1:]] == [repr(acc[k]) for acc in accs]


def test_in_parallel_keeps_order_runs_every_call_and_raises_the_first_error():
    done, threads = [], set()

    def work(i: int) -> int:
        threads.add(threading.current_thread().name)
        done.append(i)
        if i in (3, 6):
            raise GdlabError(f"file {i}: cannot write")
        return i * i

    assert in_parallel(lambda i: i * i, range(10)) == [i * i for i in range(10)]
    with pytest.raises(GdlabError, match="file 3"):
        in_parallel(work, range(10))
    assert sorted(done) == list(range(10))  # an error does not stop the other folders' files
    assert any(name.startswith("gdlab-io") for name in threads)
    done.clear()
    in_parallel(done.append, [1, 2])  # a few items: no threads
    assert done == [1, 2]


def _squares_in_child(n: int) -> list[int]:
    return in_parallel(lambda i: i * i, range(n))


def test_in_parallel_works_in_a_forked_child_of_a_process_that_used_it():
    """The pool is per process: a forked child must not wait on its parent's threads, which it lacks."""
    import multiprocessing

    in_parallel(lambda i: i, range(8))  # the parent's pool exists now
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_squares_in_child, (6,)).get(timeout=30) == [0, 1, 4, 9, 16, 25]


def test_gdlab_io_threads_sets_the_pools_size_and_a_bad_value_stops_a_sweep_before_any_folder(tmp_path, monkeypatch):
    import time

    from gdlab import io_pool
    from tests.helpers import invoke, one_error_line

    monkeypatch.setattr(io_pool, "_POOLS", {})  # pools made now, with the setting
    monkeypatch.setenv("GDLAB_IO_THREADS", "3")
    names, writers = set(), set()
    in_parallel(lambda i: names.add(threading.current_thread().name) or time.sleep(0.01), range(40))
    assert len(names) == 3 and all(n.startswith("gdlab-io") for n in names)
    # work that overlaps training has its own BACKGROUND_THREADS writers, whatever the setting
    started = io_pool.in_background(lambda i: writers.add(threading.current_thread().name) or time.sleep(0.01), range(40))
    while not started.done():  # not wait(): that would hand the rest to the I/O threads (see below)
        time.sleep(0.01)
    assert len(writers) == io_pool.BACKGROUND_THREADS == 2 and all(n.startswith("gdlab-bg") for n in writers)
    for pool, _ in io_pool._POOLS.values():
        pool.shutdown()
    monkeypatch.setattr(io_pool, "_POOLS", {})
    for bad in ("0", "many", "-3", "1e3"):
        monkeypatch.setenv("GDLAB_IO_THREADS", bad)
        result = invoke("sweep", ROOT / "configs" / "quickstart.yaml", "optimizer.lr=0.1,0.2", "--run-dir", tmp_path / "s")
        one_error_line(result, 2, f"GDLAB_IO_THREADS='{bad}'", "whole number of threads from 1 to 256")
        assert not (tmp_path / "s").exists()


def test_waiting_on_background_writes_hands_what_is_left_to_every_io_thread(monkeypatch):
    """Two background writers overlap training; once the group waits for them, nothing else runs, so the
    chunks they have not started go to all the I/O threads. Results and errors keep item order."""
    import time

    from gdlab import io_pool

    monkeypatch.setattr(io_pool, "_POOLS", {})
    monkeypatch.setenv("GDLAB_IO_THREADS", "8")
    ran = []

    def work(i: int) -> int:
        ran.append(threading.current_thread().name)
        time.sleep(0.005)
        if i in (40, 7):
            raise GdlabError(f"file {i}: cannot write")
        return i * i

    started = io_pool.in_background(work, range(128))
    while not ran:  # the writers have begun, as during training
        time.sleep(0.001)
    with pytest.raises(GdlabError, match="file 7"):
        started.wait()
    assert [v for ok, v in started.outcomes() if ok] == [i * i for i in range(128) if i not in (40, 7)]
    assert len(ran) == 128  # each item once
    assert {n.split("_")[0] for n in ran} == {"gdlab-bg", "gdlab-io"}
    for pool, _ in io_pool._POOLS.values():
        pool.shutdown()
    monkeypatch.setattr(io_pool, "_POOLS", {})


def test_reading_the_umask_never_changes_it_under_other_threads(tmp_path):
    """write_atomic asks for the file mode on the I/O threads while others create metrics.csv and run
    folders; reading the umask by setting it to 0 made about a third of those files world-writable."""
    import os
    import sys
    import threading

    from gdlab.files import umask_mode

    mask = os.umask(0)
    os.umask(mask)
    if mask == 0:
        pytest.skip("with umask 0 a world-writable file is what is expected")
    expected, before, stop = 0o666 & ~mask, sys.getswitchinterval(), threading.Event()
    answers = set()

    def ask():
        while not stop.is_set():
            answers.add(umask_mode())

    asker = threading.Thread(target=ask)
    sys.setswitchinterval(1e-6)  # interleave the two threads as often as possible
    try:
        asker.start()
        modes = set()
        for i in range(300):
            path = tmp_path / f"f{i}"
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o666))
            modes.add(path.stat().st_mode & 0o777)
    finally:
        stop.set()
        asker.join()
        sys.setswitchinterval(before)
    assert modes == {expected} and answers == {expected}


@pytest.mark.parametrize("overrides", [[], ["optimizer.name=Adam", "optimizer.betas=[0.8,0.9]"],
                                       ["scheduler.name=StepLR", "scheduler.step_size=3", "name='2024'"]])
def test_config_yaml_dumped_by_cached_sections_is_the_whole_dump_and_loads_back(overrides):
    from gdlab.config import Config
    from gdlab.loading import load_config
    from gdlab.yamldump import dump_config, dump_yaml
    from gdlab.yamlio import parse_yaml

    for path in sorted(Path("configs").glob("*.yaml")):
        resolved = load_config(path, overrides if "sweep" not in path.name else []).resolved()
        for _ in range(2):  # the second time from the cache
            text = dump_config(resolved)
            assert text == dump_yaml(resolved), path
            assert Config.model_validate(parse_yaml(text, "x")[0]).resolved() == resolved


def test_cached_section_dumps_tell_values_that_compare_equal_apart():
    from gdlab.yamldump import dump_config

    base = {"name": "x", "model": [{"Linear": [2, 3]}]}
    texts = [dump_config({**base, "seed": v}) for v in (1, 1.0, True, "1")]
    assert texts == ["name: x\nmodel:\n- Linear: [2, 3]\nseed: %s\n" % s for s in ("1", "1.0", "true", "'1'")]
    assert dump_config({"name": "x", "seed": 0}) == "name: x\nseed: 0\n"  # block at the top, as a config is
