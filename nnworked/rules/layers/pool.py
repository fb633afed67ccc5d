"""Pooling layers: each window of each channel becomes one number, its maximum (max_pool) or its mean
(avg_pool). Backward: max pooling routes each window's gradient to the element that won it (the first
maximum, as PyTorch does); average pooling shares it evenly among the window's elements. Where windows
overlap (a stride below the size) an element's gradients from each of its windows add up."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from nnworked.engine.windows import out_size, patches
from nnworked.rules.layers.base import Backward, Finite, LayerRule
from nnworked.rules.layers.conv2d import parse_images
from nnworked.scenario import PoolLayer
from nnworked.trace import Pool, PoolBack


class Pooling(LayerRule):
    keys = ("size", "stride", "name")
    asks = "a"  # each window's max or mean

    def parse_inputs(self, check: Any, value: Any) -> np.ndarray | None:
        return parse_images(check, value)

    def parse(self, check, spec, path, k, shape, previous):  # noqa: ANN001, ANN201
        if "size" not in spec:
            check.add(path, f"layer {k} ({self.name}) has no window size", "size: 2 (a 2×2 window)", "none")
            return None
        size = check.integer(spec["size"], path + ("size",), "the window size", 1, 1000)
        if size is None:
            return None
        stride = check.integer(spec.get("stride", size), path + ("stride",), "the stride", 1, 1000) or size
        name = check.layer_name(spec.get("name"), path + ("name",))
        if shape is None:  # what arrives is unknown (reported where it is made)
            return PoolLayer(self.name, size, stride, name), None
        if len(shape) != 3:
            what = "×".join(map(str, shape)) + " per example" if shape else "unknown"
            check.add(path, f"layer {k} ({self.name}) takes images from {previous}",
                      "[channel][row][col] per example", what, "pooling comes after a conv2d layer")
            return None
        channels, height, width = shape
        if size > height or size > width:
            check.add(path + ("size",), f"the window of layer {k} is larger than its input",
                      f"at most {min(height, width)}", f"{size}",
                      f"layer {k} receives {channels}×{height}×{width} from {previous}")
            return None
        return PoolLayer(self.name, size, stride, name), (channels, out_size(height, size, stride),
                                                          out_size(width, size, stride))

    @abstractmethod
    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        """max_pool2d or avg_pool2d."""

    def describe(self, layer: Any) -> str:
        return f"{layer.size}×{layer.size} {self.name.split('_')[0]} pooling, stride {layer.stride}"

    def summary(self, layer: Any) -> str:
        return f"{self.name.split('_')[0]} pool {layer.size}×{layer.size}"

    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        return {}

    def forward(self, math, k, layer, params, inputs, given, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        windows = patches(inputs, layer.size, layer.size, layer.stride)
        flat = windows.reshape(windows.shape[:4] + (-1,))
        a, winners = self.pool(math, flat)
        return (Pool(k, self.name, layer.size, layer.stride, inputs, finite(a, f"a{k}"), winners),)

    def backward(self, math, k, layer, params, records, upstream, delta, finite: Finite) -> Backward:  # noqa: ANN001
        (pool,) = records
        if k == 1:
            return Backward((), {}, None)  # the inputs are data: nothing to pass back to
        shares = self.route(math, pool, upstream)  # (n, c, i, j, size·size): each window's element's share
        n, c, h, w = pool.inputs.shape
        size, stride = pool.size, pool.stride
        total = np.zeros((n, c, h, w))
        for index in np.ndindex(size, size):
            p, q = index
            rows, cols = shares.shape[2], shares.shape[3]
            total[:, :, p : p + stride * rows : stride, q : q + stride * cols : stride] += shares[..., p * size + q]
        downstream = math.accumulate(total, stride < size)
        record = PoolBack(k, self.name, size, stride, pool.winners, upstream, finite(downstream, f"∂L/∂a{k - 1}"))
        return Backward((record,), {}, downstream)

    def torch_script(self, k: int, layer: Any) -> str:
        return f"nn.{self.torch_module}({layer.size}, stride={layer.stride})"

    def from_torch(self, module: Any) -> dict[str, Any]:
        size, stride = module.kernel_size, module.stride
        size = size if isinstance(size, int) else size[0] if len(set(size)) == 1 else None
        stride = stride if isinstance(stride, int) else stride[0] if len(set(stride)) == 1 else None
        padding = module.padding if isinstance(module.padding, int) else max(module.padding)
        if size is None or stride is None or padding or module.ceil_mode or getattr(module, "dilation", 1) != 1 \
                or getattr(module, "count_include_pad", True) is False:
            raise ValueError(f"nnworked reads nn.{self.torch_module} with square windows, one stride, no padding, "
                             "no dilation and ceil_mode off")
        return {"type": self.name, "size": int(size), "stride": int(stride)}

    @abstractmethod
    def pool(self, math: Any, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Each window's value (windows on the last axis), and the winners where there are any."""

    @abstractmethod
    def route(self, math: Any, pool: Pool, gradient: np.ndarray) -> np.ndarray:
        """Each window element's share of the window's gradient (windows on the last axis)."""


class MaxPool(Pooling):
    name = "max_pool"
    torch_module = "MaxPool2d"

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        return torch.nn.functional.max_pool2d(inputs, layer.size, layer.stride)

    def pool(self, math: Any, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        winners = windows.argmax(axis=-1)  # the first maximum, as PyTorch routes ties
        return np.take_along_axis(windows, winners[..., None], axis=-1)[..., 0], winners

    def route(self, math: Any, pool: Pool, gradient: np.ndarray) -> np.ndarray:
        assert pool.winners is not None
        shares = np.zeros(gradient.shape + (pool.size * pool.size,))
        np.put_along_axis(shares, pool.winners[..., None], gradient[..., None], axis=-1)
        return shares


class AvgPool(Pooling):
    name = "avg_pool"
    torch_module = "AvgPool2d"

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        return torch.nn.functional.avg_pool2d(inputs, layer.size, layer.stride)

    def pool(self, math: Any, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return math.mean(windows), None

    def route(self, math: Any, pool: Pool, gradient: np.ndarray) -> np.ndarray:
        count = pool.size * pool.size
        return np.repeat(math.share(gradient, count)[..., None], count, axis=-1)
