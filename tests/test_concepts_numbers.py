"""The numbers docs/concepts.md and README's edge-of-stability paragraph quote from runs that test_docs.py runs
but does not read: each is taken from the text and compared with what the command writes today, so a change
to the engine that moves them fails here instead of leaving the walkthrough quoting another run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import invoke

ROOT = Path(__file__).resolve().parents[1]
CONCEPTS = " ".join((ROOT / "docs" / "concepts.md").read_text(encoding="utf-8").split())
README = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
SINE = ROOT / "configs" / "sine.yaml"


def quoted(pattern: str, text: str = CONCEPTS) -> list[float]:
    found = re.search(pattern, text)
    assert found, f"the docs no longer say {pattern!r}; update this test with them"
    return [float(g) for g in found.groups()]


def train_loss(tmp_path: Path, name: str, *overrides: str) -> pd.Series:
    result = invoke("train", SINE, *overrides, "--run-dir", tmp_path / name, "-q")
    assert result.exit_code == 0, result.output
    return pd.read_csv(tmp_path / name / "metrics.csv").set_index("step")["train_loss"]


def test_the_sine_runs_of_learning_is_optimization(tmp_path):
    start, end = quoted(r"The training loss falls from about ([\d.]+) to about ([\d.]+), close to the noise floor")
    low, high, peak_step, back_step = quoted(r"the loss climbs twentyfold, from ([\d.]+) to ([\d.]+) at step (\d+), "
                                             r"and is back to [\d.]+ by step (\d+)")
    halved_end = quoted(r"falls at every one of the 300 steps, more slowly \(([\d.]+) at the end\)")[0]
    loss = train_loss(tmp_path, "lr0.1", "train.steps=300")
    assert (round(loss[1]), round(loss[300], 3)) == (start, end)
    assert loss.loc[150:300].idxmax() == peak_step and round(loss[peak_step], 2) == high
    assert round(loss[160], 2) == low and round(loss[back_step], 2) == low and high / low >= 20
    halved = train_loss(tmp_path, "lr0.05", "train.steps=300", "optimizer.lr=0.05")
    assert (halved.diff().dropna() < 0).all() and round(halved[300], 3) == halved_end


def test_just_past_the_quadratics_edge_the_loss_climbs_slowly_and_is_named_in_a_note(tmp_path):
    first, last = quoted(r"in 100 steps the loss climbs only from ([\d.]+) to (\d+), below that threshold")
    result = invoke("sweep", SINE, "data.name=linear", "model=[{Linear: [1, 1]}]", "optimizer.lr=0.3,0.95,1.5",
                    "train.steps=100", "--run-dir", tmp_path / "sweep", "-q")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "sweep" / "sweep.csv").set_index("optimizer.lr")
    assert table["status"].to_dict() == {0.3: "completed", 0.95: "completed", 1.5: "diverged"}
    loss = pd.read_csv(tmp_path / "sweep" / table.loc[0.95, "run_dir"] / "metrics.csv")["train_loss"]
    assert (round(loss.iloc[0], 2), round(loss.iloc[-1])) == (first, last)
    assert f"{table.loc[0.95, 'run_dir']}: {loss.iloc[0]:.4g} -> {loss.iloc[-1]:.4g}" in result.stderr


def test_accumulating_four_micro_batches_ends_at_the_full_batchs_loss(tmp_path):
    final = quoted(r"`gdlab runs` lists both with the same final training loss \(([\d.]+)\)")[0]
    losses = {}
    for name, extra in (("full", ()), ("accumulate", ("train.accumulate=4",))):
        assert invoke("train", SINE, "train.steps=50", *extra, "--run-dir", tmp_path / name, "-q").exit_code == 0
        losses[name] = json.loads((tmp_path / name / "summary.json").read_text())["final_train_loss"]
    listed = invoke("runs", tmp_path)
    assert listed.exit_code == 0 and listed.stdout.count(f" {final} ") == 2, listed.stdout
    assert losses["full"] == pytest.approx(losses["accumulate"], rel=1e-5)


def test_the_full_edge_of_stability_run(tmp_path):
    """concepts.md: 33.2 over the second half, the loss from A to B, rising on N of the 3000 steps; README: it
    crosses 2/lr around step 600, overshoots to about 35 (step 750), loss spikes near steps 990 and 1180."""
    settle, first, last, rises = quoted(r"settles at ([\d.]+) for its second half, with the loss going from ([\d.]+) "
                                        r"to ([\d.]+) and rising on (\d+) of its 3000 steps")
    cross, top, top_step, spike1, spike2 = quoted(
        r"crosses 2/lr around step (\d+) and overshoots to about (\d+) \(step (\d+), with a loss spike\), then swings "
        r"back and forth across 2/lr a few times, each swing smaller, with smaller loss spikes near steps (\d+) and (\d+)",
        README)
    result = invoke("train", ROOT / "configs" / "edge_of_stability.yaml", "--run-dir", tmp_path / "run", "-q")
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv").set_index("step")
    sharpness, loss, edge = metrics["sharpness"].dropna(), metrics["train_loss"], 2 / 0.06
    assert round(sharpness.loc[1501:2951].mean(), 1) == settle  # the grid's second half (step 3000 is the other phase)
    assert (round(loss[1], 2), round(loss[3000], 4), int((loss.diff() > 0).sum())) == (first, last, rises)
    above = sharpness[sharpness > edge].index
    assert abs(above[0] - cross) <= 50 and sharpness.idxmax() == top_step + 1 and round(sharpness.max()) == top
    assert abs(loss.loc[900:1100].idxmax() - spike1) <= 10 and abs(loss.loc[1100:1300].idxmax() - spike2) <= 10
