"""BatchNorm: normalizing every channel by its batch statistics.

Requirement (exercise 3, regularization): implement
`Layers.BatchNormalization.BatchNormalization(channels)`, a trainable layer that starts in the
training phase. Its `weights` (gamma, one per channel) are ones and its `bias` (beta) zeros,
made at construction, in `initialize` (which leaves them so whatever initializers it is given)
or in the first `forward`; the tests call `initialize` first, as a network does. The input is a
batch of vectors `(b, channels)` or of images `(b, channels, y, x)`; an image is normalized per
channel over the batch and both spatial axes. `reformat(tensor)` turns an image tensor
`(b, c, y, x)` into `(b*y*x, c)`, one row per pixel, and a 2-D tensor back into the shape of the
last forward input.

In the training phase `forward` normalizes with the batch mean and (biased) batch variance,
`gamma * (x - mean) / sqrt(var + eps) + beta` with an epsilon below 1e-10, and keeps moving
averages of both: `mu = alpha * mu + (1 - alpha) * mu_batch` with alpha = 0.8, the first
batch initializing them. The test phase normalizes with the moving averages instead.
`backward(error)` returns the gradient with respect to the input, stores `gradient_weights`
(gamma) and `gradient_bias` (beta), and updates both with the layer's `optimizer` if one is set,
each with its own copy of it (momentum and Adam keep state per tensor).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.support import (
    as_array,
    assert_close,
    assert_shape,
    golden,
    numerical_gradient,
    random_error,
)
from spec.support.protocol import assert_starts_in_training_phase, in_training_phase, is_trainable

pytestmark = pytest.mark.section("BatchNorm")

ALPHA = 0.8
# Inputs have batch variances of order 1, so the epsilon the contract allows (< 1e-10) moves
# outputs by about 1e-10 relative; these tolerances accept it and nothing a formula slip gives.
TIGHT = {"rtol": 1e-8, "atol": 1e-8}
FINITE_DIFFERENCES = {"rtol": 1e-5, "atol": 1e-6}


def vector_shapes(batch):
    return st.tuples(st.integers(*batch), st.integers(1, 4))


def image_shapes(batch, side):
    return st.tuples(st.integers(*batch), st.integers(1, 3), st.integers(*side), st.integers(*side))


def samples_per_channel(shape):
    return shape[0] * int(np.prod(shape[2:]))


# Any input the layer takes: vectors or images, with at least three values per channel.
shapes = st.one_of(vector_shapes((3, 8)), image_shapes((1, 3), (1, 3))).filter(
    lambda s: samples_per_channel(s) >= 3
)
# Small ones for finite differences, which run a forward pass per input value.
small_shapes = st.one_of(vector_shapes((3, 5)), image_shapes((1, 2), (1, 3))).filter(
    lambda s: samples_per_channel(s) >= 3
)
image_only = image_shapes((1, 3), (1, 4)).filter(lambda s: samples_per_channel(s) >= 2)


def channel_axes(shape):
    """The axes a channel's statistics run over: batch, and space for images."""
    return (0, *range(2, len(shape)))


def per_channel(values, shape):
    """A (c,) vector shaped to broadcast along axis 1 of a tensor of `shape`."""
    return np.reshape(values, (1, -1) + (1,) * (len(shape) - 2))


def channel_data(shape, seed, spread=1.0):
    """Channels with different means and scales; each has batch variance scale**2 in [0.25, 4]
    exactly, so the allowed epsilon stays negligible."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=shape)
    z = (z - z.mean(channel_axes(shape), keepdims=True)) / z.std(channel_axes(shape), keepdims=True)
    channels = shape[1]
    means, scales = rng.normal(0, 3 * spread, channels), rng.uniform(0.5, 2.0, channels)
    return z * per_channel(scales, shape) + per_channel(means, shape)


def normalized(x, mean, var, gamma=1.0, beta=0.0):
    """The contract's formula with epsilon 0, statistics per channel."""
    x_hat = (x - per_channel(mean, x.shape)) / np.sqrt(per_channel(var, x.shape))
    return per_channel(gamma, x.shape) * x_hat + per_channel(beta, x.shape)


