"""The backward pass: ∂L/∂ŷ, δ, the shortcut, ∂L/∂W, ∂L/∂b, Wᵀδ and the activation derivatives."""

from __future__ import annotations

import numpy as np

from nnworked import progress, worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.quantities import computed_from
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import fmt, matrix_lines
from nnworked.render.normalise import NormBackward
from nnworked.render.lstm import LSTMBackwardPrinter
from nnworked.render.attention import AttentionBackward
from nnworked.render.images import ImageBackward
from nnworked.render.recurrent import RecurrentBackward
from nnworked.render.page import Numbering, Page, at, dispatch
from nnworked.trace import BackToPrevious, LayerGradient, OutputDelta, ThroughActivation, TrainingStep


def _row(e: int, i: int | tuple[int, ...]):  # noqa: ANN202
    """Unit i's row of a per-example array (an example's; its position's in a sequence), i's place in the row,
    and the unit of each place in that row."""
    if isinstance(i, tuple):
        t, j = i
        return (e, t), j, (lambda u: (t, u))
    return (e,), i, (lambda u: u)


class BackwardWriter:
    """The backward pass of one training step, on a Page: one `_print_<Record>` per backward record."""

    def __init__(self, page: Page, training: TrainingStep):
        assert training.loss is not None
        self.page, self.p, self.n, self.s, self.spec = page, page.p, page.n, page.s, page.spec
        self.array, self.result, self.elements = page.array, page.result, page.elements  # at hand
        self.training = training
        self.yhat, self.targets = training.loss.yhat, training.loss.y
        last = training.forward.activate[-1]
        self.z_out, self.slope = last.z, last.slope
        self.first_step = training.number == 1
        self.printers = (self, ImageBackward(page, training),  # dense records here, the other layers' there
                         NormBackward(page, training), RecurrentBackward(page, training),
                         LSTMBackwardPrinter(page, training), AttentionBackward(page, training))

    def backward(self, section: int) -> list[Block]:
        """Every backward record of the step, in order, each by its own printer."""
        numbering, out = Numbering(section), []
        records = self.training.backward  # a bar on a terminal, as the forward pass has
        for record in progress.track(records, len(records), "Working the backward pass"):
            out += dispatch(self.printers, record, numbering)
        return out

    def reduction_note(self, examples: int, units: int, positions: int | None = None) -> str:
        rows = examples * (positions or 1)  # a sequence's loss is at every position of every example
        divisor = round(self.spec.scale / self.spec.factor(rows, units))
        parts = []
        if self.spec.rule.averages_over_outputs and self.spec.outputs == "mean" and units > 1:
            parts.append(f"{units} outputs")
        if self.spec.batch == "mean" and rows > 1:
            parts.append(f"{examples} examples" if positions is None else
                         f"{rows} positions ({examples} example{'s' if examples != 1 else ''} × {positions})")
        return f"(÷ {divisor}: the loss is the mean over {' and '.join(parts)})" if parts else ""

    def _print_OutputDelta(self, step: OutputDelta, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        yhat, z, d = n.a(k), n.z(k), n.delta(k)
        examples, units = step.delta.shape[0], step.delta.shape[-1]
        positions = step.delta.shape[1] if step.delta.ndim == 3 else None  # a sequence: δ at every position
        note = self.reduction_note(examples, units, positions)
        spec = self.spec
        act = ACTIVATIONS[step.activation]
        out: list[Block] = [Heading(3, f"Step {label}: Output Layer Gradients"),
                            Para(f"**Gradient of Loss w.r.t. {yhat}:**")]
        formula = spec.rule.gradient_formula
        if spec.scale != 1:
            formula = formula.replace("= ", f"= {spec.scale:g} × ", 1)
        lines = [formula + (" " + note if note else "")]
        shown, hidden = self.elements(*step.delta.shape)
        y, p = self.targets, self.yhat
        for e, i in shown:
            lhs = f"∂L/∂{n.element(yhat, e, i, units)}"
            if spec.rule.zero_target_terms_vanish and at(y, e, i) == 0:
                continue
            if np.isfinite(at(step.dl_dyhat, e, i)):
                lines += line(lhs, self.page.expression("da", k, i, e), self.p, self.s.width, label=n.key("da", k, i, e))
            else:
                lines.append(f"{lhs} is undefined here ({yhat} is 0 or 1 to machine precision); "
                             "the shortcut below does not need it")
        if spec.rule.zero_target_terms_vanish:
            lines.append(f"(∂L/∂{yhat}ₖ = 0 wherever yₖ = 0)")
        if hidden:
            lines.append(elided_note(hidden))
        out.append(Math(lines))
        if step.dyhat_dz is not None:
            out += [Para(f"**Gradient of {act.label}:**"), Math(self.derivative_lines(step, yhat, z))]
            out.append(Para(f"**Combined gradient ({d}):**"))
            lines = [f"{d} = ∂L/∂{z} = ∂L/∂{yhat} × ∂{yhat}/∂{z}"]
            for e, i in shown:
                if np.isfinite(at(step.dl_dyhat, e, i)):
                    # the chain rule's product: another working of δ than the table's where a shortcut exists
                    lines += line(n.element(d, e, i, units),
                                  worked.product(at(step.dl_dyhat, e, i), at(step.dyhat_dz, e, i), n.key("da", k, i, e),
                                                 computed_from(n.key("a", k, i, e))),
                                  self.p, self.s.width, label=n.key("dz", k, i, e))
            if hidden:
                lines.append(elided_note(hidden))
            out.append(Math(lines))
        else:
            out.append(Para(act.jacobian_sentence(d, yhat, z, at_output=True)))
            if step.shortcut is None:  # no simpler formula follows: work δ itself, as ŷⱼ × (gⱼ − Σₖ gₖ·ŷₖ)
                lines = [f"{d}ⱼ = {yhat}ⱼ × (∂L/∂{yhat}ⱼ − Σₖ ∂L/∂{yhat}ₖ × {yhat}ₖ)"]
                for e, i in shown:
                    row, j0, unit = _row(e, i)
                    expr = worked.softmax_delta(step.dl_dyhat[row], p[row], j0,
                                                [n.key("da", k, unit(j), e) for j in range(units)],
                                                [n.key("a", k, unit(j), e) for j in range(units)])
                    lines += line(n.element(d, e, i, units), expr, self.p, self.s.width, label=n.key("dz", k, i, e))
                if hidden:
                    lines.append(elided_note(hidden))
                out.append(Math(lines))
        if step.shortcut is not None:
            out.append(Para(f"**Simplified formula** (for {spec.rule.pair}):"))
            lines = []
            for e, i in shown:
                dz_key = n.key("dz", k, i, e)
                expr = self.page.expression("dz", k, i, e)
                agree = fmt(at(step.product, e, i), self.p) == fmt(at(step.shortcut, e, i), self.p)
                mark = " ✓" if agree else \
                    f"   (the chain-rule product gave {fmt(at(step.product, e, i), self.p, label=dz_key)}: rounding)" \
                    if np.isfinite(at(step.product, e, i)) else ""
                symbolic = f"{n.element(yhat, e, i, units)} − {n.element('y', e, i, units)}"
                lines += line(n.element(d, e, i, units), expr, self.p, self.s.width, [symbolic], suffix=mark,
                              label=dz_key)
            if hidden:
                lines.append(elided_note(hidden))
            out.append(Math(lines))
        return out

    def derivative_lines(self, step: OutputDelta, yhat: str, z: str) -> list[str]:
        act = ACTIVATIONS[step.activation]
        n, units = self.n, step.delta.shape[-1]
        lines = [act.derivative_formula]
        shown, hidden = self.elements(*step.delta.shape)
        for e, i in shown:
            expr, reason = worked.derivative(step.activation, at(self.z_out, e, i), at(self.yhat, e, i), self.slope,
                                             n.key("a", step.layer, i, e))
            symbolic = act.derivative_in_a  # written with a: the reason is already in the line
            prefix = [symbolic.format(a=n.element(yhat, e, i, units))] if symbolic else None
            lines += line(f"∂{n.element(yhat, e, i, units)}/∂{n.element(z, e, i, units)}", expr, self.p,
                          self.s.width, prefix, suffix="" if symbolic else f"   ({reason})")
        if hidden:
            lines.append(elided_note(hidden))
        return lines

    def _print_LayerGradient(self, step: LayerGradient, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        W, d, a = n.W(k), n.delta(k), n.a(k - 1)
        examples = step.delta.shape[0]
        rows, cols = step.weights_grad.shape
        bias = f" and {n.b(k)}" if step.bias_grad is not None else ""
        product = f"{d} × {a}" if rows == 1 else f"{d} ⊗ {a} (outer product)"
        if step.delta.ndim == 3:  # a dense layer at every position of a sequence: one weight for all of them
            product = (f"Σₙ Σₜ {d}ₜ⁽ⁿ⁾ ⊗ {a}ₜ⁽ⁿ⁾ (summed over the batch and the positions, which share the weights"
                       + ("; the 1/(N·T) is already in δ)" if self.spec.batch == "mean" else ")"))
        elif examples > 1:
            product = f"Σₙ {d}⁽ⁿ⁾ ⊗ {a}⁽ⁿ⁾ (summed over the batch; the 1/N is already in δ)"
        out: list[Block] = [Heading(3, f"Step {label}: Gradients for {W}{bias}"), Para("**Weight gradient:**")]
        lines = [f"∂L/∂{W} = {product}", ""]
        cells = [(i, j) for i in pick(rows, self.s.elements)[0] for j in pick(cols, self.s.elements)[0]]
        for i, j in cells:
            lines += line(f"∂L/∂{n.weight(W, i, j, rows)}", self.page.weight_expression("dW", k, i, j), self.p,
                          self.s.width, label=n.wkey("dW", k, i, j))
        if rows * cols > len(cells):
            lines.append(elided_note(rows * cols - len(cells)))
        if rows > 1:
            grid = matrix_lines(step.weights_grad, self.p, limit=self.s.elements,
                                labels=lambda r, c: n.wkey("dW", k, r, c))
            pad = " " * len(f"∂L/∂{W} = ")
            lines += ["", f"∂L/∂{W} = {grid[0]}", *(pad + g for g in grid[1:])]
        out.append(Math(lines))
        if step.bias_grad is not None:
            out.append(Para("**Bias gradient:**"))
            b = n.b(k)
            if examples == 1 and step.delta.ndim == 2:
                shown = self.array(d, step.bias_grad[None, :], lambda _, i: n.wkey("db", k, i))
                lines = [f"∂L/∂{b} = {d} = " + shown[0].split(" = ", 1)[1]]
            else:
                lines = [f"∂L/∂{b} = Σₙ Σₜ {d}ₜ⁽ⁿ⁾" if step.delta.ndim == 3 else f"∂L/∂{b} = Σₙ {d}⁽ⁿ⁾"]
                units, hidden = pick(len(step.bias_grad), self.s.elements)
                for i in units:
                    lines += line(f"∂L/∂{n.element(b, 0, i, len(step.bias_grad)).replace(n.example(0), '')}",
                                  self.page.weight_expression("db", k, i), self.p, self.s.width,
                                  label=n.wkey("db", k, i))
                if hidden:
                    lines.append(elided_note(hidden))
            out.append(Math(lines))
        return out

    def _print_BackToPrevious(self, step: BackToPrevious, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        a = n.a(k - 1)
        out: list[Block] = [Heading(3, f"Step {label}: Backpropagate to {n.layer_name(k - 1)} Layer"),
                            Para(f"**Gradient w.r.t. {n.layer_name(k - 1).lower()} output:**")]
        lines = [f"∂L/∂{a} = {n.W(k)}ᵀ × {n.delta(k)}", ""]
        shown, hidden = self.elements(*step.upstream.shape)
        for e, j in shown:
            lines += line(f"∂L/∂{n.element(a, e, j, step.upstream.shape[1])}", self.page.expression("da", k - 1, j, e),
                          self.p, self.s.width, label=n.key("da", k - 1, j, e))
        if hidden:
            lines.append(elided_note(hidden))
        out.append(Math(lines))
        return out

    def _print_ThroughActivation(self, step: ThroughActivation, numbering: Numbering | None = None) -> list[Block]:
        """Continues the step before (Wᵀδ), so it takes no number of its own."""
        n, k = self.n, step.layer
        act = ACTIVATIONS[step.activation]
        a, z, d = n.a(k), n.z(k), n.delta(k)
        out: list[Block] = [Para(f"**Gradient through {act.label}:**")]
        if step.derivative is None:
            out.append(Para(act.jacobian_sentence(d, a, z, at_output=False)))
            return out + self.result(d, step.delta, n.keys("dz", k))
        formula = act.derivative_formula.replace("α", fmt(step.slope, self.p, given=True))
        out.append(Math([formula]))
        if act.piecewise:
            out.append(Para(self.sign_sentence(z, step.z, k)))
        lines = [f"{d} = ∂L/∂{a} ⊙ {act.symbol or 'f'}′({z})", ""]
        shown, hidden = self.elements(*step.z.shape)
        units = step.z.shape[1]
        for e, i in shown:
            why = f"   ({worked.derivative(step.activation, at(step.z, e, i), at(step.a, e, i), step.slope)[1]})" \
                if act.piecewise else ""
            lines += line(n.element(d, e, i, units), self.page.expression("dz", k, i, e), self.p, self.s.width,
                          suffix=why, label=n.key("dz", k, i, e))
        if hidden:
            lines.append(elided_note(hidden))
        out.append(Math(lines))
        return out + self.result(d, step.delta, n.keys("dz", k))

    def sign_sentence(self, z: str, values: np.ndarray, k: int) -> str:
        dead = int(np.sum(values <= 0))
        shown = self.array(z, values, self.n.keys("z", k))[0] if values.shape[0] == 1 and values.size <= 8 else ""
        where = f"Since `{shown}`, " if shown else "Here "
        if dead == 0:
            return where + ("both are > 0:" if values.size == 2 else "every element is > 0:")
        if dead == values.size:
            return where + "every element is ≤ 0, so no gradient flows back through this layer:"
        return where + f"{dead} of {values.size} elements are ≤ 0; no gradient flows through those:"

