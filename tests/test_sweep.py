"""gdlab sweep: grid syntax, batched results equal to runs alone, failures, resume, parallel backends."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.errors import GdlabError
from gdlab.sweep.grid import expand_function, parse_axis_arg
from tests.helpers import TINY

runner = CliRunner()


def write_config(tmp_path: Path, **changes) -> Path:
    raw = json.loads(json.dumps(TINY))
    raw["train"]["epochs"] = 15
    for key, value in changes.items():
        node = raw
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def sweep(tmp_path: Path, cfg: Path, *args: str, folder: str = "sw"):
    out = tmp_path / folder
    result = runner.invoke(app, ["sweep", str(cfg), *args, "--run-dir", str(out), "-q"])
    return result, out


def losses(run_dir: Path) -> list[float]:
    return pd.read_csv(run_dir / "metrics.csv")["train_loss"].tolist()


# ---------------------------------------------------------------- grid syntax
def test_grid_functions():
    assert expand_function("logspace(-4, 0, 5)", "t") == [0.0001, 0.001, 0.01, 0.1, 1.0]
    # between the powers of ten, every digit of 10**e, as numpy.logspace gives (it was rounded to 12 digits)
    assert expand_function("logspace(-4, 0, 9)", "t") == [10.0 ** (-4 + i / 2) for i in range(9)]
    assert expand_function("logspace(-4, 0, 9)", "t")[1] == 0.00031622776601683794
    assert expand_function("linspace(0, 1, 3)", "t") == [0.0, 0.5, 1.0]
    assert expand_function("range(0.1, 1.0, 0.1)", "t") == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert expand_function("range(0, 10, 3)", "t") == [0, 3, 6, 9]
    assert expand_function("0.1", "t") is None
    with pytest.raises(GdlabError, match="3 finite numbers"):
        expand_function("logspace(-4, 0)", "t")


def test_axis_lists_keep_brackets_and_read_numbers_strictly():
    assert parse_axis_arg("optimizer.betas=[0.9,0.99],[0.8,0.9]") == ("optimizer.betas", [[0.9, 0.99], [0.8, 0.9]])
    assert parse_axis_arg("optimizer.lr=1e-3,1e-2") == ("optimizer.lr", [0.001, 0.01])
    assert parse_axis_arg("optimizer.name=SGD,Adam") == ("optimizer.name", ["SGD", "Adam"])


def test_dry_run_prints_the_grid_and_runs_nothing(tmp_path):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=logspace(-2,0,3)", "seed=0,1", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "6 variants in 1 batched group" in result.output
    assert not out.exists()


def test_dry_run_with_jobs_shows_the_groups_the_workers_get(tmp_path):
    """--jobs 2 splits a lone group in two so both workers train; the dry run said 1 group."""
    from gdlab.sweep.grouping import group_variants, spread
    from gdlab.sweep.run import make_jobs
    from gdlab.sweep.setup import setup_sweep

    cfg = write_config(tmp_path)
    result, _ = sweep(tmp_path, cfg, "optimizer.lr=logspace(-2,0,3)", "seed=0,1", "--dry-run", "--jobs", "2")
    assert result.exit_code == 0 and "6 variants in 2 batched group" in result.output, result.output
    plans = setup_sweep(cfg, ["optimizer.lr=logspace(-2,0,3)", "seed=0,1"]).plans
    shown = spread(group_variants(plans, "auto"), 2)
    assert [j.indices for j in make_jobs(group_variants(plans, "auto"), tmp_path, 2)] == [[p.index for p in g] for g in shown]


def test_jobs_split_the_cores_this_process_may_use_not_the_machines(tmp_path, monkeypatch):
    """In a container pinned to 4 of a host's 64 cores, two workers get 2 torch threads each, not 32."""
    import os

    from gdlab.sweep.grouping import group_variants
    from gdlab.sweep.run import make_jobs
    from gdlab.sweep.setup import setup_sweep

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    plans = setup_sweep(write_config(tmp_path), ["optimizer.lr=0.1,0.2", "seed=0,1"]).plans
    assert {j.threads for j in make_jobs(group_variants(plans, "auto"), tmp_path, 2)} == {2}
    assert {j.threads for j in make_jobs(group_variants(plans, "auto"), tmp_path, 8)} == {1}
    assert {j.threads for j in make_jobs(group_variants(plans, "auto"), tmp_path, 1)} == {None}


@pytest.mark.parametrize("config, axes", [
    ("configs/moons.yaml", ["optimizer.lr=1e-3,1e-1", "optimizer.name=SGD,Adam", "seed=0,1"]),
    ("configs/lr_sweep.yaml", []),
    ("configs/sine.yaml", ["scheduler.name=OneCycleLR,ExponentialLR", "scheduler.gamma=0.99", "loss.name=MSELoss,HuberLoss"]),
])
def test_jobs_carry_the_configs_a_worker_would_validate_from_their_resolved_form(config, axes, tmp_path):
    """A job hands its workers the planned Config objects, not dicts validated again (0.2 s per 1,024
    variants): they must be what validating each variant's resolved config gives."""
    from gdlab.config import Config
    from gdlab.sweep.grouping import group_variants
    from gdlab.sweep.run import make_jobs
    from gdlab.sweep.setup import setup_sweep

    plans = setup_sweep(Path(config), axes).plans
    jobs = make_jobs(group_variants(plans, "auto"), tmp_path, 1)
    configs = [c for job in jobs for c in job.configs]
    assert len(configs) == len(plans) > 1 and all(isinstance(c, Config) and c.sweep is None for c in configs)
    assert configs == [Config.model_validate(c.resolved()) for c in configs]
    by_index = {p.index: p for p in plans}
    indices = [i for job in jobs for i in job.indices]
    assert [c.resolved() for c in configs] == [by_index[i].cfg.resolved() | {"sweep": None} for i in indices]


@pytest.mark.parametrize("axis,message", [
    ("optimizer.lr=0.1,-1", "variant 1 (optimizer.lr=-1): optimizer.lr"),
    ("optimizer.lrr=0.1,0.2", "unknown key 'lrr'"),
    ("optimizer.lr=logspace(1,2)", "3 finite numbers"),
    ("model.0.Linear.out_features=8,9", "model[2]"),
])
def test_invalid_axes_are_rejected_before_anything_runs(tmp_path, axis, message):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, axis)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()


