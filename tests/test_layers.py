"""conv2d, max_pool, avg_pool and flatten: every operation against an independent reference written here
with plain loops (one output element at a time, as the definitions read), the whole chain against central
finite differences (and PyTorch where it is installed), and the carried values against the workings that
the walkthrough prints. Shapes, strides, paddings, channels and batches are drawn at random."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnworked import gradcheck
from nnworked.engine.losses import LossSpec
from nnworked.engine.network import solve
from nnworked.engine.rounding import Precision
from nnworked.errors import ScenarioError
from nnworked.quantities import table
from nnworked.scenario import ConvLayer, FlattenLayer, Layer, PoolLayer, Scenario, from_document
from nnworked.trace import ConvBackToPrevious, Convolve, KernelGradient, Pool, PoolBack
from nnworked.worked import value
from nnworked.yamlsource import load_text

SETTINGS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# ---- the independent reference: one element at a time ---------------------------------------------------

def ref_conv(x: np.ndarray, kernels: np.ndarray, bias: np.ndarray | None, stride: int, padding: int) -> np.ndarray:
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = kernels.shape
    rows, cols = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, c_out, rows, cols))
    for e in range(n):
        for o in range(c_out):
            for i in range(rows):
                for j in range(cols):
                    total = 0.0 if bias is None else bias[o]
                    for c in range(c_in):
                        for p in range(kh):
                            for q in range(kw):
                                y, xx = i * stride + p - padding, j * stride + q - padding
                                if 0 <= y < h and 0 <= xx < w:
                                    total += kernels[o, c, p, q] * x[e, c, y, xx]
                    out[e, o, i, j] = total
    return out


def ref_conv_backward(x: np.ndarray, kernels: np.ndarray, delta: np.ndarray, stride: int,
                      padding: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """∂L/∂K, ∂L/∂b and ∂L/∂x by the chain rule, summing each product where the forward pass made it."""
    dk, dx = np.zeros_like(kernels), np.zeros_like(x)
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = kernels.shape
    for e, o, i, j in np.ndindex(*delta.shape):
        for c, p, q in np.ndindex(c_in, kh, kw):
            y, xx = i * stride + p - padding, j * stride + q - padding
            if 0 <= y < h and 0 <= xx < w:
                dk[o, c, p, q] += delta[e, o, i, j] * x[e, c, y, xx]
                dx[e, c, y, xx] += delta[e, o, i, j] * kernels[o, c, p, q]
    return dk, delta.sum(axis=(0, 2, 3)), dx


def ref_pool(x: np.ndarray, size: int, stride: int, kind: str) -> tuple[np.ndarray, list]:
    n, c, h, w = x.shape
    rows, cols = (h - size) // stride + 1, (w - size) // stride + 1
    out, sources = np.zeros((n, c, rows, cols)), []
    for e, ch, i, j in np.ndindex(n, c, rows, cols):
        window = [(i * stride + p, j * stride + q) for p in range(size) for q in range(size)]
        values = [x[e, ch, y, xx] for y, xx in window]
        if kind == "max_pool":
            best = max(range(len(values)), key=lambda t: (values[t], -t))  # the first maximum
            out[e, ch, i, j] = values[best]
            sources.append(((e, ch, i, j), [((e, ch, *window[best]), 1.0)]))
        else:
            out[e, ch, i, j] = sum(values) / len(values)
            sources.append(((e, ch, i, j), [((e, ch, *yx), 1.0 / len(values)) for yx in window]))
    return out, sources


def ref_pool_backward(shape: tuple[int, ...], sources: list, gradient: np.ndarray) -> np.ndarray:
    out = np.zeros(shape)
    for index, parts in sources:
        for where, weight in parts:
            out[where] += weight * gradient[index]
    return out


# ---- random image networks -------------------------------------------------------------------------------

values = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


def array(draw: st.DrawFn, shape: tuple[int, ...]) -> np.ndarray:
    return np.array(draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))).reshape(shape)


@st.composite
def image_networks(draw: st.DrawFn) -> Scenario:
    examples, channels = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    height, width = draw(st.integers(3, 6)), draw(st.integers(3, 6))
    out_c, rows, cols = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 1))
    kernels = array(draw, (out_c, channels, rows, cols))
    bias = array(draw, (out_c,)) if draw(st.booleans()) else None
    conv_h, conv_w = (height + 2 * padding - rows) // stride + 1, (width + 2 * padding - cols) // stride + 1
    layers: list = [ConvLayer(kernels, bias, stride, padding, draw(st.sampled_from(["tanh", "sigmoid", "linear"])))]
    if min(conv_h, conv_w) >= 2 and draw(st.booleans()):
        size = draw(st.integers(1, 2))
        pool_stride = draw(st.integers(1, 2))
        layers.append(PoolLayer(draw(st.sampled_from(["max_pool", "avg_pool"])), size, pool_stride))
        conv_h, conv_w = (conv_h - size) // pool_stride + 1, (conv_w - size) // pool_stride + 1
    layers.append(FlattenLayer())
    outputs = draw(st.integers(1, 3))
    features = out_c * conv_h * conv_w
    layers.append(Layer(array(draw, (outputs, features)), array(draw, (outputs,)), "linear"))
    inputs = array(draw, (examples, channels, height, width))
    return Scenario("random image network", "test", inputs=inputs, targets=array(draw, (examples, outputs)),
                    layers=tuple(layers), loss=LossSpec("mse"), learning_rate=0.1)


@SETTINGS
@given(image_networks())
def test_each_image_operation_is_the_reference_forward_and_backward(s: Scenario) -> None:
    step = solve(s).steps[0]
    for record in step.forward.operations:
        if isinstance(record, Convolve):
            assert np.allclose(record.z, ref_conv(record.inputs, record.kernels, record.bias, record.stride,
                                                  record.padding), rtol=1e-12, atol=1e-12)
        if isinstance(record, Pool):
            assert np.allclose(record.a, ref_pool(record.inputs, record.size, record.stride, record.kind)[0],
                               rtol=1e-12, atol=1e-12)
    pools = {r.layer: r for r in step.forward.operations if isinstance(r, Pool)}
    convs = {r.layer: r for r in step.forward.operations if isinstance(r, Convolve)}
    for record in step.backward:
        if isinstance(record, KernelGradient):
            conv = convs[record.layer]
            dk, db, _ = ref_conv_backward(conv.inputs, conv.kernels, record.delta, conv.stride, conv.padding)
            assert np.allclose(record.kernels_grad, dk, rtol=1e-12, atol=1e-12)
            if record.bias_grad is not None:
                assert np.allclose(record.bias_grad, db, rtol=1e-12, atol=1e-12)
        if isinstance(record, ConvBackToPrevious):
            conv = convs[record.layer]
            _, _, dx = ref_conv_backward(conv.inputs, conv.kernels, record.delta, conv.stride, conv.padding)
            assert np.allclose(record.upstream, dx, rtol=1e-12, atol=1e-12)
        if isinstance(record, PoolBack):
            pool = pools[record.layer]
            _, sources = ref_pool(pool.inputs, pool.size, pool.stride, pool.kind)
            assert np.allclose(record.upstream, ref_pool_backward(pool.inputs.shape, sources, record.gradient),
                               rtol=1e-12, atol=1e-12)


@SETTINGS
@given(image_networks())
def test_every_gradient_of_an_image_network_agrees_with_finite_differences(s: Scenario) -> None:
    checks = gradcheck.finite_differences(s)
    assert {c.name for c in checks} >= {"K1", "z1", "W" + str(len(s.layers))}
    assert [c.name for c in checks if not c.ok] == []


@settings(max_examples=25, deadline=None, database=None)
@given(image_networks())
def test_every_parameter_gradient_of_an_image_network_is_pytorch_s(s: Scenario) -> None:
    pytest.importorskip("torch", reason="PyTorch is not installed: `pip install torch` to compare with autograd")
    checks = gradcheck.autograd(s)
    assert {c.name for c in checks} == set(solve(s).steps[0].gradients()) & {"K1", "b1", f"W{len(s.layers)}",
                                                                             f"b{len(s.layers)}"}
    assert [(c.name, c.worst_relative) for c in checks if not c.ok] == []


@settings(max_examples=30, deadline=None, database=None)
@given(image_networks(), st.integers(1, 4))
def test_every_carried_value_is_what_its_printed_working_gives(s: Scenario, places: int) -> None:
    """Under rounding: carry the engine computes over arrays; each value must be exactly its worked line's."""
    trace = solve(s._replace(rounding="carry", precision=places))
    quantities = table(trace)
    precision = Precision(places, True)
    wrong = {key: (quantities.values[key], value(quantities.expression(key), precision))
             for key in quantities.values if key[0] in "zad" or key.startswith("dK")}
    wrong = {key: pair for key, pair in wrong.items() if pair[0] != pair[1]}
    assert wrong == {}


