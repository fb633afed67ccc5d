"""A 2-D convolution layer: z = K ⋆ a + b (cross-correlation, as every framework computes it: the kernel
is not flipped), over zero-padded inputs at a stride, then a = f(z).

Backward: δ = ∂L/∂a ⊙ f′(z); ∂L/∂K is the correlation of the padded input with δ, summed over the batch;
∂L/∂b = Σ δ per output channel; ∂L/∂a_{k−1} is the full convolution of δ with the flipped kernel: δ
spread out by the stride, padded by the kernel size − 1, correlated with K turned 180°, then cropped by
the padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.engine.windows import dilate, out_size, pad
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers.activated import activate, through, with_activation
from nnworked.rules.layers.base import Backward, Finite, LayerRule
from nnworked.scenario import ConvLayer
from nnworked.trace import ConvBackToPrevious, Convolve, KernelGradient

IMAGES = "[example][channel][row][col]"


def parse_images(check: Any, value: Any) -> np.ndarray | None:
    """Images: a 2-D list is one example with one channel, a 3-D list one example with several channels,
    a 4-D list [example][channel][row][col]."""
    depth, node = 0, value
    while isinstance(node, list) and node:
        depth, node = depth + 1, node[0]
    if depth < 2 or depth > 4:
        check.add(("inputs",), "images must be 2 to 4 levels of lists", f"{IMAGES} (a 2-D list is one image)",
                  f"{depth} level{'s' if depth != 1 else ''}")
        return None
    levels = ["[example]", "[channel]", "[row]", "[col]"][4 - depth:]
    images = check.tensor(value, ("inputs",), "the input images", depth, "".join(levels))
    if images is None:
        return None
    return images.reshape((1,) * (4 - depth) + images.shape)


class Conv2d(LayerRule):
    name = "conv2d"
    activated = True
    torch_module = "Conv2d"

    def torch_script(self, k: int, layer: Any) -> str:
        out_c, in_c, rows, cols = layer.kernels.shape
        return (f"nn.Conv2d({in_c}, {out_c}, kernel_size=({rows}, {cols}), stride={layer.stride}, "
                f"padding={layer.padding}" + ("" if layer.bias is not None else ", bias=False") + ")")

    def torch_names(self, k: int) -> dict[str, str]:
        return {f"K{k}": "weight", f"b{k}": "bias"}

    def from_torch(self, module: Any) -> dict[str, Any]:
        stride, padding = module.stride, module.padding
        if len(set(stride)) != 1 or isinstance(padding, str) or len(set(padding)) != 1 or \
                module.dilation != (1, 1) or module.groups != 1 or module.padding_mode != "zeros":
            raise ValueError("nnworked reads nn.Conv2d with one stride and one zero padding for both sides, no "
                             "dilation and one group")
        layer = {"type": self.name, "kernels": module.weight.detach().cpu().double().numpy(),
                 "stride": int(stride[0]), "padding": int(padding[0])}
        if module.bias is not None:
            layer["bias"] = module.bias.detach().cpu().double().numpy()
        return layer
    keys = ("kernels", "bias", "stride", "padding", "activation", "name")

    def parse_inputs(self, check: Any, value: Any) -> np.ndarray | None:
        return parse_images(check, value)

    def parse(self, check, spec, path, k, shape, previous):  # noqa: ANN001, ANN201
        if "kernels" not in spec:
            check.add(path, f"layer {k} (conv2d) has no kernels", "kernels: [out channel][in channel][row][col]",
                      "none")
            return None
        kernels = check.tensor(spec["kernels"], path + ("kernels",), f"the kernels of layer {k}", 4,
                               "[out channel][in channel][row][col]")
        if kernels is None:
            return None
        stride = check.integer(spec.get("stride", 1), path + ("stride",), "the stride", 1, 1000) or 1
        padding = check.integer(spec.get("padding", 0), path + ("padding",), "the padding", 0, 1000)
        padding = padding or 0
        out_c, in_c, rows, cols = kernels.shape
        stated = self._rest(check, spec, path, k, out_c)
        if stated is None:
            return None
        bias, activation, slope, name = stated
        layer = ConvLayer(kernels, bias, stride, padding, activation, slope, name)
        if shape is None:  # what arrives is unknown (reported where it is made): nothing to check it against
            return layer, None
        if len(shape) != 3:
            what = "×".join(map(str, shape)) + " per example" if shape else "unknown"
            check.add(path, f"layer {k} (conv2d) takes images from {previous}",
                      f"{IMAGES} ({in_c} channel{'s' if in_c != 1 else ''})", what,
                      "a conv2d layer comes first (its inputs are images) or after another conv2d or pooling layer")
            return None
        channels, height, width = shape
        if channels != in_c:
            check.add(path + ("kernels",), f"the kernels of layer {k} do not fit {previous}",
                      f"{channels} input channel{'s' if channels != 1 else ''} per kernel (the second level)",
                      f"{in_c}", f"layer {k} receives {channels}×{height}×{width} from {previous}")
            return None
        if height + 2 * padding < rows or width + 2 * padding < cols:
            check.add(path + ("kernels",), f"the kernels of layer {k} are larger than its padded input",
                      f"at most {height + 2 * padding}×{width + 2 * padding}", f"{rows}×{cols}",
                      f"layer {k} receives {channels}×{height}×{width} from {previous}; add padding or use a "
                      "smaller kernel")
            return None
        return layer, (out_c, out_size(height, rows, stride, padding), out_size(width, cols, stride, padding))

    @staticmethod
    def _rest(check, spec, path, k, out_c):  # noqa: ANN001, ANN205
        """The bias, activation and name."""
        bias = check.sized_vector(spec["bias"], path + ("bias",), f"the bias of layer {k}", out_c, "its kernels",
                                  "one per output channel") if "bias" in spec else None
        activation, slope = check.activation(spec.get("activation", "linear"), path + ("activation",))
        return bias, activation or "linear", slope, check.layer_name(spec.get("name"), path + ("name",))

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        z = torch.nn.functional.conv2d(inputs, params[f"K{k}"], params.get(f"b{k}"), stride=layer.stride,
                                       padding=layer.padding)
        return ACTIVATIONS[layer.activation].torch_value(torch, z, layer.slope)

    def describe(self, layer: Any) -> str:
        out_c, in_c, rows, cols = layer.kernels.shape
        return (f"{out_c} kernel{'s' if out_c != 1 else ''} of {in_c}×{rows}×{cols}, stride {layer.stride}, "
                f"padding {layer.padding}{with_activation(layer)}" + ("" if layer.bias is not None else ", no bias"))

    def summary(self, layer: Any) -> str:
        out_c, _, rows, cols = layer.kernels.shape
        return f"conv {out_c}@{rows}×{cols}"

    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        params = {f"K{k}": layer.kernels}
        if layer.bias is not None:
            params[f"b{k}"] = layer.bias
        return params

    def forward(self, math, k, layer, params, inputs, given, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        kernels, bias = params[f"K{k}"], params.get(f"b{k}")
        z = finite(math.correlate(pad(inputs, layer.padding), kernels, bias, layer.stride), f"z{k}")
        return (Convolve(k, kernels, bias, inputs, z, layer.stride, layer.padding, given),
                activate(math, k, layer, z, finite))

    def backward(self, math, k, layer, params, records, upstream, delta, finite: Finite) -> Backward:  # noqa: ANN001
        conv, act = records
        out: list[Any] = []
        if delta is None:
            out.append(through(math, k, act, upstream, finite))
            delta = out[-1].delta
        padded = pad(conv.inputs, conv.padding)
        kernels_grad = finite(math.kernel_gradient(padded, delta, conv.kernels.shape, conv.stride), f"∂L/∂K{k}")
        bias_grad = math.channel_sum(delta) if conv.bias is not None else None
        out.append(KernelGradient(k, delta, conv.inputs, conv.stride, conv.padding, kernels_grad, bias_grad))
        gradients = {f"K{k}": kernels_grad, **({f"b{k}": bias_grad} if bias_grad is not None else {})}
        if k == 1:
            return Backward(tuple(out), gradients, None)
        downstream = finite(back_to_input(math, conv.kernels, delta, conv.inputs.shape, conv.stride, conv.padding),
                            f"∂L/∂a{k - 1}")
        out.append(ConvBackToPrevious(k, conv.kernels, delta, conv.stride, conv.padding, downstream))
        return Backward(tuple(out), gradients, downstream)


def input_terms(record: Any, unit: tuple[int, ...]) -> list[tuple[int, int, int, int, int]]:
    """The (o, i, j, p, q) of each δ[o, i, j] × K[o, c, p, q] in ∂L/∂a[c, y, x]: the outputs whose window
    covered (y, x), at the kernel position that joined them (the full convolution with the flipped kernel,
    read element by element; positions a stride skips or that fall outside the output take no part)."""
    c, y, x = unit
    out_c, _, rows, cols = record.kernels.shape
    out_rows, out_cols = record.delta.shape[2:]
    terms = []
    for o, dy, dx in np.ndindex(out_c, rows, cols):
        i, j = y + record.padding - dy, x + record.padding - dx
        if i % record.stride or j % record.stride:
            continue
        i, j = i // record.stride, j // record.stride
        if 0 <= i < out_rows and 0 <= j < out_cols:
            terms.append((o, i, j, dy, dx))
    return terms


def flipped(kernels: np.ndarray) -> np.ndarray:
    """K turned 180° in each channel pair, with its in and out channels swapped: (in, out, rows, cols)."""
    return kernels[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)


def spread(delta: np.ndarray, kernels: np.ndarray, stride: int) -> np.ndarray:
    """δ spread out by the stride and padded by the kernel size − 1: the full convolution's input."""
    rows, cols = kernels.shape[2:]
    spaced = dilate(delta, stride)
    return np.pad(spaced, ((0, 0), (0, 0), (rows - 1, rows - 1), (cols - 1, cols - 1)))


def back_to_input(math: Any, kernels: np.ndarray, delta: np.ndarray, shape: tuple[int, ...], stride: int,
                  padding: int) -> np.ndarray:
    """∂L/∂(input): the full convolution of δ with the flipped kernel, cropped to the input."""
    full = math.correlate(spread(delta, kernels, stride), flipped(kernels), None, 1)
    height, width = shape[2] + 2 * padding, shape[3] + 2 * padding  # rows a stride never reached get 0
    grown = np.zeros(full.shape[:2] + (height, width))
    grown[:, :, : full.shape[2], : full.shape[3]] = full[:, :, :height, :width]
    return grown[:, :, padding : height - padding, padding : width - padding]
