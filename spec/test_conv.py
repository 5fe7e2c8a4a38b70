"""Conv: a convolutional layer for 1-D signals and 2-D images.

Requirement (exercise 2): implement `Layers.Conv.Conv(stride_shape, convolution_shape,
num_kernels)`, a trainable layer. `convolution_shape` is `(c, m)` for 1-D input `(b, c, y)` or
`(c, m, n)` for 2-D input `(b, c, y, x)`; `stride_shape` is a single int, a one-element
tuple/list (the same stride on every axis) or one int per spatial axis.

`forward` cross-correlates the input with each of the `num_kernels` kernels over all channels,
with "same" zero padding (an odd kernel of size m pads (m - 1) / 2 on both sides; an even one
pads m - 1 in all, split between the sides as you choose), adds the
kernel's bias, and keeps every stride-th position: the output has shape
`(b, num_kernels, ceil(y / stride_y)[, ceil(x / stride_x)])`. `weights` has shape
`(num_kernels, *convolution_shape)` and `bias` shape `(num_kernels,)`. `backward(error)` stores
`gradient_weights` and `gradient_bias`, returns the gradient with respect to the input, and, if
an optimizer is set, updates weights and bias with separate copies of it (each keeps its own
state). `initialize(weights_initializer, bias_initializer)` passes
fan_in = c * m * n and fan_out = num_kernels * m * n (without n for 1-D).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.support import (
    as_array,
    as_bool,
    assert_close,
    assert_shape,
    golden,
    numerical_gradient,
    random_error,
)

pytestmark = pytest.mark.section("Conv")

EXACT = {"rtol": 1e-10, "atol": 1e-10}  # the same sums in another order
NUMERIC = {"rtol": 1e-6, "atol": 1e-8}  # against central finite differences


def window_at(padded, i, j, kernel, stride):
    """The part of the padded input that output position (i, j) sees."""
    top, left = i * stride[0], j * stride[1]
    return padded[:, :, top : top + kernel[0], left : left + kernel[1]]


def correlate(x, weights, bias, stride):
    """The definition, one output position at a time: "same" zero padding for odd kernels,
    cross-correlation over all channels, plus the bias, at every stride-th position."""
    if x.ndim == 3:  # a 1-D signal is an image one pixel wide
        return correlate(x[..., None], weights[..., None], bias, (stride[0], 1))[..., 0]
    _, _, m, n = weights.shape
    padded = np.pad(x, ((0, 0), (0, 0), (m // 2, m // 2), (n // 2, n // 2)))
    rows, cols = math.ceil(x.shape[2] / stride[0]), math.ceil(x.shape[3] / stride[1])
    output = np.empty((x.shape[0], weights.shape[0], rows, cols))
    for i in range(rows):
        for j in range(cols):
            window = window_at(padded, i, j, (m, n), stride)
            output[:, :, i, j] = np.einsum("bcmn,kcmn->bk", window, weights) + bias
    return output


def kernel_gradient(x, error, kernel_shape, stride):
    """d sum(correlate(x, w, b, stride) * error) / d w, by the same definition: each kernel tap
    collects the error of every output position times the input it saw there."""
    if x.ndim == 3:
        gradient = kernel_gradient(
            x[..., None], error[..., None], (*kernel_shape, 1), (stride[0], 1)
        )
        return gradient[..., 0]
    m, n = kernel_shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (m // 2, m // 2), (n // 2, n // 2)))
    gradient = np.zeros(kernel_shape)
    for i in range(error.shape[2]):
        for j in range(error.shape[3]):
            window = window_at(padded, i, j, (m, n), stride)
            gradient += np.einsum("bk,bcmn->kcmn", error[:, :, i, j], window)
    return gradient


def conv_with(sub, stride, weights, bias):
    """A Conv layer of the weights' shape holding exactly these weights and bias."""
    layer = sub.Layers.Conv.Conv(stride, weights.shape[1:], weights.shape[0])
    layer.weights = weights
    layer.bias = bias
    return layer


