"""Course helpers: finite-difference gradient checks, accuracy, and data layers.

A data layer has next() -> (input batch, one-hot label batch) drawn from its training split,
and get_test_set() -> (inputs, labels) of the rest. scikit-learn is imported only inside the
data layers that need it, so the rest works with NumPy alone.
"""

import gzip
import struct
from pathlib import Path

import numpy as np

EPSILON = 1e-5  # finite-difference step
MACHINE_EPSILON = np.finfo(float).eps


# -- gradient checks --------------------------------------------------------------------------
# layers[:-1] is a chain of layers, layers[-1] a loss layer with forward(prediction, label).


def _loss(layers, input_tensor, label_tensor, seed=None):
    if seed is not None:
        np.random.seed(seed)  # the same dropout masks on every pass
    for layer in layers[:-1]:
        input_tensor = layer.forward(input_tensor)
    return layers[-1].forward(input_tensor, label_tensor)


def _backpropagate(layers, label_tensor):
    error_tensor = layers[-1].backward(label_tensor)
    for layer in reversed(layers[:-1]):
        error_tensor = layer.backward(error_tensor)
    return error_tensor


def _relative_difference(analytical, numerical):
    scale = max(abs(analytical), abs(numerical))
    return 0.0 if scale < 1e-15 else abs(analytical - numerical) / scale


def gradient_check(layers, input_tensor, label_tensor, seed=None):
    """Relative difference between backprop's input gradient and central differences."""
    _loss(layers, input_tensor, label_tensor, seed)
    analytical = _backpropagate(layers, label_tensor)

    difference = np.zeros_like(input_tensor, dtype=float)
    for index in np.ndindex(input_tensor.shape):
        plus, minus = input_tensor.copy(), input_tensor.copy()
        plus[index] += EPSILON
        minus[index] -= EPSILON
        numerical = (
            _loss(layers, plus, label_tensor, seed) - _loss(layers, minus, label_tensor, seed)
        ) / (2 * EPSILON)
        difference[index] = _relative_difference(analytical[index], numerical)
    return difference


def gradient_check_weights(layers, input_tensor, label_tensor, bias):
    """The same check for layers[0]'s weights, or its bias when `bias` is true."""
    name = "bias" if bias else "weights"
    parameters = getattr(layers[0], name).copy()

    _loss(layers, input_tensor, label_tensor)
    _backpropagate(layers, label_tensor)
    analytical = getattr(layers[0], "gradient_" + name)

    difference = np.zeros_like(parameters, dtype=float)
    for index in np.ndindex(parameters.shape):
        plus, minus = parameters.copy(), parameters.copy()
        plus[index] += EPSILON
        minus[index] -= EPSILON
        setattr(layers[0], name, plus)
        upper = _loss(layers, input_tensor, label_tensor)
        setattr(layers[0], name, minus)
        lower = _loss(layers, input_tensor, label_tensor)
        numerical = (upper - lower) / (2 * EPSILON)
        difference[index] = _relative_difference(analytical[index], numerical)
    setattr(layers[0], name, parameters)
    return difference


def compute_bn_gradients(error_tensor, input_tensor, weights, mean, var, eps=MACHINE_EPSILON):
    """Batch-norm input gradient by the chain rule through var and mean, step by step.

    Deliberately not the compact formula, so it serves as an independent reference.
    Tensors are (batch, channels); mean and var are the batch statistics.
    """
    if eps > 1e-10:
        raise ArithmeticError(f"eps must be below 1e-10, got {eps}")
    n = error_tensor.shape[0]
    centered = input_tensor - mean
    std = np.sqrt(var + eps)
    dx_hat = error_tensor * weights

    dvar = np.sum(dx_hat * centered * -0.5 * std**-3, axis=0)
    dmean = np.sum(-dx_hat / std, axis=0) + dvar * np.mean(-2.0 * centered, axis=0)
    return dx_hat / std + dvar * 2.0 * centered / n + dmean / n


def calculate_accuracy(results, labels):
    """Fraction of rows whose largest score sits at the one-hot label."""
    return np.mean(np.argmax(results, axis=1) == np.argmax(labels, axis=1))


