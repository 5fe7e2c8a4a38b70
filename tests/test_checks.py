"""The spec's helpers turn whatever a submission hands back into a message the student can act
on: a wrong value names its dtype and enough digits to see the difference, a wrong type or
shape names the student's object, and nothing of the harness's own leaks into a message."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from graders import reports, scoring
from spec.support import numeric, recurrent
from spec.support.checks import (
    as_array,
    as_bool,
    as_float,
    as_int,
    assert_close,
    distinct,
    precision_of,
)
from spec.support.submission import Ref, Submission
from tests.test_graders import MADE_UP, RECORDS, record

EXPECTED = np.array([[0.12573131, -2.5], [3.0e-5, 41.0]])


def message(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as failure:
        check(*args, **kwargs)
    return str(failure.value)


# -- numbers read from the submission ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (None, "layer.weights should be a numeric array, got None"),
        ([0.5, None], "layer.weights should be a numeric array, got a list holding None"),
        ("0.5", "layer.weights should be a numeric array, got the string '0.5'"),
        ([[1.0, 2.0], [3.0]], "got a list that is not a rectangular array"),
        (1 + 2j, "layer.weights should be a numeric array, got (1+2j)"),
        (Ref(None, 7, "Layers.X.X(...).weights"), "got an object (<submission object Layers.X"),
    ],
)
def test_what_is_not_numbers_is_named(value, says):
    assert says in message(as_array, value, "layer.weights")


def test_numbers_of_any_numeric_kind_are_read_as_float64():
    for value in (3, 2.5, True, [1, 2.0], np.float32(0.5), np.arange(3, dtype=np.int8)):
        array = as_array(value)
        assert array.dtype == np.float64 and np.array_equal(array, np.asarray(value, float))


def test_a_parameter_that_is_not_there_yet_fails_as_an_assertion_not_a_reshape():
    """BatchNorm's gamma read before `initialize` created it: the student learns it is None."""
    says = message(lambda: np.ones(3).reshape(as_array(None, "BatchNorm weights").shape))
    assert says == "BatchNorm weights should be a numeric array, got None"


def test_single_numbers_whole_numbers_and_truth_values():
    assert "should be a single number, got shape (3,)" in message(as_float, [1, 2, 3], "loss")
    assert message(as_int, float("nan"), "len") == "len should be a whole number, got nan"
    assert message(as_int, 2.5, "len") == "len should be a whole number, got 2.5"
    assert message(as_bool, None, "memorize") == "memorize should be True or False, got None"
    assert (as_float(np.array([[2.0]])), as_int(3.0), as_bool(np.bool_(True))) == (2.0, 3, True)


# -- precision ----------------------------------------------------------------------------------


def test_precision_is_the_dtype_or_what_the_numbers_show():
    assert precision_of(EXPECTED.astype(np.float32)) == "float32"
    assert precision_of(EXPECTED.astype(np.float16)) == "float16"
    assert precision_of(EXPECTED) == "float64"
    assert precision_of(float(np.float32(0.1))) == "float32"  # a NumPy scalar, crossed as float
    assert precision_of(EXPECTED.astype(np.float32).astype(np.float64)) == "float32"
    assert precision_of([1.0, 2.0, 0.5]) == "float32" and precision_of([1.0, 2.0]) == "float64"
    assert precision_of(0.1) == "float64"


def test_a_float32_result_right_to_float32_precision_passes():
    single = EXPECTED.astype(np.float32)
    assert np.abs(single - EXPECTED).max() > 1e-10  # the float64 tolerance would fail it
    assert_close(single, EXPECTED, rtol=1e-10, atol=1e-12)
    assert_close(float(np.float32(0.12573131)), 0.12573131, rtol=1e-10)


def test_a_float32_result_beyond_float32_precision_fails_naming_the_dtype():
    wrong = (EXPECTED * (1 + 5e-6)).astype(np.float32)
    says = message(assert_close, wrong, EXPECTED, what="RNN forward")
    # float32 precision is relative to the array's largest value: the small ones pass
    assert says.startswith("RNN forward: 1 of 4 values differ; at index (1, 1) got 41.0002")
    assert "(float32), expected 41;" in says
    assert "float32 results are accepted to relative 1e-06" in says


