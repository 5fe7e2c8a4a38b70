"""LeNet (optional, bonus): a variant of LeCun's network, saved and loaded with pickle.

Requirement: `Models.LeNet.build()` returns a NeuralNetwork trained by Adam(5e-4, 0.9, 0.999)
with an L2_Regularizer(4e-4), initialized with He, closed by a CrossEntropyLoss, with the layers
Conv((1,1),(1,5,5),6) ReLU Pooling((2,2),(2,2)) Conv((1,1),(6,5,5),16) ReLU Pooling Flatten
FC(16*7*7,120) ReLU FC(120,84) ReLU FC(84,10) SoftMax.
`NeuralNetwork.save(filename, net)` pickles a network without its data layer;
`NeuralNetwork.load(filename, data_layer)` unpickles it and attaches the given data layer.

LeNet is built from your foundation layers, so a bug in one of them can show here too.
"""

import numpy as np
import pytest

from spec.support import absent_unless, as_array, as_float, as_int, assert_close, golden

pytestmark = pytest.mark.section("LeNet")

ARCHITECTURE = [
    "Conv",
    "ReLU",
    "Pooling",
    "Conv",
    "ReLU",
    "Pooling",
    "Flatten",
    "FullyConnected",
    "ReLU",
    "FullyConnected",
    "ReLU",
    "FullyConnected",
    "SoftMax",
]


@pytest.fixture(autouse=True)
def lenet_is_handed_in(sub):
    absent_unless(sub, "Models.LeNet")


@pytest.fixture
def net(sub):
    return sub.Models.LeNet.build()


def layers_of(net):
    return [net.layers[i] for i in range(as_int(len(net.layers), "len(layers)"))]


def digits_like(count, seed=0):
    """Random 28x28 images with one-hot labels: LeNet's input format."""
    rng = np.random.default_rng(seed)
    return rng.random((count, 1, 28, 28)), np.eye(10)[rng.integers(0, 10, count)]


def test_build_returns_the_architecture(sub, net):
    """build() returns a NeuralNetwork with the thirteen layers in the contract's order."""
    assert sub.type_name(net) == "NeuralNetwork", (
        f"build() should return a NeuralNetwork, got a {sub.type_name(net)}"
    )
    names = [sub.type_name(layer) for layer in layers_of(net)]
    assert names == ARCHITECTURE, f"build() gives the layers {names}, expected {ARCHITECTURE}"


def test_layers_have_the_contracts_shapes(net):
    """Conv kernels 6x1x5x5 and 16x6x5x5; FullyConnected 784->120->84->10 (bias rows included)."""
    layers = layers_of(net)
    shapes = [as_array(layers[i].weights).shape for i in (0, 3, 7, 9, 11)]
    expected = [(6, 1, 5, 5), (16, 6, 5, 5), (785, 120), (121, 84), (85, 10)]
    assert shapes == expected, (
        f"weights of the trainable layers have shapes {shapes}, not {expected}"
    )


def test_loss_is_cross_entropy(sub, net):
    """The loss layer is a CrossEntropyLoss."""
    name = sub.type_name(net.loss_layer)
    assert name == "CrossEntropyLoss", f"the loss layer is a {name}, not a CrossEntropyLoss"


def test_weights_are_he_initialized(net):
    """He initialization: the weights of FC(784, 120) have mean 0 and std sqrt(2 / 784)."""
    weights = as_array(layers_of(net)[7].weights)[:-1]
    sigma = np.sqrt(2 / 784)
    assert abs(weights.mean()) < 0.1 * sigma, f"mean of the weights is {weights.mean():.3g}, not 0"
    assert weights.std() == pytest.approx(sigma, rel=0.03), (
        f"std of the weights is {weights.std():.4g}, expected sqrt(2 / 784) = {sigma:.4g}"
    )


