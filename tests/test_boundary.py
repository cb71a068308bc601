"""`gdlab plot RUN --boundary`: decision regions of a 2-D classifier, its snapshots figure, and the
one-line errors (regression, not 2-D, missing / corrupt / pickled model.pt) — end to end through the CLI."""

from __future__ import annotations

import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import yaml
import torch

from gdlab.boundary import compute_boundary
from gdlab.weights import choose_snapshots
from gdlab.data import load_data
from gdlab.loading import load_config
from gdlab.model import build_sequential
from gdlab.plotting.boundary_plot import class_colors, plot_boundary, plot_snapshots
from tests.helpers import invoke

MOONS = """\
name: tiny-moons
seed: 0
data: {name: moons, n_samples: 100, noise: 0.2, val_fraction: 0.25}
model:
  - Linear: [2, 8]
  - Tanh
  - Linear: [8, 2]
loss: CrossEntropyLoss
optimizer: {name: Adam, lr: 0.05}
train: {epochs: 20, device: cpu}
"""
SINE = """\
name: tiny-sine
data: {name: sine, n_samples: 40}
model: [{Linear: [1, 4]}, Tanh, {Linear: [4, 1]}]
loss: MSELoss
optimizer: {name: SGD, lr: 0.1}
train: {steps: 3, device: cpu}
"""
BLOBS3 = """\
name: tiny-blobs3
data: {name: blobs, n_features: 3, n_samples: 60}
model: [{Linear: [3, 4]}, ReLU, {Linear: [4, 3]}]
loss: CrossEntropyLoss
optimizer: {name: SGD, lr: 0.1}
train: {steps: 3, device: cpu}
"""


def cli(*args):
    result = invoke(*args)
    # A GdlabError must surface as SystemExit(code), never as an uncaught exception.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def train(folder: Path, text: str, *overrides: str) -> Path:
    config = folder.parent / f"{folder.name}.yaml"
    config.write_text(text, encoding="utf-8")
    result = cli("train", config, "--run-dir", folder, "-q", *overrides)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return folder


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def assert_one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gdlab: error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def moons_run(tmp_path_factory) -> Path:
    return train(tmp_path_factory.mktemp("boundary") / "moons", MOONS)


@pytest.fixture
def run_copy(moons_run, tmp_path) -> Path:
    """A private copy of the trained run, for tests that break or add files."""
    folder = tmp_path / "run"
    shutil.copytree(moons_run, folder, ignore=shutil.ignore_patterns("*.png", "snapshots"))
    return folder


# ---------------------------------------------------------------- the figure
def test_boundary_png_is_written_in_the_run_folder(moons_run):
    result = cli("plot", moons_run, "--boundary", "--dpi", 50)
    assert result.exit_code == 0, result.stderr
    target = moons_run / "boundary.png"
    assert result.stdout.strip() == f"wrote {target}"
    width, height = png_size(target)
    figure = plot_boundary(compute_boundary(moons_run, grid=20))
    assert (width, height) == tuple(round(v * 50) for v in figure.get_size_inches())
    assert not (moons_run / "boundary_snapshots.png").exists()  # this run saved no snapshots
    assert not (moons_run / "loss.png").exists()


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".pdf", b"%PDF")])
def test_output_format_follows_the_suffix(moons_run, tmp_path, suffix, magic):
    target = tmp_path / "out" / f"regions{suffix}"
    result = cli("plot", moons_run, "--boundary", "-o", target, "--grid", 30, "--title", "my title")
    assert result.exit_code == 0, result.stderr
    data = target.read_bytes()
    assert magic in data[:2000]
    if suffix == ".svg":
        assert b"my title" in data


def test_grid_predictions_equal_the_model_applied_directly(moons_run):
    boundary = compute_boundary(moons_run, grid=41)
    cfg = load_config(moons_run / "config.yaml")
    data = load_data(cfg)
    model = build_sequential(cfg)
    model.load_state_dict(torch.load(moons_run / "model.pt", weights_only=True))
    model.eval()

    assert boundary.xs.shape == boundary.ys.shape == (41,)
    points = torch.cat([data.x_train, data.x_val])
    assert boundary.xs[0] < points[:, 0].min() and boundary.xs[-1] > points[:, 0].max()  # covers the data + margin
    assert boundary.ys[0] < points[:, 1].min() and boundary.ys[-1] > points[:, 1].max()
    gx, gy = np.meshgrid(boundary.xs, boundary.ys)
    grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32)
    with torch.no_grad():
        logits = model(grid)
    expected = logits.argmax(1).numpy().reshape(41, 41)
    assert boundary.final.classes.shape == (41, 41)
    np.testing.assert_array_equal(boundary.final.classes, expected)
    np.testing.assert_allclose(boundary.final.p1, torch.softmax(logits.double(), 1)[:, 1].numpy().reshape(41, 41),
                               rtol=1e-6, atol=1e-7)
    assert 0 <= boundary.final.train_accuracy <= 1 and boundary.final.val_accuracy is not None
    with torch.no_grad():
        train_acc = (model(data.x_train).argmax(1) == data.y_train).double().mean().item()
    assert boundary.final.train_accuracy == pytest.approx(train_acc)


