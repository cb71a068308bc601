"""A config file named like a config section (model.yaml, train.yaml, seed.yaml) is named once in an error."""

from __future__ import annotations

import copy

import pytest
import yaml

from helpers import TINY, invoke, one_error_line


@pytest.mark.parametrize("name", ["model.yaml", "train.yaml", "seed.yaml", "data.yml"])
def test_validate_names_a_section_named_file_once(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    raw = {k: v for k, v in TINY.items() if k != "data"}
    (tmp_path / name).write_text(yaml.safe_dump(raw))
    line = one_error_line(invoke("validate", name), 2)
    assert line == f"gdlab: error: {name}: data: required key is missing"


def test_a_data_error_still_names_the_section_named_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = copy.deepcopy(TINY)
    raw["model"][0] = {"Linear": [3, 8]}  # moons has 2 features
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(raw))
    line = one_error_line(invoke("validate", "model.yaml"), 2)
    assert line.startswith("gdlab: error: model.yaml: model[0]: Linear expects in_features=3"), line
    assert line.count("model.yaml") == 1, line
