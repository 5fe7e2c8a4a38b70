import numpy as np

from .Base import BaseLayer


class Sigmoid(BaseLayer):
    def forward(self, input_tensor):
        # For x below about -709, exp(-x) overflows to inf and the result is 0, the right limit.
        with np.errstate(over="ignore"):
            self.activation = 1.0 / (1.0 + np.exp(-input_tensor))
        return self.activation

    def backward(self, error_tensor):
        # sigmoid' = sigmoid * (1 - sigmoid), read off the stored activation
        return error_tensor * self.activation * (1.0 - self.activation)