def test_a_float16_result_fails_naming_the_dtype():
    says = message(assert_close, EXPECTED.astype(np.float16), EXPECTED)
    assert "(float16)" in says and "compute in float64" in says


def test_numbers_that_differ_are_shown_with_the_digits_that_differ():
    says = message(assert_close, 0.12573133, 0.12573131, what="loss")
    assert (
        says == "loss: got 0.12573133, expected 0.12573131"
    )  # not "got 0.125731, expected 0.125731"
    assert distinct(1.0, 1.0 + 2**-52) == ("1", "1.0000000000000002")
    assert distinct(0.25, 0.5) == ("0.25", "0.5")


def test_a_shape_or_nan_that_differs_is_named():
    assert (
        message(assert_close, [1.0, 2.0], [1.0], what="out") == "out has shape (2,), expected (1,)"
    )
    says = message(assert_close, [1.0, np.nan], [1.0, 2.0], what="out")
    assert says == "out: 1 of 2 values differ; at index (1,) got nan, expected 2"


# -- finite differences -----------------------------------------------------------------------

ERROR = np.random.default_rng(1).standard_normal((3, 4))


def tanh_loss(x: np.ndarray, dtype=np.float64) -> float:
    return float(np.sum(np.tanh(x).astype(dtype) * ERROR))


def test_finite_differences_of_a_float64_function_are_its_gradient():
    x = np.random.default_rng(2).normal(size=(3, 4))
    gradient = numeric.numerical_gradient(tanh_loss, x)
    assert np.allclose(gradient, (1 - np.tanh(x) ** 2) * ERROR, rtol=1e-8, atol=1e-10)


def test_finite_differences_of_a_float32_function_say_so_instead_of_a_wrong_gradient():
    x = np.random.default_rng(2).normal(size=(3, 4))
    says = message(numeric.numerical_gradient, lambda v: tanh_loss(v, np.float32), x)
    assert "values rounded to float32" in says and "compute in float64" in says


def test_a_function_that_is_not_smooth_is_not_taken_for_float32():
    """A forward that draws a new dropout mask on every call: its finite differences are
    wrong, and the test comparing them says so; the rounding message would mislead."""
    draws = np.random.default_rng(3)
    gradient = numeric.numerical_gradient(lambda v: tanh_loss(v * draws.random(v.shape)), ERROR)
    assert gradient.shape == ERROR.shape


# -- objects of the submission ------------------------------------------------------------------


def test_plain_data_where_an_object_was_expected_is_named_not_a_harness_error():
    """`optimizer.regularizer` left None: never the regularizer set, and called None."""
    sub = Submission(backend=None)  # neither call may reach a backend
    regularizer = Ref(None, 1, "Optimization.Constraints.L2_Regularizer(...)")
    assert not sub.same(None, regularizer) and not sub.same(regularizer, 0.5)
    assert (sub.type_name(None), sub.type_name(0.5), sub.type_name(EXPECTED)) == (
        "None",
        "float",
        "ndarray",
    )


class Layer:
    """A stand-in for a student's recurrent layer with wrong shapes."""

    weights = np.zeros((6, 2))
    gradient_weights = np.zeros((3, 3))

    def forward(self, inputs):
        return np.zeros((len(inputs), 5))


def test_recurrent_helpers_turn_wrong_shapes_into_assertions():
    says = message(recurrent.loss, Layer(), np.zeros((4, 3)), np.ones((4, 2)))
    assert says == "forward has shape (4, 5), expected (4, 2)"
    layout = recurrent.Layout(False, True, (0,))
    says = message(recurrent.canonical_gradient, Layer(), layout, (6, 2), "RNN gradient_weights")
    assert says == (
        "RNN gradient_weights has shape (3, 3), expected (6, 2) (that of weights) or its transpose"
    )


# -- the terminal report ------------------------------------------------------------------------


def test_the_terminal_report_shows_formulas_with_their_brackets():
    formula = "RNN forward: h_t = tanh(W_h [x_t, h_{t-1}, 1]) differs at [bold]index[/] (2,)"
    records = [*RECORDS, record("B", "test_b3", "failed", formula)]
    report = scoring.score("student [1]", records, MADE_UP)
    console = Console(record=True, width=400)
    reports.show(report, console)
    text = console.export_text()
    assert formula in text
    assert "Exercise 3: student [1]" in text
