"""FullyConnected: a dense layer whose bias is the last row of its weights.

Requirement (exercise 1): implement `Layers.FullyConnected.FullyConnected(input_size,
output_size)`, a trainable layer. Its `weights` have shape `(input_size + 1, output_size)`: the
last row is the bias, and `forward(input_tensor)` appends a column of ones to its input of shape
`(batch, input_size)` before multiplying, `y = [x, 1] @ weights`. At construction the weights are
drawn uniformly from [0, 1). `backward(error_tensor)` stores the gradient with respect to the
weights in `gradient_weights` and returns the gradient with respect to the input; if an optimizer
has been set through the `optimizer` property, it also updates the weights with it
(`weights = optimizer.calculate_update(weights, gradient_weights)`); an optimizer with a
regularizer shrinks the weights itself, so `gradient_weights` stays the loss's gradient.
`initialize(weights_initializer, bias_initializer)` fills the weight rows with
`weights_initializer.initialize((input_size, output_size), input_size, output_size)` and the
bias row with what `bias_initializer` returns for the shape `(1, output_size)` (or
`(output_size,)`).

Every layer derives from `Layers.Base.BaseLayer`, whose constructor sets `trainable = False`
and `testing_phase = False` (the training phase); this section checks those defaults for all.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.support import (
    as_array,
    as_bool,
    assert_close,
    assert_shape,
    numerical_gradient,
    random_error,
)
from spec.support.protocol import is_trainable

pytestmark = pytest.mark.section("FullyConnected")

EXACT = {"rtol": 1e-12, "atol": 1e-12}  # the same sums in another order
NUMERIC = {"rtol": 1e-6, "atol": 1e-8}  # against central finite differences
sizes = st.integers(1, 5)


def initialized(sub, input_size, output_size):
    """initialize a layer with recording initializers (weights 0.3, bias 0.7); returns all three."""
    weights_init = sub.probes.RecordingInitializer(0.3)
    bias_init = sub.probes.RecordingInitializer(0.7)
    layer = sub.Layers.FullyConnected.FullyConnected(input_size, output_size)
    layer.initialize(weights_init, bias_init)
    return layer, weights_init, bias_init


def layer_with(sub, weights):
    """A FullyConnected layer of the weights' size holding exactly these weights."""
    layer = sub.Layers.FullyConnected.FullyConnected(weights.shape[0] - 1, weights.shape[1])
    layer.weights = weights
    return layer


def test_base_layer_is_not_trainable_and_starts_in_the_training_phase(sub):
    """BaseLayer() has trainable False and testing_phase False: the defaults every layer
    inherits."""
    layer = sub.Layers.Base.BaseLayer()
    assert as_bool(layer.trainable, "BaseLayer().trainable") is False, (
        "BaseLayer().trainable should be False"
    )
    assert as_bool(layer.testing_phase, "BaseLayer().testing_phase") is False, (
        "BaseLayer().testing_phase should be False: layers start in the training phase"
    )


def test_is_trainable(sub):
    """FullyConnected has parameters to learn: trainable is True."""
    layer = sub.Layers.FullyConnected.FullyConnected(4, 3)
    assert is_trainable(layer, "FullyConnected(4, 3)"), (
        "FullyConnected(4, 3).trainable should be True"
    )


def test_weights_hold_the_bias_as_an_extra_row(sub):
    """weights has shape (input_size + 1, output_size): one extra row for the bias."""
    layer = sub.Layers.FullyConnected.FullyConnected(4, 3)
    assert_shape(layer.weights, (5, 3), "FullyConnected(4, 3).weights")


def test_weights_start_uniform_in_the_unit_interval(sub):
    """At construction the weights are drawn uniformly from [0, 1)."""
    weights = as_array(sub.Layers.FullyConnected.FullyConnected(30, 20).weights, "weights")
    assert weights.min() >= 0 and weights.max() < 1, "weights should lie in [0, 1)"
    # 620 draws of U[0, 1): mean 0.5 and standard deviation 0.29, give or take a few percent
    assert abs(weights.mean() - 0.5) < 0.05, f"mean of the weights is {weights.mean():.3f}"
    assert abs(weights.std() - np.sqrt(1 / 12)) < 0.03, f"std of the weights is {weights.std():.3f}"


