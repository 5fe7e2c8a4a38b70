"""NeuralNetwork: the training loop, with phases and the regularization loss.

Requirement (exercise 3 extends the network of exercises 1 and 2):
`NeuralNetwork(optimizer, weights_initializer, bias_initializer)` keeps `layers`, `loss` (one
value per training iteration), `data_layer` and `loss_layer`. `append_layer(layer)` gives every
trainable layer its own deep copy of the optimizer and initializes it. `forward()` pulls one batch
from the data layer and returns the data loss plus the regularization loss: the optimizer's
regularizer's `norm` of the weights of every trainable layer, recurrent layers included.
`backward()` propagates the loss's error back through the layers. `train(iterations)` trains in the
training phase; `test(input_tensor)` runs in the test phase and returns the last layer's output.
The property `phase` sets `testing_phase` on every layer (which values it takes is yours: it is
tested through `train` and `test`).

Your network may work with your own layers in ways of its own (a layer's method for its
regularization loss, an optimizer setter method, attributes of your loss layer), and the layers it
is given may have bugs that their own sections charge. So every clause runs twice if need be: with
your layers, optimizer and loss, and with the harness's. It holds if it holds with either; when it
fails, the message says what went wrong with each.
"""

import functools
import inspect

import numpy as np
import pytest

from spec.support import as_array, as_bool, as_float, as_int, assert_close
from spec.support.data import digits, iris
from spec.support.isolated import HarnessError

pytestmark = pytest.mark.section("NeuralNetwork")

KITS = (  # what a clause runs with: name, and where its layers, optimizer and loss come from
    ("your layers, optimizer and loss", lambda sub: sub),
    ("the harness's layers, optimizer and loss", lambda sub: sub.reference),
)
REASON_LIMIT = 180  # characters of each kit's reason: both fit in one report line


def with_either_kit(clause):
    """Make a test of `clause(sub, kit, ...)`, where `kit` gives the Layers and Optimization the
    network is built with: the test passes if the clause holds with either kit."""

    @functools.wraps(clause)
    def test(sub, **arguments):
        reasons = []
        for name, kit in KITS:
            sub.seed(0)
            try:
                clause(sub, kit(sub), **arguments)
                return
            except HarnessError:
                raise
            except Exception as error:  # student code fails as it likes, in process
                reason = str(error).strip().split("\n")[0]
                if not isinstance(error, AssertionError):
                    reason = f"{type(error).__name__}: {reason}"
                if len(reason) > REASON_LIMIT:
                    reason = reason[: REASON_LIMIT - 1] + "…"
                reasons.append(f"with {name}: {reason}")
        raise AssertionError("; ".join(reasons))

    signature = inspect.signature(clause)
    test.__signature__ = signature.replace(
        parameters=[p for name, p in signature.parameters.items() if name != "kit"]
    )
    return test


def softmax(z):
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def cross_entropy(prediction, label):
    return -np.sum(label * np.log(prediction + np.finfo(float).eps))


def with_bias(x):
    return np.hstack([x, np.ones((len(x), 1))])


def network(sub, kit, optimizer=None, initializer=None):
    optimizer = optimizer if optimizer is not None else kit.Optimization.Optimizers.Sgd(0.1)
    initializer = initializer if initializer is not None else sub.probes.Constant(0.1)
    return sub.NeuralNetwork.NeuralNetwork(optimizer, initializer, initializer)


def iris_network(sub, kit, optimizer=None, initializer=None, inputs=4, categories=3, batch=10):
    """A network fed by the first iris flowers, `batch` at a time, with cross-entropy loss."""
    net = network(sub, kit, optimizer, initializer)
    train_x, train_y, _, _ = iris()
    net.data_layer = sub.probes.ArrayData(train_x[:, :inputs], train_y[:, :categories], batch)
    net.loss_layer = kit.Optimization.Loss.CrossEntropyLoss()
    return net


def classifier(sub, kit, optimizer=None, initializer=None, inputs=4, categories=3, batch=10):
    """FullyConnected -> SoftMax with cross-entropy, fed by the first `batch` iris flowers."""
    net = iris_network(sub, kit, optimizer, initializer, inputs, categories, batch)
    net.append_layer(kit.Layers.FullyConnected.FullyConnected(inputs, categories))
    net.append_layer(kit.Layers.SoftMax.SoftMax())
    return net


def with_l2(kit, alpha):
    optimizer = kit.Optimization.Optimizers.Sgd(0.1)
    optimizer.add_regularizer(kit.Optimization.Constraints.L2_Regularizer(alpha))
    return optimizer


