"""`--detail full` for a self_attention layer: its backward rules derived from the forward rule by the chain
rule, each then worked with the scenario's own numbers for one example, one head and one row. The weighted
sum's ∂L/∂V = Aᵀ·∂L/∂O and ∂L/∂A = ∂L/∂O·Vᵀ; one row's softmax Jacobian diag(a) − a·aᵀ, worked, and
∂L/∂s = a ⊙ (g − a·g) as the Jacobian applied; the 1/√d_k; ∂L/∂Q = ∂L/∂S·K and ∂L/∂K = ∂L/∂Sᵀ·Q; the
projections' weights, summed over examples and positions; the head split and the concatenation; the
causal mask's zeros. Every number is the trace's, worked by the walkthrough's own expressions
(`nnworked.attentionworked`), so each line is checked like any other and hides on a sheet as they do."""

from __future__ import annotations

from typing import Any

from nnworked import attentionworked, quantities
from nnworked.attention_records import Attend, AttentionGradient
from nnworked.expr import num, op
from nnworked.render.attention import AttentionBackward, _place
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.forward import ForwardWriter
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import fmt, subscript, vector
from nnworked.trace import Trace


def attention_derivations(trace: Trace, w: ForwardWriter) -> list[Block]:
    """Each attention layer's backward rules, derived once per layer."""
    step = trace.steps[0]
    out: list[Block] = []
    for g in step.backward:
        if isinstance(g, AttentionGradient):
            f = next(r for r in step.forward.operations if isinstance(r, Attend) and r.layer == g.layer)
            out += _Derivation(w, step, f, g).blocks()
    return out


