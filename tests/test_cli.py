"""`gdlab train`, `validate` and `--help` end to end through the CLI: run folders, exit codes, stdout
contract, divergence, --expect, --smoke, determinism, and a --help that stays light."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
import torch

from gdlab.loading import load_config
from gdlab.yamlio import parse_yaml
from tests.helpers import entry_at, invoke

ROOT = Path(__file__).resolve().parents[1]
MOONS = ROOT / "configs" / "moons.yaml"
STAMP = r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d"

TINY = """\
name: tiny
seed: 3
data: {name: moons, n_samples: 96, noise: 0.2, val_fraction: 0.25}
model:
  - Linear: [2, 8]
  - Tanh
  - Linear: [8, 2]
loss: CrossEntropyLoss
optimizer: {name: SGD, lr: 0.1, momentum: 0.5}
train: {epochs: 3, batch_size: 16, device: cpu}
"""

SINE = """\
name: sine-boom
data: {name: sine, n_samples: 64}
model:
  - Linear: [1, 8]
  - Tanh
  - Linear: [8, 1]
loss: MSELoss
optimizer: {name: SGD, lr: 1.0e6}
train: {epochs: 30, device: cpu}
"""


def train_ok(*args) -> tuple[object, Path]:
    result = invoke("train", *args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result, Path(result.stdout.splitlines()[-1])


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_metrics(folder: Path) -> list[dict]:
    with open(folder / "metrics.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def without_wall(folder: Path) -> str:
    """metrics.csv with its wall_s column removed (the only column allowed to differ between runs)."""
    rows = list(csv.reader(io.StringIO((folder / "metrics.csv").read_text())))
    drop = rows[0].index("wall_s")
    return "\n".join(",".join(cell for i, cell in enumerate(row) if i != drop) for row in rows)


# ---------------------------------------------------------------- one run, every file
def test_train_writes_a_complete_run_folder(tmp_path):
    run_dir = tmp_path / "X"
    result, printed = train_ok(MOONS, "--run-dir", run_dir, "train.epochs=3", "-q")
    assert printed == run_dir and result.stdout == f"{run_dir}\n" and result.stderr == ""
    assert {"config.yaml", "overrides.yaml", "metrics.csv", "summary.json", "model.pt"} <= {p.name for p in run_dir.iterdir()}
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")]  # no temp files left over

    assert parse_yaml((run_dir / "overrides.yaml").read_text(), "overrides.yaml")[0] == ["train.epochs=3"]
    cfg = load_config(run_dir / "config.yaml")
    assert cfg == load_config(MOONS, ["train.epochs=3"])  # the resolved config, override applied

    summary = summary_of(run_dir)
    assert summary["status"] == "completed" and summary["steps"] == 3 and summary["name"] == "moons-sgd"
    assert summary["diverged_at_step"] is None and summary["error"] is None
    rows = read_metrics(run_dir)
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["train_loss"]) == summary["final_train_loss"]
    assert float(rows[-1]["val_loss"]) == summary["final_val_loss"]

    from gdlab.data import load_data
    from gdlab.model import build_sequential

    state = torch.load(run_dir / "model.pt", weights_only=True)
    net = build_sequential(cfg)
    net.load_state_dict(state)  # strict: every key and shape matches the config's model
    data = load_data(cfg)
    with torch.no_grad():
        val_loss = torch.nn.functional.cross_entropy(net(data.x_val), data.y_val).item()
    assert math.isclose(val_loss, summary["final_val_loss"], rel_tol=1e-4), (val_loss, summary["final_val_loss"])


def test_saved_config_trains_again_as_is(tmp_path):
    cfg = write(tmp_path, TINY)
    _, first = train_ok(cfg, "--run-dir", tmp_path / "first", "optimizer.lr=0.2", "-q")
    _, again = train_ok(first / "config.yaml", "--run-dir", tmp_path / "again", "-q")
    assert (again / "config.yaml").read_bytes() == (first / "config.yaml").read_bytes()
    assert parse_yaml((again / "overrides.yaml").read_text(), "o")[0] == []
    assert without_wall(again) == without_wall(first)
    assert summary_of(again)["status"] == "completed"


def test_not_quiet_prints_a_summary_then_the_folder_last(tmp_path):
    result, folder = train_ok(write(tmp_path, TINY), "--runs", tmp_path / "runs")
    lines = result.stdout.splitlines()
    assert len(lines) > 1 and "completed" in result.stdout and "final_val_loss" in result.stdout
    assert folder.is_dir() and folder.parent.parent == tmp_path / "runs"


def test_quiet_prints_only_the_folder(tmp_path):
    result, folder = train_ok(write(tmp_path, TINY), "--runs", tmp_path / "runs", "--quiet")
    assert result.stdout == f"{folder}\n"
    assert result.stderr == ""


# ---------------------------------------------------------------- folder layout
def test_default_folder_is_runs_name_timestamp(tmp_path):
    before = datetime.now().replace(microsecond=0)
    _, folder = train_ok(write(tmp_path, TINY), "--runs", tmp_path / "runs", "-q")
    assert folder.parent == tmp_path / "runs" / "tiny"
    assert re.fullmatch(STAMP, folder.name), folder.name
    stamp = datetime.strptime(folder.name, "%Y-%m-%d_%H-%M-%S")
    assert before <= stamp <= datetime.now()


def test_name_defaults_to_the_file_stem(tmp_path):
    _, folder = train_ok(write(tmp_path, TINY.replace("name: tiny\n", ""), "my exp.yaml"), "--runs", tmp_path / "runs", "-q")
    assert folder.parent.name == "my-exp"


def test_two_runs_in_the_same_second_get_different_folders(tmp_path, monkeypatch):
    import gdlab.rundir

    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2030, 1, 2, 3, 4, 5)

    monkeypatch.setattr(gdlab.rundir, "datetime", FrozenClock)
    cfg = write(tmp_path, TINY.replace("epochs: 3", "epochs: 1"))
    folders = [train_ok(cfg, "--runs", tmp_path / "runs", "-q")[1] for _ in range(3)]
    assert [f.name for f in folders] == ["2030-01-02_03-04-05", "2030-01-02_03-04-05_2", "2030-01-02_03-04-05_3"]
    for f in folders:
        assert summary_of(f)["status"] == "completed"


def test_back_to_back_runs_never_share_a_folder(tmp_path):
    cfg = write(tmp_path, TINY.replace("epochs: 3", "epochs: 1"))
    a = train_ok(cfg, "--runs", tmp_path / "runs", "-q")[1]
    b = train_ok(cfg, "--runs", tmp_path / "runs", "-q")[1]
    assert a != b
    assert re.fullmatch(STAMP + r"(_\d+)?", a.name) and re.fullmatch(STAMP + r"(_\d+)?", b.name)


def test_run_dir_may_exist_if_empty(tmp_path):
    run_dir = tmp_path / "empty"
    run_dir.mkdir()
    _, folder = train_ok(write(tmp_path, TINY), "--run-dir", run_dir, "-q")
    assert folder == run_dir and (run_dir / "summary.json").is_file()


# ---------------------------------------------------------------- divergence
def test_divergence_exits_3_at_the_first_non_finite_loss(tmp_path):
    result = invoke("train", write(tmp_path, SINE), "--run-dir", tmp_path / "d", "train.diverge_factor=null", "-q")
    assert result.exit_code == 3, (result.stdout, result.stderr, result.exception)
    folder = Path(result.stdout.splitlines()[-1])
    assert folder == tmp_path / "d"
    summary = summary_of(folder)
    rows = read_metrics(folder)
    first_bad = next(int(r["step"]) for r in rows if not math.isfinite(float(r["train_loss"])))
    assert summary["status"] == "diverged"
    assert summary["diverged_at_step"] == first_bad == int(rows[-1]["step"]) == summary["steps"]
    assert first_bad < 30  # it really stopped early
    assert all(math.isfinite(float(r["train_loss"])) for r in rows[:-1])
    assert f"diverged at step {first_bad} (loss non-finite); rows so far are kept" in result.stderr
    assert "Traceback" not in result.output and "diverge_factor" not in result.stderr  # null: not the reason
    # the files a run promises are there even though it blew up
    torch.load(folder / "model.pt", weights_only=True)
    json.loads((folder / "summary.json").read_text())  # strict JSON: non-finite values were written as null


def test_divergence_by_loss_factor(tmp_path):
    result = invoke("train", write(tmp_path, SINE), "--run-dir", tmp_path / "d", "-q")
    assert result.exit_code == 3, (result.stdout, result.stderr)
    folder = tmp_path / "d"
    summary, rows = summary_of(folder), read_metrics(folder)
    cfg = load_config(folder / "config.yaml")
    limit = cfg.train.diverge_factor * max(float(rows[0]["train_loss"]), 1.0)
    first_bad = next(int(r["step"]) for r in rows if not (float(r["train_loss"]) <= limit))
    assert summary["status"] == "diverged" and summary["diverged_at_step"] == first_bad == int(rows[-1]["step"])
    # README: no validation values at the step a run diverged (the model that diverged is not the one evaluated);
    # the evaluations before it are written
    assert rows[-1]["val_loss"] == "" and all(r["val_loss"] for r in rows[:-1])


def test_the_loss_bar_is_the_factor_times_the_first_loss_but_at_least_the_factor(tmp_path):
    """max(first loss, 1): the run above blows up past both bars, so nothing tested the floor. Here the first
    loss is 0.22 and the loss rises to 1.32, above 2 x 0.22 but under 2 x 1: the run completes."""
    result = invoke("train", write(tmp_path, SINE), "--run-dir", tmp_path / "d", "-q", "optimizer.lr=0.4",
                    "train.diverge_factor=2")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    losses = [float(r["train_loss"]) for r in read_metrics(tmp_path / "d")]
    assert losses[0] < 1 and 2 * losses[0] < max(losses) < 2  # the premise: only the floor keeps it going
    assert summary_of(tmp_path / "d")["status"] == "completed"


# ---------------------------------------------------------------- --expect
def test_expect_missed_exits_1_with_a_clear_message(tmp_path):
    result = invoke("train", write(tmp_path, TINY), "--run-dir", tmp_path / "x", "-q", "--expect", "final_val_loss<0.0001")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == f"{tmp_path / 'x'}\n"  # the run is kept and its folder still printed
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("gdlab: expectation failed: expected final_val_loss<0.0001, got final_val_loss=")
    value, gap = line.rsplit("=", 1)[1].split(" (over by ")
    got = float(value)
    assert math.isclose(got, summary_of(tmp_path / "x")["final_val_loss"], rel_tol=1e-5)
    assert math.isclose(float(gap.rstrip(")")), got - 0.0001, rel_tol=1e-2)  # by how much it missed


def test_expect_met_exits_0(tmp_path):
    result = invoke(
        "train", write(tmp_path, TINY), "--run-dir", tmp_path / "x", "-q",
        "--expect", "val_accuracy>=0", "--expect", "final_train_loss < 100", "--expect", "steps==15", "--expect", "epochs==3",
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""


def test_expect_at_its_bound_meets_the_inclusive_ops_and_says_why_a_strict_one_missed(tmp_path):
    """A value equal to the bound read `expected steps>15, got steps=15`, as if the failure were a rounding."""
    result = invoke("train", write(tmp_path, TINY), "--run-dir", tmp_path / "x", "-q",
                    "--expect", "steps>=15", "--expect", "steps<=15", "--expect", "steps>15", "--expect", "steps!=15")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.splitlines() == [
        "gdlab: expectation failed: expected steps>15, got steps=15 (at the bound, which > excludes)",
        "gdlab: expectation failed: expected steps!=15, got steps=15 (at the bound, which != excludes)"]


def test_expect_does_not_judge_an_interrupted_run(tmp_path, monkeypatch):
    """A CI job cancelled mid-run logged `expectation failed: ... (short by 0.05)` beside its exit 130, as if
    the model had regressed; the bars are for a finished run (--resume one, with them, to judge it)."""
    import signal
    from contextlib import contextmanager

    import gdlab.train
    from gdlab.signals import StopFlag

    class CtrlCAfterAStep(StopFlag):  # as a Ctrl-C once training has begun stops it
        def __init__(self):
            super().__init__()
            self.asked = 0

        def __call__(self) -> bool:
            self.asked += 1
            self.signum = self.signum or (signal.SIGINT if self.asked > 3 else None)
            return self.signum is not None

    monkeypatch.setattr(gdlab.train, "graceful_stop", contextmanager(lambda: (yield CtrlCAfterAStep())))
    result = invoke("train", write(tmp_path, TINY), "--run-dir", tmp_path / "x", "-q", "--expect", "steps>=15")
    assert result.exit_code == 130, (result.stdout, result.stderr, result.exception)
    assert summary_of(tmp_path / "x")["status"] == "interrupted" and summary_of(tmp_path / "x")["steps"] < 15
    assert "interrupted after step" in result.stderr and "expectation" not in result.stderr, result.stderr


def test_expect_on_a_diverged_run_keeps_exit_3(tmp_path):
    result = invoke("train", write(tmp_path, SINE), "--run-dir", tmp_path / "d", "-q", "--expect", "final_val_loss<1")
    assert result.exit_code == 3
    assert "expectation failed" in result.stderr


# ---------------------------------------------------------------- --smoke
def test_smoke_runs_five_steps(tmp_path):
    _, folder = train_ok(MOONS, "--smoke", "--run-dir", tmp_path / "s", "-q")
    summary = summary_of(folder)
    assert summary["status"] == "completed" and summary["steps"] == 5
    assert len(read_metrics(folder)) == 5
    assert load_config(folder / "config.yaml").train.steps == 5


def test_a_passing_smoke_run_reads_its_files_back_and_leaves_no_temp_folder(tmp_path, monkeypatch):
    """CI runs --smoke for every config on every push: 212 folders had piled up in /tmp."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    made = []
    real = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    result = invoke("train", write(tmp_path, TINY), "--smoke")
    assert result.exit_code == 0, result.stderr
    assert len(made) == 1 and "gdlab-smoke-tiny" in made[0] and not list((tmp_path / "tmp").iterdir())
    assert "smoke run ok" in result.stderr and result.stdout.strip().splitlines()[-1] != made[0]