def batch_statistics(x):
    return x.mean(channel_axes(x.shape)), x.var(channel_axes(x.shape))


def channel_vector(value, channels, what):
    """A per-channel parameter or gradient as a (c,) vector; (c,) and (1, c) are both fine."""
    array = as_array(value, what)
    if array.size != channels:
        raise AssertionError(
            f"{what} should hold one value per channel ({channels}), got shape {array.shape}"
        )
    return array.reshape(channels)


def new_layer(sub, channels):
    """BatchNormalization(channels) as a network prepares it: initialized (with initializers
    that give the identity, so that only test_initialize_keeps_the_identity depends on what
    initialize does with them), in the training phase."""
    layer = sub.Layers.BatchNormalization.BatchNormalization(channels)
    layer.initialize(sub.probes.Constant(1.0), sub.probes.Constant(0.0))
    return in_training_phase(layer)


def parameter(layer, name):
    """weights or bias as the layer holds it, None if it has not made it yet."""
    try:
        value = getattr(layer, name)
    except AttributeError:
        return None
    return None if value is None else as_array(value, name)


def made_parameters(layer, channels):
    """gamma and beta as (c,) vectors; a layer that makes them in its first forward gets one."""
    if parameter(layer, "weights") is None or parameter(layer, "bias") is None:
        layer.forward(channel_data((6, channels), 0))
    return (
        channel_vector(parameter(layer, "weights"), channels, "weights"),
        channel_vector(parameter(layer, "bias"), channels, "bias"),
    )


def set_parameters(layer, gamma, beta):
    """Assign gamma and beta in whatever (c,)-sized shape the layer keeps them ((c,) if it has
    not made them yet)."""
    for name, values in (("weights", gamma), ("bias", beta)):
        current = parameter(layer, name)
        setattr(layer, name, values if current is None else values.reshape(current.shape))


def random_parameters(channels, seed):
    rng = np.random.default_rng([seed, 1])
    return rng.uniform(0.5, 1.5, channels), rng.normal(size=channels)


# -- the layer and its parameters ----------------------------------------------------------


def test_is_trainable(sub):
    """BatchNormalization is trainable."""
    layer = sub.Layers.BatchNormalization.BatchNormalization(3)
    assert is_trainable(layer, "BatchNormalization(3)"), (
        "BatchNormalization(3).trainable should be True"
    )


def test_starts_in_the_training_phase(sub):
    """A new BatchNormalization is in the training phase: testing_phase is False."""
    layer = sub.Layers.BatchNormalization.BatchNormalization(3)
    assert_starts_in_training_phase(sub, layer, "BatchNormalization(3)")


def test_parameters_start_as_the_identity(sub):
    """weights (gamma) are ones and bias (beta) zeros, one per channel, once the layer has made
    them (at construction, in initialize or in the first forward)."""
    gamma, beta = made_parameters(new_layer(sub, 3), 3)
    assert_close(gamma, np.ones(3), what="weights (gamma)")
    assert_close(beta, np.zeros(3), what="bias (beta)")


def test_initialize_keeps_the_identity(sub):
    """initialize(...) leaves gamma ones and beta zeros whatever initializers it is given."""
    layer = sub.Layers.BatchNormalization.BatchNormalization(3)
    layer.initialize(sub.probes.Constant(3.0), sub.probes.Constant(3.0))
    gamma, beta = made_parameters(in_training_phase(layer), 3)
    what = "after initialize(Constant(3), Constant(3))"
    assert_close(gamma, np.ones(3), what=f"weights (gamma) {what}")
    assert_close(beta, np.zeros(3), what=f"bias (beta) {what}")


