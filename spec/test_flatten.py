"""Flatten: from feature maps to feature vectors and back.

Requirement (exercise 2): implement `Layers.Flatten.Flatten`, a layer without parameters that
lets convolutional layers feed fully connected ones. `forward(input_tensor)` reshapes
`(batch, ...)` to `(batch, prod(...))`, each row holding the values of one batch item;
`backward(error_tensor)` reshapes the error back to the shape of the last forward input, so that
every error value returns to the position its value came from.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.support import as_array, assert_close, assert_shape
from spec.support.protocol import assert_not_trainable

pytestmark = pytest.mark.section("Flatten")

EXACT = {"rtol": 0, "atol": 0}  # reshaping moves values, it does not compute new ones

shapes = st.lists(st.integers(1, 4), min_size=2, max_size=4).map(tuple)


def test_is_not_trainable(sub):
    """Flatten has no parameters: it is not trainable."""
    layer = sub.Layers.Flatten.Flatten()
    assert_not_trainable(sub, layer, "Flatten()")


@given(shape=shapes)
def test_forward_gives_one_row_per_batch_item(sub, shape):
    """forward maps (batch, ...) to (batch, prod(...))."""
    output = sub.Layers.Flatten.Flatten().forward(np.zeros(shape))
    assert_shape(output, (shape[0], int(np.prod(shape[1:]))), f"Flatten forward of {shape}")


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_forward_keeps_each_item_in_its_row(sub, shape, seed):
    """Row i of the output holds exactly the values of batch item i."""
    x = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 1.0
    output = as_array(sub.Layers.Flatten.Flatten().forward(x), "Flatten forward")
    assert output.shape[0] == shape[0], f"Flatten forward has {output.shape[0]} rows"
    for item in range(shape[0]):
        values = np.sort(output[item])
        assert_close(values, np.sort(x[item].ravel()), **EXACT, what=f"sorted values of row {item}")


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_backward_undoes_forward(sub, shape, seed):
    """backward(forward(x)) gives x back: every value returns to the position it came from, which
    makes backward the gradient of forward (a permutation's gradient is its inverse)."""
    x = np.random.default_rng(seed).normal(size=shape)
    layer = sub.Layers.Flatten.Flatten()
    assert_close(layer.backward(layer.forward(x)), x, **EXACT, what="Flatten backward")


def test_backward_uses_the_shape_of_the_last_forward(sub):
    """backward restores the shape of the most recent forward input."""
    layer = sub.Layers.Flatten.Flatten()
    layer.forward(np.zeros((2, 3, 4, 5)))
    layer.forward(np.zeros((3, 2, 5)))
    assert_shape(layer.backward(np.zeros((3, 10))), (3, 2, 5), "Flatten backward")
