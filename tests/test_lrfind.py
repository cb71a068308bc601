"""gdlab lr-find: bad ranges refused up front, a suggestion from the steady part of the descent (never the
minimum or a lone dip), and a loud lower-bound warning when the range ended with the loss still falling."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.lrsuggest import smooth, still_falling, suggest
from tests.helpers import TINY, entry_at

runner = CliRunner()
QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"


def lr_find(tmp_path, *args):
    cfg, out = tmp_path / "tiny.yaml", tmp_path / "lrf"
    cfg.write_text(json.dumps(TINY))  # JSON is YAML
    result = runner.invoke(app, ["lr-find", str(cfg), "--run-dir", str(out), *args])
    return result, out


# ---------------------------------------------------------------- bad ranges
@pytest.mark.parametrize("args, words", [
    (["--max-lr", "inf"], ["--max-lr", "finite"]),
    (["--min-lr", "1e-320"], ["--min-lr", "subnormal"]),
    (["--min-lr", "nan"], ["--min-lr", "finite"]),
    (["--min-lr", "0"], ["--min-lr"]),
    (["--min-lr", "-1"], ["--min-lr"]),
    (["--min-lr", "1", "--max-lr", "0.5"], ["--min-lr", "--max-lr", "min-lr < max-lr"]),
    # the per-step factor rounds to 1, and both bounds are written out in full (they read "1 .. 1" at 3 digits)
    (["--min-lr", "1", "--max-lr", "1.0000000000000002"],
     ["--steps", "--min-lr 1.0 .. --max-lr 1.0000000000000002", "factor rounds to exactly 1",
      "widen the range or use fewer --steps"]),  # narrowing it, once advised too, only makes the factor closer to 1
    (["--min-lr", "1.00001", "--max-lr", "1.000001"], ["--min-lr 1.00001 / --max-lr 1.000001", "min-lr < max-lr"]),
    (["--steps", "3"], ["--steps", "at least 5"]),
    (["--stop-factor", "nan"], ["--stop-factor"]),
    (["--stop-factor", "0.5"], ["--stop-factor"]),
])
def test_a_bad_range_is_one_error_line_exit_2_and_no_folder(tmp_path, args, words):
    result, out = lr_find(tmp_path, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gdlab: error: "), result.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in result.output and not out.exists()


def test_a_huge_ratio_runs_when_the_per_step_factor_is_finite(tmp_path):
    # (1e300/1e-300) overflows a float, but its 4th root (the factor for 5 steps) is a finite 1e150
    result, out = lr_find(tmp_path, "--min-lr", "1e-300", "--max-lr", "1e300", "--steps", "5")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "lr_find.json").read_text())["min_lr"] == 1e-300


def test_a_per_step_factor_that_overflows_is_refused_by_the_function_too(tmp_path):
    from gdlab.errors import GdlabError
    from gdlab.lrfind import check_range

    assert check_range(1e-6, 10.0, 100) == pytest.approx(10 ** (7 / 99))
    with pytest.raises(GdlabError, match="--steps"):
        check_range(1e-300, 1e300, 2)


# ---------------------------------------------------------------- the suggestion, on curves with a known answer
LRS = [10 ** (-6 + 7 * i / 99) for i in range(100)]  # the default range: 1e-6 .. 10 in 100 steps


def descent(lr: float) -> float:
    """0.65 falling to 0.35 along a logistic in log10 lr, steepest exactly at lr = 1e-2."""
    return 0.65 - 0.3 / (1 + math.exp(-(math.log10(lr) + 2) / 0.3))


def blow_up_after(raw: list[float], i: int) -> list[float]:
    return raw[:i] + [raw[i - 1] * 3 ** k for k in range(1, 6)]


def steady(end: int) -> list[float]:
    """The logistic descent up to step `end`, then a blow-up."""
    return blow_up_after([descent(lr) for lr in LRS[:end]], end)


def test_the_steepest_fall_of_a_clean_descent_is_found():
    steepest, at_min = suggest(LRS, smooth(steady(85), 0.9))
    # Right of 1e-2 only by the moving average's lag (it trails the raw loss by a few steps), and far left of the minimum.
    assert 1e-2 <= steepest <= 10 ** -1.4 and at_min == LRS[84]


def test_a_dip_just_before_the_blow_up_is_neither_the_suggestion_nor_its_window():
    raw = steady(80)
    raw[79] -= 0.15  # a lone dip on the last step before the blow-up: it becomes the smoothed minimum
    steepest, at_min = suggest(LRS, smooth(raw, 0.9))
    assert at_min == LRS[79] and steepest < LRS[76]
    assert abs(LRS.index(steepest) - LRS.index(suggest(LRS, smooth(steady(80), 0.9))[0])) <= 1


def test_a_lone_dip_in_the_tail_of_the_descent_is_not_the_steepest_fall():
    raw = steady(85)
    raw[70] -= 0.06  # one noisy step at lr ~ 0.1: its one-step fall beats the real slope, its window's does not
    steepest, _ = suggest(LRS, smooth(raw, 0.9))
    assert abs(LRS.index(steepest) - LRS.index(suggest(LRS, smooth(steady(85), 0.9))[0])) <= 1


def test_the_suggestion_is_never_at_or_next_to_the_minimum_on_noisy_curves():
    rng = random.Random(0)
    for _ in range(200):
        end = rng.randrange(60, 100)
        raw = [descent(lr) + rng.gauss(0, 0.01) for lr in LRS[:end]] + [float("nan")] * (100 - end)
        s = smooth(raw, 0.9)
        steepest, at_min = suggest(LRS, s)
        if steepest is not None:
            assert LRS.index(steepest) <= LRS.index(at_min) - 3


def test_no_suggestion_without_a_real_descent():
    rng = random.Random(1)
    flat = [0.7 + rng.gauss(0, 1e-4) for _ in LRS]  # noise, no descent: well under 1% of the loss
    assert suggest(LRS, smooth(flat, 0.9))[0] is None
    rising = [0.5 + 0.01 * i for i in range(100)]
    assert suggest(LRS, smooth(rising, 0.9))[0] is None
    assert suggest(LRS[:3], [1.0, 0.5, 0.2]) == (None, None)


def test_still_falling_only_when_the_minimum_is_at_the_end():
    falling = [descent(lr) for lr in LRS[:40]]  # stops at 1e-3, mid-descent
    assert still_falling(LRS[:40], smooth(falling, 0.9))
    assert not still_falling(LRS[:85], smooth(steady(80), 0.9))


# ---------------------------------------------------------------- through the CLI
def test_a_range_that_ends_while_the_loss_still_falls_says_so(tmp_path):
    result, out = lr_find(tmp_path, "--min-lr", "1e-3", "--max-lr", "1e-1", "--steps", "60")
    assert result.exit_code == 0, result.output
    assert "still falling" in result.output and "lower bound" in result.output and "--max-lr" in result.output
    info = json.loads((out / "lr_find.json").read_text())
    assert info["loss_still_falling"] is True and not info["stopped_early"]
    assert f"suggested lr: at least {info['suggested_lr']:.3g}" in result.output
    assert "no suggestion" not in result.output


def test_a_range_too_short_for_a_suggestion_while_still_falling_says_one_thing(tmp_path):
    result, out = lr_find(tmp_path, "--min-lr", "1e-3", "--max-lr", "1e-2", "--steps", "5")
    assert result.exit_code == 0, result.output
    info = json.loads((out / "lr_find.json").read_text())
    assert info["loss_still_falling"] is True and info["suggested_lr"] is None
    assert "no suggestion yet: the loss was still falling" in result.output
    assert "never fell steadily" not in result.output and "lower bound" not in result.output


def test_a_range_that_blows_up_is_not_still_falling(tmp_path):
    result, out = lr_find(tmp_path, "--steps", "60", "--min-lr", "1e-4", "--max-lr", "1e4")
    assert result.exit_code == 0, result.output
    info = json.loads((out / "lr_find.json").read_text())
    assert info["loss_still_falling"] is False and "still falling" not in result.output
    assert info["suggested_lr"] < info["min_loss_lr"] and "window" in info["note"]


def test_quickstart_suggests_an_lr_from_the_descent_not_its_noisy_bottom(tmp_path):
    """The audited case: the suggestion used to be 0.278, the very lr where the loss bottomed out, one step
    before it blew up."""
    out = tmp_path / "lrf"
    result = runner.invoke(app, ["lr-find", str(QUICKSTART), "--run-dir", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "lr_find.json").read_text())
    assert info["stopped_early"] and not info["loss_still_falling"]
    assert 1e-3 < info["suggested_lr"] < info["min_loss_lr"] / 3  # at least a third of a decade below the bottom


def test_a_stopped_range_test_keeps_what_ran_and_says_it_was_interrupted(tmp_path):
    from gdlab.loading import load_config
    from gdlab.lrfind import lr_find as run_lr_find

    calls = []
    result = run_lr_find(load_config(QUICKSTART), tmp_path / "lf", steps=100,
                         should_stop=lambda: calls.append(1) or len(calls) > 20)
    assert result.interrupted and not result.stopped_early and 0 < len(result.lrs) < 100
    info = json.loads((tmp_path / "lf" / "lr_find.json").read_text())
    assert info["interrupted"] is True and info["stopped_early"] is False and info["steps"] == len(result.lrs)
    assert len((tmp_path / "lf" / "lr_find.csv").read_text().splitlines()) == len(result.lrs) + 1


def test_ctrl_c_ends_lr_find_with_130_and_its_folder(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "lf"
    proc = subprocess.Popen([sys.executable, "-m", "gdlab", "lr-find", str(QUICKSTART), "--steps", "100000",
                             "--min-lr", "1e-9", "--max-lr", "1e-8", "--run-dir", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out / "lr_find.csv").exists():
        time.sleep(0.1)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "(interrupted)" in stdout and stdout.strip().splitlines()[-1] == str(out)
    assert json.loads((out / "lr_find.json").read_text())["interrupted"] is True


def test_the_step_by_step_smoother_equals_smoothing_the_whole_list():
    from gdlab.lrsuggest import Smoother

    losses = [1.0, 0.9, 0.95, 0.7, float("inf"), 0.5, 0.4]
    smoother = Smoother(0.9)
    stepwise = [smoother.add(v) for v in losses]
    whole = smooth(losses, 0.9)
    assert stepwise[:4] == whole[:4] and all(math.isnan(v) for v in stepwise[4:] + whole[4:])  # NaN from inf on
    # the bias correction makes the first value the first loss, then an EMA: 0.1 * 0.9 + 0.09 * 1.0 over 0.19
    assert whole[0] == 1.0 and whole[1] == pytest.approx((0.09 * 1.0 + 0.1 * 0.9) / 0.19)


# ---------------------------------------------------------------- the suggestion is linear in the number of points
def reference_suggest(lrs: list[float], smoothed: list[float]) -> tuple[float | None, float | None]:
    """suggest() as it was before its walk-back became O(n): kept verbatim as the answer it must still give."""
    from gdlab.lrsuggest import MIN_FALL, MIN_STEPS, _finite_min, _half_window

    n, i_min = _finite_min(smoothed)
    if n < MIN_STEPS:
        return None, None
    s, h = smoothed[:n], _half_window(lrs)
    flat = 1e-3 * (max(s[: i_min + 1]) - s[i_min])
    start = i_min
    while start > 0 and max(s[max(start - h, 0):start]) - s[start] > flat:
        start -= 1
    top = max(s[start:i_min + 1])
    centres = range(start + h, i_min - h)
    if not centres or top - s[i_min] < MIN_FALL * abs(top):
        return None, lrs[i_min]
    slope = lambda i: (s[i + h] - s[i - h]) / (math.log10(lrs[i + h]) - math.log10(lrs[i - h]))  # noqa: E731
    return lrs[min(centres, key=slope)], lrs[i_min]


def random_curve(rng: random.Random) -> tuple[list[float], list[float]]:
    """A loss curve with noise, spikes, plateaus, ties and NaNs over an lr range from a ten-thousandth of a
    decade (the half window far wider than the curve) to thirty decades (a half window of one point)."""
    n = rng.choice([rng.randrange(1, 12), rng.randrange(12, 300), rng.randrange(300, 2000)])
    decades = rng.choice([1e-4, 0.01, 0.3, 2, 7, 30])
    lo = 10 ** rng.uniform(-8, -2)
    lrs = [lo * 10 ** (decades * i / max(n - 1, 1)) for i in range(n)]
    centre, width, noise = rng.uniform(0, n), rng.uniform(1, n), rng.choice([0, 1e-4, 0.01, 0.1])
    raw = [0.3 + 0.4 / (1 + math.exp((i - centre) / width)) + rng.gauss(0, noise) for i in range(n)]
    for _ in range(rng.randrange(4)):  # spikes and dips
        raw[rng.randrange(n)] += rng.choice([-1, 1]) * rng.uniform(0.01, 2)
    for _ in range(rng.randrange(3)):  # plateaus: equal values, so the window max has ties
        i = rng.randrange(n)
        j = min(n, i + rng.randrange(1, n // 3 + 2))
        raw[i:j] = [raw[i]] * (j - i)
    if rng.random() < 0.3:  # a blow-up to NaN or inf, from any step on (a lone NaN ends the finite part too)
        i = rng.randrange(n)
        raw[i:] = [rng.choice([float("nan"), float("inf")])] * (n - i)
    if rng.random() < 0.2:
        raw = [round(v, 2) for v in raw]  # coarse values: many exact ties
    return lrs, (raw if rng.random() < 0.3 else smooth(raw, rng.choice([0.5, 0.9, 0.98])))


def test_the_linear_walk_back_suggests_exactly_what_the_quadratic_one_did():
    rng = random.Random(7)
    suggested = 0
    for _ in range(1000):
        lrs, s = random_curve(rng)
        got = suggest(lrs, s)
        assert got == reference_suggest(lrs, s), (lrs[:3], s[:20])
        suggested += got[0] is not None
    assert suggested > 150  # the curves reach the slope search, not only the early returns


def test_the_known_curves_keep_their_suggestions():
    for s in (smooth(steady(85), 0.9), smooth(steady(60), 0.9), [descent(lr) for lr in LRS]):
        assert suggest(LRS, s) == reference_suggest(LRS, s)
    # A fall of exactly `flat` (0.1% of 1000 = 1.0) is flat and ends the walk: the boundary stays where it was.
    lrs, s = [10.0 ** (10 * i) for i in range(8)], [1000.0, 999.0, 998.0, 997.0, 996.0, 995.0, 994.0, 0.0]
    assert suggest(lrs, s) == reference_suggest(lrs, s) == (None, lrs[-1])


def test_a_narrow_range_over_many_steps_takes_linear_time():
    """A hundredth of a decade over 200k steps makes the half window wider than the curve: the old walk-back
    took max() over the whole curve at every step, minutes for a million steps. Timing 4x the points must
    cost about 4x (a quadratic walk costs 16x); CPU time, best of a few runs, is steady on a busy machine."""
    import time

    def best_time(n: int, repeats: int) -> float:
        lrs = [1e-3 * 10 ** (0.01 * i / (n - 1)) for i in range(n)]
        s = [1.0 - 0.5 * i / n for i in range(n)]  # falls to the very end: the walk goes back to the first point
        times = []
        for _ in range(repeats):
            t = time.process_time()
            assert suggest(lrs, s) == (None, lrs[-1])
            times.append(time.process_time() - t)
        return min(times)

    small, large = best_time(50_000, 5), best_time(200_000, 3)
    assert large < 9 * max(small, 1e-3), (small, large)


def next_commands(stdout: str) -> dict[str, list[str]]:
    """The printed `next:` and `or:` commands, split as a shell would."""
    import shlex

    return {line.split(":", 1)[0].strip(): shlex.split(line.split(":", 1)[1]) for line in stdout.splitlines()
            if line.startswith(("next:", "  or:"))}


def run_printed(tmp_path, command: list[str], where: str) -> Path:
    """Run a printed command as pasted (four epochs, to be quick, evaluated at each: a plateau schedule watches them,
    and an early_stop_patience of 3 needs more than 3 evaluations); its run or sweep folder."""
    assert command[0] == "gdlab"
    ran = runner.invoke(app, [*command[1:], "train.epochs=4", "train.eval_every=1", "--runs", str(tmp_path / where), "-q"])
    assert ran.exit_code == 0, (command, ran.output)
    return Path(ran.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args, factors", [((), (1 / 3, 1, 3)),
                                           (("--min-lr", "1e-3", "--max-lr", "1e-1", "--steps", "60"), (1, 3, 10))])
def test_the_suggestion_comes_with_commands_that_run_as_printed(tmp_path, args, factors):
    """'Confirm with gdlab sweep around it' left the user to write that sweep; the next commands are printed,
    around the suggestion (above it when it is only a lower bound), with lr-find's own overrides."""
    cfg = tmp_path / "my config.yaml"  # a space: the printed command must quote it
    cfg.write_text(QUICKSTART.read_text())
    out = tmp_path / "lrf"
    result = runner.invoke(app, ["lr-find", str(cfg), "train.log_every=2", "--run-dir", str(out), *args])
    assert result.exit_code == 0, result.output
    lr = json.loads((out / "lr_find.json").read_text())["suggested_lr"]
    commands = next_commands(result.stdout)
    sweep, train = commands["next"], commands["or"]
    assert sweep[:4] == ["gdlab", "sweep", str(cfg), "train.log_every=2"]
    assert sweep[4] == "optimizer.lr=" + ",".join(f"{lr * f:.3g}" for f in factors)
    assert train[:4] == ["gdlab", "train", str(cfg), "train.log_every=2"] and train[4] == f"optimizer.lr={lr:.3g}"
    saved = yaml.safe_load((run_printed(tmp_path, train, "runs") / "config.yaml").read_text())
    assert saved["optimizer"]["lr"] == float(f"{lr:.3g}") and saved["train"]["log_every"] == 2
    swept = pd.read_csv(run_printed(tmp_path, sweep, "swept") / "sweep.csv")
    assert list(swept["optimizer.lr"]) == [float(f"{lr * f:.3g}") for f in factors]