# -- forward in the training phase ---------------------------------------------------------


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_train_output_has_mean_0_and_variance_1_per_channel(sub, shape, seed):
    """Training with gamma 1, beta 0: every channel of the output has mean 0 and variance 1,
    over the batch for vectors and over batch and space for images."""
    x = channel_data(shape, seed)
    output = assert_shape(
        new_layer(sub, shape[1]).forward(x),
        shape,
        "BatchNormalization forward",
    )
    mean, var = batch_statistics(output)
    assert_close(mean, np.zeros(shape[1]), atol=1e-8, what=f"channel means of the output {shape}")
    assert_close(var, np.ones(shape[1]), **TIGHT, what=f"channel variances of the output {shape}")


@given(shape=shapes, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_gamma_scales_and_beta_shifts(sub, shape, seed):
    """Training: the output is gamma * (x - mean) / sqrt(var + eps) + beta, per channel."""
    x = channel_data(shape, seed)
    gamma, beta = random_parameters(shape[1], seed)
    layer = new_layer(sub, shape[1])
    set_parameters(layer, gamma, beta)
    assert_close(
        layer.forward(x),
        normalized(x, *batch_statistics(x), gamma, beta),
        **TIGHT,
        what=f"BatchNormalization forward {shape} with gamma and beta",
    )


# -- reformat ------------------------------------------------------------------------------


@given(shape=image_only, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_reformat_turns_an_image_into_one_row_per_pixel(sub, shape, seed):
    """reformat (b, c, y, x) -> (b*y*x, c): row (n, i, j) holds the c channels of that pixel."""
    x = channel_data(shape, seed)
    layer = new_layer(sub, shape[1])
    layer.forward(x)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, shape[1])
    assert_close(layer.reformat(x), rows, rtol=0, atol=0, what=f"reformat of a {shape} image")


@given(shape=image_only, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_reformat_round_trips(sub, shape, seed):
    """reformat of the (b*y*x, c) rows gives back the image of the last forward input."""
    x = channel_data(shape, seed)
    layer = new_layer(sub, shape[1])
    layer.forward(x)
    rows = as_array(layer.reformat(x), "reformat(image)")
    assert_close(
        layer.reformat(rows), x, rtol=0, atol=0, what=f"reformat(reformat(x)) for a {shape} image"
    )


# -- moving averages and the test phase ----------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 2, 3)], ids=["vector", "image"])
def test_first_batch_initializes_the_moving_averages(sub, shape):
    """After one training batch, the test phase normalizes with that batch's mean and variance."""
    first, later = channel_data(shape, 1), channel_data(shape, 2)
    layer = new_layer(sub, shape[1])
    layer.forward(first)
    layer.testing_phase = True
    assert_close(
        layer.forward(later),
        normalized(later, *batch_statistics(first)),
        **TIGHT,
        what="test-phase output after one training batch",
    )


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 2, 3)], ids=["vector", "image"])
def test_test_phase_uses_the_moving_averages(sub, shape):
    """After several batches, the test phase normalizes with mu = 0.8 mu + 0.2 mu_batch (and
    the same for the variance, from the biased batch variances)."""
    batches = [channel_data(shape, seed, spread=2.0) for seed in range(5)]
    layer = new_layer(sub, shape[1])
    moving_mean, moving_var = batch_statistics(batches[0])
    for batch in batches:
        layer.forward(batch)
    for batch in batches[1:]:
        mean, var = batch_statistics(batch)
        moving_mean = ALPHA * moving_mean + (1 - ALPHA) * mean
        moving_var = ALPHA * moving_var + (1 - ALPHA) * var
    layer.testing_phase = True
    x = channel_data(shape, 99)
    assert_close(
        layer.forward(x),
        normalized(x, moving_mean, moving_var),
        **TIGHT,
        what=f"test-phase output after {len(batches)} training batches",
    )


