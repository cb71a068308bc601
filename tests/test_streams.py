"""Output that cannot be written never stops a command or changes its exit code: a reader that went away
(`| head`), a closed or full stdout, a stderr nobody reads, a terminal encoding without '—'. Real
processes, since the streams are the process's own."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gdlab.cli.streams import SafeStream, final_code
from tests.helpers import invoke
from tests.test_sweep import write_config

GDLAB = f"{shlex.quote(sys.executable)} -m gdlab"
ROOT = Path(__file__).resolve().parents[1]


def shell(command: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **env})


def test_a_sweep_whose_reader_left_finishes_every_variant_and_exits_0(tmp_path):
    cfg = write_config(tmp_path)
    out = tmp_path / "sw"
    proc = subprocess.Popen([sys.executable, "-m", "gdlab", "sweep", str(cfg), "optimizer.lr=0.01,0.02,0.05,0.1,0.2,0.5",
                             "--vectorize", "off", "--run-dir", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT)
    proc.stdout.readline()  # `| head -1`: one line read, then the pipe is gone
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert list(pd.read_csv(out / "sweep.csv").status) == ["completed"] * 6


def test_a_divergence_keeps_exit_3_and_its_line_when_stdout_is_gone(tmp_path):
    cfg = write_config(tmp_path)
    run = f"{GDLAB} train {cfg} optimizer.lr=1e6 --runs {tmp_path}/r"
    piped = shell(f"{run} 2>{tmp_path}/err | true; exit ${{PIPESTATUS[0]}}")
    assert piped.returncode == 3, piped.stderr
    assert "gdlab: diverged at step" in (tmp_path / "err").read_text()
    assert shell(f"{run} >&-").returncode == 3
    assert shell(f"{run} 2>&-").returncode == 3


def test_a_closed_stdout_is_no_failure_and_bad_input_is_still_exit_2(tmp_path):
    cfg = write_config(tmp_path)
    done = shell(f"{GDLAB} train {cfg} train.epochs=2 --runs {tmp_path}/r >&-")
    assert done.returncode == 0 and done.stderr == ""
    assert len(list((tmp_path / "r").glob("*/*/summary.json"))) == 1
    assert shell(f"{GDLAB} train {cfg} optimizer.lr=-1 2>&-").returncode == 2
    assert shell(f"{GDLAB} validate {cfg} >&-").returncode == 0


def test_output_lost_to_a_full_device_is_said_and_fails_a_command_that_would_pass(tmp_path):
    cfg = write_config(tmp_path)
    full = shell(f"{GDLAB} validate {cfg} >/dev/full")
    assert full.returncode == 1
    assert full.stderr == "gdlab: error: cannot write to stdout (No space left on device)\n"
    bad = shell(f"{GDLAB} train {cfg} optimizer.lr=-1 >/dev/full")
    assert bad.returncode == 2 and "optimizer.lr" in bad.stderr  # the command's own failure stays its code


def test_an_encoding_without_the_tables_characters_still_prints_the_run(tmp_path):
    cfg = write_config(tmp_path, **{"data.val_fraction": 0})  # `gdlab runs` shows an empty val cell
    train = shell(f"{GDLAB} train {cfg} train.epochs=2 --runs {tmp_path}/r", PYTHONIOENCODING="latin-1", COLUMNS="20")
    assert train.returncode == 0, train.stderr
    assert train.stdout.splitlines()[-1].startswith(f"{tmp_path}/r/")
    runs = shell(f"{GDLAB} runs {tmp_path}/r", PYTHONIOENCODING="latin-1")
    assert runs.returncode == 0 and runs.stderr == "", runs.stderr


def test_runs_shows_a_missing_value_as_train_and_sweep_tables_do(tmp_path):
    """`gdlab runs` showed '—' where the train and sweep tables show '-' for a value a run does not have."""
    cfg = write_config(tmp_path, **{"data.val_fraction": 0})  # no validation rows: no best val loss
    assert invoke("train", cfg, "train.epochs=2", "--runs", tmp_path / "r").exit_code == 0
    (line,) = [ln for ln in invoke("runs", tmp_path / "r").stdout.splitlines() if "completed" in ln]
    name, day, time, kind, status, train_loss, val_loss, steps, path = line.split()
    assert (val_loss, steps) == ("-", "2") and "—" not in line, line


def test_a_piped_summary_is_not_cut_to_the_terminal_width(monkeypatch, tmp_path):
    monkeypatch.setenv("COLUMNS", "20")
    cfg = write_config(tmp_path)
    result = invoke("train", cfg, "train.epochs=2", "--runs", tmp_path / "r")
    assert result.exit_code == 0 and "final_train_loss" in result.output and "steps_per_s" in result.output


class Failing(io.StringIO):
    def __init__(self, error: OSError):
        super().__init__()
        self.error = error

    def write(self, text):
        raise self.error


@pytest.mark.parametrize("error, code, reported", [
    (BrokenPipeError(32, "Broken pipe"), 0, False),  # the reader left: what it wanted it had
    (OSError(28, "No space left on device"), 1, True),
])
def test_final_code_reports_only_output_that_was_wanted_and_lost(error, code, reported, capsys):
    out = SafeStream(Failing(error), "stdout")
    assert out.write("a table\n") == 8 and out.failed is error
    out.write("more\n")  # dropped quietly after the first failure
    assert final_code(0, out) == code and final_code(3, out) == 3
    assert ("cannot write to stdout" in capsys.readouterr().err) is reported


def test_forced_colour_in_a_ci_log_draws_no_live_bar(monkeypatch, tmp_path):
    """FORCE_COLOR=1 makes rich call a log file a terminal; the bar's redraws (cursor codes) must stay out."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    cfg = write_config(tmp_path)
    trained = invoke("train", cfg, "train.epochs=30", "--runs", tmp_path / "r")
    swept = invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--run-dir", tmp_path / "s")
    for result in (trained, swept):
        assert result.exit_code == 0, result.output
        assert "\x1b[?25l" not in result.output and "\x1b[2K" not in result.output  # hide cursor, erase line
    assert "final_train_loss" in trained.output and "ranking" in swept.output