def layers_of(net):
    return [net.layers[i] for i in range(as_int(len(net.layers), "len(layers)"))]


def test_starts_with_no_layers_and_no_loss(sub):
    """A new network has an empty list of layers and an empty loss history."""
    net = network(sub, sub.reference)
    assert as_int(len(net.layers), "len(layers)") == 0, "a new network should have no layers"
    assert as_int(len(net.loss), "len(loss)") == 0, "a new network should have no losses yet"


@with_either_kit
def test_append_layer_initializes_trainable_layers(sub, kit):
    """append_layer calls initialize of a trainable layer with the network's initializers:
    weights from the weights initializer, the bias row from the bias initializer."""
    net = sub.NeuralNetwork.NeuralNetwork(
        kit.Optimization.Optimizers.Sgd(1.0), sub.probes.Constant(0.3), sub.probes.Constant(0.7)
    )
    net.append_layer(kit.Layers.FullyConnected.FullyConnected(4, 2))
    expected = np.vstack([np.full((4, 2), 0.3), np.full((1, 2), 0.7)])
    assert_close(net.layers[0].weights, expected, what="FullyConnected weights after append_layer")


def two_layer_momentum_steps(train_x, train_y, first, second, steps, batch):
    """The weights of FC -> FC -> SoftMax after `steps` updates, each layer with its own
    SgdWithMomentum(0.1, 0.9) velocity."""
    weights, velocities = [first, second], [0.0, 0.0]
    for step in range(steps):
        x, y = (
            train_x[step * batch : (step + 1) * batch],
            train_y[step * batch : (step + 1) * batch],
        )
        hidden = with_bias(x) @ weights[0]
        prediction = softmax(with_bias(hidden) @ weights[1])
        error = -y / (prediction + np.finfo(float).eps)  # cross-entropy, then softmax backward
        error = prediction * (error - np.sum(error * prediction, axis=1, keepdims=True))
        gradients = [None, with_bias(hidden).T @ error]
        gradients[0] = with_bias(x).T @ (error @ weights[1][:-1].T)
        for k in (0, 1):
            velocities[k] = 0.9 * velocities[k] - 0.1 * gradients[k]
            weights[k] = weights[k] + velocities[k]
    return weights


@with_either_kit
def test_append_layer_gives_each_trainable_layer_its_own_optimizer(sub, kit):
    """Every trainable layer gets its own copy of the optimizer: with momentum, each layer
    follows its own velocity (one shared optimizer would mix the layers' updates)."""
    momentum = kit.Optimization.Optimizers.SgdWithMomentum(0.1, 0.9)
    net = iris_network(sub, kit, momentum, sub.probes.RandomUniform(4, -0.5, 0.5))
    net.append_layer(kit.Layers.FullyConnected.FullyConnected(4, 3))
    net.append_layer(kit.Layers.FullyConnected.FullyConnected(3, 3))
    net.append_layer(kit.Layers.SoftMax.SoftMax())
    first, second = (as_array(net.layers[k].weights, f"layers[{k}].weights") for k in (0, 1))
    net.train(3)
    train_x, train_y, _, _ = iris()
    expected = two_layer_momentum_steps(train_x, train_y[:, :3], first, second, 3, batch=10)
    for k in (0, 1):
        assert_close(
            net.layers[k].weights,
            expected[k],
            rtol=1e-8,
            atol=1e-10,
            what=f"layers[{k}].weights after 3 momentum steps",
        )


@with_either_kit
def test_append_layer_keeps_the_order(sub, kit):
    """Layers run in the order they were appended."""
    names = [sub.type_name(layer) for layer in layers_of(classifier(sub, kit))]
    assert names == ["FullyConnected", "SoftMax"], (
        f"layers should be [FullyConnected, SoftMax] as appended, got {names}"
    )


@with_either_kit
def test_forward_pulls_one_batch_and_returns_the_data_loss(sub, kit):
    """forward takes the next batch from the data layer and returns the loss layer's value."""
    net = classifier(sub, kit, batch=10)
    loss = as_float(net.forward(), "forward()")
    served = as_int(net.data_layer.batches_served, "batches served")
    assert served == 1, f"forward should pull exactly one batch, it pulled {served}"
    train_x, train_y, _, _ = iris()
    weights = as_array(net.layers[0].weights, "FullyConnected weights")
    expected = cross_entropy(softmax(with_bias(train_x[:10]) @ weights), train_y[:10])
    assert_close(loss, expected, rtol=1e-9, what="forward() without a regularizer")


