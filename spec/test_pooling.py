"""Pooling: 2-D max pooling.

Requirement (exercise 2): implement `Layers.Pooling.Pooling(stride_shape, pooling_shape)`, a
layer without parameters for images `(b, c, y, x)`. `forward` slides a window of
`pooling_shape` over every channel in steps of `stride_shape`, without padding ("valid"), and
returns the maximum of each window: the output has shape
`(b, c, (y - pool_y) // stride_y + 1, (x - pool_x) // stride_x + 1)`. Windows may overlap
(a stride smaller than the window). `backward(error)` routes each error value to the position
of its window's maximum; a position that is the maximum of several overlapping windows receives
the sum of their errors, and every other position receives zero.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.support import as_array, assert_close, assert_shape, golden, numerical_gradient
from spec.support.protocol import assert_not_trainable

pytestmark = pytest.mark.section("Pooling")

EXACT = {"rtol": 1e-12, "atol": 1e-12}


def windows(shape, pool, stride):
    """(i, j, rows, cols) of every valid window of an image of spatial shape `shape`."""
    rows, cols = (shape[0] - pool[0]) // stride[0] + 1, (shape[1] - pool[1]) // stride[1] + 1
    for i in range(rows):
        for j in range(cols):
            top, left = i * stride[0], j * stride[1]
            yield i, j, slice(top, top + pool[0]), slice(left, left + pool[1])


def max_pool(x, pool, stride):
    """The definition: the maximum of every valid window."""
    rows, cols = (x.shape[2] - pool[0]) // stride[0] + 1, (x.shape[3] - pool[1]) // stride[1] + 1
    output = np.empty((*x.shape[:2], rows, cols))
    for i, j, ys, xs in windows(x.shape[2:], pool, stride):
        output[:, :, i, j] = x[:, :, ys, xs].max(axis=(2, 3))
    return output


def route_to_maxima(x, error, pool, stride):
    """The definition: each error added at its window's maximum."""
    gradient = np.zeros_like(x)
    for i, j, ys, xs in windows(x.shape[2:], pool, stride):
        for b, c in np.ndindex(x.shape[:2]):
            window = x[b, c, ys, xs]
            y, x_ = np.unravel_index(np.argmax(window), window.shape)
            gradient[b, c, ys.start + y, xs.start + x_] += error[b, c, i, j]
    return gradient


