"""`gdlab sweep --expect`: bars judged on the sweep's best setting (the ranking's first completed variant, or
the mean over seeds of the setting ranked first), exit 1 when missed, exit 2 before anything runs for a bar no
variant could report. The numbers are read back from the variants' own files."""

from __future__ import annotations

import csv
import json
import statistics

import pytest
import yaml

from tests.helpers import TINY, invoke, one_error_line


def config(tmp_path, **train):
    raw = {**TINY, "train": {**TINY["train"], "epochs": 3, **train}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def summary(folder):
    return json.loads((folder / "summary.json").read_text())


def best_by_val_loss(sweep):
    """The variant folder sweep.csv ranks first (best_val_loss, lower is better), found without gdlab's ranking."""
    with open(sweep / "sweep.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "completed"]
    return sweep / min(rows, key=lambda r: float(r["best_val_loss"]))["run_dir"]


def test_a_bar_on_the_best_variant_passes_or_fails_at_its_value(tmp_path):
    cfg = config(tmp_path)
    first = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "--run-dir", tmp_path / "a", "-q")
    assert first.exit_code == 0, first.stderr
    best = best_by_val_loss(tmp_path / "a")
    value = summary(best)["final_val_loss"]
    met = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "--run-dir", tmp_path / "b", "-q",
                 "--expect", f"final_val_loss<={value}")
    assert met.exit_code == 0 and "expectation" not in met.stderr, met.stderr
    missed = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "--run-dir", tmp_path / "c", "-q",
                    "--expect", f"final_val_loss<{value}")
    assert missed.exit_code == 1
    assert (f"gdlab: expectation failed: expected final_val_loss<{value}, got final_val_loss={value:.6g} "
            f"(at the bound, which < excludes) for the best variant ({best.name})") in missed.stderr


def test_a_metrics_column_bar_reads_the_best_variants_last_row(tmp_path):
    cfg = config(tmp_path)
    result = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "--run-dir", tmp_path / "s", "-q",
                    "--expect", "val_accuracy>1")  # never met: the message carries the value
    assert result.exit_code == 1
    best = best_by_val_loss(tmp_path / "s")
    with open(best / "metrics.csv", newline="") as f:
        last = [r["val_accuracy"] for r in csv.DictReader(f) if r["val_accuracy"]][-1]
    assert f"got val_accuracy={float(last):.6g} (short by" in result.stderr and best.name in result.stderr


def test_with_seeds_the_bar_meets_the_mean_over_the_best_settings_seeds(tmp_path):
    result = invoke("sweep", config(tmp_path), "optimizer.lr=0.01,0.3", "seed=0,1", "--run-dir", tmp_path / "s",
                    "-q", "--expect", "final_train_loss<0")
    assert result.exit_code == 1
    with open(tmp_path / "s" / "sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    means = {lr: statistics.fmean(float(r["best_val_loss"]) for r in rows if r["optimizer.lr"] == lr)
             for lr in ("0.01", "0.3")}
    lr = min(means, key=means.get)
    train = statistics.fmean(summary(tmp_path / "s" / r["run_dir"])["final_train_loss"]
                             for r in rows if r["optimizer.lr"] == lr)
    assert (f"got final_train_loss={train:.6g} (over by {train:.3g}) for the best setting "
            f"(optimizer.lr={float(lr):g}, mean over 2 seeds)") in result.stderr


def test_a_sweep_whose_every_variant_diverged_misses_every_bar(tmp_path):
    cfg = config(tmp_path)
    plain = invoke("sweep", cfg, "optimizer.lr=1e6,2e6", "--run-dir", tmp_path / "a", "-q")
    assert plain.exit_code == 0  # diverged is a result ...
    barred = invoke("sweep", cfg, "optimizer.lr=1e6,2e6", "--run-dir", tmp_path / "b", "-q",
                    "--expect", "final_train_loss<1")
    assert barred.exit_code == 1  # ... but not one that meets a bar
    assert ("gdlab: expectation failed: expected final_train_loss<1, but no variant of the sweep completed "
            "(diverged 2)") in barred.stderr


@pytest.mark.parametrize("bar, extra, parts", [
    ("bogus<1", [], ["--expect 'bogus<1': unknown name 'bogus'"]),
    ("init_sharpness<10", [], ["a sweep measures init_sharpness only with --sharpness"]),
    ("sharpness<10", [], ["the run records no sharpness; set train.sharpness_every"]),
    ("sharpness_unsettled<=0", [], ["the run records no sharpness"]),
    ("val_accuracy>0.5", ["data.val_fraction=0"], ["data.val_fraction is 0"]),
    ("final_val_loss<", [], ["write NAME OP NUMBER"]),
])
@pytest.mark.parametrize("dry", [False, True])
def test_a_bar_no_variant_could_report_is_refused_before_anything_runs(tmp_path, bar, extra, parts, dry):
    result = invoke("sweep", config(tmp_path), "optimizer.lr=0.01,0.3", *extra, "--run-dir", tmp_path / "s",
                    "--expect", bar, *(["--dry-run"] if dry else []))
    one_error_line(result, 2, *parts)
    assert not (tmp_path / "s").exists()


