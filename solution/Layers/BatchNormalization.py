import copy

import numpy as np

from .Base import BaseLayer


class BatchNormalization(BaseLayer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel.

    Training normalizes with the batch statistics and keeps moving averages of them;
    the test phase normalizes with those moving averages. Images (b, c, y, x) are
    normalized per channel over batch and space by viewing them as (b*y*x, c).
    """

    def __init__(self, channels):
        super().__init__()
        self.trainable = True
        self.channels = channels
        self.alpha = 0.8  # weight of the past in the moving averages
        self.epsilon = 1e-11  # the course's check demands eps below 1e-10
        self.moving_mean = None
        self.moving_var = None
        self.gradient_weights = None
        self.gradient_bias = None
        self._optimizer = None
        self._bias_optimizer = None
        self.initialize(None, None)

    def initialize(self, weights_initializer, bias_initializer):
        # Start as the identity map whatever initializers the network passes.
        self.weights = np.ones(self.channels)  # gamma
        self.bias = np.zeros(self.channels)  # beta

    @property
    def optimizer(self):
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer):
        # Adam and momentum keep state per tensor, so beta gets its own copy.
        self._optimizer = optimizer
        self._bias_optimizer = copy.deepcopy(optimizer)

    def reformat(self, tensor):
        """(b, c, y, x) -> (b*y*x, c), and a 2-D tensor back to the last image shape."""
        if tensor.ndim == 4:
            self.image_shape = tensor.shape
            b, c, y, x = tensor.shape
            return tensor.transpose(0, 2, 3, 1).reshape(b * y * x, c)
        b, c, y, x = self.image_shape
        return tensor.reshape(b, y, x, c).transpose(0, 3, 1, 2)

    def forward(self, input_tensor):
        is_image = input_tensor.ndim == 4
        x = self.reformat(input_tensor) if is_image else input_tensor

        if self.testing_phase:
            mean, var = self.moving_mean, self.moving_var
        else:
            mean, var = x.mean(axis=0), x.var(axis=0)
            if self.moving_mean is None:
                self.moving_mean, self.moving_var = mean, var
            else:
                self.moving_mean = self.alpha * self.moving_mean + (1 - self.alpha) * mean
                self.moving_var = self.alpha * self.moving_var + (1 - self.alpha) * var

        self.inv_std = 1.0 / np.sqrt(var + self.epsilon)
        self.x_hat = (x - mean) * self.inv_std
        output = self.weights * self.x_hat + self.bias
        return self.reformat(output) if is_image else output

    def backward(self, error_tensor):
        is_image = error_tensor.ndim == 4
        dy = self.reformat(error_tensor) if is_image else error_tensor

        self.gradient_weights = np.sum(dy * self.x_hat, axis=0)
        self.gradient_bias = np.sum(dy, axis=0)

        dx_hat = dy * self.weights
        if self.testing_phase:
            # Fixed moving statistics: the layer is just a per-channel affine map.
            dx = dx_hat * self.inv_std
        else:
            # The batch mean and variance depend on every x too (CS231n's compact form):
            # dx = inv_std / N * (N * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))
            n = dy.shape[0]
            dx = (self.inv_std / n) * (
                n * dx_hat - dx_hat.sum(axis=0) - self.x_hat * np.sum(dx_hat * self.x_hat, axis=0)
            )

        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self.gradient_weights)
            self.bias = self._bias_optimizer.calculate_update(self.bias, self.gradient_bias)
        return self.reformat(dx) if is_image else dx
