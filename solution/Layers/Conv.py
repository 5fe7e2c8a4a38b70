import copy
import math

import numpy as np

from .Base import BaseLayer


def _same_padding(kernel_size):
    # "same": the output has the input's size; an even kernel pads one more after than before
    return (kernel_size - 1) // 2, kernel_size // 2


def _kernel_taps(kernel_shape, output_shape, stride):
    """(i, j, index) for each kernel tap: padded[index] is what tap (i, j) reads at every output
    position, from a padded input (c, Y, X, b).

    The window at output position (y, x) has its tap (i, j) on padded pixel
    (i + stride_y * y, j + stride_x * x): over all (y, x), one strided slice.
    """
    (m, n), (out_y, out_x), (stride_y, stride_x) = kernel_shape, output_shape, stride
    for i in range(m):
        for j in range(n):
            rows = slice(i, i + stride_y * out_y, stride_y)
            cols = slice(j, j + stride_x * out_x, stride_x)
            yield i, j, (slice(None), rows, cols)


def _im2col(padded, kernel_shape, output_shape, stride):
    """Windows of padded (c, Y, X, b) as a matrix (c * m * n, oy * ox * b).

    Row (channel, i, j) holds what tap (i, j) sees at every output position, so the
    correlation becomes one matrix product. A loop over the m * n taps, not over pixels:
    with the batch axis last, every tap copies long contiguous runs.
    """
    channels, *_, batch = padded.shape
    m, n = kernel_shape
    cols = np.empty((channels, m, n, *output_shape, batch))
    for i, j, seen_by_tap in _kernel_taps(kernel_shape, output_shape, stride):
        cols[:, i, j] = padded[seen_by_tap]
    return cols.reshape(channels * m * n, -1)


def _col2im(cols, padded_shape, kernel_shape, output_shape, stride):
    """The adjoint of _im2col: add every entry back onto the padded pixel it was read from.

    Windows overlap, so a pixel seen by several taps collects the sum of their entries.
    """
    channels, *_, batch = padded_shape
    m, n = kernel_shape
    cols = cols.reshape(channels, m, n, *output_shape, batch)
    padded = np.zeros(padded_shape)
    for i, j, seen_by_tap in _kernel_taps(kernel_shape, output_shape, stride):
        padded[seen_by_tap] += cols[:, i, j]
    return padded


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
        output_shape = (math.ceil(height / self.stride[0]), math.ceil(width / self.stride[1]))

        # (b, c, y, x) -> (c, y, x, b), zero-padded along y and x: the batch last makes every
        # kernel tap's slice in _im2col and _col2im long contiguous runs
        padding = ((0, 0), _same_padding(m), _same_padding(n), (0, 0))
        padded = np.pad(images.transpose(1, 2, 3, 0), padding)
        cols = _im2col(padded, (m, n), output_shape, self.stride)  # (c*m*n, oy*ox*b)

        # out[k, p] = sum over taps of w[k, tap] * cols[tap, p] + bias[k]
        out = kernels.reshape(k, -1) @ cols + self.bias[:, None]
        # (k, oy, ox, b) -> (b, k, oy, ox), copied: the layers after run faster on a plain array
        out = np.ascontiguousarray(out.reshape(k, *output_shape, b).transpose(3, 0, 1, 2))

        self._cols = cols
        self._image_shape, self._padded_shape = images.shape, padded.shape
        return out[..., 0] if self.is_1d else out

    def backward(self, error_tensor):
        errors = error_tensor[..., None] if self.is_1d else error_tensor  # (b, k, oy, ox)
        kernels = self._kernels_2d()
        k, c, m, n = kernels.shape
        height, width = self._image_shape[2:]
        output_shape = errors.shape[2:]

        # dL/dw[k, tap] = sum over output pixels p of error[k, p] * cols[tap, p]
        error_rows = errors.transpose(1, 2, 3, 0).reshape(k, -1)  # (k, oy*ox*b), as cols
        gradient_kernels = (self._cols @ error_rows.T).T.reshape(k, c, m, n)
        self.gradient_weights = gradient_kernels[..., 0] if self.is_1d else gradient_kernels
        self.gradient_bias = errors.sum(axis=(0, 2, 3))

        # dL/dcols[tap, p] = sum over kernels k of w[k, tap] * error[k, p]; col2im then sends
        # each entry back to the pixel it came from
        gradient_cols = kernels.reshape(k, -1).T @ error_rows  # (c*m*n, oy*ox*b)
        gradient_padded = _col2im(
            gradient_cols, self._padded_shape, (m, n), output_shape, self.stride
        )
        top, left = _same_padding(m)[0], _same_padding(n)[0]
        gradient_input = gradient_padded[:, top : top + height, left : left + width]
        gradient_input = gradient_input.transpose(3, 0, 1, 2)  # (c, y, x, b) -> (b, c, y, x)

        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self.gradient_weights)
            self.bias = self._bias_optimizer.calculate_update(self.bias, self.gradient_bias)
        return gradient_input[..., 0] if self.is_1d else gradient_input
