"""Sigmoid: the logistic function as a layer.

Requirement (exercise 3, recurrent part): implement `Layers.Sigmoid.Sigmoid`, a layer without
parameters. `forward(input_tensor)` returns 1 / (1 + exp(-x)) of every element and keeps the
activation; `backward(error_tensor)` returns `error_tensor * sigmoid(x) * (1 - sigmoid(x))`,
computed from the stored activation rather than from the input again. It is not trainable
and behaves the same in both phases. Large inputs are fine: sigmoid(-800) is 0 and
sigmoid(800) is 1, computed without an overflow (exp(800) overflows: NumPy warns about it, or
returns inf / inf = NaN for exp(x) / (1 + exp(x))).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.support import as_array, assert_close, numerical_gradient, random_error
from spec.support.protocol import assert_not_trainable, assert_stable

pytestmark = pytest.mark.section("Sigmoid")

shapes = st.lists(st.integers(1, 5), min_size=2, max_size=4).map(tuple)


def sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))  # 1 / (1 + exp(-x)), without overflow


def test_is_not_trainable(sub):
    """Sigmoid has no parameters: it is not trainable."""
    layer = sub.Layers.Sigmoid.Sigmoid()
    assert_not_trainable(sub, layer, "Sigmoid()")


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_forward_is_elementwise_sigmoid(sub, shape, seed):
    """forward returns 1 / (1 + exp(-x)) for every element, in the input's shape."""
    x = np.random.default_rng(seed).normal(scale=3.0, size=shape)
    output = sub.Layers.Sigmoid.Sigmoid().forward(x)
    assert_close(output, sigmoid(x), rtol=1e-12, atol=1e-12, what="Sigmoid forward")


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_backward_matches_finite_differences(sub, shape, seed):
    """backward returns the gradient of the loss with respect to the input."""
    x = np.random.default_rng(seed).normal(scale=2.0, size=shape)
    error = random_error(shape, seed + 1)  # independent of x
    layer = sub.Layers.Sigmoid.Sigmoid()
    layer.forward(x)
    analytic = layer.backward(error)
    numeric = numerical_gradient(lambda z: np.sum(as_array(layer.forward(z)) * error), x)
    assert_close(analytic, numeric, rtol=1e-6, atol=1e-8, what="Sigmoid backward")


def test_backward_uses_the_stored_activation(sub):
    """backward uses the activation of the last forward: s * (1 - s) with s = sigmoid(x)."""
    layer = sub.Layers.Sigmoid.Sigmoid()
    first, last = np.full((2, 3), 0.5), np.full((2, 3), -2.0)
    layer.forward(first)
    layer.forward(last)
    gradient = as_array(layer.backward(np.ones((2, 3))), "Sigmoid backward")
    s = sigmoid(last)
    assert_close(gradient, s * (1 - s), rtol=1e-12, what="Sigmoid backward after two forwards")


def test_large_inputs_saturate_without_overflow(sub):
    """forward of inputs of +-800 gives 0 and 1: no NaN, and no overflow along the way."""
    x = np.array([[-800.0, -50.0, 0.0], [50.0, 800.0, 1.0]])
    output = assert_stable(sub, sub.Layers.Sigmoid.Sigmoid(), x, "Sigmoid forward")
    assert_close(output, sigmoid(x), rtol=1e-12, atol=1e-12, what="Sigmoid forward of +-800")
