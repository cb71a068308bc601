"""Behaviour of gdlab.data: shapes per dataset and loss, determinism, splitting, standardizing, CSV errors."""

import re

import numpy as np
import yaml
import pytest
import torch

from gdlab.config import Config
from gdlab.data import data_seed, load_data
from gdlab.errors import GdlabError
from gdlab.loading import load_config


def make_cfg(data: dict, loss="CrossEntropyLoss", seed=0) -> Config:
    return Config.model_validate(
        {
            "seed": seed,
            "data": data,
            "model": [{"Linear": [2, 2]}],
            "loss": loss,
            "optimizer": {"name": "SGD", "lr": 0.1},
            "train": {"epochs": 1},
        }
    )


def dataset_id(value) -> str:
    return value["name"] if isinstance(value, dict) else str(value)


def rows(*arrays) -> set:
    return {tuple(r) for a in arrays for r in np.asarray(a).tolist()}


CLASSIFICATION = [
    ({"name": "moons", "n_samples": 200}, 2, 2),
    ({"name": "circles", "n_samples": 200, "factor": 0.3}, 2, 2),
    ({"name": "xor", "n_samples": 200}, 2, 2),
    ({"name": "gaussians", "n_samples": 200}, 2, 2),
    ({"name": "spiral", "n_samples": 200, "n_classes": 4}, 2, 4),
    ({"name": "blobs", "n_samples": 200, "n_features": 3, "centers": 5}, 3, 5),
    ({"name": "iris"}, 4, 3),
    ({"name": "wine"}, 13, 3),
    ({"name": "breast_cancer"}, 30, 2),
    ({"name": "digits"}, 64, 10),
]
REGRESSION = [
    ({"name": "sine", "n_features": 3}, 3),
    ({"name": "linear", "n_features": 4}, 4),
    ({"name": "friedman", "n_features": 7}, 7),
    ({"name": "diabetes"}, 10),
]


@pytest.mark.parametrize("data, n_features, n_classes", CLASSIFICATION, ids=dataset_id)
def test_cross_entropy_gets_int64_labels(data, n_features, n_classes):
    ds = load_data(make_cfg(data))
    assert ds.task == "classification"
    assert ds.x_train.dtype == torch.float32 and ds.x_train.shape[1] == n_features == ds.n_features
    assert ds.y_train.dtype == torch.int64 and ds.y_train.shape == (len(ds.x_train),)
    assert ds.n_classes == ds.n_outputs == n_classes
    assert int(ds.y_train.min()) >= 0 and int(ds.y_train.max()) < n_classes
    assert len(ds.feature_names) == n_features


@pytest.mark.parametrize("data, n_features", REGRESSION, ids=dataset_id)
@pytest.mark.parametrize("loss", ["MSELoss", "L1Loss", "HuberLoss"])
def test_regression_targets_are_float_columns(data, n_features, loss):
    ds = load_data(make_cfg(data, loss=loss), dtype=torch.float64)
    assert ds.task == "regression" and ds.n_classes is None and ds.n_outputs == 1
    assert ds.x_train.dtype == ds.y_train.dtype == torch.float64
    assert ds.x_train.shape[1] == n_features and ds.y_train.shape == (len(ds.x_train), 1)


def test_bce_gets_a_float_column_of_zeros_and_ones():
    ds = load_data(make_cfg({"name": "moons", "n_samples": 100}, loss="BCEWithLogitsLoss"))
    assert ds.y_train.dtype == torch.float32 and ds.y_train.shape == (80, 1)
    assert set(ds.y_train.flatten().tolist()) == {0.0, 1.0}
    assert ds.n_outputs == 1 and ds.n_classes == 2 and ds.task == "classification"


def test_regression_loss_on_class_data_trains_on_one_hot():
    labels = load_data(make_cfg({"name": "spiral", "n_classes": 3, "n_samples": 90}))
    one_hot = load_data(make_cfg({"name": "spiral", "n_classes": 3, "n_samples": 90}, loss="MSELoss"))
    assert one_hot.task == "regression" and one_hot.n_classes == 3 and one_hot.n_outputs == 3
    assert one_hot.y_train.dtype == torch.float32 and one_hot.y_train.shape == (72, 3)
    assert torch.equal(one_hot.y_train, torch.nn.functional.one_hot(labels.y_train, 3).float())
    assert torch.equal(one_hot.x_train, labels.x_train)