def test_points_in_the_figure_are_the_data_coloured_by_class(moons_run):
    boundary = compute_boundary(moons_run, grid=20)
    figure = plot_boundary(boundary)
    cfg = load_config(moons_run / "config.yaml")
    data = load_data(cfg)
    (ax,) = [a for a in figure.axes if any(c.get_gid() == "train" for c in a.collections)]
    collections = {c.get_gid(): c for c in ax.collections}
    assert {"regions", "train", "val"} <= set(collections)
    colors = np.array([(*c, 1.0) for c in class_colors(2)])

    train = collections["train"]
    np.testing.assert_allclose(train.get_offsets(), data.x_train.numpy(), rtol=1e-6)
    np.testing.assert_allclose(train.get_facecolors(), colors[data.y_train.numpy()])  # filled, by true class

    val = collections["val"]
    np.testing.assert_allclose(val.get_offsets(), data.x_val.numpy(), rtol=1e-6)
    faces = val.get_facecolors()
    assert len(faces) == 0 or (faces[:, 3] == 0).all()  # hollow
    np.testing.assert_allclose(val.get_edgecolors(), colors[data.y_val.numpy()])
    assert figure.axes[-1].get_ylabel() == "model's P(class 1)"  # the colour bar


# ---------------------------------------------------------------- snapshots
def write_snapshots(folder: Path, steps: list[int]) -> None:
    """Train the run's model with a plain torch loop and save its state_dict at the given steps."""
    cfg = load_config(folder / "config.yaml")
    data = load_data(cfg)
    torch.manual_seed(1)
    model = build_sequential(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    (folder / "snapshots").mkdir()
    for step in range(max(steps) + 1):
        if step in steps:
            torch.save(model.state_dict(), folder / "snapshots" / f"step_{step:07d}.pt")
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(data.x_train), data.y_train).backward()
        optimizer.step()


def panels(path_or_figure) -> list[str]:
    return [ax.get_gid() for ax in path_or_figure.axes if (ax.get_gid() or "").startswith("snapshot:")]


def test_snapshots_figure_has_one_panel_per_chosen_snapshot(run_copy):
    steps = list(range(0, 44, 4))  # 11 snapshots: 6 are drawn
    write_snapshots(run_copy, steps)
    (run_copy / "snapshots" / "notes.txt").write_text("not a snapshot")
    result = cli("plot", run_copy, "--boundary", "--dpi", 40, "--grid", 25)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["wrote", str(run_copy / "boundary.png"), "wrote",
                                     str(run_copy / "boundary_snapshots.png")]
    png_size(run_copy / "boundary_snapshots.png")

    chosen = choose_snapshots(steps)
    assert chosen == [0, 8, 16, 24, 32, 40]
    boundary = compute_boundary(run_copy, grid=25)
    assert [p.step for p in boundary.snapshots] == chosen
    figure = plot_snapshots(boundary)
    assert panels(figure) == [f"snapshot:{s}" for s in chosen]
    titles = [ax.get_title().splitlines()[0] for ax in figure.axes if ax.get_gid() in panels(figure)]
    assert titles == [f"step {s}" for s in chosen]
    # The snapshots are different weights: the regions at step 0 and step 40 differ.
    assert (boundary.snapshots[0].classes != boundary.snapshots[-1].classes).any()


def test_few_snapshots_are_all_drawn_and_a_bad_one_is_skipped_with_a_warning(run_copy):
    write_snapshots(run_copy, [0, 3, 9])
    (run_copy / "snapshots" / "step_0000005.pt").write_bytes(b"not a torch file")
    result = cli("plot", run_copy, "--boundary", "--dpi", 40, "--grid", 20)
    assert result.exit_code == 0, result.stderr
    assert "step_0000005.pt: not a readable torch state_dict" in result.stderr
    assert "skipping that snapshot" in result.stderr
    boundary = compute_boundary(run_copy, grid=20, warnings=[])
    assert [p.step for p in boundary.snapshots] == [0, 3, 9]
    assert panels(plot_snapshots(boundary)) == ["snapshot:0", "snapshot:3", "snapshot:9"]


def test_snapshots_saved_by_the_trainer_are_drawn(tmp_path):
    folder = train(tmp_path / "snap", MOONS, "train.epochs=12", "train.snapshot_every=4")
    assert sorted(p.name for p in (folder / "snapshots").iterdir()) == [f"step_{s:07d}.pt" for s in (0, 4, 8, 12)]  # 0: the initial weights
    result = cli("plot", folder, "--boundary", "--dpi", 40, "--grid", 20)
    assert result.exit_code == 0, result.stderr
    assert (folder / "boundary_snapshots.png").is_file()