def test_a_smoke_run_whose_model_does_not_read_back_fails_and_keeps_its_folder(tmp_path, monkeypatch):
    import gdlab.runner

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(gdlab.runner, "save_model", lambda path, state: path.write_bytes(b"not a torch file"))
    result = invoke("train", write(tmp_path, TINY), "--smoke", "-q")
    assert result.exit_code == 1 and "--smoke" in result.stderr and "model.pt" in result.stderr, result.stderr
    assert len(list((tmp_path / "tmp").iterdir())) == 1  # kept, to look at


def test_a_smoke_run_in_a_run_dir_reads_its_files_back_too(tmp_path, monkeypatch):
    """CI keeps the folder as an artifact with --run-dir: the read-back was skipped there, and an unreadable
    model.pt passed with exit 0. A failed read-back names the kept folder on stdout's last line."""
    import gdlab.runner

    monkeypatch.setattr(gdlab.runner, "save_model", lambda path, state: path.write_bytes(b"not a torch file"))
    folder = tmp_path / "s"
    result = invoke("train", write(tmp_path, TINY), "--smoke", "--run-dir", folder)
    assert result.exit_code == 1 and "--smoke" in result.stderr and "model.pt" in result.stderr, result.stderr
    assert result.stdout.splitlines()[-1] == str(folder) and (folder / "model.pt").is_file()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    result = invoke("train", write(tmp_path, TINY), "--smoke", "-q")
    assert result.exit_code == 1 and result.stdout.splitlines() == [str(next((tmp_path / "tmp").iterdir()))]


