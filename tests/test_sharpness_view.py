"""Sharpness on the terminal: `gdlab train`'s summary gives the last sharpness measured and the edge its lr
sets, and `gdlab sweep --sharpness` ranks variants beside their init sharpness and predicted edge lr, each
checked against metrics.csv / sweep.csv and the optimizers' closed-form edges."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
import yaml

from tests.helpers import invoke

LINEAR = {  # least squares: its Hessian is constant, so the edge is exact
    "name": "lin", "seed": 0, "data": {"name": "linear", "n_samples": 64, "val_fraction": 0.25},
    "model": [{"Linear": [1, 1]}], "loss": "MSELoss", "optimizer": {"name": "GD", "lr": 0.3},
    "train": {"steps": 12, "device": "cpu", "sharpness_every": 5},
}


def write(tmp_path, raw) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def table_value(stdout: str, key: str) -> str:
    """The value of a summary row: its key is followed by at least two spaces of padding (one ends `sharpness edge`'s first word)."""
    (line,) = [ln for ln in stdout.splitlines() if ln.startswith(key + "  ")]
    return line[len(key):].strip()


@pytest.mark.parametrize("lr, side", [(0.3, "below"), (1.2, "above")])
def test_train_ends_with_the_last_sharpness_and_the_edge_of_its_lr(tmp_path, lr, side):
    raw = json.loads(json.dumps(LINEAR))
    raw["optimizer"]["lr"] = lr
    raw["train"]["diverge_factor"] = None  # lr 1.2 grows the loss; the row is about what it measured
    result = invoke("train", write(tmp_path, raw), "--run-dir", tmp_path / "r")
    assert result.exit_code in (0, 3), result.stderr
    with open(tmp_path / "r" / "metrics.csv", newline="") as f:
        last = [r for r in csv.DictReader(f) if r["sharpness"] and float(r["sharpness"]) == float(r["sharpness"])][-1]
    assert table_value(result.stdout, "sharpness") == f"{float(last['sharpness']):.4g} (step {last['step']})"
    assert table_value(result.stdout, "sharpness edge") == f"{2 / lr:.4g} = 2 / lr (the sharpness is {side} it)"


def test_train_without_sharpness_or_with_adam_shows_no_edge(tmp_path):
    raw = json.loads(json.dumps(LINEAR))
    raw["train"]["sharpness_every"] = None
    out = invoke("train", write(tmp_path, raw), "--run-dir", tmp_path / "a").stdout
    assert not [ln for ln in out.splitlines() if ln.startswith(("sharpness ", "sharpness edge "))]
    raw = json.loads(json.dumps(LINEAR)) | {"optimizer": {"name": "Adam", "lr": 0.01}}
    out = invoke("train", write(tmp_path, raw), "--run-dir", tmp_path / "b").stdout
    assert table_value(out, "sharpness") and "sharpness edge" not in out  # Adam rescales each weight's step: no such edge


def sharpness_sweep(tmp_path, optimizer: dict, axis: str):
    """A --sharpness sweep of LINEAR over `axis`, its last two table columns checked to be init_sharpness and
    stability_edge: sweep.csv indexed by the axis, and a function giving those two cells of a value's row."""
    raw = json.loads(json.dumps(LINEAR)) | {"optimizer": optimizer}
    raw["train"]["sharpness_every"] = None
    result = invoke("sweep", write(tmp_path, raw), axis, "--sharpness", "--run-dir", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(tmp_path / "s" / "sweep.csv").set_index(axis.split("=")[0])
    header = next(ln for ln in result.stdout.splitlines() if "init_sharpness" in ln)
    assert header.split("┃")[-3:-1] == [" init_sharpness ", " stability_edge "]

    def cells(value) -> list[str]:
        (row,) = [ln for ln in result.stdout.splitlines() if f"│ {value} " in ln]
        return [c.strip() for c in row.split("│")[1:-1]][-2:]

    return table, cells


def test_a_sharpness_sweep_ranks_variants_beside_their_init_sharpness_and_edge_lr(tmp_path):
    table, cells = sharpness_sweep(tmp_path, {"name": "SGD", "lr": 0.1, "momentum": 0.5}, "optimizer.name=GD,SGD,Adam")
    expected = {"GD": 2 / table.loc["GD", "init_sharpness"],  # 2/λ, and heavy ball's 2(1+β)/λ
                "SGD": 2 * 1.5 / table.loc["SGD", "init_sharpness"], "Adam": None}
    for name, edge in expected.items():
        assert cells(name) == [f"{table.loc[name, 'init_sharpness']:.4g}", "-" if edge is None else f"{edge:.4g}"]
    assert "stability_edge" not in table.columns  # display only


def test_an_adam_only_sharpness_sweep_shows_the_edge_column_as_dashes(tmp_path):
    """The README says `-` for Adam; a sweep of Adam variants alone left the stability_edge column out."""
    table, cells = sharpness_sweep(tmp_path, {"name": "Adam", "lr": 0.01}, "optimizer.lr=0.01,0.1")
    for lr in (0.01, 0.1):
        assert cells(lr) == [f"{table.loc[lr, 'init_sharpness']:.4g}", "-"]
