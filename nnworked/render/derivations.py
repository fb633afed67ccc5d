"""The derivations behind the backward pass, for the scenario's own loss and activations, in the seeds'
style: the general rule, the chain rule step by step, the scenario's numbers substituted, what the result
means. Every number comes from the trace; every worked line is checked like any other."""

from __future__ import annotations


from nnworked import worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.expr import num, op
from nnworked.render.backward import BackwardWriter
from nnworked.render.blocks import Block, Heading, Math, Para, Rule
from nnworked.render.lines import line
from nnworked.render.numbers import fmt
from nnworked.trace import LayerGradient, OutputDelta, ThroughActivation, Trace


def derivations(trace: Trace, w: BackwardWriter) -> list[Block]:
    step = trace.steps[0]
    if step.loss is None:
        return []
    out: list[Block] = [Rule(), Heading(2, "Derivations")]
    output = next(s for s in step.backward if isinstance(s, OutputDelta))
    name = trace.scenario.loss.name  # type: ignore[union-attr]
    if name == "mse":
        out += _mse(trace, w, output)
    elif name == "binary_cross_entropy":
        out += _bce(trace, w, output)
    else:
        out += _cross_entropy(trace, w, output)
    if name == "mse" and output.activation != "linear":
        out += _output_activation(trace, w, output)
    seen = set()
    for s in step.backward:
        if isinstance(s, ThroughActivation) and s.activation not in seen:
            seen.add(s.activation)
            out += _hidden(trace, w, s)
    out += _chain(trace, w)
    return out


def _meaning(value: float, p, symbol: str) -> str:  # noqa: ANN001
    if value > 0:
        return (f"{symbol} = {fmt(value, p)} is positive: the prediction is too high. The update subtracts "
                "η × gradient, so the weights that raised it are reduced, which reduces the prediction.")
    if value < 0:
        return (f"{symbol} = {fmt(value, p)} is negative: the prediction is too low. Subtracting a negative "
                "gradient adds, so the weights that raise it grow, and so does the prediction.")
    return f"{symbol} = 0: the prediction is exactly right here, and nothing changes."


def _mse(trace: Trace, w: BackwardWriter, output: OutputDelta) -> list[Block]:
    p, n = trace.precision, w.n
    spec = trace.scenario.loss
    assert spec is not None
    yhat, y = trace.steps[0].loss.yhat, trace.steps[0].loss.y  # type: ignore[union-attr]
    e, i = 0, 0
    examples, units = yhat.shape
    g = n.a(n.layers)
    lines = ["Let error = ŷ − y, so that L = error².",
             "",
             "Chain rule:   ∂L/∂ŷ = ∂L/∂error × ∂error/∂ŷ",
             "Part 1:       ∂L/∂error = 2 × error            (the derivative of a square)",
             "Part 2:       ∂error/∂ŷ = ∂ŷ/∂ŷ − ∂y/∂ŷ = 1 − 0 = 1",
             "              (y is the target, a constant: changing the prediction does not change it)",
             "Combined:     ∂L/∂ŷ = 2 × error × 1 = 2 × (ŷ − y)",
             "",
             "(Written as (y − ŷ)², the same loss: then ∂error/∂ŷ = −1, and 2 × (y − ŷ) × (−1) = 2 × (ŷ − y) "
             "again; the −1 is what points the gradient the right way.)"]
    out: list[Block] = [Heading(3, f"Where ∂L/∂{g} = 2 × (ŷ − y) comes from"), Math(lines),
                        Para("With this scenario's numbers:")]
    raw = op("mul", num(2, True), op("sub", num(yhat[e, i]), num(y[e, i], True)))
    worked_lines = line(f"2 × ({n.element(g, e, i, units)} − y)", raw, p, w.s.width)
    factor = spec.factor(examples, units)
    if factor != 1:
        worked_lines.append(f"× {fmt(factor, p)} for the scale and the mean (÷ {examples * (units if spec.outputs == 'mean' else 1)}) "
                            f"gives ∂L/∂{n.element(g, e, i, units)} = {fmt(output.dl_dyhat[e, i], p)}")
    out.append(Math(worked_lines))
    out.append(Para(_meaning(float(output.dl_dyhat[e, i]), p, f"∂L/∂{n.element(g, e, i, units)}")))
    half = spec.scale == 0.5
    two = float(2 * (yhat[e, i] - y[e, i]))
    out.append(Heading(3, "The factor of 2, and what ½ changes"))
    out.append(Para(
        ("This scenario uses L = ½(ŷ − y)² (scale 0.5): the ½ cancels the 2 from the square, so "
         f"∂L/∂ŷ = ŷ − y = {fmt(two / 2, p)}. Without the ½ every gradient would double, to {fmt(two, p)} here, "
         "and a learning rate half as large would give the same steps.") if half else
        ("Many texts use L = ½(ŷ − y)² instead: the ½ cancels the 2, giving ∂L/∂ŷ = ŷ − y = "
         f"{fmt(two / 2, p)} here instead of {fmt(two, p)}. Every gradient halves, which a learning rate twice as "
         "large undoes, so both conventions train the same network.")))
    return out