@st.composite
def problems(draw, dims, kernel_sizes=(1, 3, 5)):
    """A small convolution: input, odd kernels, bias, one stride per axis, and a seed."""
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    batch, channels, kernels = (draw(st.integers(1, n)) for n in (2, 2, 3))
    kernel = [draw(st.sampled_from(kernel_sizes)) for _ in range(dims)]
    size = [draw(st.integers(m, 6)) for m in kernel]  # kernels no larger than the input
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    x = rng.normal(size=(batch, channels, *size))
    weights = rng.normal(size=(kernels, channels, *kernel))
    return x, weights, rng.normal(size=kernels), stride, seed


# finite differences cost two forward calls per entry: small kernels keep that cheap
SMALL_KERNELS = (1, 3)


def output_shape(x, weights, stride):
    """(b, num_kernels, ceil(size / stride) for every spatial axis)."""
    spatial = (math.ceil(s / t) for s, t in zip(x.shape[2:], stride, strict=True))
    return (x.shape[0], weights.shape[0], *spatial)


def described(x, weights, stride):
    return f"input {x.shape}, kernels {weights.shape}, stride {stride}"


def recording(sub):
    """Two recording initializers: weights filled with 0.3, bias with 0.7."""
    return sub.probes.RecordingInitializer(0.3), sub.probes.RecordingInitializer(0.7)


# -- the layer's parameters -------------------------------------------------------------------


def test_is_trainable(sub):
    """Conv has parameters to learn: trainable is True."""
    layer = sub.Layers.Conv.Conv((1, 1), (3, 5, 5), 4)
    assert as_bool(layer.trainable, "Conv(...).trainable") is True, (
        "Conv(...).trainable should be True"
    )


@pytest.mark.parametrize(("convolution_shape", "num_kernels"), [((3, 5, 3), 4), ((2, 3), 5)])
def test_weights_and_bias_have_the_contract_shapes(sub, convolution_shape, num_kernels):
    """weights has shape (num_kernels, *convolution_shape), bias shape (num_kernels,)."""
    layer = sub.Layers.Conv.Conv(1, convolution_shape, num_kernels)
    assert_shape(layer.weights, (num_kernels, *convolution_shape), "Conv weights")
    assert_shape(layer.bias, (num_kernels,), "Conv bias")


# -- forward ----------------------------------------------------------------------------------

OUTPUT_SHAPES = [  # input shape, kernel size, stride
    ((2, 3, 10, 14), (5, 3), (1, 1)),
    ((2, 3, 7, 9), (3, 3), (2, 2)),
    ((1, 2, 10, 14), (3, 5), (3, 2)),
    ((1, 2, 5, 7), (1, 1), (1, 3)),
    ((2, 3, 15), (5,), (1,)),
    ((2, 3, 14), (3,), (3,)),
    ((1, 2, 6, 7), (2, 4), (1, 1)),  # even kernels pad m - 1 in all
    ((1, 2, 9, 8), (4, 2), (2, 3)),
    ((2, 2, 9), (4,), (2,)),
]


@pytest.mark.parametrize(("input_shape", "kernel", "stride"), OUTPUT_SHAPES)
def test_output_size_is_the_input_size_over_the_stride_rounded_up(sub, input_shape, kernel, stride):
    """forward returns (b, num_kernels, ceil(y / stride_y)[, ceil(x / stride_x)])."""
    layer = sub.Layers.Conv.Conv(stride, (input_shape[1], *kernel), 4)
    output = layer.forward(np.ones(input_shape))
    expected = output_shape(np.empty(input_shape), np.empty((4, input_shape[1], *kernel)), stride)
    assert_shape(output, expected, f"Conv forward of {input_shape} with stride {stride}")


@given(problem=problems(dims=2))
def test_forward_2d_is_same_cross_correlation(sub, problem):
    """2-D forward is the cross-correlation with "same" zero padding plus bias, subsampled by
    the stride (uneven sizes, 1x1 to 5x5 kernels, strides 1 to 3)."""
    x, weights, bias, stride, _ = problem
    output = conv_with(sub, stride, weights, bias).forward(x)
    expected = correlate(x, weights, bias, stride)
    assert_close(output, expected, **EXACT, what=f"forward, {described(x, weights, stride)}")