def test_choose_snapshots_spreads_evenly_and_keeps_the_ends():
    assert choose_snapshots([]) == []
    assert choose_snapshots([30, 10, 20]) == [10, 20, 30]
    picked = choose_snapshots(list(range(100, 10001, 100)))
    assert len(picked) == 6 and picked[0] == 100 and picked[-1] == 10000
    assert np.ptp(np.diff(picked)) <= 100


# ---------------------------------------------------------------- errors: one line, exit 2
def test_regression_run_is_refused(tmp_path):
    folder = train(tmp_path / "sine", SINE)
    assert_one_line_error(cli("plot", folder, "--boundary"), "classification", "MSELoss")
    assert not (folder / "boundary.png").exists()


def test_three_feature_run_is_refused(tmp_path):
    folder = train(tmp_path / "blobs", BLOBS3)
    assert_one_line_error(cli("plot", folder, "--boundary"), "2-D", "3 features")


def test_missing_model_is_refused(run_copy):
    (run_copy / "model.pt").unlink()
    assert_one_line_error(cli("plot", run_copy, "--boundary"), "model.pt: no such file")


class Payload:
    """Unpickling this creates `marker`: stands in for a model.pt that runs code when loaded."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_pickle_payload_in_model_pt_is_refused_and_never_runs(run_copy, tmp_path, writer):
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(control))).close()
    assert control.exists()  # the payload is live: a plain unpickle runs it

    marker = tmp_path / "pwned"
    if writer == "torch.save":
        torch.save({"0.weight": Payload(marker)}, run_copy / "model.pt")
    else:
        (run_copy / "model.pt").write_bytes(pickle.dumps(Payload(marker), protocol=2))
    line = assert_one_line_error(cli("plot", run_copy, "--boundary"), "model.pt: refused to load",
                                 "weights_only=True")
    assert "open" in line  # names what it would have called
    assert not marker.exists()
    assert not (run_copy / "boundary.png").exists()


@pytest.mark.parametrize("content, fragment", [
    (b"", "not a readable torch state_dict"),
    (b"\x00garbage\xff" * 10, "not a readable torch state_dict"),
])
def test_corrupt_model_is_refused(run_copy, content, fragment):
    (run_copy / "model.pt").write_bytes(content)
    assert_one_line_error(cli("plot", run_copy, "--boundary"), fragment)


def test_weights_of_another_model_are_refused(run_copy):
    torch.save({"0.weight": torch.zeros(3, 3)}, run_copy / "model.pt")
    assert_one_line_error(cli("plot", run_copy, "--boundary"), "does not fit the model", "missing", "0.weight is [3, 3]")


def test_a_config_yaml_whose_shapes_do_not_fit_is_named(run_copy):
    cfg = yaml.safe_load((run_copy / "config.yaml").read_text())
    cfg["model"][2] = {"Linear": [7, 2]}
    (run_copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert_one_line_error(cli("plot", run_copy, "--boundary"), f"{run_copy / 'config.yaml'}: model[2]", "in_features")


def test_not_a_state_dict_is_refused(run_copy):
    torch.save([torch.zeros(2)], run_copy / "model.pt")
    assert_one_line_error(cli("plot", run_copy, "--boundary"), "expected a state_dict")


def test_boundary_needs_a_run_not_a_sweep_and_grid_needs_boundary(run_copy, tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "sweep.csv").write_text("optimizer.lr,status,final_train_loss,run_dir\n0.1,completed,0.5,a\n")
    (sweep / "sweep.yaml").write_text("base: {}\naxes: {optimizer.lr: [0.1]}\n")  # gdlab's, which makes it a sweep
    assert_one_line_error(cli("plot", sweep, "--boundary"), "needs a run folder")
    assert_one_line_error(cli("plot", run_copy, "--grid", 50), "--grid applies only with --boundary")
    assert_one_line_error(cli("plot", run_copy, "--boundary", "-o", tmp_path / "x.gif"), "cannot write")


def test_a_class_keeps_its_colour_whatever_the_number_of_classes():
    """Class 0 was Playground orange with two classes and tab10 blue with three."""
    two, three, twelve = class_colors(2), class_colors(3), class_colors(12)
    assert three[:2] == two and twelve[:3] == three
    assert len(set(twelve[:10])) == 10  # no colour repeats before the cycle does


def test_the_legend_names_a_decision_boundary_only_where_one_is_drawn(moons_run):
    """A model that predicts one class over the whole view draws no boundary line, so the legend lists none."""
    import dataclasses

    def legend_labels(boundary) -> list[str]:
        return [t.get_text() for legend in plot_boundary(boundary).legends for t in legend.get_texts()]

    boundary = compute_boundary(moons_run, grid=20)
    assert "decision boundary" in legend_labels(boundary)
    final = boundary.final
    flat = dataclasses.replace(final, classes=np.zeros_like(final.classes), p1=np.full_like(final.p1, 0.2))
    assert "decision boundary" not in legend_labels(dataclasses.replace(boundary, final=flat))