def distinct_values(shape, seed):
    """An input without ties, its values at least 0.1 apart, so the maximum of every window is
    unique and finite differences never swap it."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1


@st.composite
def problems(draw):
    """A small pooling problem: input shape, window and stride (windows may overlap), seed."""
    pool = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = (draw(st.integers(pool[0], 7)), draw(st.integers(pool[1], 7)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *size)
    return shape, pool, stride, draw(st.integers(0, 2**16))


def test_is_not_trainable(sub):
    """Pooling has no parameters: it is not trainable."""
    layer = sub.Layers.Pooling.Pooling((2, 2), (2, 2))
    assert_not_trainable(sub, layer, "Pooling(...)")


OUTPUT_SHAPES = [  # input shape, window, stride, output shape
    ((2, 3, 8, 8), (2, 2), (2, 2), (2, 3, 4, 4)),
    ((2, 2, 7, 9), (2, 2), (2, 2), (2, 2, 3, 4)),
    ((1, 2, 9, 8), (3, 3), (2, 2), (1, 2, 4, 3)),
    ((1, 2, 5, 6), (2, 2), (1, 1), (1, 2, 4, 5)),
    ((1, 1, 8, 7), (3, 2), (2, 1), (1, 1, 3, 6)),
]


@pytest.mark.parametrize(("input_shape", "pool", "stride", "expected"), OUTPUT_SHAPES)
def test_output_shape_has_only_whole_windows(sub, input_shape, pool, stride, expected):
    """forward returns (b, c, (y - pool_y) // stride_y + 1, (x - pool_x) // stride_x + 1): no
    padding, a window that would stick out is left out."""
    output = sub.Layers.Pooling.Pooling(stride, pool).forward(np.zeros(input_shape))
    assert_shape(output, expected, f"forward of {input_shape}, window {pool}, stride {stride}")


@given(problem=problems())
def test_forward_takes_the_maximum_of_each_window(sub, problem):
    """forward returns the maximum of every valid window, per batch item and channel."""
    shape, pool, stride, seed = problem
    x = np.random.default_rng(seed).normal(size=shape)
    output = sub.Layers.Pooling.Pooling(stride, pool).forward(x)
    what = f"forward, input {shape}, window {pool}, stride {stride}"
    assert_close(output, max_pool(x, pool, stride), **EXACT, what=what)


def after_backward(sub, problem):
    """The input, the error, and what backward returned after forward on that input."""
    shape, pool, stride, seed = problem
    x = distinct_values(shape, seed)
    error = np.random.default_rng(seed).normal(size=max_pool(x, pool, stride).shape)
    layer = sub.Layers.Pooling.Pooling(stride, pool)
    layer.forward(x)
    return layer, x, error, layer.backward(error)


@given(problem=problems())
def test_backward_routes_each_error_to_its_maximum(sub, problem):
    """backward puts each error at its window's maximum, adding up where windows share one."""
    shape, pool, stride, _ = problem
    _, x, error, gradient = after_backward(sub, problem)
    what = f"backward, input {shape}, window {pool}, stride {stride}"
    assert_close(gradient, route_to_maxima(x, error, pool, stride), **EXACT, what=what)


@settings(max_examples=8)
@given(problem=problems())
def test_backward_matches_finite_differences(sub, problem):
    """backward returns the gradient of the loss with respect to the input."""
    layer, x, error, analytic = after_backward(sub, problem)
    numeric = numerical_gradient(lambda z: np.sum(as_array(layer.forward(z)) * error), x)
    assert_close(analytic, numeric, rtol=1e-6, atol=1e-8, what="backward")


@pytest.mark.parametrize(("pool", "stride"), [((3, 3), (2, 2)), ((2, 2), (1, 1))])
def test_overlapping_windows_add_their_errors(sub, pool, stride):
    """A maximum shared by overlapping windows receives the sum of all their errors."""
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0  # the maximum of every window that contains the centre
    layer = sub.Layers.Pooling.Pooling(stride, pool)
    output = as_array(layer.forward(x), "Pooling forward")
    error = np.arange(1.0, output.size + 1).reshape(output.shape)
    gradient = as_array(layer.backward(error), "Pooling backward")
    windows_with_centre = [
        (i, j)
        for i, j, ys, xs in windows((5, 5), pool, stride)
        if ys.start <= 2 < ys.stop and xs.start <= 2 < xs.stop
    ]
    expected = sum(error[0, 0, i, j] for i, j in windows_with_centre)
    what = f"error at the shared maximum, window {pool}, stride {stride}"
    assert_close(gradient[0, 0, 2, 2], expected, **EXACT, what=what)


def test_backward_uses_the_maxima_of_the_last_forward(sub):
    """backward routes to the maxima found by the most recent forward call."""
    layer = sub.Layers.Pooling.Pooling((2, 2), (2, 2))
    first, last = distinct_values((1, 1, 4, 4), 0), distinct_values((1, 1, 4, 4), 1)
    layer.forward(first)
    layer.forward(last)
    error = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = route_to_maxima(last, error, (2, 2), (2, 2))
    assert_close(layer.backward(error), expected, **EXACT, what="backward after two forwards")


@pytest.mark.parametrize("name", golden.names("pooling_"))
def test_matches_the_golden_arrays(sub, name):
    """forward and backward agree with the PyTorch oracle (reference_data/<name>.npz)."""
    case = golden.load(name)
    stride = tuple(int(s) for s in case["stride"])
    pool = tuple(int(s) for s in case["pooling_shape"])
    layer = sub.Layers.Pooling.Pooling(stride, pool)
    output = layer.forward(case["input"])
    assert_close(output, case["output"], **golden.EXACT, what=f"forward on {name}")
    gradient = layer.backward(case["error"])
    assert_close(gradient, case["grad_input"], **golden.EXACT, what=f"backward on {name}")
