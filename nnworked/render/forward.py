"""The forward pass and the loss, as the seeds write them."""

from __future__ import annotations

import numpy as np

from nnworked import progress, quantities, worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.losses import LOSSES, LossSpec
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import fmt
from nnworked.render.normalise import NormForward
from nnworked.render.lstm import LSTMForwardPrinter
from nnworked.render.attention import AttentionForward
from nnworked.render.images import ImageForward
from nnworked.render.recurrent import RecurrentForward
from nnworked.render.page import Numbering, Page, at, dispatch
from nnworked.trace import Activate, Forward, Linear, LossValue


class ForwardWriter:
    """The forward pass and the loss of one pass, on a Page: one `_print_<Record>` per forward operation."""

    def __init__(self, page: Page):
        self.page, self.p, self.n, self.s = page, page.p, page.n, page.s
        self.array, self.result, self.elements = page.array, page.result, page.elements  # at hand
        self.printers = (self, ImageForward(page), NormForward(page),  # dense records here, the other layers' there
                         RecurrentForward(page), LSTMForwardPrinter(page), AttentionForward(page))

    # -- one layer --

    def forward(self, forward: Forward, section: int) -> list[Block]:
        """Every operation of the pass, in order, each by its own printer."""
        numbering, out = Numbering(section), []
        records = forward.operations  # a bar on a terminal: a long sequence's attention takes a while to work
        for operation in progress.track(records, len(records), "Working the forward pass"):
            out += dispatch(self.printers, operation, numbering)
        return out

    def _print_Linear(self, lin: Linear, numbering: Numbering) -> list[Block]:
        k, n, step = lin.layer, self.n, numbering.next()
        bias = f" + {n.b(k)}" if lin.bias is not None else ""
        out: list[Block] = [Heading(3, f"Step {step}: {n.layer_name(k - 1)} to {n.layer_name(k)} Layer"),
                            Para(f"**Linear combination ({n.z(k)}):**"),
                            Math([f"{n.z(k)} = {n.W(k)} · {n.a(k - 1)}{bias}"]),
                            Para("Calculate each element:")]
        lines: list[str] = []
        shown, hidden = self.elements(*lin.z.shape)
        for e, i in shown:
            lines += line(n.element(n.z(k), e, i, lin.z.shape[1]), self.page.expression("z", k, i, e), self.p,
                          self.s.width, label=n.key("z", k, i, e))
            lines.append("")
        lines = lines[:-1]
        if hidden:
            lines.append(elided_note(hidden))
        out.append(Math(lines))
        return out + self.result(n.z(k), lin.z, n.keys("z", k))

    def _print_Activate(self, act: Activate, numbering: Numbering) -> list[Block]:
        k, n, spec, step = act.layer, self.n, ACTIVATIONS[act.activation], numbering.next()
        symbol = n.a(k)
        if spec.identity:
            out: list[Block] = [Heading(3, f"Step {step}: No Activation ({n.layer_name(k)} Layer Is Linear)")]
            out.append(Para(f"The layer passes its linear combination through unchanged: {symbol} = {n.z(k)}."))
            return out + self.result(symbol, act.a, n.keys("a", k))
        out = [Heading(3, f"Step {step}: Apply {spec.label} Activation")]
        formula = spec.formula.replace("α", fmt(act.slope, self.p, given=True)) if spec.has_slope else spec.formula
        out += [Para(f"**{spec.label} function:**"), Math([formula])]
        label = "Predicted output" if k == n.layers else f"{n.layer_name(k)} layer output"
        out.append(Para(f"**{label} ({symbol}):**"))
        out.append(Math(spec.forward_lines(self, act, symbol)))
        if k == n.layers and act.a.size == 1:
            out.append(Para(f"**Prediction:** {symbol} = {fmt(act.a[0, 0], self.p, label=n.key('a', k, 0))}"))
            return out
        return out + self.result(symbol, act.a, n.keys("a", k))

    def element_lines(self, act: Activate) -> list[str]:
        n, spec, lines = self.n, ACTIVATIONS[act.activation], []
        shown, hidden = self.elements(*act.z.shape)
        for e, i in shown:
            z, z_key = at(act.z, e, i), n.key("z", act.layer, i, e)
            prefix = [f"{spec.symbol}({fmt(z, self.p, label=z_key)})"] if spec.show_call else None
            lines += line(n.element(n.a(act.layer), e, i, act.z.shape[1]), self.page.expression("a", act.layer, i, e),
                          self.p, self.s.width, prefix, label=n.key("a", act.layer, i, e))
        if hidden:
            lines.append(elided_note(hidden))
        return lines

    def parameter_labels(self, k: int, i: int, lin: Linear) -> tuple[list[str], str]:
        """Unit i's weights and bias as this pass uses them, by name (none in step 1: they are given)."""
        n = self.n
        return [n.before("W", k, i, j) for j in range(lin.weights.shape[1])], n.before("b", k, i)

    def compact(self, forward: Forward) -> list[str]:
        """A forward pass in a few lines, for the pass after the update: each operation's `_compact_<Record>`."""
        lines: list[str] = []
        for operation in forward.operations:
            lines += dispatch(self.printers, operation, prefix="_compact_")
        return lines[:-1]

    def _compact_Linear(self, lin: Linear) -> list[str]:
        k, n, lines = lin.layer, self.n, []
        shown, hidden = self.elements(*lin.z.shape)
        for e, i in shown:
            lines += line(n.element(n.z(k), e, i, lin.z.shape[1]), self.page.expression("z", k, i, e), self.p,
                          self.s.width, label=n.key("z", k, i, e))
        if hidden:
            lines.append(elided_note(hidden))
        return lines

    def _compact_Activate(self, act: Activate) -> list[str]:
        return [*self.array(self.n.a(act.layer), act.a, self.n.keys("a", act.layer)), ""]

    # -- loss --

    def loss(self, loss: LossValue) -> list[Block]:
        spec, info, n = loss.spec, LOSSES[loss.spec.name], self.n
        examples, units = loss.yhat.shape[0], loss.yhat.shape[-1]
        positions = loss.yhat.shape[1] if loss.yhat.ndim == 3 else None  # a loss at every position of a sequence
        count = examples * (positions or 1)
        out: list[Block] = [Para(f"**{info.label} Loss:**"), Math(formula_lines(spec, examples, units, positions))]
        special = specialisation(spec, loss.y.reshape(-1, units))
        if special:
            out.append(Para(special))
        lines: list[str] = []
        shown, hidden = pick(examples, self.s.elements)
        rows = [(e,) for e in shown] if positions is None else \
            [(e, t) for e in shown for t in pick(positions, self.s.elements)[0]]
        hidden = count - len(rows)
        for row in rows:
            where = n.example(row[0]) + (f"[{row[1]}]" if len(row) == 2 else "")
            lhs = "L" + (where if count > 1 else "")
            label = n.loss_key() if count == 1 else quantities.name("L", 0, *row, step=n.step)
            expr = self.page.table.expression(label)
            value = worked.value(expr, self.p)
            if np.isfinite(value):
                symbolic = symbolic_loss(spec, loss.y[row], n.a(n.layers) + where, "y" + where)
                lines += line(lhs, expr, self.p, self.s.width, [symbolic] if symbolic else None, label=label)
            else:  # ŷ is 0 or 1 to machine precision: the textbook form is undefined, the stable one is not
                lines.append(f"{lhs} = {fmt(loss.per_example[row], self.p, label=label)}   (computed from z in a "
                             "stable form: "
                             "ŷ rounds to 0 or 1 in floating point, where ln is undefined)")
        if hidden:
            lines.append(elided_note(hidden, "examples" if positions is None else "losses"))
        if count > 1:
            what = f"{examples:,} example losses" if positions is None else f"{count:,} losses (examples × positions)"
            lines += line("L", self.page.table.expression(n.loss_key()), self.p, self.s.width, label=n.loss_key()) if not hidden else \
                [f"L = {'mean' if spec.batch == 'mean' else 'sum'} of the {what} = "
                 f"{fmt(loss.value, self.p, label=n.loss_key())}"]
        out.append(Math(lines))
        return out