def test_a_passing_smoke_run_in_a_run_dir_says_so_and_keeps_it(tmp_path):
    result, folder = train_ok(write(tmp_path, TINY), "--smoke", "--run-dir", tmp_path / "s")
    assert "smoke run ok" in result.stderr and folder == tmp_path / "s" and (folder / "model.pt").is_file()


def test_a_smoke_run_with_runs_trains_under_it_and_keeps_its_folder(tmp_path, monkeypatch):
    """--smoke --runs DIR trained in a temp folder and removed it: DIR, where CI collects artifacts, stayed empty."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    result, folder = train_ok(write(tmp_path, TINY), "--smoke", "--runs", tmp_path / "ci")
    assert folder.parent.parent == tmp_path / "ci" and summary_of(folder)["steps"] == 5
    assert "smoke run ok" in result.stderr and "folder kept" in result.stderr
    assert not list((tmp_path / "tmp").iterdir())


def test_smoke_with_a_bar_is_refused_before_any_temp_folder(tmp_path, monkeypatch):
    """A bar judged on 5 steps says nothing, and a missed one left its temp folder behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    result = invoke("train", write(tmp_path, TINY), "--smoke", "--expect", "final_train_loss<1e-9")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "--smoke with --expect" in result.stderr and not list((tmp_path / "tmp").iterdir())


