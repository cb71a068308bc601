"""Every ```bash block in docs/concepts.md runs as written (outputs redirected to a temp folder)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "concepts.md"
BLOCKS = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S) if DOC.exists() else []


def test_the_walkthrough_has_commands():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_docs_block_runs(tmp_path, block):
    script = "set -euo pipefail\n" + block.replace("/tmp/gdlab-concepts", str(tmp_path))
    # one torch thread per command: under a loaded CI machine two threads thrash (seen: 3 s vs 100 s)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{block}\n--- stdout\n{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-2000:]}"
