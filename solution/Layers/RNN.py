import copy

import numpy as np

from .Base import BaseLayer


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow warnings


class RNN(BaseLayer):
    """Elman cell over one sequence; axis 0 of the input is time.

    h_t = tanh(W_h [x_t, h_{t-1}, 1])    weights:        (input + hidden + 1, hidden)
    y_t = sigmoid(W_y [h_t, 1])           output_weights: (hidden + 1, output)
    Rows are ordered [x, h, 1] as in FullyConnected, so the last row is the bias.
    """

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.trainable = True
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.weights = np.random.uniform(0, 1, (input_size + hidden_size + 1, hidden_size))
        self.output_weights = np.random.uniform(0, 1, (hidden_size + 1, output_size))
        self.gradient_weights = np.zeros_like(self.weights)
        self.gradient_output_weights = np.zeros_like(self.output_weights)
        self.memorize = False  # True: each call starts from the last hidden state of the previous
        self.hidden_state = np.zeros(hidden_size)
        self._optimizer = None

    @property
    def optimizer(self):
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer):
        # The hidden and the output weights each keep their own optimizer state.
        self._optimizer = optimizer
        self._hidden_optimizer = copy.deepcopy(optimizer)
        self._output_optimizer = copy.deepcopy(optimizer)

    def initialize(self, weights_initializer, bias_initializer):
        n_concat = self.input_size + self.hidden_size
        self.weights = fully_connected_weights(
            weights_initializer, bias_initializer, n_concat, self.hidden_size
        )
        self.output_weights = fully_connected_weights(
            weights_initializer, bias_initializer, self.hidden_size, self.output_size
        )

    def forward(self, input_tensor):
        steps = input_tensor.shape[0]
        n_in, n_hidden = self.input_size, self.hidden_size
        if not self.memorize:
            self.hidden_state = np.zeros(n_hidden)

        # The input part of W_h [x_t, h_{t-1}, 1] for all steps at once; only h_{t-1} is sequential.
        input_part = input_tensor @ self.weights[:n_in] + self.weights[-1]
        recurrent_weights = self.weights[n_in : n_in + n_hidden]
        hidden = np.empty((steps + 1, n_hidden))  # hidden[t + 1] is h_t, hidden[0] the start
        hidden[0] = self.hidden_state
        for t in range(steps):
            hidden[t + 1] = np.tanh(input_part[t] + hidden[t] @ recurrent_weights)
        self.hidden_state = hidden[-1].copy()

        output = sigmoid(hidden[1:] @ self.output_weights[:-1] + self.output_weights[-1])
        self.cache = (input_tensor, hidden, output)
        return output

    def backward(self, error_tensor):
        input_tensor, hidden, output = self.cache
        steps, n_in, n_hidden = len(error_tensor), self.input_size, self.hidden_size
        recurrent_weights = self.weights[n_in : n_in + n_hidden]

        output_error = error_tensor * output * (1 - output)  # through the sigmoid
        hidden_error_from_output = output_error @ self.output_weights[:-1].T
        tanh_slopes = 1 - hidden[1:] ** 2  # tanh' = 1 - tanh^2, for all steps at once
        # Backpropagation through time: h_t also feeds h_{t+1}, so its error arrives from both.
        pre_activation_error = np.empty((steps, n_hidden))
        error_from_next_step = np.zeros(n_hidden)
        for t in reversed(range(steps)):
            hidden_error = hidden_error_from_output[t] + error_from_next_step
            pre_activation_error[t] = hidden_error * tanh_slopes[t]
            error_from_next_step = pre_activation_error[t] @ recurrent_weights.T

        ones = np.ones((steps, 1))
        cell_inputs = np.hstack([input_tensor, hidden[:-1], ones])  # [x_t, h_{t-1}, 1] per row
        self.gradient_weights = cell_inputs.T @ pre_activation_error
        self.gradient_output_weights = np.hstack([hidden[1:], ones]).T @ output_error
        input_error = pre_activation_error @ self.weights[:n_in].T

        if self._optimizer is not None:
            self.weights = self._hidden_optimizer.calculate_update(
                self.weights, self.gradient_weights
            )
            self.output_weights = self._output_optimizer.calculate_update(
                self.output_weights, self.gradient_output_weights
            )
        return input_error


def fully_connected_weights(weights_initializer, bias_initializer, fan_in, fan_out):
    """A fully connected layer's weights, bias as the last row, as FullyConnected.initialize."""
    weights = weights_initializer.initialize((fan_in, fan_out), fan_in, fan_out)
    bias = bias_initializer.initialize((1, fan_out), 1, fan_out)
    return np.vstack([weights, bias])