def test_test_phase_does_not_use_batch_statistics(sub):
    """Test phase: the normalization is fixed, so shifting the input shifts the output (batch
    statistics would cancel the shift)."""
    x = channel_data((6, 3), 0)
    layer = new_layer(sub, 3)
    layer.forward(x)
    layer.testing_phase = True
    before = as_array(layer.forward(x), "test-phase output")
    after = as_array(layer.forward(x + 5.0), "test-phase output of the shifted input")
    shift = after - before
    assert np.all(np.abs(shift) > 0.5), (
        "in the test phase, adding 5 to the input should move the output (normalized by the "
        f"moving averages), but it moved by as little as {np.abs(shift).min():.3g}"
    )


def test_test_phase_leaves_the_moving_averages_alone(sub):
    """Test phase: forward does not update the moving averages; the same input gives the same
    output before and after other test inputs."""
    layer = new_layer(sub, 3)
    layer.forward(channel_data((6, 3), 0))
    layer.testing_phase = True
    x = channel_data((6, 3), 1)
    before = as_array(layer.forward(x), "test-phase output")
    layer.forward(channel_data((6, 3), 2, spread=3.0))
    assert_close(
        layer.forward(x),
        before,
        **TIGHT,
        what="test-phase output of the same input after another test-phase forward",
    )


# -- backward ------------------------------------------------------------------------------


def train_phase_gradients(sub, shape, seed):
    """A layer with random gamma and beta after a training-phase forward(x), and the x, error,
    gamma and beta it was made with."""
    # An error drawn from the same stream as x would be a function of x_hat, for which the
    # true input gradient is zero: the seeds must differ.
    x, error = channel_data(shape, seed), random_error(shape, seed + 1)
    gamma, beta = random_parameters(shape[1], seed)
    layer = new_layer(sub, shape[1])
    set_parameters(layer, gamma, beta)
    layer.forward(x)
    return layer, x, error, gamma, beta


def loss(layer, x, error):
    return np.sum(as_array(layer.forward(x), "BatchNormalization forward") * error)