def test_a_variant_refused_inside_a_section_a_one_value_override_set_is_named_with_it(tmp_path):
    """The section's own rule (nesterov needs dampening 0) fails on the override's section, but only for the
    variant whose axis values break it: that variant is named, and the override beside it."""
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer={name: SGD, lr: 0.1, momentum: 0.9}", "optimizer.nesterov=true,false",
                        "optimizer.dampening=0,0.1")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert ("variant 1 (optimizer.nesterov=true, optimizer.dampening=0.1) (with override 'optimizer={name: SGD, lr: "
            "0.1, momentum: 0.9}'): optimizer: nesterov: true needs") in result.stderr
    assert not out.exists()


# ---------------------------------------------------------------- batched == alone
@pytest.mark.parametrize("opt,lrs", [
    ({"name": "SGD", "lr": 0.1}, "0.03,0.1,0.3"),
    ({"name": "SGD", "lr": 0.1, "momentum": 0.9}, "0.01,0.05"),
    ({"name": "Adam", "lr": 0.01}, "0.001,0.01,0.03"),
])
def test_batched_sweep_curves_match_single_train_runs(tmp_path, opt, lrs):
    cfg = write_config(tmp_path, optimizer=opt, **{"train.batch_size": 24})
    result, out = sweep(tmp_path, cfg, f"optimizer.lr={lrs}", "--vectorize", "on")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    for row in table.itertuples():
        alone = tmp_path / f"alone{row.Index}"
        r = runner.invoke(app, ["train", str(cfg), f"optimizer.lr={row._1}", "--run-dir", str(alone), "-q"])
        assert r.exit_code == 0
        assert losses(out / row.run_dir) == pytest.approx(losses(alone), rel=1e-5)


def test_float64_sweep_matches_to_1e9(tmp_path):
    cfg = write_config(tmp_path, **{"train.dtype": "float64", "optimizer": {"name": "Adam", "lr": 0.01}})
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.003,0.03", "seed=0,1")
    assert result.exit_code == 0
    table = pd.read_csv(out / "sweep.csv")
    for row in table.itertuples():
        alone = tmp_path / f"alone{row.Index}"
        runner.invoke(app, ["train", str(cfg), f"optimizer.lr={row._1}", f"seed={row.seed}", "--run-dir", str(alone), "-q"])
        assert losses(out / row.run_dir) == pytest.approx(losses(alone), rel=1e-9)


def test_divergence_is_found_at_the_same_step_as_alone(tmp_path):
    cfg = write_config(tmp_path, **{"optimizer": {"name": "GD", "lr": 0.1}, "loss": "MSELoss",
                                    "data": {"name": "sine", "n_samples": 64}, "model": [{"Linear": [1, 8]}, "Tanh", {"Linear": [8, 1]}]})
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.1,50,500")
    assert result.exit_code == 0  # diverged is a result, not a failure
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.status) == ["completed", "diverged", "diverged"]
    for row in table.itertuples():
        alone = tmp_path / f"alone{row.Index}"
        r = runner.invoke(app, ["train", str(cfg), f"optimizer.lr={row._1}", "--run-dir", str(alone), "-q"])
        summary = json.loads((alone / "summary.json").read_text())
        assert summary["status"] == row.status
        if row.status == "diverged":
            assert r.exit_code == 3 and summary["diverged_at_step"] == row.diverged_at_step


def test_sweep_folder_layout_and_fair_initialisation(tmp_path):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1", "seed=0,1")
    assert result.exit_code == 0
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.columns[:3]) == ["optimizer.lr", "seed", "status"]
    for col in ("final_train_loss", "best_val_loss", "diverged_at_step", "steps", "wall_s", "run_dir", "init_hash"):
        assert col in table.columns
    assert list(table.run_dir) == ["000_lr=0.01_seed=0", "001_lr=0.01_seed=1", "002_lr=0.1_seed=0", "003_lr=0.1_seed=1"]
    by_seed = table.groupby("seed").init_hash.nunique()
    assert (by_seed == 1).all() and table.init_hash.nunique() == 2  # same seed, same start
    for d in table.run_dir:
        assert {"config.yaml", "overrides.yaml", "metrics.csv", "summary.json", "model.pt"} <= {p.name for p in (out / d).iterdir()}
    doc = yaml.safe_load((out / "sweep.yaml").read_text())
    assert doc["axes"] == {"optimizer.lr": [0.01, 0.1], "seed": [0, 1]}


def test_yaml_sweep_section(tmp_path):
    cfg = write_config(tmp_path, sweep={"optimizer.lr": "logspace(-2, -1, 2)", "seed": [0, 1]})
    result, out = sweep(tmp_path, cfg)
    assert result.exit_code == 0
    assert len(pd.read_csv(out / "sweep.csv")) == 4


# ---------------------------------------------------------------- failures and resume
def fail_at_lr(monkeypatch, lr: float) -> None:
    """Make the group holding lr=`lr` raise mid-run, as a failure no check before the run can foresee."""
    import gdlab.runner

    real = gdlab.runner.run_group

    def run_group(variants, *args, **kwargs):
        if any(v.cfg.optimizer.lr == lr for v in variants):
            raise RuntimeError(f"simulated failure at lr={lr}")
        return real(variants, *args, **kwargs)

    monkeypatch.setattr(gdlab.runner, "run_group", run_group)


def test_a_failing_group_does_not_stop_the_others(tmp_path, monkeypatch):
    fail_at_lr(monkeypatch, 1.0)
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=1,0.1", "--vectorize", "off")
    assert result.exit_code == 1
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.status) == ["failed", "completed"]
    assert table.error[0] == "RuntimeError: simulated failure at lr=1.0"


