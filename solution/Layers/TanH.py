import numpy as np

from .Base import BaseLayer


class TanH(BaseLayer):
    def forward(self, input_tensor):
        self.activation = np.tanh(input_tensor)
        return self.activation

    def backward(self, error_tensor):
        # tanh' = 1 - tanh^2, read off the stored activation
        return error_tensor * (1.0 - self.activation**2)