def test_same_config_gives_identical_tensors_and_another_seed_differs():
    data = {"name": "xor", "n_samples": 100, "standardize": True}
    a, b = load_data(make_cfg(data, seed=3)), load_data(make_cfg(data, seed=3))
    for name in ("x_train", "y_train", "x_val", "y_val"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.x_train, load_data(make_cfg(data, seed=4)).x_train)


GENERATORS = ["moons", "circles", "xor", "gaussians", "spiral", "blobs", "sine", "linear", "friedman"]


@pytest.mark.parametrize("name", GENERATORS)
def test_every_generator_is_seeded(name):
    loss = "MSELoss" if name in ("sine", "linear", "friedman") else "CrossEntropyLoss"
    first = load_data(make_cfg({"name": name, "n_samples": 50, "val_fraction": 0}, loss=loss, seed=1))
    again = load_data(make_cfg({"name": name, "n_samples": 50, "val_fraction": 0}, loss=loss, seed=1))
    other = load_data(make_cfg({"name": name, "n_samples": 50, "val_fraction": 0}, loss=loss, seed=2))
    assert torch.equal(first.x_train, again.x_train) and torch.equal(first.y_train, again.y_train)
    assert rows(first.x_train) != rows(other.x_train)


def noiseless(name: str, loss: str, **extra):
    data = {"name": name, "n_samples": 200, "noise": 0.0, "val_fraction": 0, **extra}
    ds = load_data(make_cfg(data, loss=loss), dtype=torch.float64)
    return ds.x_train.numpy(), ds.y_train.numpy()


def test_generators_follow_their_formulas_without_noise():
    x, y = noiseless("xor", "CrossEntropyLoss")
    assert np.all(np.abs(x) <= 1) and np.array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(int))
    x, y = noiseless("gaussians", "CrossEntropyLoss")
    assert np.all(x[y == 0] == 2.0) and np.all(x[y == 1] == -2.0) and np.sum(y == 0) == 100
    x, y = noiseless("sine", "MSELoss", n_features=2)
    assert np.all(np.abs(x) <= np.pi)
    np.testing.assert_allclose(y[:, 0], np.sin(x).sum(axis=1), atol=1e-12)
    x, y = noiseless("linear", "MSELoss", n_features=3)
    fit, residual, *_ = np.linalg.lstsq(np.c_[x, np.ones(len(x))], y, rcond=None)
    assert residual[0] < 1e-20
    x, y = noiseless("spiral", "CrossEntropyLoss", n_classes=3)
    assert np.all(np.hypot(x[:, 0], x[:, 1]) < 1) and np.bincount(y).tolist() == [67, 67, 66]


def test_data_seed_overrides_config_seed():
    cfg = make_cfg({"name": "moons", "n_samples": 60, "seed": 7}, seed=1)
    assert data_seed(cfg) == 7 and data_seed(make_cfg({"name": "moons"}, seed=1)) == 1
    same_data = load_data(make_cfg({"name": "moons", "n_samples": 60, "seed": 7}, seed=2))
    assert torch.equal(load_data(cfg).x_train, same_data.x_train)
    assert torch.equal(load_data(cfg).x_train, load_data(make_cfg({"name": "moons", "n_samples": 60}, seed=7)).x_train)


def test_moons_rows_are_sklearns_make_moons_rows():
    from sklearn.datasets import make_moons

    ds = load_data(make_cfg({"name": "moons", "n_samples": 300, "noise": 0.2}, seed=5), dtype=torch.float64)
    x, y = make_moons(300, noise=0.2, random_state=5)
    ours = rows(np.c_[ds.x_train.numpy(), ds.y_train.numpy()], np.c_[ds.x_val.numpy(), ds.y_val.numpy()])
    assert ours == rows(np.c_[x, y]) and len(ds.x_train) + len(ds.x_val) == 300


def test_large_seeds_work_for_sklearn_generators():
    ds = load_data(make_cfg({"name": "blobs", "n_samples": 20}, seed=2**40))
    assert ds.x_train.shape == (16, 2)