def test_fail_fast_skips_the_rest(tmp_path, monkeypatch):
    fail_at_lr(monkeypatch, 1.0)
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=1,0.1", "--vectorize", "off", "--fail-fast")
    assert result.exit_code == 1
    assert f"gdlab: 2 of 2 variants did not finish (see status and error in {out / 'sweep.csv'})" in result.stderr
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.status) == ["failed", "skipped"]
    assert (out / table.run_dir[0]).is_dir() and not (out / table.run_dir[1]).exists()  # no empty folder for it
    resumed = runner.invoke(app, ["sweep", "--resume", str(out), "-q"])  # which --resume makes again
    assert (out / table.run_dir[1] / "summary.json").is_file(), resumed.output


def test_a_diverged_variant_has_no_validation_values_at_its_divergence_step(tmp_path):
    """README: val_loss and val_accuracy are not written at the step a run diverged (the model evaluated there is
    not the one that diverged). No test read those cells: writing either one there passed every test."""
    result, out = sweep(tmp_path, write_config(tmp_path), "optimizer.lr=0.1,1e5")
    table = pd.read_csv(out / "sweep.csv")
    assert result.exit_code == 0 and list(table.status) == ["completed", "diverged"], result.output
    rows = pd.read_csv(out / table.run_dir[1] / "metrics.csv")
    assert rows.step.iloc[-1] == table.diverged_at_step[1] > 1
    assert rows[["val_loss", "val_accuracy"]].iloc[-1].isna().all()
    assert rows[["val_loss", "val_accuracy"]].iloc[:-1].notna().all().all()  # each step before it evaluated


def test_a_device_this_machine_lacks_is_refused_before_anything_runs(tmp_path):
    cfg = write_config(tmp_path)
    for extra in ([], ["--dry-run"]):
        result, out = sweep(tmp_path, cfg, "train.device=cpu,cuda:7", *extra)
        assert result.exit_code == 2
        assert result.output.count("\n") == 1 and "Traceback" not in result.output
        assert f"{cfg}: variant 1 (train.device=cuda:7): train.device: 'cuda:7'" in result.output
        assert not out.exists()


def test_resume_reruns_only_what_is_unfinished(tmp_path):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1,1", "--vectorize", "off")
    assert result.exit_code == 0
    before = losses(out / "001_lr=0.1")
    kept = (out / "000_lr=0.01" / "metrics.csv").stat().st_mtime_ns
    (out / "001_lr=0.1" / "summary.json").unlink()  # as if killed mid-run
    with open(out / "001_lr=0.1" / "metrics.csv", "a") as fh:
        fh.write("99,torn")
    r = runner.invoke(app, ["sweep", "--resume", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert (out / "000_lr=0.01" / "metrics.csv").stat().st_mtime_ns == kept
    assert losses(out / "001_lr=0.1") == before
    assert list(pd.read_csv(out / "sweep.csv").status) == ["completed"] * 3


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("epochs: 3", "epochs: 7"),  # a base key: the kept variant ran 3 epochs
    lambda t: t.replace("0.1]", "0.2]"),  # an axis value: folder 001_lr=0.1 no longer in the grid
])
def test_resume_refuses_a_sweep_yaml_edited_since_the_sweep_ran(tmp_path, edit):
    cfg = write_config(tmp_path, **{"train.epochs": 3})
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1", "--vectorize", "off")
    assert result.exit_code == 0, result.output
    (out / "000_lr=0.01" / "summary.json").unlink()
    text = (out / "sweep.yaml").read_text()
    assert edit(text) != text
    (out / "sweep.yaml").write_text(edit(text))
    before = sorted(p.name for p in out.rglob("*"))
    r = runner.invoke(app, ["sweep", "--resume", str(out), "-q"])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "start a new" in r.stderr, r.stderr
    assert sorted(p.name for p in out.rglob("*")) == before  # nothing cleared, nothing rerun


def test_a_diverged_variant_reads_the_same_in_sweep_csv_fresh_or_resumed(tmp_path):
    cfg = Path(__file__).resolve().parents[1] / "configs" / "sine.yaml"  # MSE: the loss itself reaches inf
    result, out = sweep(tmp_path, cfg, "optimizer.lr=1e30,0.1", "train.steps=10")
    assert result.exit_code == 0, result.output
    fresh = (out / "sweep.csv").read_text()
    assert runner.invoke(app, ["sweep", "--resume", str(out), "-q"]).exit_code == 0
    assert (out / "sweep.csv").read_text() == fresh and ",inf," not in fresh


def test_parallel_jobs_give_the_same_results(tmp_path):
    cfg = write_config(tmp_path, **{"train.dtype": "float64"})
    _, a = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1", "optimizer.name=SGD,GD", folder="a")
    result, b = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1", "optimizer.name=SGD,GD", "--jobs", "2", folder="b")
    assert result.exit_code == 0, result.output
    ta, tb = pd.read_csv(a / "sweep.csv"), pd.read_csv(b / "sweep.csv")
    assert list(ta.final_train_loss) == pytest.approx(list(tb.final_train_loss), rel=1e-12)


def test_ray_backend_matches_local(tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed")
    cfg = write_config(tmp_path, **{"train.dtype": "float64", "train.snapshot_every": 5})
    _, a = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1", folder="a")
    result, b = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1", "--backend", "ray", folder="b")
    assert result.exit_code == 0, result.output
    ta, tb = pd.read_csv(a / "sweep.csv"), pd.read_csv(b / "sweep.csv")
    assert list(ta.final_train_loss) == pytest.approx(list(tb.final_train_loss), rel=1e-12)
    assert (a / "000_lr=0.01" / "metrics.csv").read_text().count("\n") == (b / "000_lr=0.01" / "metrics.csv").read_text().count("\n")
    files = lambda root: sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != ".sweep.lock")  # noqa: E731
    assert files(a) == files(b) and "001_lr=0.1/snapshots/step_0000015.pt" in files(b)  # every file comes back


# ---------------------------------------------------------------- lr range test
def test_lr_suggestion_ignores_early_spikes_and_nan_tails():
    from gdlab.lrsuggest import smooth, suggest

    lrs = [10 ** (-5 + i * 0.1) for i in range(60)]
    # flat, an early spike, a steep fall around 1e-3..1e-2, a minimum, then blow-up to NaN
    raw = [1.0] * 5 + [3.0] + [1.0] * 14 + [1.0 - 0.04 * i for i in range(20)] + [0.2 + 0.3 * i for i in range(15)] + [float("nan")] * 5
    steepest, at_min = suggest(lrs, smooth(raw, 0.5))
    assert 1e-3 <= steepest <= 1e-1 and steepest <= at_min
    assert suggest(lrs[:3], raw[:3]) == (None, None)