def test_optimizer_is_adam_with_l2(sub, net):
    """The optimizer is Adam(5e-4, 0.9, 0.999) with an L2_Regularizer(4e-4): two updates of
    a weight tensor follow those numbers."""
    optimizer = net.optimizer
    assert sub.type_name(optimizer) == "Adam", f"the optimizer is a {sub.type_name(optimizer)}"
    regularizer = optimizer.regularizer
    assert regularizer is not None, "the optimizer has no regularizer"
    name = sub.type_name(regularizer)
    assert name == "L2_Regularizer", f"the regularizer is a {name}, not an L2_Regularizer"
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    what = "norm of the regularizer (alpha 4e-4)"
    assert_close(as_float(regularizer.norm(w), what), 4e-4 * np.sum(w**2), rtol=1e-6, what=what)
    gradients = [np.array([[0.3, -1.0], [2.0, 0.1]]), np.array([[-0.2, 0.4], [1.0, -0.5]])]
    expected, v, r = w.copy(), 0.0, 0.0
    for k, g in enumerate(gradients, start=1):
        v, r = 0.9 * v + 0.1 * g, 0.999 * r + 0.001 * g**2
        step = 5e-4 * (v / (1 - 0.9**k)) / (np.sqrt(r / (1 - 0.999**k)) + 1e-8)
        expected = expected - 5e-4 * 4e-4 * expected - step  # shrink, then Adam's step
        w = as_array(optimizer.calculate_update(w, g))
    assert_close(w, expected, rtol=1e-6, atol=1e-9, what="Adam(5e-4, 0.9, 0.999) + L2(4e-4)")


def test_forward_matches_the_reference_for_fixed_weights(sub, net):
    """With the reference weights set, test() returns the oracle's class probabilities."""
    case = golden.load("lenet_forward")
    layers = layers_of(net)
    for index, name in ((0, "conv1"), (3, "conv2")):
        layers[index].weights = case[f"{name}_weights"]
        layers[index].bias = case[f"{name}_bias"]
    for index, name in ((7, "fc1"), (9, "fc2"), (11, "fc3")):
        layers[index].weights = case[f"{name}_weights"]
    assert_close(net.test(case["input"]), case["output"], **golden.EXACT, what="LeNet output")


def test_training_lowers_the_loss(sub, net):
    """A few training iterations on one batch lower its loss."""
    images, labels = digits_like(8)
    net.data_layer = sub.probes.ArrayData(images, labels, 8)
    net.train(4)
    losses = as_array(net.loss, "loss")
    assert losses.shape == (4,), f"train(4) should record 4 losses, loss has shape {losses.shape}"
    assert losses[-1] < losses[0], (
        f"training should lower the loss, it went from {losses[0]:.4g} to {losses[-1]:.4g}"
    )


def test_save_and_load_give_identical_test_outputs(sub, net):
    """A network saved and loaded again predicts exactly what it predicted before: the
    weights travel in the pickle."""
    images, labels = digits_like(8, seed=1)
    net.data_layer = sub.probes.ArrayData(images, labels, 8)
    net.train(2)
    before = as_array(net.test(images))
    path = sub.scratch("lenet.pkl")
    sub.NeuralNetwork.save(path, net)
    loaded = sub.NeuralNetwork.load(path, sub.probes.ArrayData(images, labels, 8))
    assert_close(loaded.test(images), before, rtol=0, atol=0, what="output after load")


def test_save_leaves_out_the_data_layer_and_load_attaches_the_given_one(sub, net):
    """save works although the data layer cannot be pickled (it is left out), and load attaches
    the data layer it is given."""
    images, labels = digits_like(8, seed=2)
    net.data_layer = sub.probes.UnpicklableData(images, labels, 8)
    path = sub.scratch("lenet-without-data.pkl")
    sub.NeuralNetwork.save(path, net)
    data = sub.probes.ArrayData(images, labels, 4)
    loaded = sub.NeuralNetwork.load(path, data)
    assert sub.same(loaded.data_layer, data), "load should attach the data layer it is given"
    loaded.train(1)
    assert as_int(data.batches_served) == 1, "training after load should read the given data layer"


def test_save_leaves_the_live_network_and_its_data_layer_intact(sub, net):
    """save changes nothing in the network it pickles: afterwards the network predicts what it
    predicted before and still trains on its own data layer."""
    images, labels = digits_like(8, seed=3)
    data = sub.probes.ArrayData(images, labels, 8)
    net.data_layer = data
    before = as_array(net.test(images), "test() before save")
    sub.NeuralNetwork.save(sub.scratch("lenet-live.pkl"), net)
    assert_close(net.test(images), before, rtol=0, atol=0, what="test() output after save")
    assert net.data_layer is not None, (
        "save left the network without its data layer: leave it out of the pickle only"
    )
    net.train(1)
    assert as_int(data.batches_served, "batches served") == 1, (
        "after save, train(1) should still read the network's data layer"
    )
