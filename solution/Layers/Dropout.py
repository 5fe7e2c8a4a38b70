import numpy as np

from .Base import BaseLayer


class Dropout(BaseLayer):
    """Inverted dropout: `probability` is the chance to KEEP a unit.

    Survivors are scaled by 1 / probability during training so the expected activation is
    unchanged, which lets the test phase pass everything through untouched.
    """

    def __init__(self, probability):
        super().__init__()
        self.probability = probability

    def forward(self, input_tensor):
        if self.testing_phase:
            return input_tensor
        self.keep = np.random.rand(*input_tensor.shape) < self.probability
        return input_tensor * self.keep / self.probability

    def backward(self, error_tensor):
        if self.testing_phase:
            return error_tensor
        return error_tensor * self.keep / self.probability