def test_smoke_with_bad_config_leaves_no_temp_folder(tmp_path):
    before = set(Path(tempfile.gettempdir()).glob("gdlab-smoke-bad-*"))
    result = invoke("train", write(tmp_path, TINY.replace("name: tiny", "name: bad").replace("[8, 2]", "[9, 2]")), "--smoke")
    assert result.exit_code == 2 and "model[2]" in result.stderr
    assert set(Path(tempfile.gettempdir()).glob("gdlab-smoke-bad-*")) == before


# ---------------------------------------------------------------- validate
def test_validate_shipped_configs():
    configs = sorted(ROOT.glob("configs/*.yaml"))
    assert MOONS in configs
    result = invoke("validate", *configs)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.splitlines() == [f"ok  {c}" for c in configs]


def test_validate_reports_each_bad_config_and_exits_2(tmp_path):
    shape = write(tmp_path, TINY.replace("[8, 2]", "[9, 2]"), "shape.yaml")
    typo = write(tmp_path, TINY.replace("lr: 0.1", "lr: -1"), "typo.yaml")
    result = invoke("validate", MOONS, shape, typo)
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [f"ok  {MOONS}"]
    errors = result.stderr.splitlines()
    assert len(errors) == 2 and all(e.startswith("gdlab: error: ") for e in errors)
    assert f"{shape}: model[2]" in errors[0] and "in_features=9" in errors[0]
    assert f"{typo}:9:" in errors[1] and "optimizer.lr" in errors[1]