def _sigmoid_lines(p, z: float, a: float) -> list[str]:  # noqa: ANN001
    return ["σ(z) = 1 / (1 + e^(−z)) = (1 + e^(−z))^(−1)",
            "σ′(z) = −(1 + e^(−z))^(−2) × (−e^(−z)) = e^(−z) / (1 + e^(−z))²    (chain rule: outer × inner)",
            "      = [1 / (1 + e^(−z))] × [e^(−z) / (1 + e^(−z))] = σ(z) × (1 − σ(z))",
            "        since 1 − σ(z) = (1 + e^(−z) − 1) / (1 + e^(−z)) = e^(−z) / (1 + e^(−z))"]


def _bce(trace: Trace, w: BackwardWriter, output: OutputDelta) -> list[Block]:
    p, n = trace.precision, w.n
    loss = trace.steps[0].loss
    assert loss is not None
    e, i = 0, 0
    yhat, y = float(loss.yhat[e, i]), float(loss.y[e, i])
    z = float(trace.steps[0].forward.linear[-1].z[e, i])
    units = loss.yhat.shape[1]
    g = n.element(n.a(n.layers), e, i, units)
    out: list[Block] = [Heading(3, "Where ∂L/∂ŷ comes from"), Math([
        "L = −[y·ln(ŷ) + (1 − y)·ln(1 − ŷ)]",
        "d/dŷ [ln(ŷ)] = 1/ŷ;   d/dŷ [ln(1 − ŷ)] = 1/(1 − ŷ) × (−1)      (chain rule: the inside, 1 − ŷ, has slope −1)",
        "∂L/∂ŷ = −[y/ŷ − (1 − y)/(1 − ŷ)] = −y/ŷ + (1 − y)/(1 − ŷ)"]),
        Heading(3, "Where σ′(z) = σ(z)·(1 − σ(z)) comes from"), Math(_sigmoid_lines(p, z, yhat)),
        Para("With this scenario's numbers:"),
        Math(line(f"σ′({fmt(z, p)})", worked.derivative("sigmoid", z, yhat, 0.0)[0], p, w.s.width)),
        Heading(3, "Why δ = ŷ − y for a sigmoid with binary cross-entropy"),
        Math(["∂L/∂z = ∂L/∂ŷ × ∂ŷ/∂z = [−y/ŷ + (1 − y)/(1 − ŷ)] × ŷ(1 − ŷ)",
              "      = −y(1 − ŷ) + (1 − y)ŷ = −y + yŷ + ŷ − yŷ = ŷ − y"]),
        Para("With this scenario's numbers:")]
    out.append(Math(line(f"{n.delta(n.layers)} = {g} − y", worked.shortcut(loss.spec, yhat, y, *loss.yhat.shape),
                         p, w.s.width)))
    out.append(Para("The sigmoid's σ′ cancels against the loss's 1/(ŷ(1 − ŷ)): even where the sigmoid saturates "
                    "and σ′ is tiny, the gradient stays as large as the error. "
                    + _meaning(float(output.delta[e, i]), p, n.element(n.delta(n.layers), e, i, units))))
    return out


