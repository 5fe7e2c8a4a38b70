import copy
import pickle


class NeuralNetwork:
    """A chain of layers fed by a data layer and closed by a loss layer."""

    def __init__(self, optimizer, weights_initializer, bias_initializer):
        self.optimizer = optimizer
        self.weights_initializer = weights_initializer
        self.bias_initializer = bias_initializer
        self.layers = []
        self.loss = []  # one value per training iteration
        self.data_layer = None
        self.loss_layer = None
        self._phase = False

    @property
    def phase(self):
        """True in the test phase, False in the training phase (each layer's testing_phase)."""
        return self._phase

    @phase.setter
    def phase(self, testing_phase):
        self._phase = testing_phase
        for layer in self.layers:
            layer.testing_phase = testing_phase

    def append_layer(self, layer):
        if layer.trainable:
            # A copy per layer: momentum and Adam keep state that belongs to one layer's weights.
            layer.optimizer = copy.deepcopy(self.optimizer)
            layer.initialize(self.weights_initializer, self.bias_initializer)
        self.layers.append(layer)

    def forward(self):
        input_tensor, self.label_tensor = self.data_layer.next()
        for layer in self.layers:
            input_tensor = layer.forward(input_tensor)
        return self.loss_layer.forward(input_tensor, self.label_tensor) + self.regularization_loss()

    def regularization_loss(self):
        regularizer = self.optimizer.regularizer
        if regularizer is None:
            return 0.0
        return sum(regularizer.norm(layer.weights) for layer in self.layers if layer.trainable)

    def backward(self):
        error_tensor = self.loss_layer.backward(self.label_tensor)
        for layer in reversed(self.layers):
            error_tensor = layer.backward(error_tensor)

    def train(self, iterations):
        self.phase = False
        for _ in range(iterations):
            self.loss.append(self.forward())
            self.backward()

    def test(self, input_tensor):
        self.phase = True
        for layer in self.layers:
            input_tensor = layer.forward(input_tensor)
        return input_tensor

    # The data layer holds a dataset (and possibly an open generator): it is not pickled.
    def __getstate__(self):
        state = self.__dict__.copy()
        del state["data_layer"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.data_layer = None


def save(filename, net):
    with open(filename, "wb") as file:
        pickle.dump(net, file)


def load(filename, data_layer):
    with open(filename, "rb") as file:
        net = pickle.load(file)
    net.data_layer = data_layer
    return net
