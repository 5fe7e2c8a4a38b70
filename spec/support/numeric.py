"""Finite differences, the spec's own gradient oracle."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPSILON = 1e-6  # central differences: truncation error ~ EPSILON**2, rounding ~ 1e-16 / EPSILON


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, epsilon: float = EPSILON
) -> np.ndarray:
    """d f / d x by central differences; `f` maps an array shaped like `x` to a number."""
    x = np.array(x, dtype=np.float64)
    gradient = np.empty_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + epsilon
        plus = f(x.copy())
        x[index] = original - epsilon
        minus = f(x.copy())
        x[index] = original
        gradient[index] = (plus - minus) / (2 * epsilon)
    return gradient


def random_error(shape: tuple, seed: int) -> np.ndarray:
    """An error tensor E: the layer is checked as part of the loss sum(output * E), whose
    gradient with respect to the output is exactly E."""
    return np.random.default_rng(seed).standard_normal(shape)