def shuffle_data(input_tensor, label_tensor):
    order = np.random.permutation(input_tensor.shape[0])
    return input_tensor[order], label_tensor[order]


def _one_hot(targets, categories):
    return np.eye(categories)[targets]


def _batches(num_samples, batch_size, random=True):
    """Endless index batches over epochs of the training split, reshuffled each epoch."""
    while True:
        order = np.random.permutation(num_samples) if random else np.arange(num_samples)
        for start in range(0, num_samples, batch_size):
            yield order[start : start + batch_size]


# -- data layers ------------------------------------------------------------------------------


class RandomData:
    """Uniform random inputs with random one-hot labels, a fresh batch on every call."""

    def __init__(self, input_size, batch_size, categories):
        self.input_size = input_size
        self.batch_size = batch_size
        self.categories = categories

    def next(self):
        input_tensor = np.random.random((self.batch_size, self.input_size))
        targets = np.random.randint(0, self.categories, self.batch_size)
        return input_tensor, _one_hot(targets, self.categories)


class _SplitDataset:
    """A shuffled dataset with 2/3 for training (served in batches) and 1/3 for testing."""

    def __init__(self, inputs, labels, batch_size, random):
        inputs, labels = shuffle_data(inputs / np.abs(inputs).max(), labels)
        self.split = int(inputs.shape[0] * 2 / 3)
        self.train_inputs, self.train_labels = inputs[: self.split], labels[: self.split]
        self.test_inputs, self.test_labels = inputs[self.split :], labels[self.split :]
        self.batch_size = batch_size
        self._batches = _batches(self.split, batch_size, random)

    def next(self):
        batch = next(self._batches)
        return self.train_inputs[batch], self.train_labels[batch]

    def get_test_set(self):
        return self.test_inputs, self.test_labels


class IrisData(_SplitDataset):
    """The 150 iris flowers: 4 features, 3 classes."""

    def __init__(self, batch_size, random=True):
        from sklearn.datasets import load_iris

        iris = load_iris()
        super().__init__(iris.data, _one_hot(iris.target, 3), batch_size, random)


class DigitData(_SplitDataset):
    """scikit-learn's 1797 handwritten digits as (n, 1, 8, 8) images, 10 classes."""

    def __init__(self, batch_size):
        from sklearn.datasets import load_digits

        digits = load_digits(n_class=10)
        images = digits.data.reshape(-1, 1, 8, 8)
        super().__init__(images, _one_hot(digits.target, 10), batch_size, random=True)


def _read_idx(path):
    """An IDX file of unsigned bytes (the MNIST format) as an array of its stored shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        content = file.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", content[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    shape = struct.unpack(f">{ndim}I", content[4 : 4 + 4 * ndim])
    return np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


class MNISTData:
    """MNIST from the four standard IDX files in data_dir (each may be gzipped as `.gz`).

    Images are scaled to [0, 1] and shaped (n, 1, 28, 28); labels are one-hot.
    next() serves batches of the 60000 training images; get_test_set() gives the 10000 others.
    """

    def __init__(self, batch_size, data_dir):
        self.batch_size = batch_size
        self.data_dir = Path(data_dir)
        self.train_inputs, self.train_labels = self._read("train")
        self.test_inputs, self.test_labels = self._read("t10k")
        self._batches = _batches(self.train_inputs.shape[0], batch_size)

    def _find(self, name):
        path = self.data_dir / name
        return path if path.exists() else path.with_name(name + ".gz")

    def _read(self, prefix):
        images = _read_idx(self._find(f"{prefix}-images-idx3-ubyte"))
        labels = _read_idx(self._find(f"{prefix}-labels-idx1-ubyte"))
        images = images.reshape(-1, 1, 28, 28).astype(float) / 255.0
        return images, _one_hot(labels, 10)

    def next(self):
        batch = next(self._batches)
        return self.train_inputs[batch], self.train_labels[batch]

    def get_test_set(self):
        return self.test_inputs, self.test_labels
