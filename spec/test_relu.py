"""ReLU: the rectified linear unit as a layer.

Requirement (exercise 1): implement `Layers.ReLU.ReLU`, a layer without parameters.
`forward(input_tensor)` returns `max(0, x)` for every element; `backward(error_tensor)` passes
the error through where the input of the last forward was positive and returns zero elsewhere.
It is not trainable and behaves the same in both phases.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.support import as_array, assert_close, numerical_gradient, random_error
from spec.support.protocol import assert_not_trainable

pytestmark = pytest.mark.section("ReLU")

EXACT = {"rtol": 1e-12, "atol": 1e-12}

shapes = st.lists(st.integers(1, 5), min_size=2, max_size=4).map(tuple)
small_shapes = st.lists(st.integers(1, 4), min_size=2, max_size=3).map(tuple)


def away_from_zero(shape, seed):
    """Inputs with |x| >= 0.1, so finite differences never straddle the kink at 0."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], shape) * (0.1 + np.abs(rng.normal(size=shape)))


def test_is_not_trainable(sub):
    """ReLU has no parameters: it is not trainable."""
    layer = sub.Layers.ReLU.ReLU()
    assert_not_trainable(sub, layer, "ReLU()")


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_forward_clips_negatives_to_zero(sub, shape, seed):
    """forward returns max(0, x) for every element, in the input's shape."""
    x = np.random.default_rng(seed).normal(size=shape)
    output = sub.Layers.ReLU.ReLU().forward(x)
    assert_close(output, np.maximum(x, 0), **EXACT, what="ReLU forward")


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_backward_passes_the_error_where_the_input_was_positive(sub, shape, seed):
    """backward returns the error where x > 0 and zero where x < 0."""
    x = away_from_zero(shape, seed)
    error = random_error(shape, seed)
    layer = sub.Layers.ReLU.ReLU()
    layer.forward(x)
    assert_close(layer.backward(error), np.where(x > 0, error, 0.0), **EXACT, what="ReLU backward")


@given(shape=small_shapes, seed=st.integers(0, 2**16))
def test_backward_matches_finite_differences(sub, shape, seed):
    """backward returns the gradient of the loss with respect to the input."""
    x = away_from_zero(shape, seed)
    error = random_error(shape, seed)
    layer = sub.Layers.ReLU.ReLU()
    layer.forward(x)
    analytic = layer.backward(error)
    numeric = numerical_gradient(lambda z: np.sum(as_array(layer.forward(z)) * error), x)
    assert_close(analytic, numeric, rtol=1e-6, atol=1e-8, what="ReLU backward")


def test_backward_uses_the_input_of_the_last_forward(sub):
    """backward masks with the input of the most recent forward call."""
    layer = sub.Layers.ReLU.ReLU()
    first = np.array([[1.0, -1.0, 2.0, -2.0]])
    last = -first
    layer.forward(first)
    layer.forward(last)
    error = np.array([[0.5, -3.0, 4.0, 7.0]])
    expected = np.where(last > 0, error, 0.0)
    assert_close(layer.backward(error), expected, **EXACT, what="ReLU backward after two forwards")
