"""`--detail brief`: each layer's results, without the element-by-element working."""

from __future__ import annotations

from nnworked.engine.activations import ACTIVATIONS
from nnworked.render.backward import BackwardWriter
from nnworked.render.blocks import Block, Heading, Math, Rule
from nnworked.render.numbers import fmt
from nnworked.trace import BackToPrevious, LayerGradient, OutputDelta, ThroughActivation, TrainingStep


def forward(step: TrainingStep, w: BackwardWriter) -> list[Block]:
    n, lines = w.n, []
    for lin, act in zip(step.forward.linear, step.forward.activate):
        k = lin.layer
        bias = f" + {n.b(k)}" if lin.bias is not None else ""
        lines += _named(f"{n.z(k)} = {n.W(k)} · {n.a(k - 1)}{bias}", lin.z, w, "z", k)
        label = ACTIVATIONS[act.activation].symbol or "f"
        if not ACTIVATIONS[act.activation].identity:
            lines += _named(f"{n.a(k)} = {label}({n.z(k)})", act.a, w, "a", k)
    return [Rule(), Heading(2, "Forward Pass"), Math(lines)]


def _named(lhs: str, values, w: BackwardWriter, kind: str, k: int) -> list[str]:  # noqa: ANN001
    shown = w.array(lhs, values, w.n.keys(kind, k) if kind else None)
    return shown


def backward(step: TrainingStep, w: BackwardWriter) -> list[Block]:
    n, lines = w.n, []
    assert step.loss is not None
    for s in step.backward:
        if isinstance(s, OutputDelta):
            lines += _named(f"{n.delta(s.layer)} = ∂L/∂{n.z(s.layer)}", s.delta, w, "dz", s.layer)
        elif isinstance(s, LayerGradient):
            k = s.layer  # each value named as a sheet asks for it (dW2[0,1], db2[0]), so a blank stays blank

            def weight(r: int, c: int, k: int = k) -> str:
                return n.wkey("dW", k, r, c)
            grid = w.array(f"∂L/∂{n.W(k)}", s.weights_grad, weight) if s.weights_grad.shape[0] == 1 else \
                [f"∂L/∂{n.W(k)} ="] + ["    " + l for l in _matrix(s.weights_grad, w, weight)]
            lines += grid
            if s.bias_grad is not None:
                lines += w.array(f"∂L/∂{n.b(k)}", s.bias_grad[None, :], lambda _, i, k=k: n.wkey("db", k, i))
        elif isinstance(s, BackToPrevious):
            lines += _named(f"∂L/∂{n.a(s.layer - 1)} = {n.W(s.layer)}ᵀ · {n.delta(s.layer)}", s.upstream, w, "da",
                            s.layer - 1)
        elif isinstance(s, ThroughActivation):
            label = ACTIVATIONS[s.activation].symbol or "f"
            lines += _named(f"{n.delta(s.layer)} = ∂L/∂{n.a(s.layer)} ⊙ {label}′({n.z(s.layer)})", s.delta, w, "dz",
                            s.layer)
    return [Rule(), Heading(2, "Loss"), Math([f"L = {fmt(step.loss.value, w.p, label=w.n.loss_key())}"]),
            Rule(), Heading(2, "Backward Pass"), Math(lines)]


def _matrix(values, w: BackwardWriter, labels) -> list[str]:  # noqa: ANN001
    from nnworked.render.numbers import matrix_lines

    return matrix_lines(values, w.p, limit=w.s.elements, labels=labels)
