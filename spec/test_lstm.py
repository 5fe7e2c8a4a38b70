"""LSTM: the long short-term memory layer (optional, bonus).

Requirement (exercise 3, optional): implement `Layers.LSTM.LSTM(input_size, hidden_size,
output_size)` with the interface of the RNN: a trainable layer that reads ONE sequence per
call, axis 0 being time, mapping (T, input_size) to (T, output_size) with

    f, i, o = sigmoid(W [x_t, h_{t-1}, 1])     c~ = tanh(W [x_t, h_{t-1}, 1])   (4 blocks of W)
    c_t = f * c_{t-1} + i * c~      h_t = o * tanh(c_t)      y_t = sigmoid(W_y [h_t, 1])

Hidden and cell state start at zeros. With `memorize` (default False) True, a call continues
from the last hidden AND cell state of the previous call (truncated backpropagation through
time); with False it starts from zeros. `backward(error_tensor)` backpropagates through time,
returns the error for the input (T, input_size), stores `gradient_weights` and, if an
`optimizer` is set, updates both fully connected parts. `weights` (settable) is the gate
layer's W with shape (input_size + hidden_size + 1, 4 * hidden_size), the last row being the
bias, or its transpose; the order of x_t and h_{t-1} and of the four gate blocks inside it is
your choice. `initialize(weights_initializer, bias_initializer)` initializes both fully
connected parts. A submission without Layers/LSTM.py has this section reported as absent.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.support import (
    absent_unless,
    as_array,
    as_bool,
    assert_close,
    assert_shape,
    random_error,
    recurrent,
)
from spec.support.recurrent import EXACT, GRADIENT  # the tolerances the shared checks use too

pytestmark = pytest.mark.section("LSTM")

KIND = "LSTM"
SIZES = (3, 2, 2)  # input, hidden, output: weights (6, 8), never mistaken for its transpose

sizes = recurrent.layer_sizes(KIND)
steps = st.integers(1, 5)
seeds = st.integers(0, 2**16)


def sequence(steps, input_size, seed):
    return np.random.default_rng(seed).normal(size=(steps, input_size))


def hidden_weights(sizes, seed):
    """Random canonical W, rows [x, h, 1], column blocks [f, i, c~, o]."""
    return np.random.default_rng(seed).uniform(-1, 1, recurrent.weights_shape(KIND, sizes))


@pytest.fixture(autouse=True)
def lstm_is_present(sub):
    absent_unless(sub, "Layers.LSTM")


def random_layer(sub, sizes=SIZES, seed=0):
    return recurrent.random_layer(sub, KIND, sizes, seed)


# -- the interface ---------------------------------------------------------------------------


def test_is_trainable(sub):
    """LSTM is a trainable layer."""
    layer = sub.Layers.LSTM.LSTM(*SIZES)
    assert as_bool(layer.trainable, "LSTM(...).trainable") is True, (
        "LSTM(...).trainable should be True"
    )


def test_memorize_defaults_to_false(sub):
    """`memorize` is False on a new layer."""
    layer = sub.Layers.LSTM.LSTM(*SIZES)
    assert as_bool(layer.memorize, "LSTM(...).memorize") is False, (
        "LSTM(...).memorize should start False"
    )


def test_weights_have_the_hidden_layers_shape(sub):
    """`weights` is the gate layer's W: (input_size + hidden_size + 1, 4 * hidden_size) or its
    transpose."""
    layer = random_layer(sub)
    recurrent.oriented(KIND, SIZES, layer.weights)


@settings(phases=recurrent.WITHOUT_SHRINKING)
@given(sizes=sizes, steps=steps, seed=seeds)
def test_output_has_one_row_per_time_step(sub, sizes, steps, seed):
    """forward maps a sequence (T, input_size) to (T, output_size)."""
    layer = random_layer(sub, sizes, seed)
    output = layer.forward(sequence(steps, sizes[0], seed))
    assert_shape(output, (steps, sizes[2]), "LSTM forward")


@settings(phases=recurrent.WITHOUT_SHRINKING)
@given(split=st.integers(1, 4), seed=seeds)
def test_axis_0_is_time(sub, split, seed):
    """y_t depends on x_0..x_t only: changing the input from step t on leaves earlier outputs
    unchanged and changes y_t."""
    inputs = sequence(5, SIZES[0], seed)
    changed = inputs.copy()
    changed[split:] += 1.0
    before = as_array(random_layer(sub, seed=seed).forward(inputs), "LSTM forward")
    after = as_array(random_layer(sub, seed=seed).forward(changed), "LSTM forward")
    assert_close(after[:split], before[:split], **EXACT, what="outputs before the change")
    assert np.abs(after[split] - before[split]).max() > 1e-9, "y_t ignores x_t"


# -- forward ---------------------------------------------------------------------------------


def test_hidden_and_cell_state_start_at_zeros(sub):
    """A new layer starts from h = 0 and c = 0, also when memorize is set before its first
    call."""
    layout = recurrent.layout_of(sub, KIND)
    weights, inputs = hidden_weights(SIZES, 1), sequence(4, SIZES[0], 1)
    layer = recurrent.known_layer(sub, KIND, SIZES, weights, layout)
    layer.memorize = True
    expected = recurrent.reference(KIND, SIZES, weights, inputs).outputs
    assert_close(layer.forward(inputs), expected, **EXACT, what="first forward with memorize")


@settings(phases=recurrent.WITHOUT_SHRINKING)
@given(sizes=sizes, steps=steps, seed=seeds)
def test_forward_matches_the_lstm_cell(sub, sizes, steps, seed):
    """forward computes the gates from W [x_t, h_{t-1}, 1], c_t = f * c_{t-1} + i * c~,
    h_t = o * tanh(c_t) and y_t = sigmoid(W_y [h_t, 1])."""
    layout = recurrent.layout_of(sub, KIND)
    weights, inputs = hidden_weights(sizes, seed), sequence(steps, sizes[0], seed + 1)
    layer = recurrent.known_layer(sub, KIND, sizes, weights, layout)
    expected = recurrent.reference(KIND, sizes, weights, inputs).outputs
    what = f"LSTM forward (your weights read as {layout})"
    assert_close(layer.forward(inputs), expected, **EXACT, what=what)


# -- memorize --------------------------------------------------------------------------------


def test_without_memorize_every_call_starts_from_zeros(sub):
    """With memorize False hidden and cell state are reset: the same input gives the same
    output, whatever came before."""
    layer = random_layer(sub)
    inputs = sequence(4, SIZES[0], 1)
    first = as_array(layer.forward(inputs), "LSTM forward")
    layer.forward(sequence(3, SIZES[0], 2))
    assert_close(layer.forward(inputs), first, **EXACT, what="the same input, called again")


@settings(phases=recurrent.WITHOUT_SHRINKING)
@given(steps=steps, seed=seeds)
def test_memorize_leaves_the_first_call_alone(sub, steps, seed):
    """With memorize True the first call of a new layer is that of a layer without it."""
    inputs = sequence(steps, SIZES[0], seed)
    plain = random_layer(sub, seed=seed).forward(inputs)
    layer = random_layer(sub, seed=seed)
    layer.memorize = True
    assert_close(layer.forward(inputs), plain, **EXACT, what="first call with memorize")


@settings(phases=recurrent.WITHOUT_SHRINKING)
@given(first_steps=steps, second_steps=steps, seed=seeds)
def test_memorize_continues_from_the_last_hidden_and_cell_state(
    sub, first_steps, second_steps, seed
):
    """With memorize True a call starts from the hidden and cell state where the previous one
    stopped: two calls give the outputs of one call on the joined sequence, and the second
    differs from a fresh start."""
    first = sequence(first_steps, SIZES[0], seed)
    second = sequence(second_steps, SIZES[0], seed + 1)
    joined = as_array(random_layer(sub, seed=seed).forward(np.vstack([first, second])))
    fresh = as_array(random_layer(sub, seed=seed).forward(second))
    layer = random_layer(sub, seed=seed)
    layer.memorize = True
    layer.forward(first)
    continued = assert_close(
        layer.forward(second), joined[first_steps:], **EXACT, what="second call with memorize"
    )
    assert np.abs(continued - fresh).max() > 1e-9, "the second call ignores the first"


# -- backward --------------------------------------------------------------------------------


@settings(phases=recurrent.WITHOUT_SHRINKING)
@given(sizes=sizes, steps=steps, seed=seeds)
def test_backward_returns_the_input_error(sub, sizes, steps, seed):
    """backward(E) returns d sum(y * E) / dx, shape (T, input_size), through time."""
    inputs, error = sequence(steps, sizes[0], seed), random_error((steps, sizes[2]), seed)
    layer = random_layer(sub, sizes, seed)
    layer.forward(inputs)
    analytic = assert_shape(layer.backward(error), inputs.shape, "LSTM backward")
    numeric = recurrent.input_gradient(layer, inputs, error)
    assert_close(analytic, numeric, **GRADIENT, what="LSTM backward")


@settings(max_examples=10, phases=recurrent.WITHOUT_SHRINKING)
@given(sizes=sizes, steps=steps, seed=seeds)
def test_gradient_weights_match_finite_differences(sub, sizes, steps, seed):
    """After backward, gradient_weights is d sum(y * E) / d weights, summed over all steps
    (in the layout of `weights`)."""
    inputs, error = sequence(steps, sizes[0], seed), random_error((steps, sizes[2]), seed)
    layer = random_layer(sub, sizes, seed)
    weights = as_array(layer.weights, "LSTM weights")
    layer.forward(inputs)
    layer.backward(error)
    analytic = recurrent.in_weights_shape(
        layer.gradient_weights, weights.shape, "LSTM gradient_weights"
    )
    numeric = recurrent.weights_gradient(layer, inputs, error)
    assert_close(analytic, numeric, **GRADIENT, what="LSTM gradient_weights")


def test_memorize_truncates_backpropagation_at_the_call(sub):
    """With memorize True, backward differentiates the last call only: the hidden and cell
    state it started from count as constants (truncated BPTT)."""
    sizes = (2, 2, 2)  # small: every finite difference replays the first call on a new layer
    first, second = sequence(3, sizes[0], 1), sequence(3, sizes[0], 2)
    error = random_error((3, sizes[2]), 3)
    recurrent.check_truncated_backward(sub, KIND, sizes, first, second, error)


# -- the optimizer ---------------------------------------------------------------------------


def test_optimizer_updates_the_hidden_weights(sub):
    """With an optimizer set, backward updates `weights` with gradient_weights
    (Sgd: weights - learning_rate * gradient_weights)."""
    layer = random_layer(sub)
    inputs, error = sequence(4, SIZES[0], 1), random_error((4, SIZES[2]), 2)
    recurrent.check_sgd_updates_weights(sub, KIND, layer, inputs, error, learning_rate=0.5)


def test_optimizer_updates_the_output_layer(sub):
    """With an optimizer set, backward also updates W_y by its gradient: the next forward uses
    W_y - learning_rate * d sum(y * E) / d W_y."""
    weights, inputs = hidden_weights(SIZES, 1), sequence(4, SIZES[0], 1)
    error = random_error((4, SIZES[2]), 2)
    recurrent.check_sgd_updates_output_layer(
        sub, KIND, SIZES, weights, inputs, error, learning_rate=0.5
    )


def test_each_fully_connected_part_keeps_its_own_optimizer_state(sub):
    """The gate weights W and the output weights W_y each get their own copy of the optimizer:
    with momentum, each follows its own velocity over several steps."""
    recurrent.check_momentum_per_part(sub, KIND, SIZES)


def test_regularized_optimizer_shrinks_the_weights_once(sub):
    """With a regularized optimizer, backward leaves the shrinking of W and W_y to
    calculate_update: gradient_weights stays the loss's gradient (LSTMs that add the
    regularizer's gradient to it shrink the weights twice)."""
    recurrent.check_regularizer_applied_once(sub, KIND, SIZES)


# -- initialize ------------------------------------------------------------------------------


def test_initialize_fills_the_hidden_weights(sub):
    """initialize fills W's weights from weights_initializer and its bias (last row) from
    bias_initializer."""
    recurrent.check_initialize_fills_hidden_weights(sub, KIND, SIZES)


def test_initialize_fills_the_output_layer(sub):
    """initialize also fills the output layer W_y: its weights from weights_initializer, its
    bias from bias_initializer (seen through forward, with W filled the same way)."""
    recurrent.check_initialize_fills_output_layer(sub, KIND, SIZES, sequence(4, SIZES[0], 1))


# -- golden files (PyTorch oracle) -----------------------------------------------------------


def test_matches_the_oracle_on_one_sequence(sub):
    """forward, backward and gradient_weights agree with PyTorch autograd (reference_data/lstm)."""
    recurrent.check_golden_case(sub, KIND, "lstm")


@pytest.mark.parametrize("name", ["lstm_reset", "lstm_memorize"])
def test_matches_the_oracle_on_two_calls(sub, name):
    """Two calls with memorize False (state reset) and True (state carried, gradient truncated)
    agree with PyTorch autograd (reference_data/lstm_reset, lstm_memorize)."""
    recurrent.check_golden_case(sub, KIND, name)