def test_lr_find_writes_an_exponential_schedule_and_stops_on_blow_up(tmp_path):
    cfg = write_config(tmp_path)
    out = tmp_path / "lrf"
    result = runner.invoke(app, ["lr-find", str(cfg), "--run-dir", str(out), "--steps", "60", "--min-lr", "1e-4", "--max-lr", "1e4"])
    assert result.exit_code == 0, result.output
    assert "heuristic" in result.output
    table = pd.read_csv(out / "lr_find.csv")
    ratios = (table.lr.shift(-1) / table.lr).dropna()
    assert table.lr.iloc[0] == pytest.approx(1e-4) and ratios.std() < 1e-9 * ratios.mean()
    assert len(table) < 60  # the loss blew up before 1e4 and the test stopped
    info = json.loads((out / "lr_find.json").read_text())
    assert info["stopped_early"] and 1e-4 < info["suggested_lr"] < 1e4


def test_sweep_records_initial_sharpness_equal_to_the_closed_form(tmp_path):
    """Linear regression with MSELoss: the Hessian is 2/n [X 1]^T [X 1], the same for every lr."""
    import torch

    from gdlab.data import load_data
    from gdlab.loading import load_config

    cfg = write_config(tmp_path, **{"loss": "MSELoss", "data": {"name": "linear", "n_samples": 80, "n_features": 3},
                                    "model": [{"Linear": [3, 1]}], "optimizer": {"name": "GD", "lr": 0.01}, "train.dtype": "float64"})
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1", "--sharpness")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    data = load_data(load_config(cfg), torch.float64)
    A = torch.cat([data.x_train, torch.ones(len(data.x_train), 1, dtype=torch.float64)], 1)
    exact = torch.linalg.eigvalsh(2 / len(A) * A.T @ A).max().item()
    assert list(table.init_sharpness) == pytest.approx([exact, exact], rel=1e-3)


def test_logged_sharpness_and_the_2_over_lambda_edge(tmp_path):
    """On a quadratic, gdlab's logged sharpness is the exact top Hessian eigenvalue, logging it does not
    change the trajectory, and plain GD converges just below lr = 2/lambda and diverges just above."""
    import torch

    from gdlab.data import load_data
    from gdlab.loading import load_config

    cfg = write_config(tmp_path, **{"loss": "MSELoss", "data": {"name": "linear", "n_samples": 80, "n_features": 3, "val_fraction": 0},
                                    "model": [{"Linear": [3, 1]}], "optimizer": {"name": "GD", "lr": 0.01},
                                    "train.dtype": "float64", "train.epochs": 300})
    data = load_data(load_config(cfg), torch.float64)
    A = torch.cat([data.x_train, torch.ones(len(data.x_train), 1, dtype=torch.float64)], 1)
    lam = torch.linalg.eigvalsh(2 / len(A) * A.T @ A).max().item()
    with_s, without = tmp_path / "with", tmp_path / "without"
    assert runner.invoke(app, ["train", str(cfg), "train.sharpness_every=50", "--run-dir", str(with_s), "-q"]).exit_code == 0
    assert runner.invoke(app, ["train", str(cfg), "--run-dir", str(without), "-q"]).exit_code == 0
    logged = pd.read_csv(with_s / "metrics.csv").sharpness.dropna()
    assert list(logged.index + 1) == [1, 51, 101, 151, 201, 251, 300]  # every 50 steps and the last
    assert list(logged) == pytest.approx([lam] * 7, rel=1e-3)
    assert losses(with_s) == losses(without)
    # with rows only every 40 steps, every measured value still gets its row
    sparse = tmp_path / "sparse"
    assert runner.invoke(app, ["train", str(cfg), "train.sharpness_every=50", "train.log_every=40", "--run-dir", str(sparse), "-q"]).exit_code == 0
    rows = pd.read_csv(sparse / "metrics.csv")
    assert list(rows.dropna(subset=["sharpness"]).step) == [1, 51, 101, 151, 201, 251, 300]
    assert set(rows.step) == {1, 51, 101, 151, 201, 251, 300} | set(range(40, 300, 40))
    edge = 2 / lam
    result, out = sweep(tmp_path, cfg, f"optimizer.lr={0.95 * edge!r},{1.05 * edge!r}", "train.epochs=2000")
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.status) == ["completed", "diverged"]
    below = losses(out / table.run_dir[0])
    assert below[-1] < 1e-3 * below[0] or below[-1] < 0.02


# ---------------------------------------------------------------- what a user sees
def test_a_diverged_variant_is_reported_once_as_it_diverges(tmp_path):
    cfg = write_config(tmp_path, **{"optimizer": {"name": "GD", "lr": 0.1}, "loss": "MSELoss",
                                    "data": {"name": "sine", "n_samples": 64}, "model": [{"Linear": [1, 8]}, "Tanh", {"Linear": [8, 1]}]})
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", str(cfg), "optimizer.lr=0.1,500", "--run-dir", str(out)])
    assert result.exit_code == 0, result.output
    step = int(pd.read_csv(out / "sweep.csv").diverged_at_step[1])
    lines = [line for line in result.stdout.splitlines() if "001_lr=500" in line and "diverged" in line]
    assert lines == [lines[0]] and f"at step {step}" in lines[0]
    # ... before its group ended: the line precedes the completed variant's, which comes at the end
    assert result.stdout.index(lines[0]) < result.stdout.index("000_lr=0.1")


def test_the_bar_moves_with_a_running_groups_steps():
    from rich.console import Console

    from gdlab.cli.sweep_view import SweepProgress

    bar = SweepProgress(Console(file=open(os.devnull, "w")), total=10, already=2)
    bar.group_progress([2, 3, 4, 5], step=50, total_steps=200)  # 4 variants a quarter done: one variant's worth
    assert bar.progress.tasks[0].completed == 3
    bar.group_progress([6, 7], step=100, total_steps=100)
    assert bar.progress.tasks[0].completed == 5
    bar.group_progress([2, 3, 4, 5], step=200, total_steps=200)
    seen = []
    for i in (2, 3, 4, 5):  # the group's variants are reported one by one: the bar never moves back
        bar.variant_done(i)
        seen.append(bar.progress.tasks[0].completed)
    assert seen == [2 + 4 + 2] * 4