def test_init_sharpness_bars_with_sharpness_are_judged(tmp_path):
    result = invoke("sweep", config(tmp_path), "optimizer.lr=0.01,0.3", "--run-dir", tmp_path / "s", "-q",
                    "--sharpness", "--expect", "init_sharpness<0", "--expect", "sharpness_unsettled>0")
    assert result.exit_code == 1
    best = summary(best_by_val_loss(tmp_path / "s"))
    assert f"got init_sharpness={best['init_sharpness']:.6g}" in result.stderr
    assert f"got sharpness_unsettled={best['sharpness_unsettled']:.6g}" in result.stderr  # --sharpness counts it


def test_a_resume_judges_its_bars_over_every_variant(tmp_path):
    cfg = config(tmp_path)
    first = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "--run-dir", tmp_path / "s", "-q")
    assert first.exit_code == 0, first.stderr
    best = best_by_val_loss(tmp_path / "s")
    other = next(p for p in (tmp_path / "s").iterdir() if p.is_dir() and p != best)
    (other / "summary.json").unlink()  # the other variant reruns; the best one stays as it was
    value = summary(best)["final_val_loss"]
    resumed = invoke("sweep", "--resume", tmp_path / "s", "-q", "--expect", f"final_val_loss<{value}")
    assert resumed.exit_code == 1 and f"for the best variant ({best.name})" in resumed.stderr, resumed.stderr
    refused = invoke("sweep", "--resume", tmp_path / "s", "--expect", "bogus<1")
    one_error_line(refused, 2, "unknown name 'bogus'")


SEED_SENSITIVE = ("name: edge\ndata: {name: moons, n_samples: 80, noise: 0.1, val_fraction: 0.25}\n"
                  "model: [{Linear: [2, 8]}, Tanh, {Linear: [8, 2]}]\nloss: CrossEntropyLoss\n"
                  "optimizer: {name: SGD, lr: 5}\ntrain: {steps: 20, diverge_factor: 6, device: cpu}\n")


def test_a_seed_that_diverged_fails_the_bar_of_its_setting(tmp_path):
    """At lr 5 seed 1 diverges at step 5 and seed 2 completes; the diverged one's summary keeps its last
    evaluation's val loss, a finite number that met the bar, so one lucky seed passed for the setting."""
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(SEED_SENSITIVE)
    result = invoke("sweep", cfg, "seed=1,2", "--run-dir", tmp_path / "s", "-q", "--expect", "final_val_loss<100")
    with open(tmp_path / "s" / "sweep.csv", newline="") as f:
        rows = {r["seed"]: r for r in csv.DictReader(f)}
    assert [rows["1"]["status"], rows["2"]["status"]] == ["diverged", "completed"]  # the premise
    assert summary(tmp_path / "s" / rows["1"]["run_dir"])["final_val_loss"] < 100
    assert result.exit_code == 1
    assert ("gdlab: expectation failed: expected final_val_loss<100, but only 1 of 2 seeds of the best setting "
            "(base, mean over 2 seeds) completed with a finite final_val_loss (diverged 1)") in result.stderr


def test_an_axis_that_changes_the_problem_has_each_of_its_values_best_judged(tmp_path):
    """A bar was judged on the one best variant, the easiest problem's: the other noise level's best could miss it
    unseen. Each noise level's best (by best_val_loss, read back from sweep.csv) now meets it or fails."""
    cfg = config(tmp_path)
    first = invoke("sweep", cfg, "optimizer.lr=0.01,0.3", "data.noise=0.05,0.5", "--run-dir", tmp_path / "a", "-q")
    assert first.exit_code == 0, first.stderr
    with open(tmp_path / "a" / "sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    best = {noise: min((r for r in rows if r["data.noise"] == noise), key=lambda r: float(r["best_val_loss"]))
            for noise in ("0.05", "0.5")}
    better, worse = sorted(best.values(), key=lambda r: float(r["best_val_loss"]))
    low, high = float(better["best_val_loss"]), float(worse["best_val_loss"])
    assert low < high
    r = invoke("sweep", "--resume", tmp_path / "a", "--expect", f"best_val_loss<{(low + high) / 2}")
    assert r.exit_code == 1, r.stderr  # the better level's best meets it, the other's does not
    failed = [line for line in r.stderr.splitlines() if "expectation failed" in line]
    assert len(failed) == 1 and f"({worse['run_dir']})" in failed[0], r.stderr
    assert invoke("sweep", "--resume", tmp_path / "a", "--expect", f"best_val_loss<{high * 1.01}").exit_code == 0
