"""After Ctrl-C a sweep's interrupted variants are partial results and rank above the diverged ones: in the
ranking, the over-seeds table and the best lines, which never name a diverged variant."""

from __future__ import annotations

import os

from rich.console import Console

from gdlab.cli.sweep_ranking import ranking_tables
from gdlab.sweep.rank import aggregate_over_seeds, rank_rows


def row(lr, status, best_val, steps, seed=0):
    return {"optimizer.lr": lr, "seed": seed, "status": status, "best_val_loss": best_val, "final_train_loss": 0.5,
            "diverged_at_step": steps if status == "diverged" else None, "steps": steps, "run_dir": f"lr={lr}_{seed}"}


def shown(rows, axes) -> str:
    console = Console(record=True, width=200, file=open(os.devnull, "w"))
    for table in ranking_tables(rows, axes):
        console.print(table)
    return console.export_text()


# What a sweep stopped by Ctrl-C wrote: lr=1 diverged at step 17 after a best val of 0.3054, lr=0.1 was cut short
CTRL_C = [row(1, "diverged", 0.3054, 17), row(300, "diverged", 13.69, 2), row(0.1, "interrupted", 0.1047, 118294)]


def test_with_none_completed_the_best_is_the_interrupted_one_said_to_be_partial():
    assert [r["optimizer.lr"] for r in rank_rows(CTRL_C)] == [0.1, 1, 300]
    text = shown(CTRL_C, ["optimizer.lr"])
    ranks = [line.split("│")[2].strip() for line in text.splitlines() if line.startswith("│")]
    assert ranks == ["0.1", "1", "300"]
    assert ("best so far (interrupted at step 118294, a partial run): optimizer.lr=0.1  (best_val_loss 0.1047)  "
            "lr=0.1_0") in text
    assert "best: " not in text


def test_a_completed_variant_is_best_over_a_better_partial_score():
    rows = [*CTRL_C, row(0.01, "completed", 0.2, 500)]
    assert [r["optimizer.lr"] for r in rank_rows(rows)] == [0.01, 0.1, 1, 300]
    text = shown(rows, ["optimizer.lr"])
    assert "best: optimizer.lr=0.01  (best_val_loss 0.2)" in text and "so far" not in text


def test_over_seeds_a_setting_cut_short_comes_before_one_that_diverged():
    rows = [row(1, "diverged", 0.3, 17, seed) for seed in (0, 1)] + [row(0.1, "interrupted", v, 900, seed)
                                                                     for seed, v in ((0, 0.12), (1, 0.1))]
    assert [(p.point["optimizer.lr"], p.mean) for p in aggregate_over_seeds(rows, ["optimizer.lr", "seed"])] == [
        (0.1, None), (1, None)]
    text = shown(rows, ["optimizer.lr", "seed"])
    over_seeds = [line.split("│")[1].strip() for line in text.splitlines() if "/2 " in line and "│" in line]
    assert over_seeds == ["0.1", "1"]
    assert "best over seeds" not in text  # no setting finished a seed: no mean to pick from
    assert "best so far (interrupted at step 900, a partial run): optimizer.lr=0.1, seed=1" in text


def test_interrupted_variants_without_a_score_rank_by_the_steps_they_trained():
    """Cut short before their first evaluation, they have no score: the one that trained furthest comes first
    (reversing that order passed every test)."""
    rows = [row(0.1, "interrupted", None, 30), row(0.3, "interrupted", None, 900), row(1, "interrupted", 0.5, 10)]
    assert [r["optimizer.lr"] for r in rank_rows(rows)] == [1, 0.3, 0.1]
