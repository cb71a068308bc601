"""The benchmark scripts still run (a smoke check, not a timing): each prints its table with finite ratios."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_script(name: str, *args: str) -> list[list[str]]:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    return [line.split() for line in out.stdout.splitlines()]


def test_train_overhead_prints_a_ratio_per_size_and_optimizer():
    rows = [r for r in run_script("train_overhead.py", "--steps", "3", "--repeats", "1") if r and r[0] in ("tiny", "moons", "wide")]
    assert len(rows) == 6 and {r[-4] for r in rows} == {"SGD", "Adam"}
    assert all(math.isfinite(float(r[-1])) and float(r[-1]) > 0 for r in rows)


def test_sweep_speed_prints_all_five_ways(tmp_path):
    rows = run_script("sweep_speed.py", "--steps", "3", "--sizes", "tiny", "--ks", "2", "--opts", "SGD", "--skip-jobs",
                      "--out", str(tmp_path), "--phases")
    header = next(r for r in rows if r and r[0] == "size")
    assert header[-4:] == ["a/c", "a/e", "c/d", "e/d"]
    (row,) = [r for r in rows if r and r[0] == "tiny"]
    assert row[:3] == ["tiny", "SGD", "2"] and row[4] == "nan"  # (b) skipped
    assert all(float(v) > 0 for v in row[3:4] + row[5:])
    # --phases: where (c)'s time went, its parts adding up to (c)'s time
    (phases,) = [" ".join(r) for r in rows if r and r[0] == "(c)"]
    total, parts = phases.removeprefix("(c) ").split(" s: ")
    named = dict(p.rsplit(" ", 1) for p in parts.replace("; ", ", ").split(", "))
    assert set(named) == {"headers", "metrics files", "finish", "rest"}
    assert all(float(v) >= 0 for k, v in named.items() if k != "rest")
    assert sum(map(float, named.values())) == pytest.approx(float(total), abs=0.003)
    assert list(tmp_path.iterdir()) == []  # its run folders went to --out, in a temporary folder since removed


def test_sweep_speed_in_cpu_time_skips_the_workers_it_cannot_charge(tmp_path):
    rows = run_script("sweep_speed.py", "--steps", "3", "--sizes", "tiny", "--ks", "2", "--opts", "SGD",
                      "--out", str(tmp_path), "--clock", "cpu")
    assert "CPU seconds of this process (--clock cpu)" in " ".join(rows[0])
    (row,) = [r for r in rows if r and r[0] == "tiny"]
    assert row[4] == "nan" and all(float(v) > 0 for v in row[3:4] + row[5:])  # (b) skipped without --skip-jobs
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sweep_speed.py"), "--clock", "cpu", "--phases"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--phases times wall seconds" in out.stderr


@pytest.mark.parametrize("script, args", [("sweep_speed.py", ["--sizes", "8"]), ("compact_speed.py", ["--opts", "sgd"])])
def test_an_unknown_size_or_optimizer_is_a_usage_error_not_a_traceback(script, args):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "choose from" in out.stderr and "Traceback" not in out.stderr


def test_compact_speed_prints_a_ratio_and_cuts_each_group():
    rows = run_script("compact_speed.py", "--steps", "12", "--sizes", "tiny", "--ks", "8", "--opts", "SGD", "--repeats", "1")
    (row,) = [r for r in rows if r and r[0] == "tiny"]
    assert row[:6] == ["tiny", "SGD", "8", "1", "4", "4"]  # one group, half its models diverged, cut to the rest
    assert all(float(v) > 0 for v in row[6:9])