@given(batch=sizes, inputs=sizes, outputs=sizes, seed=st.integers(0, 2**16))
def test_forward_appends_ones_so_the_last_row_is_the_bias(sub, batch, inputs, outputs, seed):
    """forward returns [x, 1] @ weights = x @ weights[:-1] + weights[-1]."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(inputs + 1, outputs))
    x = rng.normal(size=(batch, inputs))
    output = layer_with(sub, weights).forward(x)
    assert_close(output, x @ weights[:-1] + weights[-1], **EXACT, what="FullyConnected forward")


@given(batch=sizes, inputs=sizes, outputs=sizes, seed=st.integers(0, 2**16))
def test_backward_returns_the_input_gradient(sub, batch, inputs, outputs, seed):
    """backward returns the gradient of the loss with respect to the input (finite differences)."""
    rng = np.random.default_rng(seed)
    layer = layer_with(sub, rng.normal(size=(inputs + 1, outputs)))
    x = rng.normal(size=(batch, inputs))
    error = random_error((batch, outputs), seed)
    layer.forward(x)
    analytic = layer.backward(error)
    numeric = numerical_gradient(lambda z: np.sum(as_array(layer.forward(z)) * error), x)
    assert_close(analytic, numeric, **NUMERIC, what="FullyConnected backward")


@given(batch=sizes, inputs=sizes, outputs=sizes, seed=st.integers(0, 2**16))
def test_backward_stores_the_weights_gradient(sub, batch, inputs, outputs, seed):
    """gradient_weights is the gradient of the loss with respect to the weights, bias row
    included (finite differences)."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(inputs + 1, outputs))
    layer = layer_with(sub, weights)
    x = rng.normal(size=(batch, inputs))
    error = random_error((batch, outputs), seed)
    layer.forward(x)
    layer.backward(error)
    analytic = layer.gradient_weights

    def loss(w):
        layer.weights = w
        return np.sum(as_array(layer.forward(x)) * error)

    numeric = numerical_gradient(loss, weights)
    assert_close(analytic, numeric, **NUMERIC, what="FullyConnected gradient_weights")


def test_backward_without_optimizer_keeps_the_weights(sub):
    """Without an optimizer, backward computes gradients but leaves the weights alone."""
    weights = np.random.default_rng(1).normal(size=(4, 2))
    layer = layer_with(sub, weights)
    layer.forward(np.ones((3, 3)))
    layer.backward(np.ones((3, 2)))
    assert_close(layer.weights, weights, rtol=0, atol=0, what="weights after backward")


def test_optimizer_property_returns_the_optimizer_set(sub):
    """The optimizer property has a setter and a getter."""
    layer = sub.Layers.FullyConnected.FullyConnected(3, 2)
    layer.optimizer = sub.reference.Optimization.Optimizers.Sgd(0.5)
    assert sub.type_name(layer.optimizer) == "Sgd", "the getter should give back the optimizer set"


def test_backward_updates_the_weights_with_the_optimizer(sub):
    """With an optimizer set, every backward replaces the weights by
    optimizer.calculate_update(weights, gradient_weights)."""
    rng = np.random.default_rng(2)
    weights = rng.normal(size=(4, 2))
    layer = layer_with(sub, weights)
    layer.optimizer = sub.reference.Optimization.Optimizers.Sgd(0.5)
    for step in range(2):
        x, error = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
        layer.forward(x)
        layer.backward(error)
        weights = weights - 0.5 * np.hstack([x, np.ones((3, 1))]).T @ error
        what = f"weights after backward {step + 1} with Sgd(0.5)"
        assert_close(layer.weights, weights, **EXACT, what=what)


def test_initialize_asks_the_weights_initializer_for_the_weight_rows(sub):
    """initialize calls weights_initializer.initialize((input_size, output_size), input_size,
    output_size)."""
    _, weights_init, _ = initialized(sub, 4, 3)
    calls = weights_init.calls
    assert ((4, 3), 4.0, 3.0) in calls, (
        f"weights initializer was called with {calls}, expected ((4, 3), 4, 3)"
    )


def test_initialize_asks_the_bias_initializer_for_one_row(sub):
    """initialize calls bias_initializer.initialize for the shape (1, output_size) (or
    (output_size,): the bias row is what counts)."""
    _, _, bias_init = initialized(sub, 4, 3)
    shapes = [shape for shape, _, _ in bias_init.calls]
    assert (1, 3) in shapes or (3,) in shapes, (
        f"bias initializer was asked for shapes {shapes}, expected (1, 3)"
    )


def test_initialize_puts_the_bias_in_the_last_row(sub):
    """After initialize the weight rows come from the weights initializer, the last row from the
    bias initializer."""
    layer, _, _ = initialized(sub, 4, 3)
    expected = np.vstack([np.full((4, 3), 0.3), np.full((1, 3), 0.7)])
    assert_close(layer.weights, expected, rtol=1e-12, what="weights after initialize")


def test_regularized_optimizer_shrinks_the_weights_once(sub):
    """With an optimizer that has a regularizer, backward stores the loss's gradient in
    gradient_weights and lets calculate_update shrink the weights: adding the regularizer's
    gradient to gradient_weights as well would shrink them twice."""
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(4, 2))
    x, error = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    optimizer = sub.reference.Optimization.Optimizers.Sgd(0.5)
    optimizer.add_regularizer(sub.reference.Optimization.Constraints.L2_Regularizer(0.1))
    layer = layer_with(sub, weights)
    layer.optimizer = optimizer
    layer.forward(x)
    layer.backward(error)
    gradient = np.hstack([x, np.ones((3, 1))]).T @ error
    what = "FullyConnected.gradient_weights with an L2-regularized optimizer"
    assert_close(layer.gradient_weights, gradient, **EXACT, what=what)
    expected = weights - 0.5 * 0.1 * weights - 0.5 * gradient
    what = "FullyConnected.weights after backward with Sgd(0.5) and L2_Regularizer(0.1)"
    assert_close(layer.weights, expected, **EXACT, what=what)