@with_either_kit
def test_forward_adds_the_regularization_loss(sub, kit):
    """With a regularizer, forward returns data loss + regularizer.norm(weights) of the
    trainable layer."""
    plain, regularized = classifier(sub, kit), classifier(sub, kit, optimizer=with_l2(kit, 0.25))
    weights = as_array(regularized.layers[0].weights, "FullyConnected weights")
    difference = as_float(regularized.forward()) - as_float(plain.forward())
    what = "forward() with L2_Regularizer(0.25) minus forward() without"
    assert_close(difference, 0.25 * np.sum(weights**2), rtol=1e-9, what=what)


@with_either_kit
def test_regularization_loss_sums_over_every_trainable_layer(sub, kit):
    """The regularization loss is the sum of regularizer.norm(weights) over ALL trainable
    layers, not the norm of one of them."""
    nets = []
    for optimizer in (kit.Optimization.Optimizers.Sgd(0.1), with_l2(kit, 0.25)):
        net = iris_network(sub, kit, optimizer, sub.probes.RandomUniform(5, -1.0, 1.0))
        net.append_layer(kit.Layers.FullyConnected.FullyConnected(4, 5))
        net.append_layer(kit.Layers.ReLU.ReLU())
        net.append_layer(kit.Layers.FullyConnected.FullyConnected(5, 3))
        net.append_layer(kit.Layers.SoftMax.SoftMax())
        nets.append(net)
    plain, regularized = nets
    norms = [np.sum(as_array(regularized.layers[k].weights, "weights") ** 2) for k in (0, 2)]
    difference = as_float(regularized.forward()) - as_float(plain.forward())
    what = "forward() with L2_Regularizer(0.25) minus forward() without, two FullyConnected"
    assert_close(difference, 0.25 * sum(norms), rtol=1e-9, what=what)


@with_either_kit
def test_regularization_loss_includes_recurrent_layers(sub, kit):
    """The regularization loss counts recurrent layers too: an RNN's weights are penalized."""
    nets = []
    for optimizer in (kit.Optimization.Optimizers.Sgd(0.1), with_l2(kit, 0.5)):
        net = network(sub, kit, optimizer)
        rng = np.random.default_rng(3)
        net.data_layer = sub.probes.ArrayData(
            rng.normal(size=(6, 4)), np.eye(3)[[0, 1, 2, 0, 1, 2]], 6
        )
        net.loss_layer = kit.Optimization.Loss.CrossEntropyLoss()
        net.append_layer(kit.Layers.RNN.RNN(4, 5, 3))
        nets.append(net)
    plain, regularized = nets
    difference = as_float(regularized.forward()) - as_float(plain.forward())
    weights = as_array(regularized.layers[0].weights, "RNN weights")
    what = "forward() with L2_Regularizer(0.5) minus forward() without, for an RNN"
    assert_close(difference, 0.5 * np.sum(weights**2), rtol=1e-9, what=what)


@with_either_kit
def test_backward_propagates_the_loss_error_through_the_layers(sub, kit):
    """backward sends the loss layer's error back through every layer, which then update."""
    net = classifier(sub, kit, batch=10)
    before = as_array(net.layers[0].weights, "FullyConnected weights")
    net.forward()
    net.backward()
    train_x, train_y, _, _ = iris()
    inputs = with_bias(train_x[:10])
    gradient = inputs.T @ (softmax(inputs @ before) - train_y[:10])  # softmax + cross-entropy
    assert_close(
        net.layers[0].weights,
        before - 0.1 * gradient,
        rtol=1e-8,
        atol=1e-10,
        what="FullyConnected weights after one Sgd(0.1) step",
    )


@with_either_kit
def test_train_records_one_loss_per_iteration(sub, kit):
    """train(iterations) runs forward and backward that many times and appends each loss."""
    net = classifier(sub, kit)
    net.train(7)
    losses = as_array(net.loss, "loss")
    assert losses.shape == (7,), f"train(7) should record 7 losses, loss has shape {losses.shape}"
    served = as_int(net.data_layer.batches_served, "batches served")
    assert served == 7, f"train(7) should pull 7 batches, it pulled {served}"
    assert losses[-1] < losses[0], (
        f"training with Sgd(0.1) should reduce the loss, it went from {losses[0]:.4g} to "
        f"{losses[-1]:.4g}"
    )


def watched_classifier(sub, kit):
    """FullyConnected -> SoftMax with a phase recorder before, between and after them."""
    net = iris_network(sub, kit)
    for layer in (
        sub.probes.PhaseRecorder(),
        kit.Layers.FullyConnected.FullyConnected(4, 3),
        sub.probes.PhaseRecorder(),
        kit.Layers.SoftMax.SoftMax(),
        sub.probes.PhaseRecorder(),
    ):
        net.append_layer(layer)
    return net