@given(problem=problems(dims=1))
def test_forward_1d_is_same_cross_correlation(sub, problem):
    """1-D forward on (b, c, y) is the same operation along the one spatial axis."""
    x, weights, bias, stride, _ = problem
    output = conv_with(sub, stride, weights, bias).forward(x)
    expected = correlate(x, weights, bias, stride)
    assert_close(output, expected, **EXACT, what=f"forward, {described(x, weights, stride)}")


@pytest.mark.parametrize("stride", [2, (2,), [2], (2, 2), [2, 2]], ids=repr)
def test_one_stride_value_applies_to_both_axes(sub, stride):
    """stride_shape 2, (2,) and [2] mean stride 2 along y and x, like (2, 2) and [2, 2]."""
    rng = np.random.default_rng(3)
    x, weights = rng.normal(size=(2, 2, 7, 8)), rng.normal(size=(3, 2, 3, 3))
    bias = rng.normal(size=3)
    output = conv_with(sub, stride, weights, bias).forward(x)
    expected = correlate(x, weights, bias, (2, 2))
    assert_close(output, expected, **EXACT, what=f"forward with stride_shape {stride!r}")


@pytest.mark.parametrize("stride", [2, (2,), [2]], ids=repr)
def test_one_stride_value_applies_to_a_1d_signal(sub, stride):
    """For 1-D input, stride_shape 2, (2,) and [2] all mean stride 2."""
    rng = np.random.default_rng(4)
    x, weights, bias = rng.normal(size=(2, 2, 9)), rng.normal(size=(3, 2, 3)), rng.normal(size=3)
    output = conv_with(sub, stride, weights, bias).forward(x)
    expected = correlate(x, weights, bias, (2,))
    assert_close(output, expected, **EXACT, what=f"forward with stride_shape {stride!r}")


def test_1x1_kernels_mix_channels_pixel_by_pixel(sub):
    """A 1x1 kernel needs no padding: output[b, k] = sum_c w[k, c] * x[b, c] + bias[k]."""
    rng = np.random.default_rng(5)
    x, weights = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 1, 1))
    bias = rng.normal(size=2)
    output = conv_with(sub, (1, 1), weights, bias).forward(x)
    expected = np.einsum("kc,bcyx->bkyx", weights[:, :, 0, 0], x) + bias[:, None, None]
    assert_close(output, expected, **EXACT, what="forward with 1x1 kernels")


# -- backward ---------------------------------------------------------------------------------

small_problems = st.one_of(problems(1, SMALL_KERNELS), problems(2, SMALL_KERNELS))


def after_backward(sub, problem):
    """A layer that has run forward and backward on the problem, and the error it was given."""
    x, weights, bias, stride, seed = problem
    layer = conv_with(sub, stride, weights, bias)
    error = random_error(output_shape(x, weights, stride), seed)
    layer.forward(x)
    return layer, layer.backward(error), error


@settings(max_examples=12)
@given(problem=small_problems)
def test_backward_returns_the_input_gradient(sub, problem):
    """backward returns the gradient of the loss with respect to the input (finite differences)."""
    x, weights, _, stride, _ = problem
    layer, analytic, error = after_backward(sub, problem)
    numeric = numerical_gradient(lambda z: np.sum(as_array(layer.forward(z)) * error), x)
    assert_close(analytic, numeric, **NUMERIC, what=f"backward, {described(x, weights, stride)}")


@settings(max_examples=12)
@given(problem=small_problems)
def test_backward_stores_the_weights_gradient(sub, problem):
    """gradient_weights is the gradient of the loss with respect to the kernels (finite
    differences)."""
    x, weights, _, stride, _ = problem
    layer, _, error = after_backward(sub, problem)
    analytic = layer.gradient_weights

    def loss(w):
        layer.weights = w
        return np.sum(as_array(layer.forward(x)) * error)

    numeric = numerical_gradient(loss, weights)
    what = f"gradient_weights, {described(x, weights, stride)}"
    assert_close(analytic, numeric, **NUMERIC, what=what)