def test_with_seeds_the_best_is_the_best_mean_over_seeds():
    from rich.console import Console

    from gdlab.cli.sweep_ranking import ranking_tables

    rows = [{"optimizer.lr": lr, "seed": s, "status": "completed", "final_train_loss": loss, "run_dir": f"{i:03d}",
             "diverged_at_step": None, "steps": 10}
            for i, (lr, s, loss) in enumerate([(0.1, 0, 0.30), (0.1, 1, 0.31), (1.0, 0, 0.05), (1.0, 1, 0.90)])]
    console = Console(record=True, width=200, file=open(os.devnull, "w"))
    for t in ranking_tables(rows, ["optimizer.lr", "seed"]):
        console.print(t)
    text = console.export_text()
    assert "best over seeds: optimizer.lr=0.1  (final_train_loss 0.305" in text  # lr=1 has the one lucky seed
    assert "best single run: optimizer.lr=1, seed=0" in text


@pytest.mark.parametrize("n_lrs, shown", [(15, 15), (40, 20)])
def test_a_long_ranking_shows_its_best_twenty_and_says_where_the_rest_are(n_lrs, shown):
    """30 rows or fewer are all shown (15 lrs x 2 seeds); a 1,024-variant sweep's terminal ranking is its top."""
    from rich.console import Console
    from rich.table import Table

    from gdlab.cli.sweep_ranking import ranking_tables

    rows = [{"optimizer.lr": 0.01 * (i + 1), "seed": s, "status": "completed", "final_train_loss": 1 / (i + 1) + s / 1000,
             "run_dir": f"{2 * i + s:03d}", "diverged_at_step": None, "steps": 10} for i in range(n_lrs) for s in (0, 1)]
    tables = ranking_tables(rows, ["optimizer.lr", "seed"])
    assert [t.row_count for t in tables if isinstance(t, Table)] == [min(2 * n_lrs, 30 if 2 * n_lrs <= 30 else 20), shown]
    console = Console(record=True, width=200, file=open(os.devnull, "w"))
    for t in tables:
        console.print(t)
    text = console.export_text()
    assert (f"the best 20 of {2 * n_lrs}; every variant is in sweep.csv" in text) == (2 * n_lrs > 30)
    assert (f"the best 20 of {n_lrs}; every variant is in sweep.csv" in text) == (n_lrs > 30)
    best = f"{0.01 * n_lrs:g}"  # the largest lr has the lowest loss: first in both tables, and named best
    assert f"best over seeds: optimizer.lr={best}" in text and f"best single run: optimizer.lr={best}, seed=0" in text


@pytest.mark.parametrize("axis, values, warned", [
    ("loss", ["MSELoss", "L1Loss"], True), ("loss.label_smoothing", [0.0, 0.2], True),
    ("data.noise", [0.1, 0.3], True), ("optimizer.lr", [0.1, 1.0], False)])
def test_a_loss_axis_says_its_scores_are_not_comparable(axis, values, warned):
    from rich.console import Console

    from gdlab.cli.sweep_ranking import ranking_tables

    rows = [{axis: v, "status": "completed", "final_train_loss": 0.1 * (i + 1), "run_dir": f"{i:03d}",
             "diverged_at_step": None, "steps": 10} for i, v in enumerate(values)]
    console = Console(record=True, width=200, file=open(os.devnull, "w"))
    for t in ranking_tables(rows, [axis]):
        console.print(t)
    assert ("changes the loss or the data itself" in console.export_text()) == warned


def test_a_piped_ranking_keeps_its_notes_on_one_line_each(tmp_path, monkeypatch):
    """Piped, the not-comparable note was the ranking table's caption, wrapped at the table's width in two lines."""
    monkeypatch.setenv("COLUMNS", "40")
    cfg = write_config(tmp_path, **{"train.epochs": 2})
    result = runner.invoke(app, ["sweep", str(cfg), "data.noise=0.1,0.3", "--run-dir", str(tmp_path / "sw")])
    assert result.exit_code == 0, result.output
    note = ("data.noise changes the loss or the data itself: best_val_loss values across its values are not "
            "comparable, so compare ranks within each")
    assert note in result.stdout.splitlines(), result.stdout


def test_ranking_orders_completed_then_interrupted_by_score_then_diverged_then_the_rest_by_status():
    from gdlab.sweep.rank import rank_rows

    def row(name, status, loss=None, at=None, steps=0):
        return {"name": name, "status": status, "final_train_loss": loss, "diverged_at_step": at, "steps": steps}

    # an interrupted run's score is a partial result, ranked by it above every diverged one; without one, by steps
    rows = [row("skip", "skipped"), row("fail", "failed", steps=3), row("int-worse", "interrupted", 0.1, steps=8),
            row("ok-worse", "completed", 0.5, steps=10), row("div-early", "diverged", at=2, steps=2),
            row("int-best", "interrupted", 0.05, steps=5), row("ok-best", "completed", 0.4, steps=10),
            row("int-none", "interrupted", steps=0), row("int-no-score", "interrupted", steps=3),
            row("div-late", "diverged", 0.01, at=7, steps=7), row("pending", "pending")]
    assert [r["name"] for r in rank_rows(rows)] == [
        "ok-best", "ok-worse", "int-best", "int-worse", "int-no-score", "int-none", "div-late", "div-early",
        "fail", "skip", "pending"]
    # ranked by best_val_loss: a completed variant without a val split still ranks above the diverged ones
    mixed = [{**row("div", "diverged", at=3), "best_val_loss": None}, {**row("no-val", "completed", 0.3), "best_val_loss": None},
             {**row("val", "completed", 0.9), "best_val_loss": 0.5}]
    assert [r["name"] for r in rank_rows(mixed)] == ["val", "no-val", "div"]


