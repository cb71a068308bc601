"""gdlab sweep --dry-run refuses a --runs folder a real sweep would refuse, as it does a --run-dir."""

from __future__ import annotations

import pytest

from tests.helpers import invoke, one_error_line
from tests.test_sweep import write_config


@pytest.mark.parametrize("runs, message", [
    ("FILE", "FILE is a file, not a folder"),
    ("FILE/sub", "FILE is a file, not a folder"),
    ("", "--runs: empty path; give a folder"),
])
def test_dry_run_refuses_a_runs_folder_the_real_sweep_refuses(tmp_path, runs, message):
    cfg = write_config(tmp_path)
    (tmp_path / "afile").write_text("x")
    runs = runs.replace("FILE", str(tmp_path / "afile"))
    message = message.replace("FILE", str(tmp_path / "afile"))
    for extra in ([], ["--dry-run"]):  # the same line with and without --dry-run
        one_error_line(invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--runs", runs, *extra), 2, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "base.yaml"]


def test_dry_run_with_a_new_runs_folder_makes_nothing(tmp_path):
    cfg = write_config(tmp_path)
    result = invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--runs", tmp_path / "new" / "runs", "--dry-run")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.yaml"]
