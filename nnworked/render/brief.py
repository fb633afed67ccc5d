"""`--detail brief`: each layer's results, without the element-by-element working."""

from __future__ import annotations

from nnworked.engine.activations import ACTIVATIONS
from nnworked.render.forward import ForwardWriter
from nnworked.render.attention import AttentionResults
from nnworked.render.normalise import NormResults
from nnworked.render.blocks import Block, Heading, Math, Rule
from nnworked.render.numbers import fmt, subscript
from nnworked.render.page import dispatch, matrix_block
from nnworked.trace import (Activate, BackToPrevious, ConvBackToPrevious, Convolve, Dropout, DropoutBack, Flatten,
                            GradientSum, KernelGradient, LayerGradient, Linear, NormBack, NormGradient, Normalise,
                            OutputDelta, Pool, PoolBack, Residual, ResidualBack, ThroughActivation, TrainingStep,
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

    # -- dropout, normalisation and residual layers --

    def _print_Dropout(self, d: Dropout) -> list[str]:
        n, k = self.n, d.layer
        return _named(f"{n.a(k)} = mask × {n.a(k - 1)} × 1/(1 − {fmt(d.rate, self.w.p, given=True)})", d.a, self.w,
                      "a", k)

    def _print_Normalise(self, norm: Normalise) -> list[str]:
        n, k, sub = self.n, norm.layer, n_sub(norm.layer)
        return _named(f"{n.a(k)} = γ{sub} × x̂{sub} + β{sub},   x̂{sub} = ({n.a(k - 1)} − μ{sub}) / √(σ²{sub} + ε)",
                      norm.a, self.w, "a", k)

    def _print_Residual(self, res: Residual) -> list[str]:
        n, k = self.n, res.layer
        return _named(f"{n.a(k)} = {n.a(k - 1)} + {n.a(res.source)}", res.a, self.w, "a", k)

    def _print_DropoutBack(self, s: DropoutBack) -> list[str]:
        n, k = self.n, s.layer
        return _named(f"∂L/∂{n.a(k - 1)} = mask × ∂L/∂{n.a(k)} × 1/(1 − {fmt(s.rate, self.w.p, given=True)})",
                      s.upstream, self.w, "da", k - 1)

    def _print_NormGradient(self, s: NormGradient) -> list[str]:
        n, w, k, sub = self.n, self.w, s.layer, n_sub(s.layer)
        return [*w.array(f"∂L/∂γ{sub}", s.gamma_grad[None, :], lambda _, i: n.wkey("dgamma", k, i)),
                *w.array(f"∂L/∂β{sub}", s.beta_grad[None, :], lambda _, i: n.wkey("dbeta", k, i))]

    def _print_NormBack(self, s: NormBack) -> list[str]:
        n, k = self.n, s.layer
        return _named(f"∂L/∂{n.a(k - 1)} = (M × ∂L/∂x̂{n_sub(k)} − S₁ − x̂{n_sub(k)} × S₂) / (M × σ{n_sub(k)})",
                      s.upstream, self.w, "da", k - 1)

    def _print_ResidualBack(self, s: ResidualBack) -> list[str]:
        n, k = self.n, s.layer
        return _named(f"∂L/∂{n.a(k - 1)} = ∂L/∂{n.a(k)}", s.upstream, self.w, "da", k - 1)

    def _print_GradientSum(self, s: GradientSum) -> list[str]:
        # the main path's record above already printed the sum; name where its parts came from
        n = self.n
        skips = " + ".join(f"∂L/∂{n.a(k)}" for k in s.sources)
        return [f"    (∂L/∂{n.a(s.layer)} is the sum of its paths: the product above plus {skips} along the skip "
                "connection)"]

    # -- a recurrent layer: every step's results --

    def _print_Recurrence(self, r) -> list[str]:  # noqa: ANN001
        n, k = self.n, r.layer
        lines = _named(f"{n.z(k)} = Wx{subscript(str(k))} · x_t + Wh{subscript(str(k))} · {n.a(k)}_(t−1), each t",
                       r.z, self.w, "z", k)
        return lines + _named(f"{n.a(k)} = {ACTIVATIONS[r.activation].symbol or 'f'}(z_t)" +
                              ("" if r.returns == "sequence" else ", the last step's"), r.output, self.w, "a", k)

    def _print_ThroughTime(self, r) -> list[str]:  # noqa: ANN001
        n, w, k = self.n, self.w, r.layer
        lines = _named(f"{n.delta(k)} = (∂L/∂{n.a(k)}_t + Wh{subscript(str(k))}ᵀ · {n.delta(k)}_(t+1)) ⊙ f′(z_t), "
                       "from the last step back", r.delta, w, "dz", k)
        for name, grad in r.gradients.items():
            kind = "d" + name.rstrip("0123456789")
            lines += w.array(f"∂L/∂{n.param(name)} = Σ_t (step t's share)", grad if grad.ndim == 2 else grad[None, :],
                             (lambda row, col, kind=kind: n.wkey(kind, k, row, col)) if grad.ndim == 2 else
                             (lambda _, i, kind=kind: n.wkey(kind, k, i)))
        return lines

    def _print_RnnBackToInput(self, r) -> list[str]:  # noqa: ANN001
        n = self.n
        return _named(f"∂L/∂{n.a(r.layer - 1)} = Wx{subscript(str(r.layer))}ᵀ · {n.delta(r.layer)}", r.upstream, self.w,
                      "da", r.layer - 1)

    # -- lstm: each result named as a sheet asks for it --

    def _print_LSTMForward(self, r) -> list[str]:  # noqa: ANN001
        n, k = self.n, r.layer
        return _named(f"{n.a(k)} = h_t = o ⊙ tanh(c_t), c_t = f ⊙ c_{{t−1}} + i ⊙ g   (LSTM)", r.a, self.w, "a", k)

    def _print_LSTMBackward(self, s) -> list[str]:  # noqa: ANN001
        from nnworked import quantities
        from nnworked.rules.layers.lstm import parameter_name

        n, w, k, lines = self.n, self.w, s.layer, []
        for name, grad in s.produces().items():
            key = quantities.parse(name)
            lines += matrix_block(f"∂L/∂{n.param(name)}", grad if grad.ndim == 2 else grad[None, :], w.p, w.s.elements,
                                  labels=lambda i, j, key=key, grad=grad: quantities.name(
                                      f"d{key.kind}", k, *((i, j) if grad.ndim == 2 else (j,)), step=n.step,
                                      part=key.part))
        return [f"(each the sum over the time steps; {n.param(parameter_name('Wx', k, 'i'))} … in PyTorch's order of the gates)",
                *lines, ""]

    def _print_LSTMBackToInput(self, s) -> list[str]:  # noqa: ANN001
        n, k = self.n, s.layer
        return _named(f"∂L/∂{n.a(k - 1)} = Σ_q W_x,qᵀ · ∂L/∂z_q at each step", s.upstream, self.w, "da", k - 1)


def n_sub(k: int) -> str:
    return subscript(str(k))


def _kernel_key(n, k: int, index: tuple) -> str:  # noqa: ANN001
    from nnworked import quantities

    return quantities.name("dK", k, *index, step=n.step)


def _matrix(values, w: ForwardWriter, labels) -> list[str]:  # noqa: ANN001
    from nnworked.render.numbers import matrix_lines

    return matrix_lines(values, w.p, limit=w.s.elements, labels=labels)
