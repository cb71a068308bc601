"""gdlab's plots print nothing of matplotlib's own: a home where matplotlib cannot keep its config and cache
(HOME=/proc, a read-only home in CI) gets a temp MPLCONFIGDIR of gdlab's, and only such a home does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.test_plot import make_run

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], home: Path, tmp: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    env |= {"HOME": str(home)} | ({"TMPDIR": str(tmp)} if tmp else {})
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


def test_plot_with_an_unwritable_home_writes_its_png_and_nothing_on_stderr(tmp_path):
    """HOME=/proc printed two matplotlib warnings (mkdir -p failed, a temporary cache directory) per plot."""
    home = tmp_path / "home"
    home.write_text("a file: nothing can be made under it, even by root")
    folder = make_run(tmp_path / "run")
    (tmp_path / "tmp").mkdir()
    done = run(["-m", "gdlab", "plot", str(folder)], home, tmp_path / "tmp")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout == f"wrote {folder / 'loss.png'}\n" and (folder / "loss.png").stat().st_size > 0
    assert not list((tmp_path / "tmp").iterdir())  # the temp folder goes at exit


def test_a_writable_home_keeps_matplotlibs_own_folders(tmp_path):
    code = "import os, gdlab.plotting; print(os.environ.get('MPLCONFIGDIR'))"
    done = run(["-c", code], tmp_path)
    assert done.returncode == 0 and done.stdout == "None\n", done.stderr
    assert (tmp_path / ".config" / "matplotlib").is_dir() or sys.platform != "linux"
    assert run(["-c", code], tmp_path / "no" / "such" / "home").stdout == "None\n"  # one it can make is fine too
