"""Plain values and assertions whose messages a student can act on."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def as_array(value: Any, what: str = "value") -> np.ndarray:
    """A float64 copy of an array-like read from the submission."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise AssertionError(
            f"{what} should be a numeric array, got {type(value).__name__}"
        ) from error
    return array


def as_float(value: Any, what: str = "value") -> float:
    array = as_array(value, what)
    if array.size != 1:
        raise AssertionError(f"{what} should be a single number, got shape {array.shape}")
    return float(array.reshape(()))


def as_int(value: Any, what: str = "value") -> int:
    number = as_float(value, what)
    if number != int(number):
        raise AssertionError(f"{what} should be a whole number, got {number}")
    return int(number)


def as_bool(value: Any, what: str = "value") -> bool:
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, numbers.Integral) and value in (0, 1)
    ):
        return bool(value)
    raise AssertionError(f"{what} should be True or False, got {value!r}")


def assert_shape(actual: Any, expected: tuple, what: str = "output") -> np.ndarray:
    array = as_array(actual, what)
    if array.shape != tuple(expected):
        raise AssertionError(f"{what} has shape {array.shape}, expected {tuple(expected)}")
    return array


def assert_close(
    actual: Any, expected: Any, *, rtol: float = 1e-7, atol: float = 1e-10, what: str = "output"
) -> np.ndarray:
    """Elementwise |actual - expected| <= atol + rtol * |expected|, with a one-line reason."""
    expected = np.asarray(expected, dtype=np.float64)
    array = assert_shape(actual, expected.shape, what)
    error = np.abs(array - expected)
    bad = ~(error <= atol + rtol * np.abs(expected))  # NaN counts as bad
    if bad.any():
        worst = (
            np.unravel_index(
                np.argmax(np.where(bad, np.nan_to_num(error, nan=np.inf), -1)), bad.shape
            )
            if bad.ndim
            else ()
        )
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} values differ; at index "
            f"{tuple(map(int, worst))} got {array[worst]:.6g}, expected {expected[worst]:.6g}"
        )
    return array
