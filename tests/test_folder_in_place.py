"""A folder where a run or sweep keeps one of its files (made by hand, or by a tool gone wrong): every command
names it in one line (exit 2, nothing changed) or, listing many folders, warns of it, instead of taking it for
a missing file, failing half-way with exit 1, or counting it as a variant."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.helpers import TINY, invoke, one_error_line


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, Path]:
    """(an unfinished run with checkpoints, a finished sweep of two variants)."""
    root = tmp_path_factory.mktemp("made")
    raw = json.loads(json.dumps(TINY))
    raw["train"].update(epochs=2, checkpoint_every=2)
    cfg = root / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    assert invoke("train", cfg, "--run-dir", root / "run", "-q").exit_code == 0
    (root / "run" / "summary.json").unlink()  # killed before its last file: it can resume
    raw["train"].pop("checkpoint_every")
    cfg.write_text(yaml.safe_dump(raw))
    assert invoke("sweep", cfg, "optimizer.lr=0.1,0.2", "--run-dir", root / "sweep", "-q").exit_code == 0
    return root / "run", root / "sweep"


def blocked(source: Path, tmp_path: Path, name: str) -> tuple[Path, dict[str, bytes]]:
    """A copy of `source` with a folder in place of its file `name`, and the bytes of every file left."""
    folder = tmp_path / source.name
    shutil.copytree(source, folder)
    (folder / name).unlink(missing_ok=True)
    (folder / name).mkdir()
    return folder, files_of(folder)


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["metrics.csv", "summary.json", "config.yaml", "checkpoint.pt"])
def test_train_resume_names_the_folder_in_place_of_a_run_file(made, tmp_path, name):
    run, before = blocked(made[0], tmp_path, name)
    one_error_line(invoke("train", "--resume", run, "-q"), 2, f"{run / name}: is a folder", "move it away")
    assert files_of(run) == before


@pytest.mark.parametrize("name", ["sweep.csv", "sweep.yaml"])
def test_sweep_resume_names_the_folder_in_place_of_a_sweep_file(made, tmp_path, name):
    sweep, before = blocked(made[1], tmp_path, name)
    one_error_line(invoke("sweep", "--resume", sweep, "-q"), 2, f"{sweep / name}: is a folder")
    assert files_of(sweep) == before


@pytest.mark.parametrize("which, name", [(0, "metrics.csv"), (1, "sweep.csv"), (1, "sweep.yaml")])
def test_plot_and_compare_name_the_folder_in_place_of_the_file_that_makes_a_folder_a_run_or_sweep(made, tmp_path, which, name):
    folder, _ = blocked(made[which], tmp_path, name)
    for command in (["plot", folder], ["compare", folder, made[which]]):
        one_error_line(invoke(*command, "-o", tmp_path / "out.png"), 2, f"{folder / name}: is a folder")
    assert not (tmp_path / "out.png").exists()


def test_runs_warns_of_the_folder_and_counts_only_variants(made, tmp_path):
    sweep, _ = blocked(made[1], tmp_path, "sweep.csv")
    run, _ = blocked(made[0], tmp_path, "metrics.csv")
    result = invoke("runs", tmp_path, "--json")
    assert result.exit_code == 0, result.stderr
    assert f"{sweep / 'sweep.csv'}: is a folder" in result.stderr
    assert f"{run / 'metrics.csv'}: is a folder" in result.stderr and "not listed" in result.stderr
    rows = {Path(r["path"]).name: r for r in json.loads(result.stdout)}
    assert rows["sweep"]["statuses"] == {"completed": 2}  # the sweep.csv folder is not a third, interrupted variant


@pytest.mark.parametrize("name", ["metrics.csv", "summary.json", "model.pt", "config.yaml", "overrides.yaml"])
def test_sweep_resume_names_the_folder_in_place_of_a_variant_file_and_deletes_nothing(made, tmp_path, name):
    variant = sorted(p.name for p in made[1].iterdir() if p.name.startswith("000_"))[0]
    sweep, _ = blocked(made[1], tmp_path, f"{variant}/{name}")
    (sweep / variant / name / "notes.txt").write_text("kept")  # a rerun would have removed the variant folder
    before = files_of(sweep)
    for dry in ([], ["--dry-run"]):
        one_error_line(invoke("sweep", "--resume", sweep, "-q", *dry), 2, f"{sweep / variant / name}: is a folder")
    assert files_of(sweep) == before


@pytest.mark.parametrize("what", ["a file", "a link"])
def test_sweep_resume_refuses_a_variant_that_is_no_folder_of_its_own(made, tmp_path, what):
    """Read as unfinished, it was rerun: shutil.rmtree of a file or a link is a traceback (exit 1), and the
    files behind a link are the user's, elsewhere."""
    sweep = tmp_path / "sweep"
    shutil.copytree(made[1], sweep)
    variant = sorted(p for p in sweep.iterdir() if p.name.startswith("000_"))[0]
    elsewhere = tmp_path / "elsewhere"
    shutil.move(variant, elsewhere)
    (elsewhere / "summary.json").unlink()  # unfinished: a resume would rerun it
    if what == "a file":
        variant.write_text("notes")
    else:
        variant.symlink_to(elsewhere, target_is_directory=True)
    before, kept = files_of(sweep), files_of(elsewhere)
    one_error_line(invoke("sweep", "--resume", sweep, "-q"), 2, f"{variant}: {what}, not a variant folder")
    assert files_of(sweep) == before and files_of(elsewhere) == kept and (variant.is_symlink() or variant.is_file())