def test_validate_checks_every_variant_of_a_sweep_section(tmp_path):
    typo = write(tmp_path, TINY + "sweep: {optimizer.lrr: [0.1]}\n", "typo.yaml")
    negative = write(tmp_path, TINY + "sweep: {optimizer.lr: [0.1, -5]}\n", "negative.yaml")
    good = write(tmp_path, TINY + "sweep: {optimizer.lr: [0.1, 0.2]}\n", "good.yaml")
    result = invoke("validate", typo, negative, good)
    assert result.exit_code == 2 and result.stdout.splitlines() == [f"ok  {good}"]
    errors = result.stderr.splitlines()
    # each at its value in the sweep: section, as an error elsewhere in the file is at its line and column
    at = entry_at(typo, "0.1", line_with="sweep:")
    assert f"{at}: variant 0 (optimizer.lrr=0.1): optimizer.lrr: unknown key 'lrr'" in errors[0]
    at = entry_at(negative, "-5", line_with="sweep:")
    assert f"{at}: variant 1 (optimizer.lr=-5): optimizer.lr" in errors[1] and len(errors) == 2


def test_validate_refuses_a_device_train_would_refuse(tmp_path):
    """cuda:7 is on no machine that runs these tests; `gdlab train` refuses it, so validate must not say ok."""
    far = write(tmp_path, TINY.replace("device: cpu", "device: cuda:7"), "far.yaml")
    result = invoke("validate", far)
    assert result.exit_code == 2 and "train.device: 'cuda:7'" in result.stderr and not result.stdout
    assert invoke("validate", "--no-data", far).exit_code == 0  # the schema allows it; the machine does not


