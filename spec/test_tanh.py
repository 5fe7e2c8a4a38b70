"""TanH: the hyperbolic tangent as a layer.

Requirement (exercise 3, recurrent part): implement `Layers.TanH.TanH`, a layer without
parameters. `forward(input_tensor)` returns tanh of every element and keeps the activation;
`backward(error_tensor)` returns `error_tensor * (1 - tanh(x)**2)`, computed from the stored
activation rather than from the input again. It is not trainable and behaves the same in
both phases. Large inputs are fine: tanh(+-800) is +-1, with no overflow on the way (np.tanh
does that; exp(x) written out overflows to inf / inf = NaN).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.support import as_array, assert_close, numerical_gradient, random_error
from spec.support.protocol import assert_not_trainable, assert_stable

pytestmark = pytest.mark.section("TanH")

shapes = st.lists(st.integers(1, 5), min_size=2, max_size=4).map(tuple)


def test_is_not_trainable(sub):
    """TanH has no parameters: it is not trainable."""
    assert_not_trainable(sub, sub.Layers.TanH.TanH(), "TanH()")


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_forward_is_elementwise_tanh(sub, shape, seed):
    """forward returns tanh(x) for every element, in the input's shape."""
    x = np.random.default_rng(seed).normal(scale=3.0, size=shape)
    output = sub.Layers.TanH.TanH().forward(x)
    assert_close(output, np.tanh(x), rtol=1e-12, atol=1e-12, what="TanH forward")


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_backward_matches_finite_differences(sub, shape, seed):
    """backward returns the gradient of the loss with respect to the input."""
    x = np.random.default_rng(seed).normal(size=shape)
    error = random_error(shape, seed)
    layer = sub.Layers.TanH.TanH()
    layer.forward(x)
    analytic = layer.backward(error)
    numeric = numerical_gradient(lambda z: np.sum(as_array(layer.forward(z)) * error), x)
    assert_close(analytic, numeric, rtol=1e-6, atol=1e-8, what="TanH backward")


def test_backward_uses_the_stored_activation(sub):
    """backward uses the activation of the last forward: 1 - tanh(x)**2 of that x."""
    layer = sub.Layers.TanH.TanH()
    first, last = np.full((2, 3), 0.5), np.full((2, 3), -2.0)
    layer.forward(first)
    layer.forward(last)
    gradient = as_array(layer.backward(np.ones((2, 3))), "TanH backward")
    assert_close(
        gradient, 1 - np.tanh(last) ** 2, rtol=1e-12, what="TanH backward after two forwards"
    )


def test_large_inputs_saturate_without_overflow(sub):
    """forward of inputs of +-800 gives -1 and 1: no NaN, and no overflow along the way."""
    x = np.array([[-800.0, -50.0, 0.0], [50.0, 800.0, 1.0]])
    output = assert_stable(sub, sub.Layers.TanH.TanH(), x, "TanH forward")
    assert_close(output, np.tanh(x), rtol=1e-12, atol=1e-12, what="TanH forward of +-800")