# ---- what validate says ----------------------------------------------------------------------------------

CNN = """title: t
inputs: [[1, 2, 0], [0, 1, 3], [2, 1, 0]]
targets: [[1]]
layers:
  - type: conv2d
    kernels: [[[[1, 0], [0, -1]]]]
  - type: flatten
  - weights: [[0.1, 0.2, 0.3, 0.4]]
loss: mse
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as error:
        from_document(load_text(text, "cnn.yaml"))
    return [f"{p.line}:{p.column} {p.message}; expected {p.expected}; given {p.given}" for p in error.value.problems]


def test_a_valid_cnn_loads_with_its_shapes() -> None:
    s = from_document(load_text(CNN, "cnn.yaml"))
    assert s.inputs.shape == (1, 1, 3, 3) and [layer.type for layer in s.layers] == ["conv2d", "flatten", "dense"]


@pytest.mark.parametrize("change, expected", [
    (("[[[[1, 0], [0, -1]]]]", "[[[[1, 0], [0, -1]], [[1, 0], [0, -1]]]]"),
     "6:14 the kernels of layer 1 do not fit the inputs; expected 1 input channel per kernel (the second level); "
     "given 2"),
    (("[[[[1, 0], [0, -1]]]]", "[[[[1, 0, 1, 1], [0, -1, 1, 1]]]]"),
     "6:14 the kernels of layer 1 are larger than its padded input; expected at most 3×3; given 2×4"),
    (("  - type: flatten\n", ""),
     "7:5 layer 2 (dense) takes one vector per example from layer 1; expected a vector of features per example; "
     "given 1×2×2 per example"),
    (("[[0.1, 0.2, 0.3, 0.4]]", "[[0.1, 0.2, 0.3]]"),
     "8:14 the weights of layer 3 do not fit layer 2; expected 4 columns (one per input); given 3 columns (1×3)"),
    (("  - type: flatten\n  - weights: [[0.1, 0.2, 0.3, 0.4]]\n", ""),
     "3:10 the last layer's output is not a vector of outputs; expected a last layer with one number per output "
     "(flatten, then a dense layer); given 1×2×2 per example"),
    (("type: conv2d", "type: conv3d"),
     "5:11 unknown layer type; expected one of dense, conv2d, max_pool, avg_pool, flatten, dropout, batch_norm, "
     "layer_norm, residual"
     ", rnn, lstm, self_attention; given the text 'conv3d'"),
    (("  - type: flatten\n", "  - type: max_pool\n    size: 3\n"),
     "8:11 the window of layer 2 is larger than its input; expected at most 2; given 3"),
])
def test_a_shape_that_does_not_fit_is_reported_with_its_place(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in CNN
    assert problems(CNN.replace(old, new))[0] == expected


def test_a_broken_image_is_reported_once_and_nothing_is_checked_against_it() -> None:
    ragged = CNN.replace("inputs: [[1, 2, 0], [0, 1, 3], [2, 1, 0]]", "inputs: [[1, 2, 0], [0, 1], [2, 1, 0]]")
    assert problems(ragged) == ["2:9 the lists of the input images have different lengths; expected the same size "
                                "in every one; given 2, 3"]
