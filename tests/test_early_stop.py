"""train.early_stop_patience (Keras's EarlyStopping), per model: a run stops at the evaluation where its
val_loss has not improved for that many evaluations, with the rows, weights and summary of a run told to
stop there; in a batched group each variant stops on its own, as it would alone."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch
import yaml

from tests.helpers import TINY, invoke, one_error_line


def config(tmp_path, name="c.yaml", **train) -> str:
    raw = json.loads(json.dumps(TINY))
    raw["optimizer"]["lr"] = 1.0
    raw["train"] = {**raw["train"], "epochs": 60, "batch_size": 24, **train}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def train(tmp_path, cfg, folder, *overrides):
    result = invoke("train", cfg, *overrides, "--run-dir", tmp_path / folder, "-q")
    assert result.exit_code == 0, result.output
    run = tmp_path / folder
    return pd.read_csv(run / "metrics.csv"), json.loads((run / "summary.json").read_text()), run


def expected_stop(val: pd.Series, patience: int, min_delta: float = 0.0) -> int | None:
    best, waited = math.inf, 0
    for step, v in val.dropna().items():
        if v < best - min_delta:
            best, waited = v, 0
        else:
            waited += 1
            if waited >= patience:
                return step
    return None


def test_a_run_stops_where_its_val_loss_stalled_as_one_told_to_stop_there(tmp_path):
    full, _, _ = train(tmp_path, config(tmp_path), "full")
    at = expected_stop(full.set_index("step")["val_loss"], patience=3, min_delta=1e-3)
    assert at is not None and at < full.step.iloc[-1]  # it does stall within the run
    cfg = config(tmp_path, "es.yaml", early_stop_patience=3, early_stop_min_delta=1e-3)
    rows, summary, run = train(tmp_path, cfg, "early")
    assert summary["status"] == "completed" and summary["stopped_early_at_step"] == at == summary["steps"]
    pd.testing.assert_frame_equal(rows.drop(columns="wall_s"), full[full.step <= at].drop(columns="wall_s"))
    cut, cut_summary, cut_run = train(tmp_path, config(tmp_path), "cut", "train.epochs=null", f"train.steps={at}")
    weights, told = (torch.load(r / "model.pt", weights_only=True) for r in (run, cut_run))
    assert all(torch.equal(weights[k], told[k]) for k in weights)
    assert summary["final_train_loss"] == cut_summary["final_train_loss"]  # the last epoch it completed
    assert invoke("train", cfg, "--run-dir", tmp_path / "x", "-q", "--expect", f"stopped_early_at_step=={at}").exit_code == 0


def test_expect_stopped_early_at_step_needs_early_stopping(tmp_path):
    """Without train.early_stop_patience the bar could never be met: it failed only after the whole run."""
    one_error_line(invoke("train", config(tmp_path), "--runs", tmp_path / "runs", "--expect", "stopped_early_at_step>0"),
                   2, "only a run with train.early_stop_patience set can stop early")
    assert not (tmp_path / "runs").exists()


def test_batched_variants_each_stop_as_they_would_alone(tmp_path):
    cfg = config(tmp_path, early_stop_patience=2, early_stop_min_delta=1e-3)
    swept = invoke("sweep", cfg, "optimizer.lr=0.3,1.0,3.0", "--run-dir", tmp_path / "sw")
    assert swept.exit_code == 0, swept.output
    assert swept.stdout.count("stopped early at step") >= 2  # the line per finished variant says so
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    stops = []
    for lr, folder in zip(table["optimizer.lr"], table["run_dir"]):
        _, alone, _ = train(tmp_path, cfg, f"alone{lr}", f"optimizer.lr={lr}")
        grouped = json.loads((tmp_path / "sw" / folder / "summary.json").read_text())
        for key in ("status", "stopped_early_at_step", "steps", "diverged_at_step"):
            assert grouped[key] == alone[key], (lr, key)
        assert grouped["final_train_loss"] == pytest.approx(alone["final_train_loss"], rel=1e-5)
        assert grouped["best_val_loss"] == pytest.approx(alone["best_val_loss"], rel=1e-5)
        stops.append(grouped["stopped_early_at_step"])
    assert [None if math.isnan(x) else int(x) for x in table["stopped_early_at_step"]] == stops  # in sweep.csv too
    assert len(set(stops)) > 1 and None not in stops[:2]  # they stopped, at different steps


def test_early_stopping_without_validation_rows_is_refused_before_any_folder(tmp_path):
    raw = {**TINY, "data": {**TINY["data"], "val_fraction": 0}, "train": {**TINY["train"], "early_stop_patience": 3}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    result = invoke("train", tmp_path / "c.yaml", "--runs", tmp_path / "runs")
    one_error_line(result, 2, "train.early_stop_patience: early stopping watches val_loss", "set data.val_fraction")
    assert not (tmp_path / "runs").exists()


def test_a_run_resumed_before_its_patience_ran_out_stops_at_the_same_step():
    import io

    from gdlab.data import load_data
    from gdlab.engine.loop import GroupTrainer
    from gdlab.engine.state import restore_trainer, trainer_state
    from tests.helpers import make_config

    cfg = make_config(**{"optimizer.lr": 1.0, "train.epochs": 60, "train.batch_size": 24,
                         "train.early_stop_patience": 3, "train.early_stop_min_delta": 1e-3})
    data, cpu = load_data(cfg), torch.device("cpu")
    whole = GroupTrainer([cfg], [data], cpu)
    list(whole.run())
    at = whole.divergence.stopped[0]
    assert at is not None and at > 12
    first = GroupTrainer([cfg], [data], cpu)
    list(first.run(should_stop=lambda: first.step >= at - 4))  # a waited evaluation or two already counted
    buf = io.BytesIO()
    torch.save(trainer_state(first), buf)
    resumed = GroupTrainer([cfg], [data], cpu)
    restore_trainer(resumed, torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    list(resumed.run())
    assert resumed.divergence.stopped[0] == at and torch.equal(resumed.model.flat, whole.model.flat)


def test_a_model_stopped_ahead_of_the_records_still_writes_the_rows_before_its_stop():
    """On a GPU the loop runs up to two blocks ahead of the records the host reads: a model stopped at step
    40 lost the rows of steps 9-39 that the host had not read yet."""
    from gdlab.engine.divergence import Divergence

    models = Divergence(3, None, torch.device("cpu"))
    models.stop(1, 40)  # decided in the loop at step 40, before the host reads the rows of steps 9..40
    models.note(9, [0.5, 0.5, 0.5])
    assert models.rows(9, logged=True)[0] == [True, True, True]
    assert models.rows(10, logged=False)[0] == [False, False, False]
    emit, values = models.rows(40, logged=False)
    assert emit == [False, True, False] and values([1, 2, 3]) == [1, 2, 3]  # its last row, values kept
    emit, values = models.rows(41, logged=True)
    assert emit == [True, False, True] and values([1, 2, 3]) == [1, None, 3]
    models.note(42, [0.5, math.inf, math.nan])  # a stopped model's frozen loss is no divergence of its own
    assert models.at == [None, None, 42] and models.ended() == [None, 40, 42]


@pytest.mark.parametrize("sharpness_every", [None, 7])
def test_stops_read_in_blocks_one_block_late_give_the_rows_of_the_step_by_step_loop(sharpness_every):
    """What an accelerator does (records read in blocks, a block late), on the CPU: the same rows and stops,
    and with sharpness the same value at each stop step (measured ahead of the evaluation that stopped it)."""
    from gdlab.data import load_data
    from gdlab.engine.loop import GroupTrainer
    from tests.helpers import make_config, step_records

    configs = [make_config(**{"optimizer.lr": lr, "train.epochs": 40, "train.batch_size": 24, "train.sharpness_every": sharpness_every,
                              "train.early_stop_patience": 2, "train.early_stop_min_delta": 1e-3}) for lr in (0.3, 1.0, 3.0)]
    data, cpu = load_data(configs[0]), torch.device("cpu")
    per_step = GroupTrainer(configs, [data] * 3, cpu)
    blocks = GroupTrainer(configs, [data] * 3, cpu, sync_every=8)
    blocks.overlap_blocks = True
    want, got = step_records(per_step), step_records(blocks)
    assert [r for r in got if any(r[1])] == [r for r in want if any(r[1])]
    assert blocks.divergence.stopped == per_step.divergence.stopped and None not in per_step.divergence.stopped[:2]
    assert blocks.steps_done == per_step.steps_done
    if sharpness_every:
        sharp = {r[0]: r[-1]["sharpness"] for r in want if "sharpness" in r[-1]}
        stops = [(k, s) for k, s in enumerate(per_step.divergence.stopped) if s is not None]
        assert len(stops) >= 2 and all(sharp[s][k] is not None for k, s in stops)
    assert [blocks.epoch_means.final(k) for k in range(3)] == [per_step.epoch_means.final(k) for k in range(3)]


def test_plots_say_where_a_run_stopped_early(tmp_path):
    from gdlab.plotting.compare import plot_compare
    from gdlab.plotting.load import load_run, load_runs
    from gdlab.plotting.run_plot import plot_run

    cfg = config(tmp_path, "es.yaml", early_stop_patience=3, early_stop_min_delta=1e-3)
    _, summary, run = train(tmp_path, cfg, "early")
    _, _, full = train(tmp_path, config(tmp_path), "full")
    at = summary["stopped_early_at_step"]
    line = next(ln for ln in plot_run(load_run(run, [])).axes[0].get_lines() if ln.get_gid() == "stopped_early")
    assert list(line.get_xdata()) == [at, at] and line.get_label() == f"stopped early at step {at}"
    labels = [ln.get_label() for ln in plot_compare(load_runs([run, full], []), "val_loss", "step", []).axes[0].get_lines()
              if str(ln.get_gid()).startswith("compare:")]
    assert labels[0].endswith(f"; stopped early at step {at}") and "stopped" not in labels[1]


def test_a_batched_variant_stopped_early_keeps_the_snapshots_it_has_alone(tmp_path):
    """A variant that stopped early in a sweep group went on getting a snapshot every snapshot_every steps of the
    group, of weights frozen at its stop: snapshots past the step its run ends at alone."""
    cfg = config(tmp_path, early_stop_patience=2, early_stop_min_delta=1e-3, snapshot_every=5)
    swept = invoke("sweep", cfg, "optimizer.lr=1.0,0.3", "--run-dir", tmp_path / "sw", "-q")
    assert swept.exit_code == 0, swept.output
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert table["steps"].nunique() == 2  # one stopped before the other: the group trained on past its stop
    for lr, folder in zip(table["optimizer.lr"], table["run_dir"]):
        _, _, alone = train(tmp_path, cfg, f"alone{lr}", f"optimizer.lr={lr}")
        grouped = sorted(p.name for p in (tmp_path / "sw" / folder / "snapshots").iterdir())
        assert grouped == sorted(p.name for p in (alone / "snapshots").iterdir()), lr


def test_a_model_that_diverged_ahead_of_the_records_is_diverged_not_stopped_early():
    """On an accelerator the host reads a step's losses up to two blocks late, while the loop decides early stops
    at once: a model that diverged (frozen on the device, its val_loss never improving again) ran out of patience
    before the host knew, and ended `completed`, stopped early, with no diverged_at_step."""
    from gdlab.data import load_data
    from gdlab.engine.loop import GroupTrainer
    from tests.helpers import make_config, step_records

    sine = {"data": {"name": "sine", "n_samples": 64, "noise": 0.1, "val_fraction": 0.25}, "loss": "MSELoss",
            "model": [{"Linear": [1, 8]}, "Tanh", {"Linear": [8, 1]}], "train.epochs": 60, "train.early_stop_patience": 3}
    configs = [make_config(**{**sine, "optimizer.lr": lr}) for lr in (0.1, 5.0)]
    data, cpu = load_data(configs[0]), torch.device("cpu")
    per_step = GroupTrainer(configs, [data] * 2, cpu)
    blocks = GroupTrainer(configs, [data] * 2, cpu, sync_every=8)
    blocks.overlap_blocks = True
    want, got = step_records(per_step), step_records(blocks)
    assert per_step.diverged_at[1] is not None and per_step.divergence.stopped[1] is None  # it does diverge
    assert blocks.diverged_at == per_step.diverged_at and blocks.divergence.stopped == per_step.divergence.stopped
    assert [blocks.status(k) for k in range(2)] == [per_step.status(k) for k in range(2)] == ["completed", "diverged"]
    assert [r for r in got if any(r[1])] == [r for r in want if any(r[1])]


def test_validate_without_data_refuses_what_train_refuses_for_a_split_of_zero(tmp_path):
    """`validate --no-data` said ok to early stopping with val_fraction 0, which `gdlab train` refuses."""
    path = tmp_path / "c.yaml"
    path.write_text("name: c\ndata: {name: moons, n_samples: 64, val_fraction: 0}\nmodel: [{Linear: [2, 4]}, Tanh, "
                    "{Linear: [4, 2]}]\nloss: CrossEntropyLoss\noptimizer: {name: SGD, lr: 0.1}\n"
                    "train: {steps: 5, device: cpu, early_stop_patience: 2}\n")
    for args in (["validate", path, "--no-data"], ["validate", path], ["train", path, "--run-dir", tmp_path / "r"]):
        one_error_line(invoke(*args), 2, "train.early_stop_patience: early stopping watches val_loss")
    path.write_text(path.read_text().replace("val_fraction: 0", "val_fraction: 0.25"))
    assert invoke("validate", path, "--no-data").exit_code == 0


def test_the_console_summary_says_where_a_run_stopped_early_and_whose_weights_it_kept(tmp_path):
    """The printed summary names the early stop and the restored best weights, not only summary.json."""
    run = tmp_path / "run"
    result = invoke("train", "configs/quickstart.yaml", "train.early_stop_patience=2", "optimizer.lr=0.3",
                    "train.restore_best_weights=true", "--run-dir", run)
    assert result.exit_code == 0, result.stderr
    s = json.loads((run / "summary.json").read_text())
    assert s["stopped_early_at_step"] is not None and s["restored_best_from_step"] is not None
    lines = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines() if line.strip()}
    assert lines["stopped_early_at_step"] == str(s["stopped_early_at_step"])
    assert lines["restored_best_from_step"] == str(s["restored_best_from_step"])


def test_an_improvement_within_min_delta_does_not_reset_the_patience():
    """Keras's rule: only a fall of more than min_delta below the best counts. The runs above never had a fall
    under their 1e-3, so ignoring min_delta went unnoticed; here model 0 falls by 0.04 per evaluation, model 1 by 0.2."""
    from gdlab.engine.divergence import Divergence
    from gdlab.engine.early_stop import EarlyStop

    models = Divergence(2, None, torch.device("cpu"))
    early = EarlyStop(2, patience=2, min_delta=0.1)
    vals = {10: [1.0, 1.0], 20: [0.96, 0.8], 30: [0.92, 0.6], 40: [0.88, 0.4]}
    for step, v in vals.items():
        early.observe(step, torch.tensor(v, dtype=torch.float64), models)
    assert models.stopped == [30, None]
    assert expected_stop(pd.Series({s: v[0] for s, v in vals.items()}), 2, 0.1) == 30  # the rule the runs are checked by
