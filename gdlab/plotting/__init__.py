"""Plots and listings of finished runs and sweeps, from their CSV/JSON/YAML files only (never torch).

Modules import pandas at load but matplotlib only inside functions; the CLI imports them lazily.
"""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path


def _default_dirs() -> list[Path]:
    """The folders matplotlib keeps its config and font cache in when MPLCONFIGDIR is not set."""
    home = Path.home()
    if sys.platform.startswith(("linux", "freebsd")):
        return [Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib",
                Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib"]
    return [] if sys.platform == "win32" else [home / ".matplotlib"]


def _usable(folder: Path) -> bool:
    try:  # the test matplotlib makes: a folder it can create, and write in
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return folder.is_dir() and os.access(folder, os.W_OK)


def _quiet_matplotlib_config() -> None:
    """Point MPLCONFIGDIR at a temp folder of ours when matplotlib's default is not writable (HOME=/proc, a
    read-only home in CI), and only then: matplotlib would make one itself, but say so in two warnings on
    stderr for every plot."""
    if os.environ.get("MPLCONFIGDIR"):
        return
    try:
        if all(_usable(d) for d in _default_dirs()):
            return
    except RuntimeError:  # no home folder at all: matplotlib would warn of that too
        pass
    try:
        folder = tempfile.mkdtemp(prefix="gdlab-matplotlib-")
    except OSError:  # no temp folder either: matplotlib's own error says what to set
        return
    os.environ["MPLCONFIGDIR"] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


_quiet_matplotlib_config()
