"""`--detail brief`: each layer's results, without the element-by-element working."""

from __future__ import annotations

from nnworked.engine.activations import ACTIVATIONS
from nnworked.render.forward import ForwardWriter
from nnworked.render.attention import AttentionResults
from nnworked.render.normalise import NormResults
from nnworked.render.blocks import Block, Heading, Math, Rule
from nnworked.render.numbers import fmt
from nnworked.render.page import dispatch, matrix_block
from nnworked.trace import (Activate, BackToPrevious, ConvBackToPrevious, Convolve, Flatten, KernelGradient,
                            LayerGradient, Linear, OutputDelta, Pool, PoolBack, ThroughActivation, TrainingStep,
                            Unflatten)


def forward(step: TrainingStep, w: ForwardWriter) -> list[Block]:
    lines: list[str] = []
    for operation in step.forward.operations:
        lines += dispatch((_Results(w), NormResults(w), AttentionResults(w)), operation)
    return [Rule(), Heading(2, "Forward Pass"), Math(lines)]


def _named(lhs: str, values, w: ForwardWriter, kind: str, k: int) -> list[str]:  # noqa: ANN001
    labels = w.n.keys(kind, k) if kind else None
    if values.ndim > 2:  # images: the rule on its own line, then each channel's matrix under its symbol
        return [lhs, *w.array(lhs.split(" = ")[0], values, labels), ""]
    return w.array(lhs, values, labels)


def backward(step: TrainingStep, w: ForwardWriter) -> list[Block]:
    assert step.loss is not None
    lines: list[str] = []
    for record in step.backward:
        lines += dispatch((_Results(w), NormResults(w), AttentionResults(w)), record)
    return [Rule(), Heading(2, "Loss"), Math([f"L = {fmt(step.loss.value, w.p, label=w.n.loss_key())}"]),
            Rule(), Heading(2, "Backward Pass"), Math(lines)]


class _Results:
    """Each record's result, without its working: one `_print_<Record>` per record type."""

    def __init__(self, w: ForwardWriter):
        self.w, self.n = w, w.n

    def _print_Linear(self, lin: Linear) -> list[str]:
        n, k = self.n, lin.layer
        bias = f" + {n.b(k)}" if lin.bias is not None else ""
        return _named(f"{n.z(k)} = {n.W(k)} · {n.a(k - 1)}{bias}", lin.z, self.w, "z", k)

    def _print_Activate(self, act: Activate) -> list[str]:
        rule, n, k = ACTIVATIONS[act.activation], self.n, act.layer
        return [] if rule.identity else _named(f"{n.a(k)} = {rule.symbol or 'f'}({n.z(k)})", act.a, self.w, "a", k)

    def _print_OutputDelta(self, s: OutputDelta) -> list[str]:
        return _named(f"{self.n.delta(s.layer)} = ∂L/∂{self.n.z(s.layer)}", s.delta, self.w, "dz", s.layer)

    def _print_LayerGradient(self, s: LayerGradient) -> list[str]:
        n, w, k = self.n, self.w, s.layer  # each value named as a sheet asks for it (dW2[0,1]), so a blank stays blank

        def weight(r: int, c: int) -> str:
            return n.wkey("dW", k, r, c)
        lines = w.array(f"∂L/∂{n.W(k)}", s.weights_grad, weight) if s.weights_grad.shape[0] == 1 else \
            [f"∂L/∂{n.W(k)} ="] + ["    " + l for l in _matrix(s.weights_grad, w, weight)]
        if s.bias_grad is not None:
            lines += w.array(f"∂L/∂{n.b(k)}", s.bias_grad[None, :], lambda _, i: n.wkey("db", k, i))
        return lines

    def _print_BackToPrevious(self, s: BackToPrevious) -> list[str]:
        n = self.n
        return _named(f"∂L/∂{n.a(s.layer - 1)} = {n.W(s.layer)}ᵀ · {n.delta(s.layer)}", s.upstream, self.w, "da",
                      s.layer - 1)

    def _print_ThroughActivation(self, s: ThroughActivation) -> list[str]:
        n, label = self.n, ACTIVATIONS[s.activation].symbol or "f"
        return _named(f"{n.delta(s.layer)} = ∂L/∂{n.a(s.layer)} ⊙ {label}′({n.z(s.layer)})", s.delta, self.w, "dz",
                      s.layer)

    # -- image layers: each result named as a sheet asks for it --

    def _print_Convolve(self, conv: Convolve) -> list[str]:
        n, k = self.n, conv.layer
        bias = f" + {n.b(k)}" if conv.bias is not None else ""
        return _named(f"{n.z(k)} = {n.param(f'K{k}')} ⋆ {n.a(k - 1)}{bias}   (cross-correlation)", conv.z, self.w,
                      "z", k)

    def _print_Pool(self, pool: Pool) -> list[str]:
        n, k = self.n, pool.layer
        how = "max" if pool.winners is not None else "mean"
        return _named(f"{n.a(k)} = the {how} of each {pool.size}×{pool.size} window of {n.a(k - 1)}, stride "
                      f"{pool.stride}", pool.a, self.w, "a", k)

    def _print_Flatten(self, flat: Flatten) -> list[str]:
        n, k = self.n, flat.layer
        return _named(f"{n.a(k)} = flatten({n.a(k - 1)})", flat.a, self.w, "a", k)

    def _print_KernelGradient(self, s: KernelGradient) -> list[str]:
        n, w, k = self.n, self.w, s.layer
        lines = [f"∂L/∂{n.param(f'K{k}')} = {n.a(k - 1)} ⋆ {n.delta(k)}   (the input correlated with δ)",
                 *matrix_block(f"∂L/∂{n.param(f'K{k}')}", s.kernels_grad, w.p, w.s.elements,
                               labels=lambda *i: _kernel_key(n, k, i)), ""]
        if s.bias_grad is not None:
            lines += w.array(f"∂L/∂{n.b(k)}", s.bias_grad[None, :], lambda _, i: n.wkey("db", k, i))
        return lines

    def _print_ConvBackToPrevious(self, s: ConvBackToPrevious) -> list[str]:
        n, k = self.n, s.layer
        return _named(f"∂L/∂{n.a(k - 1)} = {n.delta(k)} ⋆full rot180({n.param(f'K{k}')})", s.upstream, self.w, "da",
                      k - 1)

    def _print_PoolBack(self, s: PoolBack) -> list[str]:
        n, k = self.n, s.layer
        how = "to each window's winner" if s.winners is not None else "shared evenly over each window"
        return _named(f"∂L/∂{n.a(k - 1)} = ∂L/∂{n.a(k)} {how}", s.upstream, self.w, "da", k - 1)

    def _print_Unflatten(self, s: Unflatten) -> list[str]:
        n, k = self.n, s.layer
        return _named(f"∂L/∂{n.a(k - 1)} = ∂L/∂{n.a(k)} back in its images", s.upstream, self.w, "da", k - 1)


def _kernel_key(n, k: int, index: tuple) -> str:  # noqa: ANN001
    from nnworked import quantities

    return quantities.name("dK", k, *index, step=n.step)


def _matrix(values, w: ForwardWriter, labels) -> list[str]:  # noqa: ANN001
    from nnworked.render.numbers import matrix_lines

    return matrix_lines(values, w.p, limit=w.s.elements, labels=labels)
