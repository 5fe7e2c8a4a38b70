import numpy as np

from .Base import BaseLayer


class FullyConnected(BaseLayer):
    """y = [x, 1] @ W: the bias is the last row of W, fed by a constant input of one."""

    def __init__(self, input_size, output_size):
        super().__init__()
        self.trainable = True
        self.input_size = input_size
        self.output_size = output_size
        self.weights = np.random.uniform(0.0, 1.0, (input_size + 1, output_size))
        self.gradient_weights = None
        self._optimizer = None

    def initialize(self, weights_initializer, bias_initializer):
        weights = weights_initializer.initialize(
            (self.input_size, self.output_size), self.input_size, self.output_size
        )
        bias = bias_initializer.initialize((1, self.output_size), 1, self.output_size)
        self.weights = np.vstack([weights, bias])

    @property
    def optimizer(self):
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer):
        self._optimizer = optimizer

    def forward(self, input_tensor):
        ones = np.ones((input_tensor.shape[0], 1))
        self.input_with_ones = np.hstack([input_tensor, ones])
        return self.input_with_ones @ self.weights

    def backward(self, error_tensor):
        self.gradient_weights = self.input_with_ones.T @ error_tensor
        # The bias row has no input to pass an error back to; use the weights before the update.
        input_error = error_tensor @ self.weights[:-1].T
        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self.gradient_weights)
        return input_error
