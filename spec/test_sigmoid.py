"""Sigmoid: the logistic function as a layer.

Requirement (exercise 3, recurrent part): implement `Layers.Sigmoid.Sigmoid`, a layer without
parameters. `forward(input_tensor)` returns 1 / (1 + exp(-x)) of every element and keeps the
activation; `backward(error_tensor)` returns `error_tensor * sigmoid(x) * (1 - sigmoid(x))`,
computed from the stored activation rather than from the input again. Like every layer it
starts in the training phase and is not trainable.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.support import as_array, as_bool, assert_close, numerical_gradient, random_error

pytestmark = pytest.mark.section("Sigmoid")

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_is_a_plain_layer(sub):
    """Sigmoid has no parameters: it is not trainable and starts in the training phase."""
    layer = sub.Layers.Sigmoid.Sigmoid()
    assert as_bool(layer.trainable, "Sigmoid().trainable") is False
    assert as_bool(layer.testing_phase, "Sigmoid().testing_phase") is False


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
