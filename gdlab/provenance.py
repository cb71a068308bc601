"""What a result was made with: versions, git commit, device, timestamps."""

from __future__ import annotations

import functools
import platform
import subprocess
from datetime import datetime, timezone

import gdlab


def versions() -> dict:
    import torch

    return {"gdlab": gdlab.__version__, "torch": torch.__version__, "python": platform.python_version()}


@functools.cache  # one git process per gdlab process: a sweep of 32 groups asked 32 times (~8 ms each)
def git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
