"""Weight initializers: initialize(weights_shape, fan_in, fan_out) returns the initial tensor."""

import numpy as np


class Constant:
    def __init__(self, value=0.1):
        self.value = value

    def initialize(self, weights_shape, fan_in, fan_out):
        return np.full(weights_shape, self.value, dtype=float)


class UniformRandom:
    def initialize(self, weights_shape, fan_in, fan_out):
        return np.random.uniform(0.0, 1.0, weights_shape)


class Xavier:
    # Glorot: keeps the activation variance about equal going forward and backward.
    def initialize(self, weights_shape, fan_in, fan_out):
        sigma = np.sqrt(2.0 / (fan_in + fan_out))
        return np.random.normal(0.0, sigma, weights_shape)


class He:
    # ReLU zeroes half of its inputs, so the variance is doubled to compensate.
    def initialize(self, weights_shape, fan_in, fan_out):
        sigma = np.sqrt(2.0 / fan_in)
        return np.random.normal(0.0, sigma, weights_shape)