def test_validate_no_data_skips_shape_checks(tmp_path):
    shape = write(tmp_path, TINY.replace("[8, 2]", "[9, 2]"), "shape.yaml")
    assert invoke("validate", "--no-data", shape).exit_code == 0


# ---------------------------------------------------------------- help and imports
def test_python_m_gdlab_help():
    proc = subprocess.run([sys.executable, "-m", "gdlab", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for word in ("train", "validate", "schema"):
        assert word in proc.stdout


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["validate", "--help"],
                                  ["validate", "--no-data", str(ROOT / "configs" / "lr_sweep.yaml")]],
                         ids=["top", "train", "validate", "validate-no-data-sweep"])
def test_help_does_not_import_heavy_modules(argv):
    code = (
        "import sys\n"
        "from typer.main import get_command\n"
        "from gdlab.cli import app\n"
        "try:\n"
        f"    get_command(app).main({argv!r}, prog_name='gdlab', standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('HEAVY', [m for m in ('torch', 'pandas', 'matplotlib', 'sklearn') if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert ("Usage" if "--help" in argv else "ok  ") in proc.stdout  # the command did run
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY []"


# ---------------------------------------------------------------- determinism
def test_same_config_gives_identical_metrics_and_weights(tmp_path):
    cfg = write(tmp_path, TINY)
    _, a = train_ok(cfg, "--run-dir", tmp_path / "a", "-q")
    _, b = train_ok(cfg, "--run-dir", tmp_path / "b", "-q")
    assert len(read_metrics(a)) == 15  # 72 training rows in batches of 16: 5 steps per epoch, 3 epochs
    assert without_wall(a) == without_wall(b)
    wa, wb = torch.load(a / "model.pt", weights_only=True), torch.load(b / "model.pt", weights_only=True)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_seed_changes_the_run(tmp_path):
    cfg = write(tmp_path, TINY)
    _, a = train_ok(cfg, "--run-dir", tmp_path / "a", "-q")
    _, b = train_ok(cfg, "--run-dir", tmp_path / "b", "seed=4", "-q")
    assert without_wall(a) != without_wall(b)


def test_a_ctrl_c_before_training_starts_says_so_and_exits_130(tmp_path, monkeypatch):
    """typer turned it into a silent exit 130 (or click's 'Aborted!')."""
    import gdlab.loading

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(gdlab.loading, "load_config", interrupted)
    result = invoke("train", write(tmp_path, TINY), "--run-dir", tmp_path / "r")
    assert result.exit_code == 130 and result.stderr == "gdlab: interrupted\n"
    assert not (tmp_path / "r").exists()


def test_help_shows_the_defaults_written_for_options_without_one():
    """Rich read `[default: ...]` inside a help text as markup and dropped it: --vectorize and --rank-by
    showed no default at all."""
    shown = " ".join(invoke("sweep", "--help").stdout.replace("│", " ").split())
    assert "[default: (auto; with --resume: as the sweep ran)]" in shown
    assert "else final_train_loss; with --resume: as the sweep ran)]" in shown
    assert "[default: (0, or the sweep: section's sample_seed)]" in shown


@pytest.mark.parametrize("argv", [["--help"], ["sweep", "--help"], ["train", "--help"], ["lr-find", "--help"]])
def test_piped_help_in_a_narrow_columns_cuts_no_option_or_word(monkeypatch, argv):
    """COLUMNS=40 with the help piped into a log cut option names and help with '…' (`--dry-r…`, `key=logsp…`)."""
    import typer

    from gdlab.cli import app

    monkeypatch.setenv("COLUMNS", "40")
    result = invoke(*argv)
    assert result.exit_code == 0 and "…" not in result.stdout, result.stdout
    shown = set(result.stdout.replace("│", " ").split())
    group = typer.main.get_command(app)
    if len(argv) == 1:  # the app's help lists every command by name
        assert set(group.commands) <= shown, set(group.commands) - shown
    else:
        names = {n for p in group.commands[argv[0]].params for n in p.opts if n.startswith("--")}
        assert names <= shown, names - shown
