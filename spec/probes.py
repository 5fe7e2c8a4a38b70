"""Objects the spec hands to a submission.

These live beside the submission (in its process, when it is isolated), so they may use
NumPy and nothing else, and everything they record is plain data.
"""

import numpy as np


class RecordingInitializer:
    """Fills every tensor with `value` and records how it was asked: (shape, fan_in, fan_out)."""

    def __init__(self, value=0.1):
        self.value = value
        self.calls = []

    def initialize(self, weights_shape, fan_in, fan_out):
        shape = tuple(int(n) for n in np.atleast_1d(weights_shape))
        self.calls.append((shape, float(fan_in), float(fan_out)))
        return np.full(shape, float(self.value))


class Constant:
    """Fills every tensor with one value: how the spec fixes parameters it cannot set directly."""

    def __init__(self, value):
        self.value = value

    def initialize(self, weights_shape, fan_in, fan_out):
        return np.full(tuple(np.atleast_1d(weights_shape)), float(self.value))


class ArrayData:
    """A data layer over fixed arrays: next() walks through the batches in order, cycling."""

    def __init__(self, inputs, labels, batch_size, test_inputs=None, test_labels=None):
        self.inputs, self.labels = np.asarray(inputs), np.asarray(labels)
        self.batch_size = int(batch_size)
        self.test_inputs = self.inputs if test_inputs is None else np.asarray(test_inputs)
        self.test_labels = self.labels if test_labels is None else np.asarray(test_labels)
        self.position = 0
        self.batches_served = 0

    def next(self):
        if self.position + self.batch_size > len(self.inputs):
            self.position = 0
        batch = slice(self.position, self.position + self.batch_size)
        self.position += self.batch_size
        self.batches_served += 1
        return self.inputs[batch].copy(), self.labels[batch].copy()

    def get_test_set(self):
        return self.test_inputs.copy(), self.test_labels.copy()


class PhaseRecorder:
    """An identity layer that records the phase it was in at every forward pass."""

    def __init__(self):
        self.trainable = False
        self.testing_phase = False
        self.phases_seen = []

    def forward(self, input_tensor):
        self.phases_seen.append(bool(self.testing_phase))
        return input_tensor

    def backward(self, error_tensor):
        return error_tensor


class UnpicklableData(ArrayData):
    """A data layer that cannot be pickled (it holds an open generator), like real ones."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stream = (i for i in range(1))


class RandomUniform:
    """Fills every tensor with reproducible random numbers in [low, high): each probe draws
    from its own stream, so two probes made alike fill two layers alike."""

    def __init__(self, seed, low=-1.0, high=1.0):
        self.rng = np.random.default_rng(seed)
        self.low, self.high = float(low), float(high)

    def initialize(self, weights_shape, fan_in, fan_out):
        return self.rng.uniform(self.low, self.high, tuple(np.atleast_1d(weights_shape)))


class FloatingPointWatch:
    """Calls a method of a layer with NumPy's floating-point errors raised instead of warned
    about, so an overflow inside the call is seen in whichever process the layer lives in.
    `call` returns (output, None), or (None, what NumPy reported)."""

    def call(self, target, method, *args):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            try:
                return getattr(target, method)(*args), None
            except FloatingPointError as error:
                return None, str(error)
