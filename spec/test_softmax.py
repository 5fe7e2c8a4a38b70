"""SoftMax: scores to class probabilities.

Requirement (exercise 1): implement `Layers.SoftMax.SoftMax`, a layer without parameters.
`forward(input_tensor)` maps each row of a `(batch, classes)` tensor to
`y = exp(x) / sum(exp(x))`: every row of the output is positive and sums to 1. Computed
literally, exp overflows for scores in the hundreds; shifting each row by its own maximum first
gives the same result and stays finite. `backward(error_tensor)` returns
`y * (E - sum(E * y, axis=1))` with `y` the output of the last forward.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.support import (
    as_array,
    assert_close,
    golden,
    numerical_gradient,
    random_error,
)
from spec.support.protocol import assert_not_trainable

pytestmark = pytest.mark.section("SoftMax")

batches, classes = st.integers(1, 5), st.integers(1, 6)


def softmax(x):
    exps = np.exp(x - x.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def test_is_not_trainable(sub):
    """SoftMax has no parameters: it is not trainable."""
    layer = sub.Layers.SoftMax.SoftMax()
    assert_not_trainable(sub, layer, "SoftMax()")


@given(batch=batches, width=classes, seed=st.integers(0, 2**16))
def test_forward_rows_are_probabilities(sub, batch, width, seed):
    """Every row of the output is positive and sums to 1."""
    x = np.random.default_rng(seed).normal(scale=3.0, size=(batch, width))
    output = as_array(sub.Layers.SoftMax.SoftMax().forward(x), "SoftMax forward")
    assert_close(output.sum(axis=1), np.ones(batch), rtol=1e-12, what="row sums of SoftMax forward")
    assert (output > 0).all(), "every probability should be positive"


@given(batch=batches, width=classes, seed=st.integers(0, 2**16))
def test_forward_is_exp_over_row_sum(sub, batch, width, seed):
    """forward returns exp(x) / sum(exp(x)) along each row."""
    x = np.random.default_rng(seed).normal(scale=3.0, size=(batch, width))
    expected = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    output = sub.Layers.SoftMax.SoftMax().forward(x)
    assert_close(output, expected, rtol=1e-10, what="SoftMax forward")


def test_forward_is_stable_for_large_scores(sub):
    """Scores around 1000 overflow exp; shifted by the row maximum they give finite probabilities,
    the same as for the scores shifted down by 1000."""
    x = np.random.default_rng(0).normal(size=(3, 4))
    output = as_array(sub.Layers.SoftMax.SoftMax().forward(x + 1000.0), "SoftMax forward")
    assert np.isfinite(output).all(), "SoftMax forward of scores near 1000 is not finite"
    assert_close(output, softmax(x), rtol=1e-10, what="SoftMax forward of x + 1000")


def test_forward_shifts_each_row_by_its_own_maximum(sub):
    """Rows on very different scales (scores near 0 beside scores near 1000) are each shifted by
    their own maximum, so no row underflows to 0 / 0."""
    x = np.random.default_rng(1).normal(size=(4, 3)) + np.array([[0.0], [1000.0], [-900.0], [5.0]])
    output = as_array(sub.Layers.SoftMax.SoftMax().forward(x), "SoftMax forward")
    assert np.isfinite(output).all(), "SoftMax forward of rows on different scales is not finite"
    assert_close(output, softmax(x), rtol=1e-10, what="SoftMax forward")


@given(batch=batches, width=classes, seed=st.integers(0, 2**16))
def test_backward_follows_the_formula(sub, batch, width, seed):
    """backward returns y * (E - sum(E * y, axis=1)) with y the forward output."""
    x = np.random.default_rng(seed).normal(size=(batch, width))
    error = random_error((batch, width), seed)
    layer = sub.Layers.SoftMax.SoftMax()
    layer.forward(x)
    y = softmax(x)
    expected = y * (error - np.sum(error * y, axis=1, keepdims=True))
    assert_close(layer.backward(error), expected, rtol=1e-9, atol=1e-12, what="SoftMax backward")


@given(batch=batches, width=classes, seed=st.integers(0, 2**16))
def test_backward_matches_finite_differences(sub, batch, width, seed):
    """backward returns the gradient of the loss with respect to the input."""
    x = np.random.default_rng(seed).normal(size=(batch, width))
    error = random_error((batch, width), seed)
    layer = sub.Layers.SoftMax.SoftMax()
    layer.forward(x)
    analytic = layer.backward(error)
    numeric = numerical_gradient(lambda z: np.sum(as_array(layer.forward(z)) * error), x)
    assert_close(analytic, numeric, rtol=1e-6, atol=1e-8, what="SoftMax backward")


def test_backward_uses_the_output_of_the_last_forward(sub):
    """backward uses y of the most recent forward call."""
    layer = sub.Layers.SoftMax.SoftMax()
    first, last = np.array([[0.0, 1.0, 2.0]]), np.array([[3.0, -1.0, 0.5]])
    layer.forward(first)
    layer.forward(last)
    error = np.array([[1.0, -2.0, 0.5]])
    y = softmax(last)
    expected = y * (error - np.sum(error * y, axis=1, keepdims=True))
    assert_close(layer.backward(error), expected, rtol=1e-10, what="backward after two forwards")


@pytest.mark.parametrize("name", golden.names("softmax_"))
def test_matches_the_golden_arrays(sub, name):
    """forward and backward agree with the PyTorch oracle (reference_data/<name>.npz)."""
    case = golden.load(name)
    layer = sub.Layers.SoftMax.SoftMax()
    output = layer.forward(case["input"])
    assert_close(output, case["prediction"], **golden.EXACT, what=f"forward on {name}")
    gradient = layer.backward(case["loss_error"])
    assert_close(gradient, case["grad_input"], **golden.EXACT, what=f"backward on {name}")