def assert_phases(net, expected, when):
    """Every layer's testing_phase is `expected` (True or False)."""
    for k, layer in enumerate(layers_of(net)):
        phase = as_bool(layer.testing_phase, f"layers[{k}].testing_phase {when}")
        assert phase is expected, f"layers[{k}].testing_phase should be {expected} {when}"


@with_either_kit
def test_test_runs_every_layer_in_the_test_phase(sub, kit):
    """test(input_tensor) sets every layer's testing_phase to True before running them."""
    net = watched_classifier(sub, kit)
    net.test(iris()[0][:5])
    for k in (0, 2, 4):
        seen = list(net.layers[k].phases_seen)
        assert seen and all(seen), f"layer {k} ran with testing_phase {seen} during test()"
    assert_phases(net, True, "after test()")


@with_either_kit
def test_train_runs_every_layer_in_the_training_phase(sub, kit):
    """train(iterations) sets every layer's testing_phase to False, even after a test."""
    net = watched_classifier(sub, kit)
    net.test(iris()[0][:5])
    during_test = len(net.layers[0].phases_seen)
    net.train(2)
    for k in (0, 2, 4):
        seen = list(net.layers[k].phases_seen)[during_test:]
        assert seen and not any(seen), (
            f"layer {k} ran with testing_phase {seen} during train(2) after test()"
        )
    assert_phases(net, False, "after train()")


@with_either_kit
def test_test_returns_the_last_layers_output(sub, kit):
    """test(input_tensor) returns the output of the last layer (the predictions, not a loss)."""
    net = classifier(sub, kit)
    train_x = iris()[0][:5]
    output = as_array(net.test(train_x), "test()")
    expected = softmax(with_bias(train_x) @ as_array(net.layers[0].weights, "weights"))
    assert_close(output, expected, rtol=1e-9, what="test() output")


def accuracy(net, inputs, labels):
    return np.mean(np.argmax(as_array(net.test(inputs)), axis=1) == np.argmax(labels, axis=1))


def trained(sub, kit, data, hidden, middle=(), regularizer=None, iterations=400, batch=50):
    """A two-layer classifier trained with Adam, with `middle` layers after the first layer."""
    optimizer = kit.Optimization.Optimizers.Adam(5e-3, 0.9, 0.999)
    if regularizer is not None:
        optimizer.add_regularizer(regularizer)
    train_x, train_y, test_x, test_y = data
    net = sub.NeuralNetwork.NeuralNetwork(
        optimizer, kit.Layers.Initializers.He(), kit.Layers.Initializers.Constant(0.1)
    )
    net.data_layer = sub.probes.ArrayData(train_x, train_y, batch)
    net.loss_layer = kit.Optimization.Loss.CrossEntropyLoss()
    net.append_layer(kit.Layers.FullyConnected.FullyConnected(train_x.shape[1], hidden))
    for layer in middle:
        net.append_layer(layer)
    net.append_layer(kit.Layers.ReLU.ReLU())
    net.append_layer(kit.Layers.FullyConnected.FullyConnected(hidden, train_y.shape[1]))
    net.append_layer(kit.Layers.SoftMax.SoftMax())
    net.train(iterations)
    return accuracy(net, test_x, test_y)


def assert_classifies(score, what):
    assert score >= 0.9, f"{what}: {score:.0%} of the test set classified right, expected 90 %"


@pytest.mark.parametrize("regularizer", ["L1_Regularizer", "L2_Regularizer"])
@with_either_kit
def test_trains_iris_with_a_regularizer(sub, kit, regularizer):
    """Trained on iris with an L1 or L2 regularizer, the network classifies unseen flowers."""
    penalty = getattr(kit.Optimization.Constraints, regularizer)(1e-4)
    assert_classifies(
        trained(sub, kit, iris(), 50, regularizer=penalty), f"iris with {regularizer}"
    )


@with_either_kit
def test_trains_iris_with_dropout(sub, kit):
    """With dropout in training and none in testing, the network classifies unseen flowers."""
    score = trained(sub, kit, iris(), 50, [kit.Layers.Dropout.Dropout(0.5)])
    assert_classifies(score, "iris with Dropout(0.5)")


@with_either_kit
def test_trains_digits_with_batch_normalization(sub, kit):
    """With batch normalization (moving averages in testing), it classifies unseen digits."""
    middle = [kit.Layers.BatchNormalization.BatchNormalization(64)]
    score = trained(sub, kit, digits(), 64, middle, iterations=300)
    assert_classifies(score, "digits with BatchNormalization")
