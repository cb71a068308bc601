"""Stand-ins for run_job_safely that `--jobs N` worker processes import by name (tests/test_sweep_workers.py)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from gdlab.sweep.execute import failed_summaries, run_job_safely


def run_or_die(job, should_stop, cache, on_event=None):
    """Train as usual, except a job named "die" kills its own worker, as the OOM killer would."""
    if job.configs[0]["name"] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if job.configs[0]["name"] == "die-late":  # killed mid-training, with rows in metrics.csv

        def die_at_first_progress(event):
            if event.get("step", 0) > 0:
                os.kill(os.getpid(), signal.SIGKILL)

        return run_job_safely(job, should_stop, cache, die_at_first_progress)
    if job.configs[0]["name"] == "die-after-files":  # killed once every variant's files are written, before it reports
        run_job_safely(job, should_stop, cache, on_event)
        os.kill(os.getpid(), signal.SIGKILL)
    if job.configs[0]["name"] == "fail":  # once a sibling job named "long" is training
        deadline = time.monotonic() + 60
        while not list(Path(job.run_dirs[0]).parent.glob("*_long/metrics.csv")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        return failed_summaries(job, "planned failure")
    return run_job_safely(job, should_stop, cache, on_event)
