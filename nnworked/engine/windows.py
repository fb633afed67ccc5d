"""Windows over images, for convolution and pooling: zero padding, the patch under each position of a
kernel, and the output size. Arrays are (examples, channels, rows, cols), as PyTorch lays them out."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def out_size(size: int, window: int, stride: int, padding: int = 0) -> int:
    """How many positions a window takes along one side: ⌊(size + 2·padding − window) / stride⌋ + 1."""
    return (size + 2 * padding - window) // stride + 1


def pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Zeros on every side of each image."""
    if not padding:
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def patches(x: np.ndarray, rows: int, cols: int, stride: int) -> np.ndarray:
    """(examples, channels, out rows, out cols, rows, cols): the patch of `x` under each position."""
    view = sliding_window_view(x, (rows, cols), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def dilate(x: np.ndarray, stride: int) -> np.ndarray:
    """stride − 1 zeros between neighbouring elements: where a strided output came from, position by
    position, so that its gradient is a plain (stride 1) correlation."""
    if stride == 1:
        return x
    n, c, h, w = x.shape
    out = np.zeros((n, c, (h - 1) * stride + 1, (w - 1) * stride + 1))
    out[:, :, ::stride, ::stride] = x
    return out
