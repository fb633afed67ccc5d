"""The derivations behind the backward pass, for the scenario's own loss and activations, in the seeds'
style: the general rule, the chain rule step by step, the scenario's numbers substituted, what the result
means. Every number comes from the trace; every worked line is checked like any other."""

from __future__ import annotations


import numpy as np

from nnworked import worked
from nnworked.engine.backend import rows
from nnworked.engine.activations import ACTIVATIONS
from nnworked.render.forward import ForwardWriter
from nnworked.render.blocks import Block, Heading, Math, Para, Rule
from nnworked.render.lines import line
from nnworked.render.numbers import fmt
from nnworked.trace import LayerGradient, OutputDelta, ThroughActivation, Trace


def derivations(trace: Trace, w: ForwardWriter) -> list[Block]:
    step = trace.steps[0]
    if step.loss is None:
        return []
    out: list[Block] = [Rule(), Heading(2, "Derivations")]
    output = next(s for s in step.backward if isinstance(s, OutputDelta))
    rule = trace.scenario.loss.rule  # type: ignore[union-attr]
    if output.delta.ndim == 3:
        out += rule.derivation(*_with_w(_as_rows(trace, output), w))
    else:
        out += rule.derivation(trace, w, output)
    if rule.shortcut is None and not ACTIVATIONS[output.activation].identity:  # δ goes through f′ as well
        out += _output_activation(trace, w, output)
    seen = set()
    for s in step.backward:
        if isinstance(s, ThroughActivation) and s.activation not in seen:
            seen.add(s.activation)
            out += _hidden(trace, w, s)
    out += _chain(trace, w)
    from nnworked.render.attentionderivations import attention_derivations
    from nnworked.render.imagederivations import image_derivations
    from nnworked.render.normderivations import norm_derivations
    from nnworked.render.recurrentderivations import recurrent_derivations

    return (out + image_derivations(trace, w) + recurrent_derivations(trace, w) + norm_derivations(trace, w)
            + attention_derivations(trace, w))


def _as_rows(trace: Trace, output: OutputDelta) -> tuple[Trace, OutputDelta]:
    """A sequence's loss with one row per example and position, as the loss takes it: a loss rule derives
    its gradient on the first row, with the batch's count of rows (examples × positions)."""
    step = trace.steps[0]
    loss = step.loss
    assert loss is not None
    flat = loss._replace(yhat=rows(loss.yhat), y=rows(loss.y), per_example=loss.per_example.reshape(-1))
    output = output._replace(**{key: rows(value) for key, value in output._asdict().items()
                                if isinstance(value, np.ndarray)})
    return trace._replace(steps=(step._replace(loss=flat), *trace.steps[1:])), output


def _with_w(pair: tuple, w: ForwardWriter) -> tuple:
    return pair[0], w, pair[1]


def meaning(value: float, p, symbol: str) -> str:  # noqa: ANN001
    if value > 0:
        return (f"{symbol} = {fmt(value, p)} is positive: the prediction is too high. The update subtracts "
                "η × gradient, so the weights that raised it are reduced, which reduces the prediction.")
    if value < 0:
        return (f"{symbol} = {fmt(value, p)} is negative: the prediction is too low. Subtracting a negative "
                "gradient adds, so the weights that raise it grow, and so does the prediction.")
    return f"{symbol} = 0: the prediction is exactly right here, and nothing changes."


def _output_activation(trace: Trace, w: ForwardWriter, output: OutputDelta) -> list[Block]:
    p, n = trace.precision, w.n
    act = ACTIVATIONS[output.activation]
    return [Heading(3, f"Through the output's {act.label}"),
            Para(f"With squared error there is no shortcut: δ = ∂L/∂ŷ × {act.derivative_formula.split(' = ')[0]}, "
                 f"both worked in the backward pass above ({n.delta(n.layers)} = "
                 f"{fmt(output.dl_dyhat[0, 0], p)} × {fmt(output.dyhat_dz[0, 0], p) if output.dyhat_dz is not None else '…'}"
                 f" = {fmt(output.delta[0, 0], p)}).")]


def _hidden(trace: Trace, w: ForwardWriter, s: ThroughActivation) -> list[Block]:
    p, n = trace.precision, w.n
    act = ACTIVATIONS[s.activation]
    z, a = float(s.z.flat[0]), float(s.a.flat[0])  # the first element (of an image too)
    out: list[Block] = [Heading(3, f"The derivative of {act.label} in layer {s.layer}"),
                        Math(act.derivation_lines(p, s.slope))]
    if not act.elementwise:  # a Jacobian: its numbers are in the backward pass
        return out
    derivative, reason = act.derivative_expr(z, a, s.slope)  # type: ignore[attr-defined]
    first = (0,) * (s.z.ndim - 1) if s.z.ndim > 2 else 0
    return out + [Para(f"Here {n.element(n.z(s.layer), 0, first, s.z.shape[1])} = {fmt(z, p)}:"),
                  Math(line(f"{act.symbol or 'f'}′({fmt(z, p)})", derivative, p, w.s.width,
                            suffix=f"   ({reason})" if act.piecewise else ""))]


def _chain(trace: Trace, w: ForwardWriter) -> list[Block]:
    """∂L/∂W₁[0,0] as the chain rule writes it, with the numbers of the first example."""
    p, n = trace.precision, w.n
    first = next((s for s in trace.steps[0].backward if isinstance(s, LayerGradient) and s.layer == 1), None)
    if first is None or first.delta.shape[0] != 1:  # image layers: their derivations follow
        return []
    path = " × ".join([f"∂L/∂{n.a(n.layers)}"] + [f"∂{n.a(k)}/∂{n.z(k)} × ∂{n.z(k)}/∂{n.a(k - 1)}"
                                                   for k in range(n.layers, 1, -1)] + [f"∂{n.a(1)}/∂{n.z(1)}"])
    return [Heading(3, "The chain rule, end to end"),
            Para(f"A weight's gradient is the product of the local derivatives on the way from L back to it. "
                 f"{n.W(1)}[0,0] only touches {n.z(1)}[0], and ∂{n.z(1)}[0]/∂{n.W(1)}[0,0] = {n.a(0)}[0]:"),
            Math([f"∂L/∂{n.W(1)}[0,0] = ({path}) × ∂{n.z(1)}/∂{n.W(1)}   (summed over every path)",
                  f"             = {n.delta(1)}[0] × {n.a(0)}[0]", *line(
                      f"∂L/∂{n.W(1)}[0,0]", worked.product(first.delta[0, 0], first.inputs[0, 0]), p, w.s.width)])]
