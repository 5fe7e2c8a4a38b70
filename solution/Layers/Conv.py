import copy
import functools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .Base import BaseLayer


def _same_padding(kernel_size):
    # "same": the output has the input's size; an even kernel pads one more after than before
    return (kernel_size - 1) // 2, kernel_size // 2


def _im2col(padded, kernel_shape, stride):
    """Windows of padded (b, c, Y, X) at the strided positions, as columns of a matrix.

    Returns (c * m * n, b * oy * ox): one row per kernel tap, one column per output pixel.
    """
    windows = sliding_window_view(padded, kernel_shape, axis=(2, 3))  # (b, c, Y', X', m, n)
    windows = windows[:, :, :: stride[0], :: stride[1]]  # (b, c, oy, ox, m, n)
    b, c, oy, ox, m, n = windows.shape
    # tap-major: the copy reads whole image rows, much faster than one short window at a time
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * m * n, b * oy * ox)


@functools.lru_cache(maxsize=16)
def _col2im_index(padded_shape, kernel_shape, stride):
    """For every entry of im2col's matrix, the flat index of the padded pixel it was read from.

    Cached per shape: a training run builds it once per layer instead of once per step.
    """
    pixel_index = np.arange(math.prod(padded_shape)).reshape(padded_shape)
    read_from = _im2col(pixel_index, kernel_shape, stride).ravel()
    read_from.flags.writeable = False
    return read_from


class Conv(BaseLayer):
    """Cross-correlation with "same" zero padding, subsampled by the stride.

    1-D signals (b, c, y) are handled as images (b, c, y, 1) with kernels (c, m, 1).
    """

    def __init__(self, stride_shape, convolution_shape, num_kernels):
        super().__init__()
        self.trainable = True
        self.convolution_shape = tuple(convolution_shape)
        self.num_kernels = num_kernels
        self.is_1d = len(self.convolution_shape) == 2
        # an int or a one-element sequence means the same stride on every axis
        stride_y, *rest = np.atleast_1d(stride_shape).tolist()
        stride_x = rest[0] if rest else stride_y
        self.stride = (stride_y, 1) if self.is_1d else (stride_y, stride_x)

        self.weights = np.random.uniform(0, 1, (num_kernels, *self.convolution_shape))
        self.bias = np.random.uniform(0, 1, num_kernels)
        self.gradient_weights = None
        self.gradient_bias = None
        self._optimizer = None
        self._bias_optimizer = None

    @property
    def optimizer(self):
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer):
        # weights and bias each keep their own optimizer state (e.g. Adam's moments)
        self._optimizer = copy.deepcopy(optimizer)
        self._bias_optimizer = copy.deepcopy(optimizer)

    def initialize(self, weights_initializer, bias_initializer):
        channels, *kernel_size = self.convolution_shape
        fan_in = channels * math.prod(kernel_size)
        fan_out = self.num_kernels * math.prod(kernel_size)
        self.weights = weights_initializer.initialize(self.weights.shape, fan_in, fan_out)
        self.bias = bias_initializer.initialize((self.num_kernels,), fan_in, fan_out)

    def _kernels_2d(self):
        # (k, c, m, n); a 1-D kernel (k, c, m) becomes (k, c, m, 1)
        return self.weights[..., None] if self.is_1d else self.weights

    def forward(self, input_tensor):
        images = input_tensor[..., None] if self.is_1d else input_tensor
        kernels = self._kernels_2d()
        k, _, m, n = kernels.shape
        b, _, height, width = images.shape

        padded = np.pad(images, ((0, 0), (0, 0), _same_padding(m), _same_padding(n)))
        cols = _im2col(padded, (m, n), self.stride)  # (c*m*n, b*oy*ox)
        out_y, out_x = math.ceil(height / self.stride[0]), math.ceil(width / self.stride[1])

        # out[k, p] = sum over taps of w[k, tap] * cols[tap, p] + bias[k]
        out = kernels.reshape(k, -1) @ cols + self.bias[:, None]
        out = out.reshape(k, b, out_y, out_x).transpose(1, 0, 2, 3)

        self._cols = cols
        self._image_shape, self._padded_shape = images.shape, padded.shape
        return out[..., 0] if self.is_1d else out

    def backward(self, error_tensor):
        errors = error_tensor[..., None] if self.is_1d else error_tensor  # (b, k, oy, ox)
        kernels = self._kernels_2d()
        k, c, m, n = kernels.shape
        height, width = self._image_shape[2:]

        # dL/dw[k, tap] = sum over output pixels p of error[k, p] * cols[tap, p]
        error_rows = errors.transpose(1, 0, 2, 3).reshape(k, -1)  # (k, b*oy*ox)
        gradient_kernels = (error_rows @ self._cols.T).reshape(k, c, m, n)
        self.gradient_weights = gradient_kernels[..., 0] if self.is_1d else gradient_kernels
        self.gradient_bias = errors.sum(axis=(0, 2, 3))

        # dL/dcols[tap, p] = sum over kernels k of w[k, tap] * error[k, p]; then col2im, the
        # adjoint of im2col: add every entry back onto the padded pixel it was read from.
        gradient_cols = kernels.reshape(k, -1).T @ error_rows  # (c*m*n, b*oy*ox)
        read_from = _col2im_index(self._padded_shape, (m, n), self.stride)
        gradient_padded = np.bincount(
            read_from, weights=gradient_cols.ravel(), minlength=math.prod(self._padded_shape)
        ).reshape(self._padded_shape)
        top, left = _same_padding(m)[0], _same_padding(n)[0]
        gradient_input = gradient_padded[:, :, top : top + height, left : left + width]

        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self.gradient_weights)
            self.bias = self._bias_optimizer.calculate_update(self.bias, self.gradient_bias)
        return gradient_input[..., 0] if self.is_1d else gradient_input
