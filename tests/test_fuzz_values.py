"""Values a schema-driven fuzz of every config key found mishandled: each is either trained as documented
or refused in one line that names the file and the key, exit 2, with no run folder."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import yaml

from tests.helpers import TINY, invoke


def write_config(tmp_path: Path, raw: dict | None = None, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw or {**copy.deepcopy(TINY), "train": {"steps": 2, "device": "cpu"}}, sort_keys=False))
    return path


def train_losses(run_dir: Path) -> list[str]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return [row["train_loss"] for row in csv.DictReader(f)]


def test_a_batch_size_beyond_the_rows_is_the_full_batch_however_large(tmp_path):
    # The memory check counted batch_size rows of activations: 10**12 "needed" thousands of GiB, for 72 rows.
    config = write_config(tmp_path)
    full = invoke("train", config, "--run-dir", tmp_path / "full", "-q")
    huge = invoke("train", config, "train.batch_size=1000000000000", "--run-dir", tmp_path / "huge", "-q")
    assert full.exit_code == 0 and huge.exit_code == 0, huge.stderr
    assert train_losses(tmp_path / "huge") == train_losses(tmp_path / "full")
