import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .Base import BaseLayer


class Pooling(BaseLayer):
    """2-D max pooling without padding: output size (size - pool) // stride + 1."""

    def __init__(self, stride_shape, pooling_shape):
        super().__init__()
        self.stride_shape = tuple(np.broadcast_to(stride_shape, 2).tolist())
        self.pooling_shape = tuple(pooling_shape)

    def forward(self, input_tensor):
        stride_y, stride_x = self.stride_shape
        pool_y, pool_x = self.pooling_shape
        b, c, height, width = input_tensor.shape

        windows = sliding_window_view(input_tensor, self.pooling_shape, axis=(2, 3))
        windows = windows[:, :, ::stride_y, ::stride_x]  # (b, c, oy, ox, pool_y, pool_x)
        out_y, out_x = windows.shape[2:4]
        # window entries first: the loop below then compares whole contiguous images
        windows = windows.transpose(4, 5, 0, 1, 2, 3).reshape(pool_y * pool_x, b, c, out_y, out_x)

        # The (first) maximum of every window: entry (0, 0) is the first candidate, then each
        # further entry (i, j) in row-major order challenges it (argmax across the leading axis
        # would do, but is slow). Entry (i, j) lies i * width + j after the window's top-left
        # pixel in the flat input.
        entries = list(np.ndindex(pool_y, pool_x))
        maximum, offset = windows[0], 0
        for position, (i, j) in enumerate(entries[1:], start=1):
            larger = windows[position] > maximum  # strictly: a tie keeps the first, as argmax
            # Entries come in row-major order, each further on than the one before, so the
            # offset of the last larger entry is the largest (np.where(larger, ...) is slower).
            offset = np.maximum(offset, larger * (i * width + j))
            maximum = np.maximum(maximum, windows[position])  # NaN stays NaN, as in max()

        # flat index into the input of every window's maximum
        row = np.arange(out_y)[:, None] * stride_y
        col = np.arange(out_x) * stride_x
        channel = np.arange(b * c).reshape(b, c, 1, 1)
        self._argmax = (channel * height + row) * width + col + offset
        self._input_shape = input_tensor.shape

        return maximum

    def backward(self, error_tensor):
        # each error goes to its window's maximum; bincount sums where overlapping windows share one
        gradient = np.bincount(
            self._argmax.ravel(),
            weights=error_tensor.ravel(),
            minlength=np.prod(self._input_shape),
        )
        return gradient.reshape(self._input_shape)