def test_a_sweep_of_one_names_its_best_as_the_base_config(tmp_path):
    cfg = write_config(tmp_path)
    result = runner.invoke(app, ["sweep", str(cfg), "--run-dir", str(tmp_path / "one")])
    assert result.exit_code == 0
    assert "best: (the base config)" in result.stdout


def test_resume_dry_run_lists_what_would_rerun_and_touches_nothing(tmp_path):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1,1", "--vectorize", "off")
    assert result.exit_code == 0
    (out / "001_lr=0.1" / "summary.json").unlink()
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    r = runner.invoke(app, ["sweep", "--resume", str(out), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "would rerun 1 of 3 variants" in r.stdout and "001_lr=0.1" in r.stdout and "000_lr=0.01" not in r.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


@pytest.mark.parametrize("args,message", [
    (["--ray-address", "auto"], "--ray-address auto: only used with --backend ray"),
    (["--resume", "SW", "--run-dir", "elsewhere"], "a resumed sweep stays in its own folder"),
])
def test_options_that_cannot_apply_are_refused(tmp_path, args, message):
    cfg = write_config(tmp_path)
    _, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1")
    args = [str(out) if a == "SW" else a for a in args]
    result = runner.invoke(app, ["sweep", *([] if "--resume" in args else [str(cfg)]), *args])
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1


def test_dry_run_refuses_what_a_real_run_refuses(tmp_path):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "data.val_fraction=0.999,0.2", "--dry-run")
    assert result.exit_code == 2 and f"{cfg}: variant 0 (data.val_fraction=0.999)" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("axis, variant", [
    ("train.batch_size=24,71", "variant 1 (train.batch_size=71)"),  # 72 rows: a last batch of one row for BatchNorm
    ("loss.weight=[1,2],[1,2,3]", "variant 1 (loss.weight=[1, 2, 3])"),  # as YAML writes it, not 1-2-3
    # what watches val_loss without validation rows: variant 0 shared its data and passed for both, which then ran
    ("train.early_stop_patience=null,3 data.val_fraction=0", "variant 1 (train.early_stop_patience=3): train.early_stop_patience"),
    ("scheduler=null,ReduceLROnPlateau data.val_fraction=0", "variant 1 (scheduler=ReduceLROnPlateau): scheduler.name"),
    ("train.restore_best_weights=false,true data.val_fraction=0", "variant 1 (train.restore_best_weights=true): train.restore_best"),
])
def test_every_variant_is_checked_up_front_not_only_the_first_of_each_data_and_model(tmp_path, axis, variant):
    cfg = write_config(tmp_path, model=[{"Linear": [2, 8]}, {"BatchNorm1d": [8]}, "Tanh", {"Linear": [8, 2]}])
    for extra in (["--dry-run"], []):
        result, out = sweep(tmp_path, cfg, *axis.split(" "), *extra)
        assert result.exit_code == 2 and variant in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert not out.exists()


def test_a_key_given_twice_on_the_command_line_is_refused(tmp_path):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.1,0.2", "optimizer.lr=0.3")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "sweep axis 'optimizer.lr=0.3': optimizer.lr is already given by 'optimizer.lr=0.1,0.2'" in result.stderr
    assert not out.exists()


def test_an_unreachable_ray_cluster_fails_fast_and_leaves_no_folder(tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed")
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1", "--backend", "ray", "--ray-address", f"127.0.0.1:{port}")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert f"--ray-address 127.0.0.1:{port}: cannot reach 127.0.0.1:{port}" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("address", ["", "ray://", "http://localhost:8265", "ray://head:1:2", "::1", "head:abc", "head:0",
                                     "head:70000", "head :6379", "head:", "ray://head:", "head:\u0663", "[::1:6379",
                                     "head]:6379", "[h]x:1"])
@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
def test_a_malformed_ray_address_is_bad_usage_before_anything_runs(tmp_path, address, dry_run):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1", "--backend", "ray", "--ray-address", address, *dry_run)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("gdlab: error: --ray-address ") and "(auto | host:port | ray://host:10001)" in result.stderr
    assert not out.exists()


def test_well_formed_ray_addresses_name_the_host_and_port_to_reach():
    from gdlab.sweep.backends import parse_ray_address

    assert parse_ray_address("auto") is None and parse_ray_address("local") is None
    assert parse_ray_address("head") == ("head", 6379, False)  # Ray's GCS port
    assert parse_ray_address("ray://head") == ("head", 10001, True)  # Ray's client port
    assert parse_ray_address("10.0.0.1:6380") == ("10.0.0.1", 6380, False)
    assert parse_ray_address("ray://[fe80::1]:10002") == ("[fe80::1]", 10002, True)
    assert parse_ray_address("[::1]") == ("[::1]", 6379, False)


def test_remote_errors_are_reported_in_one_plain_line():
    from gdlab.sweep.backends import one_line

    class TaskError(Exception):  # shaped like ray.exceptions.RayTaskError: coloured, multi-line, with .cause
        def __init__(self, cause):
            super().__init__("\x1b[36mray::run_job()\x1b[39m (pid=1)\n  File \"x.py\", line 1\nRuntimeError: boom")
            self.cause = cause

    assert one_line(TaskError(GdlabError("train.device: 'cuda' asked for"))) == "train.device: 'cuda' asked for"
    assert one_line(TaskError(RuntimeError("out of memory\nmore"))) == "RuntimeError: out of memory"
    assert one_line(OSError("\x1b[31mnode lost\x1b[0m\ntrace")) == "OSError: node lost"


def test_fixed_overrides_and_axes_follow_train_override_rules(tmp_path):
    cfg = write_config(tmp_path, optimizer={"name": "SGD", "lr": 0.1, "momentum": 0.9})  # and train.epochs: 15
    result, out = sweep(tmp_path, cfg, "optimizer.name=Adam", "optimizer.lr=0.01,0.1", "train.steps=7")
    assert result.exit_code == 0, result.output
    assert "dropped optimizer.momentum" in result.stderr
    for d in ("000_lr=0.01", "001_lr=0.1"):
        saved = yaml.safe_load((out / d / "config.yaml").read_text())
        assert saved["optimizer"]["name"] == "Adam" and saved["train"]["steps"] == 7 and saved["train"]["epochs"] is None
        assert len(losses(out / d)) == 7
    result, out = sweep(tmp_path, cfg, "optimizer.momentum=null,0.5", "train.steps=3,4", folder="axes")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.steps) == [3, 4, 3, 4]  # each steps value replaced the file's epochs
    assert yaml.safe_load((out / table.run_dir[0] / "config.yaml").read_text())["optimizer"]["momentum"] == 0.0  # null: the default