@given(shape=small_shapes, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_backward_returns_the_input_gradient(sub, shape, seed):
    """Training: backward(error) is the gradient of sum(output * error) with respect to the
    input, including the dependence of the batch mean and variance on every input."""
    layer, x, error, _, _ = train_phase_gradients(sub, shape, seed)
    analytic = layer.backward(error)
    numeric = numerical_gradient(lambda z: loss(layer, z, error), x)
    assert_close(
        analytic, numeric, **FINITE_DIFFERENCES, what=f"BatchNormalization backward {shape}"
    )


@given(shape=small_shapes, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_backward_stores_gradient_weights(sub, shape, seed):
    """Training: gradient_weights is the gradient with respect to gamma, one per channel."""
    layer, x, error, gamma, beta = train_phase_gradients(sub, shape, seed)
    layer.backward(error)
    analytic = channel_vector(layer.gradient_weights, shape[1], "gradient_weights")

    def with_gamma(g):
        set_parameters(layer, g, beta)
        return loss(layer, x, error)

    assert_close(
        analytic,
        numerical_gradient(with_gamma, gamma),
        **FINITE_DIFFERENCES,
        what=f"gradient_weights (gamma) for {shape}",
    )


@given(shape=small_shapes, seed=st.integers(0, 2**16))
@settings(max_examples=10)
def test_backward_stores_gradient_bias(sub, shape, seed):
    """Training: gradient_bias is the gradient with respect to beta, one per channel."""
    layer, x, error, gamma, beta = train_phase_gradients(sub, shape, seed)
    layer.backward(error)
    analytic = channel_vector(layer.gradient_bias, shape[1], "gradient_bias")

    def with_beta(b):
        set_parameters(layer, gamma, b)
        return loss(layer, x, error)

    assert_close(
        analytic,
        numerical_gradient(with_beta, beta),
        **FINITE_DIFFERENCES,
        what=f"gradient_bias (beta) for {shape}",
    )


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 2, 3)], ids=["vector", "image"])
def test_backward_updates_gamma_and_beta_with_the_optimizer(sub, shape):
    """With an optimizer set, backward updates gamma and beta by their gradients."""
    layer, _, error, gamma, beta = train_phase_gradients(sub, shape, 0)
    layer.optimizer = sub.reference.Optimization.Optimizers.Sgd(0.5)
    layer.backward(error)
    gradient_weights = channel_vector(layer.gradient_weights, shape[1], "gradient_weights")
    gradient_bias = channel_vector(layer.gradient_bias, shape[1], "gradient_bias")
    assert_close(
        channel_vector(layer.weights, shape[1], "weights"),
        gamma - 0.5 * gradient_weights,
        what="weights (gamma) after Sgd(0.5)",
    )
    assert_close(
        channel_vector(layer.bias, shape[1], "bias"),
        beta - 0.5 * gradient_bias,
        what="bias (beta) after Sgd(0.5)",
    )


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 2, 3)], ids=["vector", "image"])
def test_gamma_and_beta_keep_separate_optimizer_state(sub, shape):
    """gamma and beta each get their own copy of the optimizer: with momentum, each follows its
    own velocity over several steps (one shared optimizer would mix the two velocities)."""
    layer, _, _, gamma, beta = train_phase_gradients(sub, shape, 0)
    layer.optimizer = sub.reference.Optimization.Optimizers.SgdWithMomentum(0.1, 0.9)
    velocity_gamma = velocity_beta = 0.0
    for step in range(1, 4):
        if step > 1:
            layer.forward(channel_data(shape, step))
        layer.backward(random_error(shape, 10 + step))
        gradient_gamma = channel_vector(layer.gradient_weights, shape[1], "gradient_weights")
        gradient_beta = channel_vector(layer.gradient_bias, shape[1], "gradient_bias")
        velocity_gamma = 0.9 * velocity_gamma - 0.1 * gradient_gamma
        velocity_beta = 0.9 * velocity_beta - 0.1 * gradient_beta
        gamma, beta = gamma + velocity_gamma, beta + velocity_beta
        for name, expected in (("weights", gamma), ("bias", beta)):
            assert_close(
                channel_vector(getattr(layer, name), shape[1], name),
                expected,
                rtol=1e-9,
                atol=1e-12,
                what=f"BatchNormalization.{name} after momentum step {step}",
            )


# -- golden arrays from the PyTorch oracle -------------------------------------------------


@pytest.mark.parametrize("kind", ["vector", "image"])
def test_golden_training_step(sub, kind):
    """PyTorch oracle: training-phase forward, backward and the gamma/beta gradients."""
    case = golden.load(f"batchnorm_{kind}_train")
    x, channels = case["input"], case["input"].shape[1]
    layer = new_layer(sub, channels)
    set_parameters(layer, case["gamma"], case["beta"])
    assert_close(layer.forward(x), case["output"], **golden.BATCH_NORM, what="forward")
    assert_close(
        layer.backward(case["error"]), case["grad_input"], **golden.BATCH_NORM, what="backward"
    )
    assert_close(
        channel_vector(layer.gradient_weights, channels, "gradient_weights"),
        case["grad_weights"],
        **golden.BATCH_NORM,
        what="gradient_weights",
    )
    assert_close(
        channel_vector(layer.gradient_bias, channels, "gradient_bias"),
        case["grad_bias"],
        **golden.BATCH_NORM,
        what="gradient_bias",
    )


@pytest.mark.parametrize("kind", ["vector", "image"])
def test_golden_test_phase_after_training(sub, kind):
    """PyTorch oracle: the test phase after four training batches uses the moving averages."""
    case = golden.load(f"batchnorm_{kind}_moving_average")
    channels = case["test_input"].shape[1]
    layer = new_layer(sub, channels)
    set_parameters(layer, case["gamma"], case["beta"])
    for batch in case["batches"]:
        layer.forward(batch)
    layer.testing_phase = True
    assert_close(
        layer.forward(case["test_input"]),
        case["test_output"],
        **golden.BATCH_NORM,
        what="test-phase forward",
    )