def formula_lines(spec: LossSpec, examples: int, units: int, positions: int | None = None) -> list[str]:
    """The loss as written for this scenario, with its reductions and scale stated (a sequence's: at every
    position, reduced over the examples and positions together)."""
    scale = f"{spec.scale:g} × " if spec.scale != 1 else ""
    lines = [f"L = {scale}{spec.rule.formula_core(spec, units)}"]
    if positions is not None:
        count = examples * positions
        lines = [line.replace("L = ", "Lₜ⁽ⁿ⁾ = ", 1) for line in lines]
        lines.append(f"L = (1/{count}) × Σₙ Σₜ Lₜ⁽ⁿ⁾   (the mean over the {examples} example{'s' if examples != 1 else ''}"
                     f" and {positions} positions)" if spec.batch == "mean"
                     else "L = Σₙ Σₜ Lₜ⁽ⁿ⁾   (the sum over the examples and positions)")
        return lines
    if examples > 1:
        lines = [line.replace("L = ", "L⁽ⁿ⁾ = ", 1) for line in lines]
        lines.append(f"L = (1/{examples}) × Σₙ L⁽ⁿ⁾   (the mean over the batch)" if spec.batch == "mean"
                     else "L = Σₙ L⁽ⁿ⁾   (the sum over the batch)")
    return lines


def symbolic_loss(spec: LossSpec, target: np.ndarray, yhat: str, y: str) -> str:
    """The loss of one example in symbols, where that is short: (ŷ − y)², −ln(ŷ), −ln(ŷ[2])."""
    scale = f"{spec.scale:g} × " if spec.scale != 1 else ""
    core = spec.rule.symbolic(target, yhat, y)
    return scale + core if core else ""


def specialisation(spec: LossSpec, targets: np.ndarray) -> str:
    """"Since y = 1:" where the targets make the formula simpler."""
    return spec.rule.specialisation(targets)
