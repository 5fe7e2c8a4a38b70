import numpy as np

from .Base import BaseLayer


class SoftMax(BaseLayer):
    def forward(self, input_tensor):
        # exp(x - max) has the same ratios as exp(x) but cannot overflow.
        exps = np.exp(input_tensor - input_tensor.max(axis=1, keepdims=True))
        self.probabilities = exps / exps.sum(axis=1, keepdims=True)
        return self.probabilities

    def backward(self, error_tensor):
        # Jacobian-vector product: dx_i = y_i * (e_i - sum_j e_j * y_j)
        y = self.probabilities
        return y * (error_tensor - np.sum(error_tensor * y, axis=1, keepdims=True))
