"""Gradient descent rules. calculate_update(w, g) returns the new weights (arrays or scalars).

With a regularizer, every rule first shrinks the weights it was given,
w - learning_rate * regularizer.calculate_gradient(w), then takes its own step from g.
"""

import numpy as np


class Optimizer:
    def __init__(self):
        self.regularizer = None

    def add_regularizer(self, regularizer):
        self.regularizer = regularizer

    def _shrink(self, weight_tensor):
        if self.regularizer is None:
            return weight_tensor
        penalty_gradient = self.regularizer.calculate_gradient(weight_tensor)
        return weight_tensor - self.learning_rate * penalty_gradient


class Sgd(Optimizer):
    def __init__(self, learning_rate):
        super().__init__()
        self.learning_rate = learning_rate

    def calculate_update(self, weight_tensor, gradient_tensor):
        return self._shrink(weight_tensor) - self.learning_rate * gradient_tensor


class SgdWithMomentum(Optimizer):
    def __init__(self, learning_rate, momentum_rate):
        super().__init__()
        self.learning_rate = learning_rate
        self.momentum_rate = momentum_rate
        self.velocity = 0.0

    def calculate_update(self, weight_tensor, gradient_tensor):
        # v = momentum * v - lr * g;  w = w + v
        self.velocity = self.momentum_rate * self.velocity - self.learning_rate * gradient_tensor
        return self._shrink(weight_tensor) + self.velocity


class Adam(Optimizer):
    def __init__(self, learning_rate, mu, rho):
        super().__init__()
        self.learning_rate = learning_rate
        self.mu = mu  # decay of the first moment (mean of g)
        self.rho = rho  # decay of the second moment (mean of g^2)
        self.eps = 1e-8
        self.first_moment = 0.0
        self.second_moment = 0.0
        self.steps = 0

    def calculate_update(self, weight_tensor, gradient_tensor):
        self.steps += 1
        self.first_moment = self.mu * self.first_moment + (1 - self.mu) * gradient_tensor
        self.second_moment = self.rho * self.second_moment + (1 - self.rho) * gradient_tensor**2
        # Both moments start at zero; dividing by 1 - decay^k removes that bias.
        first_hat = self.first_moment / (1 - self.mu**self.steps)
        second_hat = self.second_moment / (1 - self.rho**self.steps)
        step = self.learning_rate * first_hat / (np.sqrt(second_hat) + self.eps)
        return self._shrink(weight_tensor) - step