@settings(max_examples=12)
@given(problem=st.one_of(problems(1, (2, 4)), problems(2, (2, 4))))
def test_backward_is_the_gradient_for_even_kernels(sub, problem):
    """With even kernel sizes (2 or 4, padded unevenly), backward and gradient_weights are the
    gradients of your own forward (finite differences), whichever side gets the extra padding."""
    x, weights, bias, stride, seed = problem
    layer = conv_with(sub, stride, weights, bias)
    # An error shaped like your output: a wrong output shape is the output-size clause's.
    error = random_error(as_array(layer.forward(x), "Conv forward").shape, seed)
    analytic = layer.backward(error)
    what = described(x, weights, stride)
    gradient_weights = as_array(layer.gradient_weights, "gradient_weights")
    numeric = numerical_gradient(lambda z: np.sum(as_array(layer.forward(z)) * error), x)
    assert_close(analytic, numeric, **NUMERIC, what=f"backward, {what}")

    def loss(w):
        layer.weights = w
        return np.sum(as_array(layer.forward(x)) * error)

    numeric = numerical_gradient(loss, weights)
    assert_close(gradient_weights, numeric, **NUMERIC, what=f"gradient_weights, {what}")


@settings(max_examples=12)
@given(problem=small_problems)
def test_backward_stores_the_bias_gradient(sub, problem):
    """gradient_bias is the gradient of the loss with respect to the bias: the error summed over
    batch and positions, one value per kernel."""
    layer, _, error = after_backward(sub, problem)
    expected = error.sum(axis=tuple(i for i in range(error.ndim) if i != 1))
    assert_close(layer.gradient_bias, expected, **EXACT, what=f"gradient_bias, error {error.shape}")


# -- initialize and the optimizer -------------------------------------------------------------


@pytest.mark.parametrize(
    ("convolution_shape", "fans"), [((3, 5, 7), (3 * 5 * 7, 4 * 5 * 7)), ((2, 3), (2 * 3, 4 * 3))]
)
def test_initialize_passes_the_fans(sub, convolution_shape, fans):
    """initialize asks the weights initializer with fan_in = c*m*n, fan_out = num_kernels*m*n."""
    weights_init, bias_init = recording(sub)
    sub.Layers.Conv.Conv(1, convolution_shape, 4).initialize(weights_init, bias_init)
    asked = [(fan_in, fan_out) for _, fan_in, fan_out in weights_init.calls]
    assert fans in asked, (
        f"weights initializer was asked with (fan_in, fan_out) {asked}, not {fans}"
    )


def test_initialize_sets_weights_and_bias(sub):
    """After initialize, weights come from the weights initializer and bias from the bias
    initializer."""
    layer = sub.Layers.Conv.Conv((1, 1), (2, 3, 3), 4)
    layer.initialize(*recording(sub))
    weights = np.full((4, 2, 3, 3), 0.3)
    assert_close(layer.weights, weights, **EXACT, what="weights after initialize")
    bias = as_array(layer.bias, "bias after initialize").ravel()
    assert_close(bias, np.full(4, 0.7), **EXACT, what="bias after initialize")


def test_backward_without_optimizer_keeps_the_parameters(sub):
    """Without an optimizer, backward computes gradients but leaves weights and bias alone."""
    rng = np.random.default_rng(6)
    weights, bias = rng.normal(size=(2, 1, 3, 3)), rng.normal(size=2)
    layer = conv_with(sub, (1, 1), weights, bias)
    layer.forward(rng.normal(size=(1, 1, 4, 4)))
    layer.backward(rng.normal(size=(1, 2, 4, 4)))
    assert_close(layer.weights, weights, rtol=0, atol=0, what="weights after backward")
    assert_close(layer.bias, bias, rtol=0, atol=0, what="bias after backward")


