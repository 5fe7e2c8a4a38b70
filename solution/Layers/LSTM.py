import copy

import numpy as np

from .Base import BaseLayer
from .RNN import fully_connected_weights, sigmoid


class LSTM(BaseLayer):
    """Long short-term memory cell over one sequence; axis 0 of the input is time.

    [f, i, c~, o] = [sigmoid, sigmoid, tanh, sigmoid](W [x_t, h_{t-1}, 1])
    c_t = f * c_{t-1} + i * c~      h_t = o * tanh(c_t)      y_t = sigmoid(W_y [h_t, 1])
    weights: (input + hidden + 1, 4 * hidden), rows [x, h, 1], column blocks [f, i, c~, o];
    output_weights: (hidden + 1, output). The last row of each is the bias.
    """

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.trainable = True
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.weights = np.random.uniform(0, 1, (input_size + hidden_size + 1, 4 * hidden_size))
        self.output_weights = np.random.uniform(0, 1, (hidden_size + 1, output_size))
        self.gradient_weights = np.zeros_like(self.weights)
        self.gradient_output_weights = np.zeros_like(self.output_weights)
        self.memorize = False  # True: each call starts from the last h and c of the previous
        self.hidden_state = np.zeros(hidden_size)
        self.cell_state = np.zeros(hidden_size)
        self._optimizer = None

    @property
    def optimizer(self):
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer):
        # The gate and the output weights each keep their own optimizer state.
        self._optimizer = optimizer
        self._hidden_optimizer = copy.deepcopy(optimizer)
        self._output_optimizer = copy.deepcopy(optimizer)

    def initialize(self, weights_initializer, bias_initializer):
        n_concat = self.input_size + self.hidden_size
        self.weights = fully_connected_weights(
            weights_initializer, bias_initializer, n_concat, 4 * self.hidden_size
        )
        self.output_weights = fully_connected_weights(
            weights_initializer, bias_initializer, self.hidden_size, self.output_size
        )

    def forward(self, input_tensor):
        steps = input_tensor.shape[0]
        n_in, n = self.input_size, self.hidden_size
        if not self.memorize:
            self.hidden_state = np.zeros(n)
            self.cell_state = np.zeros(n)

        # The input part of all four gates for all steps at once; only h_{t-1} is sequential.
        input_part = (input_tensor @ self.weights[:n_in] + self.weights[-1]).reshape(steps, 4, n)
        recurrent_weights = self.weights[n_in : n_in + n]
        hidden = np.empty((steps + 1, n))  # hidden[t + 1] is h_t, hidden[0] the start
        cell = np.empty((steps + 1, n))  # likewise for c_t
        cell_tanh = np.empty((steps, n))
        gates = np.empty((steps, 4, n))  # gates[t] = [f, i, c~, o] at step t
        hidden[0], cell[0] = self.hidden_state, self.cell_state
        for t in range(steps):
            z = input_part[t] + (hidden[t] @ recurrent_weights).reshape(4, n)
            gates[t] = sigmoid(z)
            gates[t, 2] = np.tanh(z[2])  # the candidate is a tanh, not a gate
            forget, input_gate, candidate, output_gate = gates[t]
            cell[t + 1] = forget * cell[t] + input_gate * candidate
            cell_tanh[t] = np.tanh(cell[t + 1])
            hidden[t + 1] = output_gate * cell_tanh[t]
        self.hidden_state, self.cell_state = hidden[-1].copy(), cell[-1].copy()

        output = sigmoid(hidden[1:] @ self.output_weights[:-1] + self.output_weights[-1])
        self.cache = (input_tensor, hidden, cell, cell_tanh, gates, output)
        return output

    def backward(self, error_tensor):
        input_tensor, hidden, cell, cell_tanh, gates, output = self.cache
        steps, n_in, n = len(error_tensor), self.input_size, self.hidden_size
        recurrent_weights = self.weights[n_in : n_in + n]
        forget, input_gate, candidate, output_gate = gates.transpose(1, 0, 2)

        # Everything that does not depend on the incoming error, for all steps at once:
        # d c_t / d h_t through h_t = o * tanh(c_t) ...
        cell_from_hidden = output_gate * (1 - cell_tanh**2)
        # ... and each gate's slope times its partner in c_t = f c_{t-1} + i c~, h_t = o tanh(c_t).
        gate_slopes = gates * (1 - gates)  # sigmoid' = s (1 - s)
        gate_slopes[:, 2] = 1 - candidate**2  # tanh' = 1 - tanh^2
        gate_factors = gate_slopes * np.stack([cell[:-1], candidate, input_gate, cell_tanh], 1)

        output_error = error_tensor * output * (1 - output)  # through the sigmoid
        hidden_error_from_output = output_error @ self.output_weights[:-1].T
        # Backpropagation through time: h_t and c_t also feed step t + 1.
        gate_error = np.empty_like(gates)  # error of the four gate pre-activations
        hidden_error_from_next = np.zeros(n)
        cell_error_from_next = np.zeros(n)
        for t in reversed(range(steps)):
            hidden_error = hidden_error_from_output[t] + hidden_error_from_next
            cell_error = cell_error_from_next + hidden_error * cell_from_hidden[t]
            gate_error[t, :3] = cell_error * gate_factors[t, :3]  # f, i and c~ feed c_t
            gate_error[t, 3] = hidden_error * gate_factors[t, 3]  # o feeds h_t
            hidden_error_from_next = gate_error[t].reshape(-1) @ recurrent_weights.T
            cell_error_from_next = cell_error * forget[t]
        gate_error = gate_error.reshape(steps, 4 * n)

        ones = np.ones((steps, 1))
        cell_inputs = np.hstack([input_tensor, hidden[:-1], ones])  # [x_t, h_{t-1}, 1] per row
        self.gradient_weights = cell_inputs.T @ gate_error
        self.gradient_output_weights = np.hstack([hidden[1:], ones]).T @ output_error
        input_error = gate_error @ self.weights[:n_in].T

        if self._optimizer is not None:
            self.weights = self._hidden_optimizer.calculate_update(
                self.weights, self.gradient_weights
            )
            self.output_weights = self._output_optimizer.calculate_update(
                self.output_weights, self.gradient_output_weights
            )
        return input_error