def test_resume_keeps_what_the_sweep_recorded_and_how_it_grouped(tmp_path):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1,1", "--sharpness", "--max-group", "1")
    assert result.exit_code == 0
    before = pd.read_csv(out / "sweep.csv")
    assert before.init_sharpness.notna().all()
    (out / before.run_dir[1] / "summary.json").unlink()
    r = runner.invoke(app, ["sweep", "--resume", str(out), "-q"])  # no --sharpness: the sweep's own choice holds
    assert r.exit_code == 0, r.output
    after = pd.read_csv(out / "sweep.csv")
    assert after.init_sharpness.tolist() == pytest.approx(before.init_sharpness.tolist(), rel=1e-6)
    assert after.final_train_loss.tolist() == pytest.approx(before.final_train_loss.tolist(), rel=1e-6)
    assert yaml.safe_load((out / "sweep.yaml").read_text())["options"]["max_group"] == 1


def test_resume_is_refused_while_the_sweep_runs(tmp_path):
    from gdlab.folder_lock import sweep_lock

    cfg = write_config(tmp_path)
    _, out = sweep(tmp_path, cfg, "optimizer.lr=0.01,0.1")
    (out / "001_lr=0.1" / "summary.json").unlink()
    kept = sorted(p.name for p in (out / "001_lr=0.1").iterdir())
    with sweep_lock(out):  # as the still-running sweep holds it
        r = runner.invoke(app, ["sweep", "--resume", str(out), "-q"])
        assert r.exit_code == 2 and f"{out}: this sweep is running now (process {os.getpid()})" in r.stderr
        assert sorted(p.name for p in (out / "001_lr=0.1").iterdir()) == kept  # nothing of it was cleared
    assert runner.invoke(app, ["sweep", "--resume", str(out), "-q"]).exit_code == 0


def test_overrides_yaml_replays_to_the_same_config(tmp_path):
    cfg = write_config(tmp_path, optimizer={"name": "SGD", "lr": 0.1, "momentum": 0.9})
    result, out = sweep(tmp_path, cfg, "optimizer.name=Adam", "optimizer.lr=logspace(-3,-2,3)", "train.batch_size=null,24")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    for d in (table.run_dir[2], table.run_dir[5]):  # lr 0.0031622776601 (rounded in folder names), batch null/24
        recorded = yaml.safe_load((out / d / "overrides.yaml").read_text())
        assert recorded[0] == "optimizer.name=Adam"
        replay = tmp_path / f"replay-{d}"
        r = runner.invoke(app, ["train", str(cfg), *recorded, "--run-dir", str(replay), "-q"])
        assert r.exit_code == 0, r.output
        assert yaml.safe_load((replay / "config.yaml").read_text()) == yaml.safe_load((out / d / "config.yaml").read_text())
    # a resumed variant records the same
    (out / table.run_dir[2] / "summary.json").unlink()
    before = (out / table.run_dir[5] / "overrides.yaml").read_text()
    assert runner.invoke(app, ["sweep", "--resume", str(out), "-q"]).exit_code == 0
    assert yaml.safe_load((out / table.run_dir[2] / "overrides.yaml").read_text())[0] == "optimizer.name=Adam"
    assert (out / table.run_dir[5] / "overrides.yaml").read_text() == before


def test_a_one_value_override_a_swept_kind_drops_is_left_out_of_that_variants_overrides(tmp_path):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.name=SGD,Adam", "optimizer.momentum=0.5")
    assert result.exit_code == 0 and "optimizer.momentum dropped where the swept kind does not take it" in result.stderr
    table = pd.read_csv(out / "sweep.csv")
    recorded = [yaml.safe_load((out / d / "overrides.yaml").read_text()) for d in table.run_dir]
    assert recorded == [["optimizer.momentum=0.5", "optimizer.name=SGD"], ["optimizer.name=Adam"]]
    for d, overrides in zip(table.run_dir, recorded):  # each replays with gdlab train to its config
        r = runner.invoke(app, ["train", str(cfg), *overrides, "--run-dir", str(tmp_path / f"replay-{d}"), "-q"])
        assert r.exit_code == 0, r.output
        assert yaml.safe_load((tmp_path / f"replay-{d}" / "config.yaml").read_text()) == yaml.safe_load((out / d / "config.yaml").read_text())


def test_a_data_path_axis_is_relative_to_the_config_file(tmp_path, monkeypatch):
    folder = tmp_path / "cfgs"
    folder.mkdir()
    for name, shift in (("a.csv", 0.0), ("b.csv", 1.0)):
        (folder / name).write_text("x,y\n" + "".join(f"{i / 10 + shift},{i % 2}\n" for i in range(20)))
    cfg = folder / "csv.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "csv", "seed": 0, "data": {"name": "csv", "path": "a.csv", "target": "y", "val_fraction": 0.25},
        "model": [{"Linear": [1, 4]}, "Tanh", {"Linear": [4, 2]}], "loss": "CrossEntropyLoss",
        "optimizer": {"name": "SGD", "lr": 0.1}, "train": {"steps": 5, "device": "cpu"}}))
    monkeypatch.chdir(tmp_path)  # not the config's folder
    result, out = sweep(tmp_path, cfg, "data.path=a.csv,b.csv")
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((out / "sweep.yaml").read_text())["axes"]["data.path"]
    assert saved == [str(folder / "a.csv"), str(folder / "b.csv")]


def test_an_invalid_fixed_override_is_named_as_the_override(tmp_path):
    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=-1", "seed=0,1")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert f"{cfg} (with override 'optimizer.lr=-1'): optimizer.lr" in result.stderr, result.stderr
    assert not out.exists()


