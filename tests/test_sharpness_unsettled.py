"""A sharpness measurement that runs out of train.sharpness_iters before power iteration settles is counted
(summary.json's sharpness_unsettled) and named in one note on stderr; a settled one is not."""

from __future__ import annotations

import csv
import json

import pytest
import torch
import yaml

from tests.helpers import invoke

# Linear regression y ~ w1 x1 + w2 x2 + b with MSELoss: the Hessian is 2/n A'A, A = [x1, x2, 1]. Columns
# orthogonal to each other and to the ones make it diagonal: diag(2 a^2, 2 b^2, 2) = diag(1.6, 0.5, 2).
A, B = 0.8 ** 0.5, 0.25 ** 0.5
ROWS = [(A, B, 1.0), (-A, B, 0.0), (A, -B, 2.0), (-A, -B, 1.0)]
TOP = 2.0


def write(tmp_path, iters: int):
    with open(tmp_path / "d.csv", "w", newline="") as f:
        csv.writer(f).writerows([("x1", "x2", "y"), *ROWS])
    cfg = {"name": "quad", "seed": 0,
           "data": {"name": "csv", "path": "d.csv", "target": "y", "val_fraction": 0, "standardize": False},
           "model": [{"Linear": [2, 1]}], "loss": "MSELoss", "optimizer": {"name": "GD", "lr": 0.1},
           "train": {"epochs": 3, "device": "cpu", "dtype": "float64", "sharpness_every": 1, "sharpness_iters": iters}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path / "c.yaml"


def logged(run_dir) -> list[float]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return [float(r["sharpness"]) for r in csv.DictReader(f) if r["sharpness"]]


def test_the_constructed_hessian_is_what_the_settled_measurement_finds(tmp_path):
    x = torch.tensor([r[:2] for r in ROWS], dtype=torch.float64)
    ones = torch.cat([x, torch.ones(4, 1, dtype=torch.float64)], 1)
    assert torch.linalg.eigvalsh(2 / 4 * ones.T @ ones).tolist() == pytest.approx([0.5, 1.6, TOP])
    result = invoke("train", write(tmp_path, 200), "--run-dir", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.stderr
    values = logged(tmp_path / "r")
    assert len(values) == 3 and values == pytest.approx([TOP] * 3, rel=1e-3)
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["sharpness_unsettled"] == 0
    assert "sharpness" not in result.stderr


def test_a_run_whose_measurements_hit_the_budget_counts_them_and_says_so(tmp_path):
    result = invoke("train", write(tmp_path, 3), "--run-dir", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.stderr
    values = logged(tmp_path / "r")
    assert len(values) == 3 and all(v < TOP * 0.99 for v in values)  # the premise: 3 iterations are too few
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["sharpness_unsettled"] == 3
    assert result.stderr.splitlines() == [
        "gdlab: note: 3 sharpness measurements ran out of train.sharpness_iters (3) before settling and may be too "
        "low (sharpness_unsettled in summary.json); a larger train.sharpness_iters lets them settle"]


def test_a_run_without_sharpness_has_no_count(tmp_path):
    result = invoke("train", write(tmp_path, 3), "train.sharpness_every=null", "--run-dir", tmp_path / "r", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["sharpness_unsettled"] is None


def test_a_sweep_counts_each_variant_with_its_initial_sharpness(tmp_path):
    result = invoke("sweep", write(tmp_path, 3), "train.sharpness_iters=3,200", "--sharpness",
                    "--run-dir", tmp_path / "s", "--quiet")
    assert result.exit_code == 0, result.stderr
    short, enough = sorted((tmp_path / "s").glob("00*"))
    counts = [json.loads((d / "summary.json").read_text())["sharpness_unsettled"] for d in (short, enough)]
    assert counts == [4, 0]  # 3 logged and the initial one
    import pandas as pd

    assert pd.read_csv(tmp_path / "s" / "sweep.csv")["sharpness_unsettled"].tolist() == counts  # beside init_sharpness
    notes = [ln for ln in result.stderr.splitlines() if "sharpness" in ln]
    assert notes == ["gdlab: note: 4 sharpness measurements in 1 of 2 variants ran out of train.sharpness_iters "
                     "before settling and may be too low (sharpness_unsettled in summary.json); a larger "
                     "train.sharpness_iters lets them settle"]


def test_a_negative_eigenvalue_that_leaves_the_shifted_pass_short_is_flagged_and_a_settled_one_is_not():
    """Eigenvalues [-100, 1, 0.5]: the first pass settles on -100, and the shifted one (ratio 100.5/101)
    gives 0.86 after 50 iterations, not 1. Each model's flag is its own in a group."""
    from gdlab.lab.sharpness import measure_top_eigenvalue

    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    hessian = q @ torch.diag(torch.tensor([-100.0, 1.0, 0.5], dtype=torch.float64)) @ q.T
    plain = torch.diag(torch.tensor([4.0, 1.0, 0.5], dtype=torch.float64))
    H = torch.stack([hessian, plain])
    loss = lambda f: 0.5 * torch.einsum("kp,kpq,kq->k", f, H, f)  # noqa: E731  (model k's Hessian is H[k])
    value, _, settled = measure_top_eigenvalue(loss, torch.zeros(2, 3, dtype=torch.float64), iters=50, tol=1e-3)
    assert value[0].item() < 0.9 and value[1].item() == pytest.approx(4.0, rel=1e-3)
    assert settled.tolist() == [False, True]
    value, _, settled = measure_top_eigenvalue(loss, torch.zeros(2, 3, dtype=torch.float64), iters=2000, tol=1e-3)
    # settled by the shifted pass's own test, a residual under 1e-3 * (lam + rho): near 1, not within 1e-3 of it
    assert value[0].item() == pytest.approx(1.0, rel=0.05) and settled.tolist() == [True, True]


def test_the_count_goes_on_across_a_checkpoint(tmp_path):
    """Stopped after 2 of 3 steps and resumed from the trainer's state: the count is an uninterrupted run's."""
    from gdlab.data import load_data
    from gdlab.engine.loop import GroupTrainer
    from gdlab.engine.state import restore_trainer, trainer_state
    from gdlab.loading import load_config

    cfg = load_config(write(tmp_path, 3), [])
    data = load_data(cfg, torch.float64)
    first = GroupTrainer([cfg], [data], torch.device("cpu"))
    list(first.run(should_stop=lambda: first.step >= 2))
    assert (first.step, first.sharpness_unsettled) == (2, [2])
    second = GroupTrainer([cfg], [data], torch.device("cpu"))
    restore_trainer(second, trainer_state(first))
    list(second.run())
    assert (second.step, second.sharpness_unsettled) == (3, [3])


@pytest.mark.parametrize("iters, code", [(200, 0), (3, 1)])
def test_an_init_sharpness_bar_makes_the_count_a_bar_too(tmp_path, iters, code):
    """Only the initial sharpness is measured (no sharpness_every): its count can be barred, and is 1 when it
    did not settle; the bar was refused as 'the run records no sharpness'."""
    result = invoke("train", write(tmp_path, iters), "train.sharpness_every=null", "--run-dir", tmp_path / "r", "-q",
                    "--expect", "init_sharpness>0", "--expect", "sharpness_unsettled==0")
    assert result.exit_code == code, result.stderr
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["sharpness_unsettled"] == (0 if code == 0 else 1)


def test_one_unsettled_measurement_is_named_in_the_singular(capsys):
    from gdlab.cli.run_notes import note_unsettled_sharpness

    note_unsettled_sharpness([{"sharpness_unsettled": 1}], 5)
    assert capsys.readouterr().err == (
        "gdlab: note: 1 sharpness measurement ran out of train.sharpness_iters (5) before settling and may be too low "
        "(sharpness_unsettled in summary.json); a larger train.sharpness_iters lets it settle\n")
