import numpy as np


class CrossEntropyLoss:
    """-sum(label * log(prediction)) over the whole batch (summed, not averaged)."""

    def __init__(self):
        self.eps = np.finfo(float).eps  # keeps log and division finite at prediction 0

    def forward(self, prediction_tensor, label_tensor):
        self.prediction = prediction_tensor
        return -np.sum(label_tensor * np.log(prediction_tensor + self.eps))

    def backward(self, label_tensor):
        return -label_tensor / (self.prediction + self.eps)
