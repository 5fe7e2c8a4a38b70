"""What every spec module uses: plain values, short assertions, finite differences, data.

Tests turn every value read from the submission into a plain NumPy array or Python number
with `as_array`/`as_float`/`as_int`/`as_bool` before asserting, so an assertion never calls
student code (no lying `__eq__` or `__array__` can pass a test). The helpers, and the way to
the submission (submission.py, isolated.py), set `__tracebackhide__`: a failure shows the test's
line and the message, not the harness's frames.
"""

from spec.support.checks import (
    as_array,
    as_bool,
    as_float,
    as_int,
    assert_close,
    assert_shape,
)
from spec.support.numeric import numerical_gradient, random_error


def absent_unless(sub, dotted: str) -> None:
    """Optional parts (LSTM, LeNet): a submission without the file is absent, not failing."""
    import pytest

    if not sub.has(dotted):
        pytest.skip(f"absent: the submission has no {dotted.replace('.', '/')}.py (optional)")


__all__ = [
    "absent_unless",
    "as_array",
    "as_bool",
    "as_float",
    "as_int",
    "assert_close",
    "assert_shape",
    "numerical_gradient",
    "random_error",
]