def test_an_override_that_suits_only_the_range_test_is_left_out_of_the_commands_with_a_note(tmp_path):
    """With ReduceLROnPlateau, lr-find takes data.val_fraction=0 (its own schedule replaces the plateau one, and
    the test reads no validation rows), but the printed gdlab train and sweep with it were refused, exit 2."""
    out = tmp_path / "lrf"
    result = runner.invoke(app, ["lr-find", str(QUICKSTART), "scheduler.name=ReduceLROnPlateau", "data.val_fraction=0",
                                 "--run-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert ("note: the commands below leave out data.val_fraction=0: the range test needs no validation rows, but "
            "gdlab train refuses to run without them here (scheduler.name: ReduceLROnPlateau watches val_loss") in result.stdout
    commands = next_commands(result.stdout)
    for name, command in commands.items():
        assert command[2:4] == [str(QUICKSTART), "scheduler.name=ReduceLROnPlateau"] and "data.val_fraction=0" not in command
        saved = yaml.safe_load((run_printed(tmp_path, command, name) / ("sweep.yaml" if name == "next" else "config.yaml")).read_text())
        assert "ReduceLROnPlateau" in json.dumps(saved)
    assert set(commands) == {"next", "or"}


def test_no_commands_are_printed_for_a_config_gdlab_train_refuses(tmp_path):
    """A config whose own split has no validation rows for its plateau schedule: lr-find still runs and
    suggests, but no command it could print would run, so it prints none and says why."""
    raw = yaml.safe_load(QUICKSTART.read_text())
    raw["data"]["val_fraction"], raw["scheduler"] = 0, {"name": "ReduceLROnPlateau"}
    cfg = tmp_path / "plateau.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["lr-find", str(cfg), "--run-dir", str(tmp_path / "lrf")])
    assert result.exit_code == 0, result.output
    assert "suggested lr:" in result.stdout and not next_commands(result.stdout)
    assert ("no next commands: gdlab train would refuse this config (scheduler.name: ReduceLROnPlateau watches "
            "val_loss") in result.stdout
    assert runner.invoke(app, ["train", str(cfg), "--runs", str(tmp_path / "runs")]).exit_code == 2  # as it says


def test_lr_find_ignores_early_stopping_and_best_weights_and_its_commands_keep_them(tmp_path):
    """The range test evaluates once, at its end, so early stopping never acts in it and it saves no model.pt;
    with data.val_fraction=0 it refused them anyway. It now runs without them, and the commands keep them."""
    out = tmp_path / "lrf"
    result = runner.invoke(app, ["lr-find", str(QUICKSTART), "train.early_stop_patience=3", "train.restore_best_weights=true",
                                 "data.val_fraction=0", "--run-dir", str(out)])
    assert result.exit_code == 0, result.output
    ran = yaml.safe_load((out / "config.yaml").read_text())["train"]
    assert ran["early_stop_patience"] is None and ran["restore_best_weights"] is False
    assert "leave out data.val_fraction=0" in result.stdout and "train.early_stop_patience: early stopping" in result.stdout
    for name, command in next_commands(result.stdout).items():
        assert command[3:5] == ["train.early_stop_patience=3", "train.restore_best_weights=true"]
        assert "data.val_fraction=0" not in command
        run_printed(tmp_path, command, name)


@pytest.mark.parametrize("where", ["--run-dir", "--runs"])
def test_lr_find_stopped_before_its_first_step_leaves_no_folder(tmp_path, monkeypatch, where):
    # a Ctrl-C or SIGTERM that lands before the first step (while the data loads) once left a folder with a
    # header-only lr_find.csv and the message "the loss never fell steadily"; as for gdlab train, a test that
    # never started leaves nothing, and exits as the signal says
    import contextlib
    import signal

    from gdlab.signals import StopFlag
    from tests.helpers import one_error_line

    @contextlib.contextmanager
    def stopped_already():
        flag = StopFlag()
        flag.signum = signal.SIGTERM
        yield flag

    monkeypatch.setattr("gdlab.signals.graceful_stop", stopped_already)
    cfg, out = tmp_path / "tiny.yaml", tmp_path / "out"
    cfg.write_text(json.dumps(TINY))
    result = runner.invoke(app, ["lr-find", str(cfg), where, str(out)])
    one_error_line(result, 143, "interrupted before the range test began; no lr-find folder is left")
    if where == "--run-dir":
        assert not out.exists()
    else:
        assert not list(out.rglob("lr-find-*"))


def test_an_interrupted_test_without_a_fall_says_to_finish_it_not_to_widen_it(tmp_path, monkeypatch):
    """A noisy loss over the first steps of 1e-9..1e-8 has no steady fall, and nothing is known of the lrs
    the test never reached: the advice is to run it to the end, not to widen the range or add steps."""
    import gdlab.lrfind as lrfind

    real = lrfind.lr_find

    def stopped_after_30_checks(*args, **kwargs):
        calls = []
        return real(*args, **{**kwargs, "should_stop": lambda: calls.append(1) or len(calls) > 30})

    monkeypatch.setattr(lrfind, "lr_find", stopped_after_30_checks)
    out = tmp_path / "lf"
    result = CliRunner().invoke(app, ["lr-find", str(QUICKSTART), "--min-lr", "1e-9", "--max-lr", "1e-8",
                                      "train.batch_size=8", "--run-dir", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "lr_find.json").read_text())
    assert info["interrupted"] and info["suggested_lr"] is None and not info["loss_still_falling"]
    assert f"by lr {pd.read_csv(out / 'lr_find.csv')['lr'].iloc[-1]:.3g}, where it was interrupted; run it to the end" \
        in result.stdout and "widen" not in result.stdout, result.stdout


def test_a_config_only_gdlab_sweep_refuses_still_gets_its_train_command(tmp_path):
    """A sweep: section still drawing amsgrad from 2 values 4 times once the sweep lists its lrs: gdlab sweep
    refuses that, gdlab train ignores the section. Both commands were withheld, blaming gdlab train."""
    raw = yaml.safe_load(QUICKSTART.read_text())
    raw["sweep"] = {"samples": 4, "optimizer.lr": "loguniform(1e-3,1)", "optimizer.amsgrad": "choice(true,false)"}
    cfg = tmp_path / "search.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["lr-find", str(cfg), "--run-dir", str(tmp_path / "lrf")])
    assert result.exit_code == 0, result.output
    assert (f"note: no sweep command: gdlab sweep would refuse this config ({entry_at(cfg, 'samples:', ' samples:')}: sweep.samples 4, but the drawn "
            "axes have only 2 distinct points") in result.stdout, result.stdout
    assert "gdlab train would refuse" not in result.stdout
    commands = next_commands(result.stdout)
    assert list(commands) == ["next"] and commands["next"][:3] == ["gdlab", "train", str(cfg)]
    run_printed(tmp_path, commands["next"], "runs")  # runs as printed


# ---------------------------------------------------------------- one process per folder
def test_an_empty_run_dir_another_gdlab_process_holds_is_refused_and_left_alone(tmp_path):
    from gdlab.folder_lock import run_folder_lock

    out = tmp_path / "lrf"
    out.mkdir()
    # a `gdlab train --run-dir` of the same empty folder, started a moment earlier: locked, nothing written yet
    with run_folder_lock(out, "held by the other process"):
        result, _ = lr_find(tmp_path, "--steps", "10")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert f"--run-dir {out}: another gdlab process took this folder just now" in result.stderr
    assert list(out.iterdir()) == []


def test_a_run_dir_another_process_wrote_into_after_the_empty_check_is_refused(tmp_path, monkeypatch):
    import gdlab.lrfind

    real = gdlab.lrfind.create_run_dir

    def and_another_writer(*args, **kwargs):  # a second lr-find that passed the same "new or empty" check
        folder = real(*args, **kwargs)
        (folder / "lr_find.csv").write_text("step,lr,loss,smoothed_loss\n1,1e-06,0.7,0.7\n")
        return folder

    monkeypatch.setattr(gdlab.lrfind, "create_run_dir", and_another_writer)
    result, out = lr_find(tmp_path, "--steps", "10")
    assert result.exit_code == 2 and "another gdlab process wrote here just now" in result.stderr, result.output
    assert [p.name for p in out.iterdir()] == ["lr_find.csv"]  # the other writer's file, untouched
    assert (out / "lr_find.csv").read_text() == "step,lr,loss,smoothed_loss\n1,1e-06,0.7,0.7\n"
