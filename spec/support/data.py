"""The spec's own data sets: scikit-learn's bundled iris and 8x8 digits, split the course's
way (2/3 train), inputs scaled by their maximum, labels one-hot. Deterministic."""

from __future__ import annotations

from functools import cache

import numpy as np


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
    from sklearn.datasets import load_iris

    data = load_iris()
    return split(data.data / np.abs(data.data).max(), one_hot(data.target, 3), seed)


@cache
def digits(seed: int = 0):
    """(train_x, train_y, test_x, test_y): 1797 images 8x8 flattened to 64, 10 classes."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return split(data.data / np.abs(data.data).max(), one_hot(data.target, 10), seed)