def test_a_ray_dry_run_without_ray_installed_says_so_as_the_real_run_would(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    cfg = write_config(tmp_path)
    for extra in (["--dry-run"], []):
        result, out = sweep(tmp_path, cfg, "optimizer.lr=0.1,0.2", "--backend", "ray", *extra)
        assert result.exit_code == 2 and "--backend ray needs Ray: pip install 'gdlab[ray]'" in result.stderr
        assert not out.exists()


@pytest.mark.parametrize("why", ["not installed", "unreachable"])
def test_a_ray_resume_that_cannot_get_ray_clears_no_unfinished_variant(tmp_path, monkeypatch, why):
    """The unfinished variants' folders (an interrupted one's rows) were removed before Ray was connected to."""
    import sys

    cfg = write_config(tmp_path)
    result, out = sweep(tmp_path, cfg, "optimizer.lr=0.1,0.2", "--vectorize", "off")
    assert result.exit_code == 0, result.output
    (out / "001_lr=0.2" / "summary.json").unlink()  # as a sweep killed while it trained leaves it
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    if why == "not installed":
        monkeypatch.setitem(sys.modules, "ray", None)
        args, code, message = [], 2, "--backend ray needs Ray: pip install 'gdlab[ray]'"
    else:
        pytest.importorskip("ray", reason="the ray extra is not installed")
        args, code, message = ["--ray-address", "127.0.0.1:1"], 1, "--ray-address 127.0.0.1:1: cannot reach"
    # a --rank-by it was given is not kept either (sweep.yaml would rank the sweep anew though nothing ran)
    result = runner.invoke(app, ["sweep", "--resume", str(out), "--backend", "ray", "--rank-by", "final_train_loss", *args])
    assert result.exit_code == code and message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_up_front_checks_load_a_dataset_once_for_many_batch_sizes(tmp_path, monkeypatch):
    import gdlab.runner

    calls = []
    real = gdlab.runner.load_data
    monkeypatch.setattr(gdlab.runner, "load_data", lambda *a, **k: calls.append(1) or real(*a, **k))
    result, _ = sweep(tmp_path, write_config(tmp_path), "train.batch_size=8,16,32", "--dry-run")
    assert result.exit_code == 0, result.output
    assert len(calls) == 1


def test_a_group_stopped_by_keyboardinterrupt_keeps_its_diverged_results(tmp_path):
    """A Ray worker gets the terminal's Ctrl-C as KeyboardInterrupt: a variant that had diverged is a
    result (resume keeps it), not `interrupted`."""
    import torch

    from gdlab.loading import load_config
    from gdlab.runner import Variant, prepare_data, run_group

    cfg_path = Path(__file__).resolve().parents[1] / "configs" / "sine.yaml"
    cfgs = [load_config(cfg_path, [f"optimizer.lr={lr}", "train.steps=50"]) for lr in (1e6, 0.01)]
    data = prepare_data(cfgs[0])

    def ctrl_c(rec):
        if rec.step == 10:
            raise KeyboardInterrupt

    variants = [Variant(c, tmp_path / str(i), []) for i, c in enumerate(cfgs)]
    for v in variants:
        v.run_dir.mkdir()
    summaries = run_group(variants, [data, data], torch.device("cpu"), observers=[ctrl_c])
    assert [s["status"] for s in summaries] == ["diverged", "interrupted"]
    assert summaries[0]["diverged_at_step"] is not None and summaries[0]["diverged_at_step"] < 10


def test_piped_ranking_tables_keep_their_column_names(tmp_path):
    """Piped, rich squeezed the tables into 80 columns: `optimi…` for both optimizer axes."""
    cfg = write_config(tmp_path, **{"train.epochs": 2})
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", str(cfg), "optimizer.lr=0.01,0.1", "optimizer.name=SGD,Adam", "data.noise=0.1,0.3",
                                 "--run-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "optimizer.lr" in result.stdout and "optimizer.name" in result.stdout and "…" not in result.stdout


def test_an_axis_that_changes_the_problem_gets_a_best_of_each_of_its_values():
    """The best line named the easiest problem's variant (less noise: a lower loss at any lr), right under the note
    that such scores are not comparable; each noise level now has its own best, by its own ranking."""
    from gdlab.cli.sweep_ranking import ranking_tables

    losses = {(0.1, 0.01): 0.30, (0.1, 0.1): 0.20, (0.5, 0.01): 0.50, (0.5, 0.1): 0.60}  # (noise, lr): loss
    rows = [{"data.noise": noise, "optimizer.lr": lr, "seed": seed, "status": "completed",
             "final_train_loss": loss + seed / 100, "run_dir": f"{noise}_{lr}_{seed}", "diverged_at_step": None, "steps": 10}
            for (noise, lr), loss in losses.items() for seed in (0, 1)]
    lines = [str(t) for t in ranking_tables(rows, ["data.noise", "optimizer.lr", "seed"]) if str(t).startswith("best")]
    assert [line.split("  (")[0] for line in lines] == [
        "best over seeds (data.noise=0.1): optimizer.lr=0.1", "best single run (data.noise=0.1): optimizer.lr=0.1, seed=0",
        "best over seeds (data.noise=0.5): optimizer.lr=0.01", "best single run (data.noise=0.5): optimizer.lr=0.01, seed=0"]


def test_an_axis_that_changes_the_problem_alone_keeps_one_best_line():
    """With one setting per value (data.noise alone, besides seeds) there is nothing to choose within a value: one
    best line for the sweep, as before, not a line per value naming '(the base config)'."""
    from gdlab.cli.sweep_ranking import ranking_tables

    rows = [{"data.noise": noise, "seed": seed, "status": "completed", "final_train_loss": noise + seed / 100,
             "run_dir": f"{noise}_{seed}", "diverged_at_step": None, "steps": 10} for noise in (0.1, 0.5) for seed in (0, 1)]
    lines = [str(t) for t in ranking_tables(rows, ["data.noise", "seed"]) if str(t).startswith("best")]
    assert [line.split("  (")[0] for line in lines] == ["best over seeds: data.noise=0.1",
                                                        "best single run: data.noise=0.1, seed=0"]
