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
        # window positions first: the reductions below then run over whole contiguous images
        windows = windows.transpose(4, 5, 0, 1, 2, 3).reshape(pool_y * pool_x, b, c, out_y, out_x)
        maximum = windows.max(axis=0)

        # Position of the (first) maximum inside its window. windows.argmax(axis=0) would do, but
        # argmax across a leading axis is slow: instead rank the positions holding the maximum by
        # how early they come and take the best. Testing "not <" rather than "==" gives a window
        # whose maximum is NaN a position inside it too.
        positions = pool_y * pool_x
        earliness = np.arange(positions, 0, -1).reshape(positions, 1, 1, 1, 1)
        offset = positions - (~(windows < maximum) * earliness).max(axis=0)

        # flat index into the input of every window's maximum
        row = np.arange(out_y)[:, None] * stride_y + offset // pool_x
        col = np.arange(out_x) * stride_x + offset % pool_x
        channel = np.arange(b * c).reshape(b, c, 1, 1)
        self._argmax = (channel * height + row) * width + col
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
