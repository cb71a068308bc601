"""Raw datasets as float64 numpy arrays: the seeded generators, sklearn's bundled sets and CSV files.
`gdlab.data` turns them into split, shaped tensors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


BUNDLED_CLASSIFICATION = {"iris", "wine", "breast_cancer", "digits"}


@dataclass(frozen=True)
class RawData:
    """Features and targets before splitting: `y` holds int64 labels [N] when `n_classes` is set,
    else float64 targets [N, T]."""

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    n_classes: int | None


def read_raw(data, seed: int, labels: bool, loss_name: str) -> RawData:
    """The dataset `data` (a `DataConfig`) describes; `labels` says the loss needs class labels (CSV only)."""
    if data.name == "csv":
        from gdlab.csvdata import read_csv

        return read_csv(data, labels, loss_name)
    if data.name in BUNDLED:
        return BUNDLED[data.name]()
    return GENERATORS[data.name](data, seed)


# ---------------------------------------------------------------- generators
def sklearn_seed(seed: int) -> int:
    """`seed` itself when sklearn accepts it (< 2**32), else a 32-bit value hashed from it."""
    return seed if seed < 2**32 else int(np.random.SeedSequence(seed).generate_state(1)[0])


def _names(n: int) -> list[str]:
    return [f"x{i + 1}" for i in range(n)]


def _labelled(x, y, n_classes: int) -> RawData:
    return RawData(np.asarray(x, np.float64), np.asarray(y, np.int64), _names(x.shape[1]), n_classes)


def _regression(x, y) -> RawData:
    return RawData(np.asarray(x, np.float64), np.asarray(y, np.float64).reshape(len(x), -1), _names(x.shape[1]), None)


def _shuffled(x, y, rng) -> tuple[np.ndarray, np.ndarray]:
    # Generators that build class by class would otherwise hand out rows sorted by label.
    order = rng.permutation(len(x))
    return x[order], y[order]


def moons(d, seed):
    from sklearn.datasets import make_moons

    return _labelled(*make_moons(d.n_samples, noise=d.noise, random_state=sklearn_seed(seed)), 2)


def circles(d, seed):
    from sklearn.datasets import make_circles

    x, y = make_circles(d.n_samples, noise=d.noise, factor=d.factor, random_state=sklearn_seed(seed))
    return _labelled(x, y, 2)


def blobs(d, seed):
    from sklearn.datasets import make_blobs

    x, y = make_blobs(
        d.n_samples, d.n_features, centers=d.centers, cluster_std=d.noise, random_state=sklearn_seed(seed)
    )
    return _labelled(x, y, d.centers)


def friedman(d, seed):
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(d.n_samples, n_features=d.n_features, noise=d.noise, random_state=sklearn_seed(seed))
    return _regression(x, y)


def gaussians(d, seed):
    """Two isotropic clusters at (2, 2) (label 0) and (-2, -2) (label 1) with std `noise`."""
    rng = np.random.default_rng(seed)
    n0 = d.n_samples // 2
    y = np.r_[np.zeros(n0), np.ones(d.n_samples - n0)]
    centres = np.where(y[:, None] == 0, 2.0, -2.0)
    x = centres + d.noise * rng.standard_normal((d.n_samples, 2))
    return _labelled(*_shuffled(x, y, rng), 2)


def xor(d, seed):
    """Uniform points in [-1, 1]^2 labelled by quadrant sign (x*y > 0), then jittered by `noise`."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1.0, 1.0, (d.n_samples, 2))
    y = points[:, 0] * points[:, 1] > 0
    return _labelled(points + d.noise * rng.standard_normal(points.shape), y, 2)


def spiral(d, seed):
    """`n_classes` interleaved arms of radius 1, each turning 1.75 times (as in TensorFlow Playground)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k, n in enumerate(len(part) for part in np.array_split(np.arange(d.n_samples), d.n_classes)):
        t = np.arange(n) / n
        angle = 1.75 * 2 * np.pi * t + 2 * np.pi * k / d.n_classes
        xs.append(np.column_stack([t * np.sin(angle), t * np.cos(angle)]) + d.noise * rng.standard_normal((n, 2)))
        ys.append(np.full(n, k))
    return _labelled(*_shuffled(np.concatenate(xs), np.concatenate(ys), rng), d.n_classes)


def sine(d, seed):
    """x uniform in [-pi, pi]^n_features, y = sum(sin(x)) + noise * N(0, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, (d.n_samples, d.n_features))
    return _regression(x, np.sin(x).sum(axis=1) + d.noise * rng.standard_normal(d.n_samples))


def linear(d, seed):
    """y = x @ w + b + noise * N(0, 1), x standard normal; w and b are drawn first, so n_samples leaves them be."""
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal(d.n_features), rng.standard_normal()
    x = rng.standard_normal((d.n_samples, d.n_features))
    return _regression(x, x @ w + b + d.noise * rng.standard_normal(d.n_samples))


GENERATORS = {f.__name__: f for f in (moons, circles, blobs, friedman, gaussians, xor, spiral, sine, linear)}


def _bundled(name: str):
    def load() -> RawData:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, f"load_{name}")()
        x = np.asarray(bunch.data, np.float64)
        given = getattr(bunch, "feature_names", None)  # an array for some sets, absent in old sklearn
        names = [str(n) for n in given] if given is not None else _names(x.shape[1])
        if name in BUNDLED_CLASSIFICATION:
            return RawData(x, np.asarray(bunch.target, np.int64), names, int(bunch.target.max()) + 1)
        return RawData(x, np.asarray(bunch.target, np.float64).reshape(len(x), -1), names, None)

    return load


BUNDLED = {name: _bundled(name) for name in ("iris", "wine", "breast_cancer", "digits", "diabetes")}