def test_a_closed_stream_is_reopened_on_devnull_so_no_file_takes_its_descriptor(tmp_path):
    """With fd 1 closed, the next file opened became fd 1 (a sweep's lock file), where any stray write lands."""
    probe = (f"from gdlab.cli.streams import install; install(); import os; "
             f"f = open({str(tmp_path / 'other')!r}, 'w'); "
             f"open({str(tmp_path / 'fd1')!r}, 'w').write(os.readlink('/proc/self/fd/1'))")
    done = shell(f"{shlex.quote(sys.executable)} -c {shlex.quote(probe)} >&-")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fd1").read_text() == "/dev/null"


def test_forced_colour_keeps_piped_tables_whole(monkeypatch, tmp_path):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "14")
    result = invoke("train", write_config(tmp_path), "train.epochs=2", "--runs", tmp_path / "r")
    assert result.exit_code == 0 and "final_train_loss" in result.output and "…" not in result.output


def test_piped_tables_have_no_trailing_spaces_and_the_dry_run_title_is_one_line(tmp_path):
    """rich padded each row to the table's width (`steps   50     `), and wrapped the dry run's title to it."""
    import yaml

    from tests.helpers import TINY

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    trained = invoke("train", cfg, "--runs", tmp_path / "runs")
    planned = invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--dry-run")
    assert trained.exit_code == planned.exit_code == 0
    for out in (trained.stdout, planned.stdout):
        assert [line for line in out.splitlines() if line != line.rstrip()] == []
    assert planned.stdout.splitlines()[0] == "2 variants in 1 batched group(s) — nothing run (--dry-run)"