@pytest.mark.parametrize("fraction, n_val", [(0.2, 20), (0.25, 25), (0.001, 1), (0.994, 99)])
def test_validation_split_sizes(fraction, n_val):
    ds = load_data(make_cfg({"name": "moons", "n_samples": 100, "val_fraction": fraction}))
    assert len(ds.x_val) == len(ds.y_val) == n_val and len(ds.x_train) == len(ds.y_train) == 100 - n_val
    assert not rows(ds.x_train) & rows(ds.x_val)


def test_val_fraction_zero_keeps_every_row_for_training():
    ds = load_data(make_cfg({"name": "moons", "n_samples": 100, "val_fraction": 0}))
    assert ds.x_val is None and ds.y_val is None and len(ds.x_train) == 100


def test_split_leaving_no_training_rows_is_an_error():
    with pytest.raises(GdlabError, match="val_fraction"):
        load_data(make_cfg({"name": "moons", "n_samples": 4, "val_fraction": 0.9}))


def test_standardize_uses_training_statistics_only():
    data = {"name": "blobs", "n_features": 3, "n_samples": 200, "val_fraction": 0.3}
    plain = load_data(make_cfg(data), dtype=torch.float64)
    scaled = load_data(make_cfg({**data, "standardize": True}), dtype=torch.float64)
    mean, std = plain.x_train.numpy().mean(axis=0), plain.x_train.numpy().std(axis=0)
    np.testing.assert_allclose(scaled.x_train.numpy(), (plain.x_train.numpy() - mean) / std, rtol=1e-12)
    np.testing.assert_allclose(scaled.x_val.numpy(), (plain.x_val.numpy() - mean) / std, rtol=1e-12)
    np.testing.assert_allclose(scaled.x_train.numpy().mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(scaled.x_train.numpy().std(axis=0), 1, atol=1e-12)
    assert not np.allclose(scaled.x_val.numpy().mean(axis=0), 0, atol=1e-12)


def test_standardize_leaves_constant_features_finite(tmp_path):
    path = write(tmp_path, "c,x,y\n5,1,0\n5,2,1\n5,3,0\n5,4,1\n")
    ds = load_data(make_cfg({"name": "csv", "path": path, "target": "y", "standardize": True, "val_fraction": 0}))
    assert torch.isfinite(ds.x_train).all() and torch.all(ds.x_train[:, 0] == 0)


def test_the_split_follows_the_data_seed():
    first, again = load_data(make_cfg({"name": "iris", "seed": 1})), load_data(make_cfg({"name": "iris", "seed": 1}))
    other = load_data(make_cfg({"name": "iris", "seed": 2}))
    assert torch.equal(first.x_val, again.x_val) and rows(first.x_val) != rows(other.x_val)
    assert rows(first.x_train, first.x_val) == rows(other.x_train, other.x_val)


def test_bundled_datasets_ignore_n_samples_and_have_their_own_sizes():
    ds = load_data(make_cfg({"name": "iris", "val_fraction": 0}))
    assert len(ds.x_train) == 150


def test_classification_loss_on_regression_data_is_an_error():
    with pytest.raises(GdlabError, match=r"data\.name: 'sine' is a regression dataset; CrossEntropyLoss .*MSELoss"):
        load_data(make_cfg({"name": "sine"}))
    with pytest.raises(GdlabError, match="'diabetes'.*BCEWithLogitsLoss"):
        load_data(make_cfg({"name": "diabetes"}, loss="BCEWithLogitsLoss"))


def test_bce_needs_exactly_two_classes():
    with pytest.raises(GdlabError, match="BCEWithLogitsLoss needs two classes labelled 0 and 1, .* has labels 0, 1, 2"):
        load_data(make_cfg({"name": "spiral", "n_classes": 3}, loss="BCEWithLogitsLoss"))


def test_cross_entropy_weight_needs_one_entry_per_class():
    with pytest.raises(GdlabError, match=r"loss\.weight: 2 entries.*3 classes"):
        load_data(make_cfg({"name": "iris"}, loss={"name": "CrossEntropyLoss", "weight": [1.0, 2.0]}))


def test_config_loaded_from_yaml_file(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,label\n0.5,1,0\n1.5,2,1\n2.5,3,2\n3.5,4,1\n")
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(
        "data: {name: csv, path: d.csv, target: label, features: [b, a], val_fraction: 0}\n"
        "model: [{Linear: [2, 3]}]\nloss: CrossEntropyLoss\noptimizer: {name: SGD, lr: 0.1}\ntrain: {epochs: 1}\n"
    )
    ds = load_data(load_config(cfg_path, ["seed=3"]))
    assert ds.feature_names == ["b", "a"] and ds.n_classes == ds.n_outputs == 3
    assert rows(np.c_[ds.x_train.numpy(), ds.y_train.numpy()]) == {(1, 0.5, 0), (2, 1.5, 1), (3, 2.5, 2), (4, 3.5, 1)}


# ---------------------------------------------------------------- csv
def write(tmp_path, text: str, name="data.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def csv_cfg(path, loss="MSELoss", **extra) -> Config:
    return make_cfg({"name": "csv", "path": path, "target": "y", "val_fraction": 0, **extra}, loss=loss)


def test_csv_defaults_features_to_every_other_column(tmp_path):
    path = write(tmp_path, "a,y,b\n1,10.5,2\n3,11.5,4\n")
    ds = load_data(csv_cfg(path))
    assert ds.feature_names == ["a", "b"] and ds.y_train.shape == (2, 1) and ds.task == "regression"
    assert rows(np.c_[ds.x_train.numpy(), ds.y_train.numpy()]) == {(1, 2, 10.5), (3, 4, 11.5)}


def test_csv_labels_for_classification_count_up_to_the_largest(tmp_path):
    path = write(tmp_path, "a,y\n1,0\n2,3.0\n3,1\n")
    ds = load_data(csv_cfg(path, loss="CrossEntropyLoss"))
    assert ds.n_classes == ds.n_outputs == 4 and ds.y_train.dtype == torch.int64
    assert sorted(ds.y_train.tolist()) == [0, 1, 3]


def test_csv_ignores_blank_lines_and_whitespace(tmp_path):
    ds = load_data(csv_cfg(write(tmp_path, "a,y\n 1 ,2\n\n3, 4\n\n")))
    assert len(ds.x_train) == 2


CSV_ERRORS = [
    ("", {}, "MSELoss", r"the file is empty"),
    ("a,y\n", {}, "MSELoss", r"no data rows"),
    ("a,label\n1,2\n", {}, "MSELoss", r"data\.target: no column 'y'; columns: 'a', 'label'"),
    ("a,yy\n1,2\n", {}, "MSELoss", r"no column 'y' \(did you mean 'yy'\?\)"),
    ("alpha,y\n1,2\n", {"features": ["alpah"]}, "MSELoss", r"features: no column 'alpah' \(did you mean 'alpha'\?\)"),
    ("a,y\n1,2\n", {"features": ["a", "y"]}, "MSELoss", r"'y' is the target column"),
    ("y\n1\n", {}, "MSELoss", r"data\.target: .* has no column besides the target .y. to learn from"),
    ("a,b,y\n1,2,3\n", {"features": []}, "MSELoss", r"data\.features: an empty list; name the input columns \(a, b\)"),
    ("a,y\n1,2\n3,4\nfoo,6\n", {}, "MSELoss", r"column 'a', line 4: non-numeric value 'foo'"),
    ("a,y\n1,2\n3,x1\n", {}, "MSELoss", r"column 'y', line 3: non-numeric value 'x1'"),
    ("a,y\n1,2\n,4\n", {}, "MSELoss", r"column 'a', line 3: empty cell"),
    ("a,y\n1,2\n3,\n", {}, "MSELoss", r"column 'y', line 3: empty cell"),
    # a short row is no empty cell: it says how many fields it has, at the line it starts on
    ("a,y\n1,2\n3\n", {}, "MSELoss", r"line 3 has 1 field\(s\) where the header has 2"),
    ("a,b,y\n\n1,2,3\n  \n\"4\n\",5,6\n7,8\n", {}, "MSELoss", r"line 7 has 2 field\(s\) where the header has 3"),
    ("a,y\n1,2\nNaN,4\n", {}, "MSELoss", r"column 'a', line 3: missing value 'NaN'"),
    ("a,y\n1,2\n3,inf\n", {}, "MSELoss", r"column 'y', line 3: infinite value 'inf'"),
    ("a,y\n1,0\n2,1.5\n", {}, "CrossEntropyLoss", r"column 'y', line 3: CrossEntropyLoss needs integer .*got 1.5"),
    ("a,y\n1,0\n2,-1\n", {}, "CrossEntropyLoss", r"column 'y', line 3: .*integer class labels.*got -1"),
    ("a,y\n1,0\n2,1\n3,2\n", {}, "BCEWithLogitsLoss", r"BCEWithLogitsLoss needs two classes labelled 0 and 1.*has labels 0, 1, 2"),
    ("a,y\n1,1\n2,3\n3,1\n", {}, "BCEWithLogitsLoss", r"has labels 1, 3; use CrossEntropyLoss, or relabel them 0 and 1"),
    # a long row too, in the first data row (pandas' own message named no line) or later ones
    ("a,y\n1,2,3\n", {}, "MSELoss", r"line 2 has 3 field\(s\) where the header has 2; every row needs a cell per column$"),
    ("a,y\n1,2\n3,4,5\n", {}, "MSELoss", r"line 3 has 3 field\(s\) where the header has 2"),
    ("\na,y\n1,2\n\"3\n\",4\n5,6,7,8\n", {}, "MSELoss", r"line 6 has 4 field\(s\) where the header has 2"),
]


@pytest.mark.parametrize("text, extra, loss, message", CSV_ERRORS)
def test_csv_errors_are_one_line_naming_file_and_column(tmp_path, text, extra, loss, message):
    path = write(tmp_path, text)
    with pytest.raises(GdlabError, match=message) as caught:
        load_data(csv_cfg(path, loss=loss, **extra))
    assert "\n" not in str(caught.value)
    assert path in str(caught.value) or "BCEWithLogitsLoss" in str(caught.value)
    # the key first, so `gdlab train` names the config file (and the override) that set data.path
    assert re.match(r"(data\.\w+|loss): ", str(caught.value))


def test_csv_missing_file_is_an_error(tmp_path):
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(GdlabError, match=r"data\.path: .*nope\.csv: no such file"):
        load_data(csv_cfg(missing))
    with pytest.raises(GdlabError, match="not a file"):
        load_data(csv_cfg(str(tmp_path)))


@pytest.mark.parametrize("label", ["1e300", "1e12", "100000", "-1", "2.5"])
def test_csv_class_labels_must_be_whole_numbers_below_the_class_limit(tmp_path, label):
    """A huge label once cast to int64 with a numpy RuntimeWarning and asked for a 300-digit last layer; now it
    is one error line naming the file, column, line and value, and what labels are allowed."""
    import warnings

    path = write(tmp_path, f"a,b,y\n1,2,0\n3,4,{label}\n5,6,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as `python -W error`: no numpy warning may leak
        with pytest.raises(GdlabError) as caught:
            load_data(csv_cfg(path, loss="CrossEntropyLoss"))
    message = str(caught.value)
    assert message == (f"data.path: {path}: column 'y', line 3: CrossEntropyLoss needs integer class labels 0, 1, 2, ... "
                       f"up to 99999 (at most 100000 classes); got {label}")


def test_csv_class_labels_up_to_the_limit_and_a_plain_three_class_file_work(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_data(csv_cfg(write(tmp_path, "a,b,y\n1,2,0\n3,4,2\n5,6,1.0\n7,8,2\n"), loss="CrossEntropyLoss"))
        assert ds.n_classes == ds.n_outputs == 3 and ds.y_train.dtype == torch.int64
        assert sorted(ds.y_train.tolist()) == [0, 1, 2, 2]
        largest = load_data(csv_cfg(write(tmp_path, "a,y\n1,0\n2,99999\n", "big.csv"), loss="CrossEntropyLoss"))
        assert largest.n_classes == 100_000


@pytest.mark.parametrize("labels", ["0,0,0", "2,2,2", "0,-0.0,0"])
def test_csv_with_a_single_class_is_refused(tmp_path, labels):
    """Cross-entropy over one class is 0 whatever the weights: a wrong target column, said as such."""
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(labels.split(",")))
    with pytest.raises(GdlabError, match=r"data\.target: column 'y' of .* holds one class only .* needs at least two"):
        load_data(csv_cfg(write(tmp_path, "a,y\n" + rows), loss="CrossEntropyLoss"))


def test_standardize_takes_values_whose_squares_overflow_and_near_constant_columns(tmp_path):
    """1e200 has a float64 std, though its square overflows (it was refused); a column of 0.1s has a std of
    1.4e-17 from rounding, which made it 1.0 instead of 0 and a validation 0.2 into 6e14."""
    from gdlab.data import standardize

    x = np.array([[1e200, 0.1], [-1e200, 0.1], [3e199, 0.1], [0.0, 0.1]])
    train, val = standardize(x, np.array([[1e200, 0.2]]))
    assert np.allclose(train[:, 0].mean(), 0, atol=1e-12) and train[:, 0].std() == pytest.approx(1.0)
    assert np.allclose(train[:, 1], 0, atol=1e-15) and val[0, 1] == pytest.approx(0.1)
    assert np.isfinite(val).all()


@pytest.mark.parametrize("text, line", [
    ("\n\na,y\n1,2\n3,x\n", 5),             # blank lines before the header are skipped, and counted
    ('a,y\n"1\n",2\n3,4\n5,x\n', 5),        # a quoted cell spanning two lines
    ("a,y\n1,2\n\n3,4\n5,x\n", 5),          # a blank line between rows
    (" \na,y\n1,x\n", 3),
])
def test_csv_errors_name_the_line_the_file_has(tmp_path, text, line):
    with pytest.raises(GdlabError, match=rf"column 'y', line {line}: non-numeric value 'x'"):
        load_data(csv_cfg(write(tmp_path, text)))


def test_the_epoch_column_tells_steps_apart_in_epochs_of_millions_of_steps(tmp_path):
    """3M rows, batch 1: at 6 decimals steps 2, 3 and 4 all read epoch 1e-06."""
    from tests.helpers import invoke

    cfg = tmp_path / "big.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"name": "moons", "n_samples": 3_000_000, "val_fraction": 0},
                                   "model": [{"Linear": [2, 2]}], "loss": "CrossEntropyLoss",
                                   "optimizer": {"name": "SGD", "lr": 0.1},
                                   "train": {"steps": 4, "batch_size": 1, "device": "cpu"}}))
    assert invoke("train", cfg, "--run-dir", tmp_path / "r", "-q").exit_code == 0
    epochs = [line.split(",")[1] for line in (tmp_path / "r" / "metrics.csv").read_text().splitlines()[1:]]
    assert len(set(epochs)) == 4 and float(epochs[2]) == pytest.approx(3 / 3_000_000)


def test_generated_data_too_big_for_memory_is_one_line_before_numpy_tries(monkeypatch):
    """blobs with 1e7 rows x 1000 features (74.5 GiB) was a numpy _ArrayMemoryError traceback."""
    import os

    real = os.sysconf
    monkeypatch.setattr(os, "sysconf", lambda name: 2**18 if name == "SC_PHYS_PAGES" else real(name))  # 1 GiB
    with pytest.raises(GdlabError, match=r"data\.n_samples: 10,000,000 rows x 1000 features need about 298 GiB"):
        load_data(make_cfg({"name": "blobs", "n_samples": 10_000_000, "n_features": 1000}))
    load_data(make_cfg({"name": "blobs", "n_samples": 1000, "n_features": 2}))  # small data still loads


def test_standardize_scales_small_variation_around_a_large_mean():
    """A timestamp with millisecond jitter (std 5e-5 around 1e8) is a feature, not a constant column."""
    from gdlab.data import standardize

    x = 1e8 + np.random.default_rng(0).normal(0, 5e-5, size=(1000, 1))
    train, _ = standardize(x, None)
    assert train.std() == pytest.approx(1.0, rel=1e-6)


def test_an_all_space_line_between_csv_rows_is_a_blank_line(tmp_path):
    ds = load_data(csv_cfg(write(tmp_path, "a,y\n1,2\n   \n3,4\n")))
    assert ds.x_train.shape == (2, 1)
