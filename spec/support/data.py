"""The spec's own data sets: scikit-learn's bundled iris and 8x8 digits, split the course's
way (2/3 train), inputs scaled by their maximum, labels one-hot. Deterministic.

The CSV files are read straight from scikit-learn's installed package: importing scikit-learn
would cost more time than the whole section it serves, once per spec run.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np


def bundled(name: str) -> Path:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-learn is not installed: the spec needs its bundled data sets")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name


def features_and_targets(table: np.ndarray):
    return table[:, :-1], table[:, -1].astype(int)


def one_hot(labels: np.ndarray, categories: int) -> np.ndarray:
    return np.eye(categories)[labels]


def split(inputs: np.ndarray, labels: np.ndarray, seed: int):
    order = np.random.default_rng(seed).permutation(len(inputs))
    inputs, labels = inputs[order], labels[order]
    cut = len(inputs) * 2 // 3
    return inputs[:cut], labels[:cut], inputs[cut:], labels[cut:]


@cache
def iris(seed: int = 0):
    """(train_x, train_y, test_x, test_y): 150 flowers, 4 features, 3 classes."""
    inputs, targets = features_and_targets(
        np.loadtxt(bundled("iris.csv"), delimiter=",", skiprows=1)
    )
    return split(inputs / np.abs(inputs).max(), one_hot(targets, 3), seed)


@cache
def digits(seed: int = 0):
    """(train_x, train_y, test_x, test_y): 1797 images 8x8 flattened to 64, 10 classes."""
    inputs, targets = features_and_targets(np.loadtxt(bundled("digits.csv.gz"), delimiter=","))
    return split(inputs / np.abs(inputs).max(), one_hot(targets, 10), seed)
