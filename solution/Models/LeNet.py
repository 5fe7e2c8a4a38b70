from Layers import Conv, Flatten, FullyConnected, Initializers, Pooling, ReLU, SoftMax
from NeuralNetwork import NeuralNetwork
from Optimization import Constraints, Loss, Optimizers


def build():
    """A LeNet variant for 28x28 MNIST digits: two conv/pool stages, then three dense layers."""
    optimizer = Optimizers.Adam(5e-4, 0.9, 0.999)
    optimizer.add_regularizer(Constraints.L2_Regularizer(4e-4))
    net = NeuralNetwork(optimizer, Initializers.He(), Initializers.He())
    net.loss_layer = Loss.CrossEntropyLoss()

    net.append_layer(Conv.Conv((1, 1), (1, 5, 5), 6))  # 1x28x28 -> 6x28x28
    net.append_layer(ReLU.ReLU())
    net.append_layer(Pooling.Pooling((2, 2), (2, 2)))  # -> 6x14x14
    net.append_layer(Conv.Conv((1, 1), (6, 5, 5), 16))  # -> 16x14x14
    net.append_layer(ReLU.ReLU())
    net.append_layer(Pooling.Pooling((2, 2), (2, 2)))  # -> 16x7x7
    net.append_layer(Flatten.Flatten())
    net.append_layer(FullyConnected.FullyConnected(16 * 7 * 7, 120))
    net.append_layer(ReLU.ReLU())
    net.append_layer(FullyConnected.FullyConnected(120, 84))
    net.append_layer(ReLU.ReLU())
    net.append_layer(FullyConnected.FullyConnected(84, 10))
    net.append_layer(SoftMax.SoftMax())
    return net
