"""`gdlab sweep --expect-each`: bars every variant (each seed's run) must meet, exit 1 naming the variants that
missed, exit 2 before anything runs for a bar a variant could not report. Values are read back from the
variants' own summaries."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from tests.helpers import TINY, invoke, one_error_line


def config(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**TINY, "train": {**TINY["train"], "epochs": 3}}))
    return path


def variants(sweep):
    """sweep.csv's rows, with each variant's summary.json read back beside them."""
    with open(sweep / "sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [(r, json.loads((sweep / r["run_dir"] / "summary.json").read_text())) for r in rows]


def test_every_variant_and_seed_is_judged_and_the_worst_one_is_named(tmp_path):
    cfg = config(tmp_path)
    first = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "seed=0,1", "--run-dir", tmp_path / "a", "-q")
    assert first.exit_code == 0, first.stderr
    runs = variants(tmp_path / "a")
    worst_row, worst = max(runs, key=lambda rs: rs[1]["final_val_loss"])
    top = worst["final_val_loss"]
    met = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "seed=0,1", "--run-dir", tmp_path / "b", "-q",
                 "--expect-each", f"final_val_loss<={top}", "--expect", f"final_val_loss<={top}")
    assert met.exit_code == 0 and "expectation" not in met.stderr, met.stderr
    # the best setting meets a bar only the worst seed misses: --expect passes, --expect-each does not
    missed = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "seed=0,1", "--run-dir", tmp_path / "c", "-q",
                    "--expect-each", f"final_val_loss<{top}", "--expect", f"final_val_loss<{top}")
    assert missed.exit_code == 1
    lines = [ln for ln in missed.stderr.splitlines() if ln.startswith("gdlab: expectation failed")]
    assert lines == [f"gdlab: expectation failed: expected final_val_loss<{top} of every variant, but 1 of 4 missed: "
                     f"{worst_row['run_dir']} (final_val_loss={top:.6g})"]


def test_diverged_variants_miss_and_a_long_list_names_the_first_few_and_counts_the_rest(tmp_path):
    result = invoke("sweep", config(tmp_path), "optimizer.lr=0.01,1e6,2e6,3e6,4e6", "--run-dir", tmp_path / "s",
                    "-q", "--expect-each", "final_train_loss<1e9")
    runs = variants(tmp_path / "s")
    diverged = [(r["run_dir"], s["diverged_at_step"]) for r, s in runs if s["status"] == "diverged"]
    assert len(diverged) == 4 and all(s["final_train_loss"] < 1e9 for _, s in runs)  # finite, yet no result
    assert result.exit_code == 1
    named = ", ".join(f"{d} (diverged at step {step})" for d, step in diverged[:3])
    assert (f"gdlab: expectation failed: expected final_train_loss<1e9 of every variant, but 4 of 5 missed: "
            f"{named} and 1 more\n") in result.stderr


@pytest.mark.parametrize("bar, parts", [
    ("bogus<1", ["--expect-each 'bogus<1': unknown name 'bogus'"]),
    ("init_sharpness<10", ["--expect-each 'init_sharpness<10': a sweep measures init_sharpness only with --sharpness"]),
    ("final_val_loss<", ["--expect-each 'final_val_loss<': write NAME OP NUMBER"]),
])
def test_a_bar_no_variant_could_report_is_refused_before_anything_runs(tmp_path, bar, parts):
    cfg = config(tmp_path)
    for dry in ([], ["--dry-run"]):
        result = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "--run-dir", tmp_path / "s", "--expect-each", bar, *dry)
        one_error_line(result, 2, *parts)
        assert not (tmp_path / "s").exists()


def test_a_resume_judges_every_variant_and_refuses_a_bar_first(tmp_path):
    cfg = config(tmp_path)
    first = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "--run-dir", tmp_path / "s", "-q")
    assert first.exit_code == 0, first.stderr
    before = {r["run_dir"]: s for r, s in variants(tmp_path / "s")}
    refused = invoke("sweep", "--resume", tmp_path / "s", "--expect-each", "val_accuracy>2", "--expect-each", "bogus<1")
    one_error_line(refused, 2, "--expect-each 'bogus<1': unknown name 'bogus'")
    dry = invoke("sweep", "--resume", tmp_path / "s", "--dry-run", "--expect-each", "steps>3")
    assert dry.exit_code == 0 and "expectation" not in dry.stderr, dry.stderr  # nothing is judged, nothing runs
    resumed = invoke("sweep", "--resume", tmp_path / "s", "-q", "--expect-each", "steps>3")
    assert {r["run_dir"]: s for r, s in variants(tmp_path / "s")} == before  # nothing was rerun
    assert resumed.exit_code == 1
    assert "expected steps>3 of every variant, but 2 of 2 missed: 000_lr=0.01 (steps=3), 001_lr=0.3 (steps=3)" \
        in resumed.stderr