class _Derivation:
    """One layer's derivation, worked for example 0, head 0 and the first row that attends to more than one
    position (the first row of a causal layer attends to itself alone: its Jacobian is 0)."""

    def __init__(self, w: ForwardWriter, step: Any, f: Attend, g: AttentionGradient):
        self.w, self.f, self.g, self.p, self.n, self.width = w, f, g, w.p, w.n, w.s.width
        self.k, self.h = f.layer, 0
        place = _place(w.page, self.k, 0)
        self.back = attentionworked.Back(g, place, 0, f)
        self.head = attentionworked.Head(f, place, 0, self.h)
        self.printer = AttentionBackward(w.page, step)  # the walkthrough's own names of these values
        self.sym = self.printer._symbols(self.k, 0, self.h, f.heads)
        positions = f.weights.shape[-1]
        self.i = next((i for i in range(positions) if len(self.head.allowed(i)) > 1), 0)
        self.allowed = list(self.head.allowed(self.i))
        shown, self.more = pick(len(self.allowed), w.s.elements)
        self.shown = [self.allowed[c] for c in shown]
        self.logit = self.sym["Ŝ" if f.scaled else "S"]

    def _line(self, lhs: str, expr: Any, label: str, suffix: str = "") -> list[str]:
        """A worked line whose value is `label` (a gradient's own name, or what it is computed from)."""
        return line(lhs, expr, self.p, self.width, suffix=suffix, label=label)

    def _where(self) -> str:
        return ((f"head {self.h}, " if self.f.heads > 1 else "") + ("the first example, " if self.f.inputs.shape[0] > 1
                                                                    else ""))

    def blocks(self) -> list[Block]:
        f, s = self.f, subscript(str(self.k))
        scale = f" / √d_k (d_k = {f.q.shape[-1]})" if f.scaled else ""
        mask = ", masked (causal)" if f.causal else ""
        out: list[Block] = [
            Heading(3, f"The attention backward, derived (layer {self.k})"),
            Para(f"Forward, per head: Q = X·WQ{s}ᵀ, K = X·WK{s}ᵀ, V = X·WV{s}ᵀ; S = Q·Kᵀ; "
                 f"{'Ŝ = S' + scale + '; ' if f.scaled else ''}A = softmax of each row{mask}; O = A·V"
                 + (f"; the heads side by side, then times WO{s}ᵀ." if f.output_weights is not None else
                    "; the heads side by side.")
                 + " Backward runs these in reverse. Each is a matrix product or a row's softmax, and each "
                   "derivative follows from writing one element out. The numbers below are for "
                 + self._where() + f"row {self.i}.")]
        return (out + self._weighted_sum() + self._jacobian() + self._scaling() + self._queries_and_keys()
                + self._projections() + self._heads() + self._mask())

    def _weighted_sum(self) -> list[Block]:
        A, V, O = self.sym["A"], self.sym["V"], self.sym["O"]
        j = self.shown[0]
        lines = [*self._line(f"∂L/∂{V}[0,0]", self.back.value(self.h, 0, 0), self.back.cell("V", self.h, 0, 0)),
                 *self._line(f"∂L/∂{A}[{self.i},{j}]", self.back.weights(self.h, self.i, j),
                             self.back.cell("A", self.h, self.i, j))]
        return [Para(f"**The weighted sum: ∂L/∂V and ∂L/∂A.** {O}[i,d] = Σⱼ {A}[i,j] × {V}[j,d], so "
                     f"∂{O}[i,d]/∂{V}[j,d] = {A}[i,j] and ∂{O}[i,d]/∂{A}[i,j] = {V}[j,d]. A value {V}[j,d] is read by "
                     "every row i that attends to j, so the chain rule sums over those rows:"),
                Math([f"∂L/∂{V}[j,d] = Σᵢ {A}[i,j] × ∂L/∂{O}[i,d]", f"∂L/∂{A}[i,j] = Σ_d ∂L/∂{O}[i,d] × {V}[j,d]",
                      f"as matrices: ∂L/∂{V} = {A}ᵀ · ∂L/∂{O} and ∂L/∂{A} = ∂L/∂{O} · {V}ᵀ", "", *lines])]

    def _jacobian(self) -> list[Block]:
        A, i, h, back = self.sym["A"], self.i, self.h, self.back
        row = self.f.weights[0, h, i, self.allowed]
        lines = [f"a = {A}[{i}] = {vector(row, self.p, limit=self.w.s.elements, labels=lambda j: self.head.cell('A', i, self.allowed[j]))}", ""]
        for j in self.shown:
            for m in self.shown:
                lines += self._line(f"J[{j},{m}]", back.jacobian(h, i, j, m), back.jacobian_cell(h, i, j, m),
                                    suffix="   (a_j(1 − a_j))" if j == m else "   (−a_j·a_m)")
        if self.more:
            lines.append(elided_note(len(self.allowed) ** 2 - len(self.shown) ** 2))
        m = self.shown[0]
        # Σⱼ g_j × a_j(δ_jm − a_m): the Jacobian's column m written as the derivation writes it
        applied = _sum([op("mul", back.weights_num(h, i, j), op("mul", self.head.weight(i, j),
                                                               op("sub", num(1 if j == m else 0, True),
                                                                  self.head.weight(i, m))))
                        for j in self.allowed])
        logit = back.cell(back.logit(), h, i, m)
        chain = [*self._line(f"∂L/∂{self.logit}[{i},{m}] = Σⱼ g_j·a_j(δ_j{m} − a_{m})", applied, logit),
                 *self._line(f"∂L/∂{self.logit}[{i},{m}] = a_{m}(g_{m} − a·g)", back.logits(h, i, m), logit)]
        return [Para(f"**One row's softmax and its Jacobian.** Row {i} of A is a = softmax(s) over the scores s of "
                     f"row {i}: a_j = e^(s_j) / Σₘ e^(s_m). Every a_j shares the denominator, so every a_j depends on "
                     "every score of its row, and the quotient rule gives a whole matrix of derivatives, the "
                     "Jacobian:"),
                Math(["∂a_j/∂s_m = a_j(1 − a_j) if m = j,   −a_j·a_m if m ≠ j",
                      "J = diag(a) − a·aᵀ"]),
                Para(f"With row {i}'s weights:"), Math(lines),
                Para("Each row of J sums to 0 (a_j − a_j·Σₘ a_m = 0, since the weights sum to 1): adding one number to "
                     "every score of a row changes nothing. The gradient g = ∂L/∂a of the row goes back through J, "
                     "and the sum collapses to a short form:"),
                Math(["∂L/∂s_m = Σⱼ g_j × ∂a_j/∂s_m = Σⱼ g_j·a_j(δ_jm − a_m) = a_m·g_m − a_m·Σⱼ g_j·a_j",
                      "(δ_jm = 1 if j = m, 0 otherwise)",
                      "∂L/∂s = a ⊙ (g − a·g)", ""] + chain)]

    def _scaling(self) -> list[Block]:
        f, S, i, m = self.f, self.sym["S"], self.i, self.shown[0]
        if not f.scaled:
            return [Para(f"**No 1/√d_k here** (scaled: false): S = Q·Kᵀ goes into the softmax as it is, so ∂L/∂{S} is "
                         "what the softmax passes back.")]
        return [Para("**The 1/√d_k.** Ŝ = S / √d_k multiplies each score by a constant, so ∂Ŝ/∂S = 1/√d_k and every "
                     "gradient of a score is divided by √d_k on its way back. (The scaling is there because q·k sums "
                     "d_k products, so its spread grows like √d_k; without it the softmax drifts towards one-hot rows, "
                     "where a_j(1 − a_j) is near 0 and little gradient passes.)"),
                Math(self._line(f"∂L/∂{S}[{i},{m}]", self.back.scores(self.h, i, m), self.back.cell("S", self.h, i, m)))]

    def _queries_and_keys(self) -> list[Block]:
        Q, K, S = self.sym["Q"], self.sym["K"], self.sym["S"]
        lines = [*self._line(f"∂L/∂{Q}[{self.i},0]", self.back.query(self.h, self.i, 0),
                             self.back.cell("Q", self.h, self.i, 0)),
                 *self._line(f"∂L/∂{K}[0,0]", self.back.key(self.h, 0, 0), self.back.cell("K", self.h, 0, 0))]
        return [Para(f"**∂L/∂Q and ∂L/∂K.** {S}[i,j] = Σ_d {Q}[i,d] × {K}[j,d], so ∂{S}[i,j]/∂{Q}[i,d] = {K}[j,d] and "
                     f"∂{S}[i,j]/∂{K}[j,d] = {Q}[i,d]. A query {Q}[i,d] is in every score of row i, a key {K}[j,d] "
                     "in every score of column j; the chain rule sums over them:"),
                Math([f"∂L/∂{Q}[i,d] = Σⱼ ∂L/∂{S}[i,j] × {K}[j,d]", f"∂L/∂{K}[j,d] = Σᵢ ∂L/∂{S}[i,j] × {Q}[i,d]",
                      f"as matrices: ∂L/∂{Q} = ∂L/∂{S} · {K} and ∂L/∂{K} = ∂L/∂{S}ᵀ · {Q}", "", *lines])]

    def _projections(self) -> list[Block]:
        k, s, x, n = self.k, subscript(str(self.k)), self.n.a(self.k - 1), self.n
        examples = self.f.inputs.shape[0]
        over = "Σₙ,ₜ" if examples > 1 else "Σₜ"
        lines: list[str] = []
        for role in ("Q", "K", "V") + (("O",) if self.f.output_weights is not None else ()):
            key = quantities.name(f"dW{role}", k, 0, 0, step=n.step)
            lines += line(f"∂L/∂W{role}{s}[0,0]", self.w.page.table.expression(key), self.p, self.width, label=key)
        output = (f" The output weights the same way, with the heads side by side as their input: ∂L/∂WO{s}[o,m] = "
                  f"{over} ∂L/∂{n.a(k)}[t,o] × concat[t,m]." if self.f.output_weights is not None else "")
        return [Para(f"**The projections' weights.** Q{s}[t,i] = Σ_f WQ{s}[i,f] × {x}[t,f] at every position t"
                     + (" of every example" if examples > 1 else "")
                     + f", with the one WQ{s}: it is used at every place, so its gradient sums what each sends, "
                       f"∂L/∂WQ{s}[i,f] = {over} ∂L/∂Q{s}[t,i] × {x}[t,f], that is ∂L/∂WQ{s} = ∂L/∂Q{s}ᵀ · {x}; "
                       f"the same for "
                       f"WK{s} and WV{s}." + output),
                Math(lines)]

    def _heads(self) -> list[Block]:
        f, s = self.f, subscript(str(self.k))
        d_k, d_v = f.q.shape[-1], f.v.shape[-1]
        if f.heads == 1:
            text = ("**One head here** (heads: 1): Q, K and V are the whole projections, and the concatenation is "
                    "the head's output itself.")
            return [Para(text + (f" ∂L/∂O comes back through WO{s}: ∂L/∂concat = ∂L/∂{self.n.a(self.k)} · WO{s}."
                                 if f.output_weights is not None else ""))]
        m = d_v  # the first column of head 1: where the concatenation hands head 1 its gradient
        out: list[Block] = [Para(
            f"**The head split and the concatenation.** With {f.heads} heads, rows {d_k}h … {d_k}h + {d_k - 1} of "
            + (f"WQ{s} and WK{s} (rows {d_v}h … {d_v}h + {d_v - 1} of WV{s})" if d_v != d_k else
               f"WQ{s}, WK{s} and WV{s}")
            + f" make head h's Q, K and V, and each head runs its own scores and "
            f"softmax. The concatenation puts the heads' outputs side by side, concat[t, {d_v}h + d] = O_h[t,d]: it "
            "only places numbers, so backward it only routes them, head h's ∂L/∂O_h[t,d] = ∂L/∂concat[t, "
            f"{d_v}h + d], and the rows of WQ{s}, WK{s}, WV{s} that belong to head h get their gradient from that head "
            "alone.")]
        if f.output_weights is not None:
            O1 = self.printer._symbols(self.k, 0, 1, f.heads)["O"]
            out += [Para(f"∂L/∂concat comes back through WO{s}, ∂L/∂concat[t,m] = Σ_o ∂L/∂{self.n.a(self.k)}[t,o] × "
                         f"WO{s}[o,m]; column {m} is head 1's first:"),
                    Math(self._line(f"∂L/∂concat{self.n.example(0)}[0,{m}] = ∂L/∂{O1}[0,0]", self.back.concat(0, m),
                                    self.back.cell("O", 1, 0, 0)))]
        return out

    def _mask(self) -> list[Block]:
        f, g, h, p = self.f, self.g, self.h, self.p
        if not f.causal:
            return [Para("**No causal mask here** (causal: false): every position attends to every position, and no "
                         "score is set aside.")]
        A, S = self.sym["A"], self.sym["S"]
        positions = f.weights.shape[-1]
        masked = [(i, j) for i in range(positions) for j in range(positions) if j not in self.head.allowed(i)]
        shown, more = pick(len(masked), self.w.s.elements)
        lines = [f"{A}[{i},{j}] = {fmt(f.weights[0, h, i, j], p)},   "
                 f"∂L/∂{S}[{i},{j}] = {fmt(g.scores_grad[0, h, i, j], p)}   (j = {j} > i = {i})"
                 for i, j in (masked[c] for c in shown)]
        if more:
            lines.append(elided_note(more))
        return [Para("**The causal mask.** Row i may attend to positions j ≤ i only: the scores above the diagonal "
                     "are left out of the softmax (as if each were minus infinity, whose exponential is 0), so their "
                     "weights are 0. A weight that is 0 "
                     "whatever the scores has derivative 0: its row and column of the Jacobian are 0, so every masked "
                     "score gets ∂L/∂S = 0, and nothing flows through it to Q or K. Here:"),
                Math(lines)]


def _sum(terms: list[Any]) -> Any:
    return terms[0] if len(terms) == 1 else op("add", *terms)
