"""NeuralNetwork: the training loop, with phases and the regularization loss.

Requirement (exercise 3 extends the network of exercises 1 and 2):
`NeuralNetwork(optimizer, weights_initializer, bias_initializer)` keeps `layers`, `loss` (one
value per training iteration), `data_layer` and `loss_layer`. `append_layer(layer)` gives every
trainable layer its own deep copy of the optimizer and initializes it. `forward()` pulls one batch
from the data layer and returns the data loss plus the regularization loss: the optimizer's
regularizer's `norm` of the weights of every trainable layer, recurrent layers included.
`backward()` propagates the loss's error back through the layers. `train(iterations)` trains in the
training phase; `test(input_tensor)` runs in the test phase and returns the last layer's output.
The property `phase` sets `testing_phase` on every layer.

These tests drive your NeuralNetwork with the harness's own layers, so that a bug in one of your
layers costs points in that layer's section only.
"""

import numpy as np
import pytest

from spec.support import as_array, as_bool, as_float, as_int, assert_close
from spec.support.data import digits, iris

pytestmark = pytest.mark.section("NeuralNetwork")


def softmax(z):
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def cross_entropy(prediction, label):
    return -np.sum(label * np.log(prediction + np.finfo(float).eps))


def network(sub, optimizer=None, initializer=None):
    ref = sub.reference
    optimizer = optimizer if optimizer is not None else ref.Optimization.Optimizers.Sgd(0.1)
    initializer = initializer if initializer is not None else sub.probes.Constant(0.1)
    return sub.NeuralNetwork.NeuralNetwork(optimizer, initializer, initializer)


def classifier(sub, optimizer=None, initializer=None, inputs=4, categories=3, batch=10):
    """FullyConnected -> SoftMax with cross-entropy, fed by the first `batch` iris flowers."""
    ref = sub.reference
    net = network(sub, optimizer, initializer)
    train_x, train_y, _, _ = iris()
    net.data_layer = sub.probes.ArrayData(train_x[:, :inputs], train_y[:, :categories], batch)
    net.loss_layer = ref.Optimization.Loss.CrossEntropyLoss()
    net.append_layer(ref.Layers.FullyConnected.FullyConnected(inputs, categories))
    net.append_layer(ref.Layers.SoftMax.SoftMax())
    return net


def with_bias(x):
    return np.hstack([x, np.ones((len(x), 1))])


def l2(sub, alpha):
    optimizer = sub.reference.Optimization.Optimizers.Sgd(0.1)
    optimizer.add_regularizer(sub.reference.Optimization.Constraints.L2_Regularizer(alpha))
    return optimizer


def test_starts_with_no_layers_and_no_loss(sub):
    """A new network has an empty list of layers and an empty loss history."""
    net = network(sub)
    assert as_int(len(net.layers), "len(layers)") == 0
    assert as_int(len(net.loss), "len(loss)") == 0


def test_append_layer_initializes_trainable_layers(sub):
    """append_layer calls initialize of a trainable layer with the network's initializers."""
    weights_init, bias_init = sub.probes.RecordingInitializer(0.3), sub.probes.Constant(0.7)
    net = sub.NeuralNetwork.NeuralNetwork(
        sub.reference.Optimization.Optimizers.Sgd(1.0), weights_init, bias_init
    )
    net.append_layer(sub.reference.Layers.FullyConnected.FullyConnected(4, 2))
    assert [tuple(call[0]) for call in weights_init.calls] == [(4, 2)], "weights initializer calls"
    expected = np.vstack([np.full((4, 2), 0.3), np.full((1, 2), 0.7)])
    assert_close(net.layers[0].weights, expected, what="weights after append_layer")


def test_append_layer_gives_each_trainable_layer_its_own_optimizer(sub):
    """Every trainable layer gets a deep copy of the optimizer: momentum and Adam keep state per
    layer, so sharing one object would mix the layers' updates."""
    optimizer = sub.reference.Optimization.Optimizers.SgdWithMomentum(0.1, 0.9)
    net = network(sub, optimizer)
    net.append_layer(sub.reference.Layers.FullyConnected.FullyConnected(4, 3))
    net.append_layer(sub.reference.Layers.FullyConnected.FullyConnected(3, 2))
    first, second = net.layers[0].optimizer, net.layers[1].optimizer
    assert not sub.same(first, optimizer), "the first layer got the network's optimizer itself"
    assert not sub.same(second, optimizer), "the second layer got the network's optimizer itself"
    assert not sub.same(first, second), "two layers share one optimizer"


def test_append_layer_keeps_the_order(sub):
    """Layers run in the order they were appended."""
    net = classifier(sub)
    names = [sub.type_name(net.layers[i]) for i in range(as_int(len(net.layers)))]
    assert names == ["FullyConnected", "SoftMax"]


def test_forward_pulls_one_batch_and_returns_the_data_loss(sub):
    """forward takes the next batch from the data layer and returns the loss layer's value."""
    net = classifier(sub, batch=10)
    loss = as_float(net.forward(), "forward()")
    assert as_int(net.data_layer.batches_served) == 1, "forward should pull exactly one batch"
    train_x, train_y, _, _ = iris()
    weights = as_array(net.layers[0].weights)
    expected = cross_entropy(softmax(with_bias(train_x[:10]) @ weights), train_y[:10])
    assert loss == pytest.approx(expected, rel=1e-9)


