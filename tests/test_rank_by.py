"""`gdlab sweep --rank-by`: rank by any score sweep.csv holds, an accuracy highest first; kept in sweep.yaml
so --resume (which can re-rank a finished sweep) and the plot's star follow it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from gdlab.sweep.rank import aggregate_over_seeds, best_over_seeds, rank_rows
from tests.helpers import invoke, one_error_line
from tests.test_sweep import write_config


def row(lr, seed, acc, loss, status="completed"):
    return {"optimizer.lr": lr, "seed": seed, "status": status, "final_val_accuracy": acc, "best_val_loss": loss,
            "final_train_loss": loss, "diverged_at_step": None, "steps": 10, "run_dir": f"{lr}_{seed}"}


def test_an_accuracy_ranks_highest_first_and_a_loss_lowest_first():
    rows = [row(0.1, 0, 0.80, 0.30), row(0.2, 0, 0.95, 0.40), row(0.3, 0, 0.90, 0.20), row(0.4, 0, None, None, "diverged")]
    by_acc = [r["optimizer.lr"] for r in rank_rows(rows, "final_val_accuracy")]
    by_loss = [r["optimizer.lr"] for r in rank_rows(rows)]
    assert by_acc == [0.2, 0.3, 0.1, 0.4] and by_loss == [0.3, 0.1, 0.2, 0.4]
    seeds = rows[:3] + [row(0.1, 1, 0.84, 0.3), row(0.2, 1, 0.75, 0.4), row(0.3, 1, 0.92, 0.2)]
    points = aggregate_over_seeds(seeds, ["optimizer.lr", "seed"], "final_val_accuracy")
    assert [p.point["optimizer.lr"] for p in points] == [0.3, 0.2, 0.1]  # means 0.91, 0.85, 0.82
    assert best_over_seeds([(1, 0.5, 2, 2), (2, 0.9, 2, 2), (3, 0.99, 1, 2)], higher=True) == 2


def test_sweep_rank_by_is_kept_for_resume_which_can_rerank_and_the_plots_star_follows_it(tmp_path):
    cfg = write_config(tmp_path, **{"train.epochs": 8})
    out = tmp_path / "sw"
    ran = invoke("sweep", cfg, "optimizer.lr=0.05,0.3", "--rank-by", "final_val_accuracy", "--run-dir", out)
    assert ran.exit_code == 0, ran.output
    table = pd.read_csv(out / "sweep.csv")
    assert "ranking by final_val_accuracy (higher is better)" in ran.stdout
    best_acc = table.loc[table.final_val_accuracy.idxmax()]
    assert best_acc["optimizer.lr"] != table.loc[table.best_val_loss.idxmin(), "optimizer.lr"]  # the two disagree
    assert f"best: optimizer.lr={best_acc['optimizer.lr']:g}" in ran.stdout
    assert yaml.safe_load((out / "sweep.yaml").read_text())["options"]["rank_by"] == "final_val_accuracy"

    again = invoke("sweep", "--resume", out)  # nothing to rerun: the stored ranking, printed again
    assert again.exit_code == 0 and "ranking by final_val_accuracy" in again.stdout
    rerank = invoke("sweep", "--resume", out, "--rank-by", "final_train_loss")
    best_loss = table.loc[table.final_train_loss.idxmin()]
    assert "ranking by final_train_loss (lower is better)" in rerank.stdout
    assert f"best: optimizer.lr={best_loss['optimizer.lr']:g}" in rerank.stdout

    from gdlab.plotting.load import load_sweep
    from gdlab.plotting.sweep_plot import plot_sweep

    def star_at() -> float:
        fig = plot_sweep(load_sweep(out, []), [])
        return next(ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "best:None").get_xdata()[0]

    (out / "sweep.yaml").write_text((out / "sweep.yaml").read_text().replace("rank_by: final_train_loss",
                                                                              "rank_by: final_val_accuracy"))
    assert star_at() == pytest.approx(best_acc["optimizer.lr"])  # the star follows the sweep's --rank-by
    rerank = invoke("sweep", "--resume", out, "--rank-by", "final_train_loss")
    assert rerank.exit_code == 0 and star_at() == pytest.approx(best_loss["optimizer.lr"])  # and a re-rank sticks
    assert "ranking by final_train_loss" in invoke("sweep", "--resume", out).stdout


def test_an_unknown_rank_by_is_one_line_before_any_folder(tmp_path):
    cfg = write_config(tmp_path)
    result = invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--rank-by", "val_acc", "--runs", tmp_path / "runs")
    one_error_line(result, 2, "--rank-by: 'val_acc' is not one of best_val_loss, final_val_loss, final_train_loss, "
                              "final_val_accuracy")
    assert not (tmp_path / "runs").exists()


def test_ranking_a_regression_sweep_by_accuracy_is_refused_before_it_runs(tmp_path):
    """It ran, then ranked every variant by a column that was empty for all of them."""
    cfg = tmp_path / "sine.yaml"
    cfg.write_text((Path(__file__).resolve().parents[1] / "configs" / "sine.yaml").read_text())
    result = invoke("sweep", cfg, "optimizer.lr=0.01,0.1", "--rank-by", "final_val_accuracy", "--runs", tmp_path / "runs")
    one_error_line(result, 2, "--rank-by final_val_accuracy: this sweep has regression variants")
    assert not (tmp_path / "runs").exists()


def test_ranking_by_a_validation_score_without_validation_rows_is_refused_before_it_runs(tmp_path):
    """It ran, then ranked every variant by a column that was empty for all of them ('-'), named a best
    '(final_val_loss -)' and gave no best over seeds; --resume took the same --rank-by, and stored it."""
    cfg = write_config(tmp_path, **{"data.val_fraction": 0, "train.epochs": 2})
    for metric in ("best_val_loss", "final_val_loss", "final_val_accuracy"):
        result = invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--rank-by", metric, "--runs", tmp_path / "runs")
        one_error_line(result, 2, f"--rank-by {metric}: no variant of this sweep has validation rows",
                       "rank by final_train_loss")
    assert not (tmp_path / "runs").exists()
    ran = invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--run-dir", tmp_path / "sw")
    assert ran.exit_code == 0 and "ranking by final_train_loss" in ran.stdout
    one_error_line(invoke("sweep", "--resume", tmp_path / "sw", "--rank-by", "final_val_loss"), 2,
                   "--rank-by final_val_loss: no variant of this sweep has validation rows")
    assert "rank_by: null" in (tmp_path / "sw" / "sweep.yaml").read_text()
    mixed = invoke("sweep", cfg, "data.val_fraction=0,0.25", "--rank-by", "final_val_loss", "--run-dir", tmp_path / "mix")
    assert mixed.exit_code == 0, mixed.output  # a val_fraction axis: those with validation rows rank first


@pytest.mark.parametrize("val_fraction, title", [(0.25, "best_val_loss"), (0.0, "final_train_loss")])
def test_a_sweep_whose_variants_all_diverge_before_an_evaluation_ranks_by_what_its_config_calls_for(
        tmp_path, val_fraction, title):
    """No row holds a validation value, yet the default is best_val_loss wherever there is a validation split:
    the table said final_train_loss, a score --rank-by's default never is for such a config."""
    cfg = write_config(tmp_path, **{"optimizer.lr": 1e4, "train.diverge_factor": 2, "train.eval_every": 5,
                                    "data.val_fraction": val_fraction})
    out = tmp_path / "sw"
    ran = invoke("sweep", cfg, "optimizer.lr=1e4,2e4", "--run-dir", out)
    assert set(pd.read_csv(out / "sweep.csv").status) == {"diverged"}
    assert f"ranking by {title} (lower is better)" in ran.stdout
    resumed = invoke("sweep", "--resume", out)  # nothing to rerun: the stored sweep is ranked alike
    assert resumed.exit_code == 0 and f"ranking by {title} (lower is better)" in resumed.stdout