def test_backward_updates_weights_and_bias_with_the_optimizer(sub):
    """With an optimizer set, backward updates weights and bias by their own gradients."""
    rng = np.random.default_rng(7)
    weights, bias = rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2)
    x, error = rng.normal(size=(2, 2, 5, 4)), rng.normal(size=(2, 2, 3, 2))
    layer = conv_with(sub, (2, 2), weights, bias)
    layer.optimizer = sub.reference.Optimization.Optimizers.Sgd(0.5)
    layer.forward(x)
    layer.backward(error)
    expected_weights = weights - 0.5 * kernel_gradient(x, error, weights.shape, (2, 2))
    expected_bias = bias - 0.5 * error.sum(axis=(0, 2, 3))
    assert_close(layer.weights, expected_weights, **EXACT, what="weights after Sgd(0.5)")
    assert_close(layer.bias, expected_bias, **EXACT, what="bias after Sgd(0.5)")


@pytest.mark.parametrize("dims", [1, 2])
def test_weights_and_bias_keep_separate_optimizer_state(sub, dims):
    """Weights and bias each get their own copy of the optimizer: with momentum, each follows
    its own velocity over several steps."""
    rng = np.random.default_rng(8)
    spatial, stride = (5, 4)[:dims], (1, 1)[:dims]
    weights, bias = rng.normal(size=(3, 2, *(3,) * dims)), rng.normal(size=3)
    layer = conv_with(sub, 1, weights, bias)
    layer.optimizer = sub.reference.Optimization.Optimizers.SgdWithMomentum(0.1, 0.9)
    velocity_weights = velocity_bias = 0.0
    for step in range(1, 4):
        x, error = rng.normal(size=(2, 2, *spatial)), rng.normal(size=(2, 3, *spatial))
        layer.forward(x)
        layer.backward(error)
        gradient_weights = kernel_gradient(x, error, weights.shape, stride)
        gradient_bias = error.sum(axis=(0, *range(2, error.ndim)))
        velocity_weights = 0.9 * velocity_weights - 0.1 * gradient_weights
        velocity_bias = 0.9 * velocity_bias - 0.1 * gradient_bias
        weights, bias = weights + velocity_weights, bias + velocity_bias
        assert_close(layer.weights, weights, **EXACT, what=f"weights after momentum step {step}")
        assert_close(layer.bias, bias, **EXACT, what=f"bias after momentum step {step}")


def test_regularized_optimizer_shrinks_the_weights_once(sub):
    """With an optimizer that has a regularizer, gradient_weights stays the loss's gradient and
    calculate_update alone shrinks the kernels: adding the regularizer's gradient to
    gradient_weights as well would shrink them twice."""
    rng = np.random.default_rng(9)
    weights, bias = rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2)
    x, error = rng.normal(size=(2, 2, 4, 5)), rng.normal(size=(2, 2, 4, 5))
    optimizer = sub.reference.Optimization.Optimizers.Sgd(0.5)
    optimizer.add_regularizer(sub.reference.Optimization.Constraints.L2_Regularizer(0.1))
    layer = conv_with(sub, (1, 1), weights, bias)
    layer.optimizer = optimizer
    layer.forward(x)
    layer.backward(error)
    gradient = kernel_gradient(x, error, weights.shape, (1, 1))
    what = "Conv.gradient_weights with an L2-regularized optimizer"
    assert_close(layer.gradient_weights, gradient, **EXACT, what=what)
    expected = weights - 0.5 * 0.1 * weights - 0.5 * gradient
    what = "Conv.weights after backward with Sgd(0.5) and L2_Regularizer(0.1)"
    assert_close(layer.weights, expected, **EXACT, what=what)


# -- golden arrays ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", golden.names("conv_"))
def test_matches_the_golden_arrays(sub, name):
    """forward, backward, gradient_weights and gradient_bias agree with the PyTorch oracle
    (reference_data/<name>.npz)."""
    case = golden.load(name)
    stride = tuple(int(s) for s in case["stride"])
    layer = conv_with(sub, stride, case["weights"], case["bias"])
    output = layer.forward(case["input"])
    assert_close(output, case["output"], **golden.EXACT, what=f"forward on {name}")
    gradient = layer.backward(case["error"])
    assert_close(gradient, case["grad_input"], **golden.EXACT, what=f"backward on {name}")
    for attribute, key in (("gradient_weights", "grad_weights"), ("gradient_bias", "grad_bias")):
        stored = getattr(layer, attribute)
        assert_close(stored, case[key], **golden.EXACT, what=f"{attribute} on {name}")