def _cross_entropy(trace: Trace, w: BackwardWriter, output: OutputDelta) -> list[Block]:
    p, n = trace.precision, w.n
    loss = trace.steps[0].loss
    assert loss is not None
    units = loss.yhat.shape[1]
    out: list[Block] = [Heading(3, "Why δ = ŷ − y for softmax with cross-entropy"), Math([
        "L = −Σₖ yₖ·ln(ŷₖ)                 so  ∂L/∂ŷₖ = −yₖ/ŷₖ",
        "ŷₖ = e^(zₖ) / Σᵢ e^(zᵢ)           so  ∂ŷₖ/∂zⱼ = ŷₖ·(1 − ŷₖ) if k = j,  −ŷₖ·ŷⱼ if k ≠ j",
        "                                        = ŷₖ·(1[k = j] − ŷⱼ)",
        "∂L/∂zⱼ = Σₖ ∂L/∂ŷₖ × ∂ŷₖ/∂zⱼ = Σₖ (−yₖ/ŷₖ) × ŷₖ·(1[k = j] − ŷⱼ)",
        "       = −yⱼ + ŷⱼ·Σₖ yₖ = ŷⱼ − yⱼ      (the targets sum to 1)"]),
        Para("With this scenario's numbers:")]
    lines = []
    for j in range(min(units, w.s.elements or units)):
        lines += line(f"{n.element(n.delta(n.layers), 0, j, units)} = {n.element(n.a(n.layers), 0, j, units)} − "
                      f"{n.element('y', 0, j, units)}",
                      worked.shortcut(loss.spec, float(loss.yhat[0, j]), float(loss.y[0, j]), *loss.yhat.shape),
                      p, w.s.width)
    out.append(Math(lines))
    out.append(Para("Every class gets a gradient: the true class (yⱼ = 1) a negative one that pushes its score up, "
                    "every other class a positive one, its own probability, that pushes its score down."))
    return out


def _output_activation(trace: Trace, w: BackwardWriter, output: OutputDelta) -> list[Block]:
    p, n = trace.precision, w.n
    act = ACTIVATIONS[output.activation]
    return [Heading(3, f"Through the output's {act.label}"),
            Para(f"With squared error there is no shortcut: δ = ∂L/∂ŷ × {act.derivative_formula.split(' = ')[0]}, "
                 f"both worked in the backward pass above ({n.delta(n.layers)} = "
                 f"{fmt(output.dl_dyhat[0, 0], p)} × {fmt(output.dyhat_dz[0, 0], p) if output.dyhat_dz is not None else '…'}"
                 f" = {fmt(output.delta[0, 0], p)}).")]


def _hidden(trace: Trace, w: BackwardWriter, s: ThroughActivation) -> list[Block]:
    p, n = trace.precision, w.n
    act = ACTIVATIONS[s.activation]
    z, a = float(s.z[0, 0]), float(s.a[0, 0])
    out: list[Block] = [Heading(3, f"The derivative of {act.label} in layer {s.layer}"),
                        Math(act.derivation_lines(p, s.slope))]
    if not act.elementwise:  # a Jacobian: its numbers are in the backward pass
        return out
    derivative, reason = act.derivative_expr(z, a, s.slope)  # type: ignore[attr-defined]
    return out + [Para(f"Here {n.element(n.z(s.layer), 0, 0, s.z.shape[1])} = {fmt(z, p)}:"),
                  Math(line(f"{act.symbol or 'f'}′({fmt(z, p)})", derivative, p, w.s.width,
                            suffix=f"   ({reason})" if act.piecewise else ""))]


def _chain(trace: Trace, w: BackwardWriter) -> list[Block]:
    """∂L/∂W₁[0,0] as the chain rule writes it, with the numbers of the first example."""
    p, n = trace.precision, w.n
    first = next(s for s in trace.steps[0].backward if isinstance(s, LayerGradient) and s.layer == 1)
    if first.delta.shape[0] != 1:
        return []
    path = " × ".join([f"∂L/∂{n.a(n.layers)}"] + [f"∂{n.a(k)}/∂{n.z(k)} × ∂{n.z(k)}/∂{n.a(k - 1)}"
                                                   for k in range(n.layers, 1, -1)] + [f"∂{n.a(1)}/∂{n.z(1)}"])
    return [Heading(3, "The chain rule, end to end"),
            Para(f"A weight's gradient is the product of the local derivatives on the way from L back to it. "
                 f"{n.W(1)}[0,0] only touches {n.z(1)}[0], and ∂{n.z(1)}[0]/∂{n.W(1)}[0,0] = {n.a(0)}[0]:"),
            Math([f"∂L/∂{n.W(1)}[0,0] = ({path}) × ∂{n.z(1)}/∂{n.W(1)}   (summed over every path)",
                  f"             = {n.delta(1)}[0] × {n.a(0)}[0]", *line(
                      f"∂L/∂{n.W(1)}[0,0]", worked.product(first.delta[0, 0], first.inputs[0, 0]), p, w.s.width)])]
