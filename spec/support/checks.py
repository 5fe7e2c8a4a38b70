"""Plain values and assertions whose messages a student can act on.

Everything these helpers are given was read from the submission and may be anything: None, one
of its objects, a string, a ragged list, an array of the wrong shape or dtype. Whatever it is,
a mismatch is an AssertionError that names the value (`what`) and what differs, never an
exception of the spec's own.

Precision: the contract's results are float64, and a float32 result right to float32 precision
is right too (relative 1e-6, of the array's largest value for entries that cancel to about
zero). Values that crossed from the submission as Python numbers have lost their dtype; numbers
that are all exactly float32 values (and not all whole numbers) are taken for float32 results.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from spec.support.submission import Ref

FLOAT32_RTOL = 1e-6  # the contract's float32 precision: about 8 units in the last place


def describe(value: Any) -> str:
    """A value of the submission as a message names it."""
    __tracebackhide__ = True
    if isinstance(value, Ref):
        return f"an object ({value!r})"
    if value is None or isinstance(value, (bool, numbers.Number)):
        return repr(value)
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, (list, tuple, dict)):
        return f"a {type(value).__name__}"
    return f"a value of type {type(value).__name__}"


def as_array(value: Any, what: str = "value") -> np.ndarray:
    """A float64 copy of numbers read from the submission: an array, a number, or nested lists
    of numbers."""
    __tracebackhide__ = True
    wrong = AssertionError(f"{what} should be a numeric array, got {describe(value)}")
    if isinstance(value, Ref):
        raise wrong
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as error:  # a ragged list, an object of the submission's
        if isinstance(value, (list, tuple)):
            raise AssertionError(
                f"{what} should be a numeric array, got {describe(value)} that is not "
                "a rectangular array (rows of different lengths?)"
            ) from error
        raise wrong from error
    if raw.dtype.kind == "O":
        odd = [item for item in raw.flat if not isinstance(item, numbers.Real)]
        if odd:
            holding = f" holding {describe(odd[0])}" if raw.ndim else ""
            raise AssertionError(
                f"{what} should be a numeric array, got {describe(value)}{holding}"
            )
    elif raw.dtype.kind not in "biuf":  # strings, complex numbers, dates
        raise wrong
    return np.array(raw, dtype=np.float64)


def as_float(value: Any, what: str = "value") -> float:
    __tracebackhide__ = True
    array = as_array(value, what)
    if array.size != 1:
        raise AssertionError(f"{what} should be a single number, got shape {array.shape}")
    return float(array.reshape(()))


def as_int(value: Any, what: str = "value") -> int:
    __tracebackhide__ = True
    number = as_float(value, what)
    if not np.isfinite(number) or number != int(number):
        raise AssertionError(f"{what} should be a whole number, got {number}")
    return int(number)


def as_bool(value: Any, what: str = "value") -> bool:
    __tracebackhide__ = True
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, numbers.Integral) and value in (0, 1)
    ):
        return bool(value)
    raise AssertionError(f"{what} should be True or False, got {describe(value)}")


def assert_shape(actual: Any, expected: tuple, what: str = "output") -> np.ndarray:
    __tracebackhide__ = True
    array = as_array(actual, what)
    if array.shape != tuple(expected):
        raise AssertionError(f"{what} has shape {array.shape}, expected {tuple(expected)}")
    return array


def precision_of(value: Any) -> str:
    """The float precision of values read from the submission: their dtype when it is float32
    or float16; else float32 when they are all exactly float32 values, not all whole numbers
    (NumPy scalars cross as Python numbers, and a test may have made them float64), else
    float64."""
    __tracebackhide__ = True
    is_numpy = isinstance(value, (np.ndarray, np.generic))
    if is_numpy and value.dtype.kind == "f" and value.dtype.itemsize < 8:
        return str(value.dtype)
    try:
        values = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return "float64"
    finite = values[np.isfinite(values)]
    single = finite.astype(np.float32).astype(np.float64)
    if np.array_equal(single, finite) and not np.array_equal(finite, finite.round()):
        return "float32"
    return "float64"


def distinct(got: float, expected: float) -> tuple[str, str]:
    """The two numbers with as many digits as it takes to tell them apart (6 at least)."""
    __tracebackhide__ = True
    for digits in range(6, 18):
        texts = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if texts[0] != texts[1]:
            return texts
    return texts


def assert_close(
    actual: Any, expected: Any, *, rtol: float = 1e-7, atol: float = 1e-10, what: str = "output"
) -> np.ndarray:
    """Elementwise |actual - expected| <= atol + rtol * |expected|, with a one-line reason;
    float32 results to float32 precision (see the module's docstring)."""
    __tracebackhide__ = True
    expected = np.asarray(expected, dtype=np.float64)
    precision = precision_of(actual)
    array = assert_shape(actual, expected.shape, what)
    if precision == "float32":
        scale = float(np.abs(expected).max(initial=0.0))
        rtol, atol = max(rtol, FLOAT32_RTOL), max(atol, FLOAT32_RTOL * scale)
    error = np.abs(array - expected)
    bad = ~(error <= atol + rtol * np.abs(expected))  # NaN counts as bad
    if not bad.any():
        return array
    worst = np.unravel_index(
        np.argmax(np.where(bad, np.nan_to_num(error, nan=np.inf), -1)), bad.shape
    )
    got, wanted = distinct(float(array[worst]), float(expected[worst]))
    note = {
        "float64": "",
        "float32": f"; float32 results are accepted to relative {FLOAT32_RTOL:g}",
        "float16": "; float16 is too coarse, compute in float64",
    }.get(precision, f"; compute in float64, not {precision}")
    where = (
        f"{int(bad.sum())} of {bad.size} values differ; at index {tuple(map(int, worst))} "
        if array.ndim
        else ""
    )
    dtype = f" ({precision})" if precision != "float64" else ""
    raise AssertionError(f"{what}: {where}got {got}{dtype}, expected {wanted}{note}")
