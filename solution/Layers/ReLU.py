from .Base import BaseLayer


class ReLU(BaseLayer):
    def forward(self, input_tensor):
        self.positive = input_tensor > 0
        return input_tensor * self.positive

    def backward(self, error_tensor):
        return error_tensor * self.positive