def test_forward_adds_the_regularization_loss(sub):
    """With a regularizer, forward returns data loss + sum of regularizer.norm(weights) over the
    trainable layers."""
    plain, regularized = classifier(sub), classifier(sub, optimizer=l2(sub, 0.25))
    weights = as_array(regularized.layers[0].weights)
    difference = as_float(regularized.forward()) - as_float(plain.forward())
    assert difference == pytest.approx(0.25 * np.sum(weights**2), rel=1e-9)


def test_regularization_loss_includes_recurrent_layers(sub):
    """The regularization loss counts recurrent layers too: an RNN's weights are penalized."""
    ref = sub.reference
    nets = []
    for optimizer in (ref.Optimization.Optimizers.Sgd(0.1), l2(sub, 0.5)):
        net = network(sub, optimizer)
        rng = np.random.default_rng(3)
        net.data_layer = sub.probes.ArrayData(
            rng.normal(size=(6, 4)), np.eye(3)[[0, 1, 2, 0, 1, 2]], 6
        )
        net.loss_layer = ref.Optimization.Loss.CrossEntropyLoss()
        net.append_layer(ref.Layers.RNN.RNN(4, 5, 3))
        nets.append(net)
    plain, regularized = nets
    difference = as_float(regularized.forward()) - as_float(plain.forward())
    weights = as_array(regularized.layers[0].weights)
    assert difference == pytest.approx(0.5 * np.sum(weights**2), rel=1e-9)


def test_backward_propagates_the_loss_error_through_the_layers(sub):
    """backward sends the loss layer's error back through every layer, which then update."""
    net = classifier(sub, batch=10)
    before = as_array(net.layers[0].weights)
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
        what="weights after one Sgd(0.1) step",
    )


def test_train_records_one_loss_per_iteration(sub):
    """train(iterations) runs forward and backward that many times and appends each loss."""
    net = classifier(sub)
    net.train(7)
    losses = as_array(net.loss, "loss")
    assert losses.shape == (7,)
    assert as_int(net.data_layer.batches_served) == 7
    assert losses[-1] < losses[0], "training with Sgd(0.1) should reduce the loss"


def test_phase_property_sets_every_layer(sub):
    """Setting `phase` sets testing_phase on every layer."""
    net = classifier(sub)
    net.phase = True
    assert all(as_bool(layer.testing_phase) for layer in net.layers)
    net.phase = False
    assert not any(as_bool(layer.testing_phase) for layer in net.layers)


def test_train_runs_in_the_training_phase(sub):
    """train sets the training phase, even after a test."""
    net = classifier(sub)
    net.append_layer(sub.probes.PhaseRecorder())
    net.phase = True
    net.train(2)
    assert list(net.layers[2].phases_seen) == [False, False]


def test_test_runs_in_the_test_phase_and_returns_the_last_layers_output(sub):
    """test(input_tensor) runs the layers in the test phase and returns the output of the last
    layer (the predictions, not a loss)."""
    net = classifier(sub)
    net.append_layer(sub.probes.PhaseRecorder())
    train_x = iris()[0][:5]
    output = as_array(net.test(train_x), "test()")
    assert list(net.layers[2].phases_seen) == [True]
    expected = softmax(with_bias(train_x) @ as_array(net.layers[0].weights))
    assert_close(output, expected, rtol=1e-9, what="test() output")


def accuracy(net, inputs, labels):
    return np.mean(np.argmax(as_array(net.test(inputs)), axis=1) == np.argmax(labels, axis=1))


def trained(sub, data, hidden, middle=(), regularizer=None, iterations=400, batch=50):
    """A two-layer classifier trained with Adam, with `middle` layers after the first layer."""
    ref = sub.reference
    optimizer = ref.Optimization.Optimizers.Adam(5e-3, 0.9, 0.999)
    if regularizer is not None:
        optimizer.add_regularizer(regularizer)
    train_x, train_y, test_x, test_y = data
    net = sub.NeuralNetwork.NeuralNetwork(
        optimizer, ref.Layers.Initializers.He(), ref.Layers.Initializers.Constant(0.1)
    )
    net.data_layer = sub.probes.ArrayData(train_x, train_y, batch)
    net.loss_layer = ref.Optimization.Loss.CrossEntropyLoss()
    net.append_layer(ref.Layers.FullyConnected.FullyConnected(train_x.shape[1], hidden))
    for layer in middle:
        net.append_layer(layer)
    net.append_layer(ref.Layers.ReLU.ReLU())
    net.append_layer(ref.Layers.FullyConnected.FullyConnected(hidden, train_y.shape[1]))
    net.append_layer(ref.Layers.SoftMax.SoftMax())
    net.train(iterations)
    return accuracy(net, test_x, test_y)


@pytest.mark.parametrize("regularizer", ["L1_Regularizer", "L2_Regularizer"])
def test_trains_iris_with_a_regularizer(sub, regularizer):
    """Trained on iris with an L1 or L2 regularizer, the network classifies unseen flowers."""
    penalty = getattr(sub.reference.Optimization.Constraints, regularizer)(1e-4)
    assert trained(sub, iris(), 50, regularizer=penalty) >= 0.9


def test_trains_iris_with_dropout(sub):
    """With dropout in training and none in testing, the network classifies unseen flowers."""
    assert trained(sub, iris(), 50, [sub.reference.Layers.Dropout.Dropout(0.5)]) >= 0.9


def test_trains_digits_with_batch_normalization(sub):
    """With batch normalization (moving averages in testing), it classifies unseen digits."""
    middle = [sub.reference.Layers.BatchNormalization.BatchNormalization(64)]
    assert trained(sub, digits(), 64, middle, iterations=300) >= 0.9
