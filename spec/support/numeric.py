"""Finite differences, the spec's own gradient oracle."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPSILON = 1e-6  # central differences: truncation error ~ EPSILON**2, rounding ~ 1e-16 / EPSILON

# A step far below float32's resolution (6e-8 relative) and far above float64's (1e-16): it
# moves a float64 function by gradient * step, and leaves a function whose values are rounded
# to float32 where it was, or jumps it by a rounding step.
FLOAT32_PROBE = 1e-9
FLOAT32_ROUNDED = (
    "finite differences cannot check this gradient: the forward pass gives values rounded to "
    "float32 (float32 arrays inside?), too coarse for a difference over a step of "
    f"{EPSILON:g}; compute in float64"
)


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, epsilon: float = EPSILON
) -> np.ndarray:
    """d f / d x by central differences; `f` maps an array shaped like `x` to a number.
    A function computed in float32 fails with a message saying so, not with a wrong gradient
    (its rounding errors divided by the step are larger than the gradient)."""
    __tracebackhide__ = True
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
    if rounded_to_float32(f, x, gradient):
        raise AssertionError(FLOAT32_ROUNDED)
    return gradient


def rounded_to_float32(f: Callable[[np.ndarray], float], x: np.ndarray, gradient) -> bool:
    """Whether f's values are rounded to float32: a step of FLOAT32_PROBE along (up to three)
    coordinates with a clear gradient moves f by nothing like gradient * step, and by no more
    than a rounding step (a random f moves much more)."""
    __tracebackhide__ = True
    base = float(f(x.copy()))
    scale = max(1.0, abs(base))
    clear = [index for index in np.ndindex(x.shape) if abs(gradient[index]) >= 1e-3 * scale]
    if not clear:
        return False
    for index in clear[:3]:
        step = FLOAT32_PROBE * max(1.0, abs(x[index]))
        moved = x.copy()
        moved[index] += step
        change, predicted = float(f(moved)) - base, gradient[index] * step
        if abs(change - predicted) <= 0.5 * abs(predicted) or abs(change) > 1e-5 * scale:
            return False
    return True


def random_error(shape: tuple, seed: int) -> np.ndarray:
    """An error tensor E: the layer is checked as part of the loss sum(output * E), whose
    gradient with respect to the output is exactly E."""
    __tracebackhide__ = True
    return np.random.default_rng(seed).standard_normal(shape)
