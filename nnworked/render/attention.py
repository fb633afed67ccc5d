"""The walkthrough of a self_attention layer: its forward record worked element by element (Q, K and V,
every score, the scaling by √d_k, the causal mask, each row's softmax, each weighted sum of values, the
heads side by side, the output weights) and its backward records (∂L/∂W_O, each head's ∂L/∂A and ∂L/∂V,
each row through its softmax Jacobian, ∂L/∂Q and ∂L/∂K, the weights' gradients, ∂L/∂X by its three paths),
as a teacher works them on the board. Each intermediate is worked by `nnworked.attentionworked`; each
quantity (the output, the gradients the rule hands on) comes from the table of quantities."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked import attentionworked, quantities
from nnworked.attention_records import Attend, AttentionBack, AttentionGradient
from nnworked.expr import num, op
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import fmt, subscript
from nnworked.render.page import Numbering, Page
from nnworked.trace import TrainingStep


def _place(page: Page, layer: int, example: int) -> Any:
    """Where an example's intermediates are worked: the pass of this page, that example."""
    from nnworked.workings import Place

    key = quantities.parse(page.n.key("a", layer, (0, 0), example))
    table = page.table
    return Place(table.trace, key, table.trace.scenario.inputs.shape[0], (0, 0), example,
                 key.step == quantities.FIRST_STEP, sequence=True)


def worked_pairs(examples: int, heads: int, limit: int) -> tuple[dict[int, list[int]], int]:
    """The (example, head) pairs whose intermediates are worked, by example, and how many are elided: at most
    `limit` pairs (0: all), as a dense layer works at most `limit` elements, so that a batch of long sequences
    with several heads stays a page a reader can follow (and a Markdown file of a bounded size). The standard
    layout and the AI by Hand sheet work the same pairs."""
    flat, hidden = pick(examples * heads, limit)
    shown: dict[int, list[int]] = {}
    for index in flat:
        e, h = divmod(index, heads)
        shown.setdefault(e, []).append(h)
    return shown, hidden


def pairs_note(hidden: int, examples: int, heads: int) -> str:
    return elided_note(hidden, "examples" if heads == 1 else "heads" if examples == 1 else "heads of the examples")


class _Lines:
    def __init__(self, page: Page):
        self.page, self.p, self.n, self.s = page, page.p, page.n, page.s

    def _worked(self, lhs: str, expr: Any, label: str = "") -> list[str]:
        return line(lhs, expr, self.p, self.s.width, label=label)

    def _grid(self, lhs: str, rows: int, cols: int, work: Any, label: Any = "", cells: Any = None) -> list[str]:
        """Each shown (row, col) of an intermediate, worked; the rest counted. `cells(i)` limits row i's columns;
        `label` is the label of every cell, or `label(i, j)` each one's (a named intermediate's own name)."""
        named = label if callable(label) else (lambda i, j: label)
        shown, hidden = pick(rows, self.s.elements)
        lines: list[str] = []
        left = 0
        for i in shown:
            columns = list(cells(i)) if cells else list(range(cols))
            first, more = pick(len(columns), self.s.elements)
            for j in (columns[c] for c in first):
                lines += self._worked(f"{lhs}[{i},{j}]", work(i, j), named(i, j))
            left += more
        left += sum(len(list(cells(i))) if cells else cols for i in range(rows) if i not in shown)
        if left:
            lines.append(elided_note(left))
        return lines

    def _symbols(self, k: int, e: int, h: int, heads: int) -> dict[str, str]:
        """Q₁, K₁, V₁, S₁, A₁, O₁ of one example (⁽ⁿ⁾ in a batch) and one head (,h with several)."""
        head = f"{subscript(',' + str(h))}" if heads > 1 else ""
        mark = self.n.example(e)
        return {role: f"{role}{subscript(str(k))}{head}{mark}" for role in ("Q", "K", "V", "S", "Ŝ", "A", "O")}



class AttentionForward(_Lines):
    """The forward record of a self_attention layer, on a Page."""

    def _print_Attend(self, r: Attend, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, r.layer, numbering.next()
        x, a = n.a(k - 1), n.a(k)
        examples, heads, positions = r.inputs.shape[0], r.heads, r.inputs.shape[1]
        d_k, d_v = r.q.shape[-1], r.v.shape[-1]
        s = subscript(str(k))
        out: list[Block] = [
            Heading(3, f"Step {step}: Self-Attention" + (f" ({heads} Heads)" if heads > 1 else "")),
            Para(f"**Every position looks at every other{' before it' if r.causal else ''}:** each position's "
                 f"features are projected to a query, a key and a value (no biases, as PyTorch's "
                 f"nn.MultiheadAttention(bias=False)); a query's dot product with each key is a score"
                 + (f", divided by √d_k = √{d_k}" if r.scaled else " (not scaled)")
                 + "; each row of scores goes through softmax to weights that sum to 1; the output at a position "
                   "is the weighted sum of the values."
                 + (f" d_model = {heads * d_k} is split into {heads} heads of {d_k} features, each attending on "
                    "its own, and their outputs are set side by side." if heads > 1 else "")
                 + (" The causal mask leaves each later position out of a row's softmax (its weight is 0)." if r.causal else "")),
            Math([f"Q{s} = {x} · WQ{s}ᵀ,   K{s} = {x} · WK{s}ᵀ,   V{s} = {x} · WV{s}ᵀ",
                  f"S{s} = Q{s} · K{s}ᵀ" + (f",   Ŝ{s} = S{s} / √d_k,   A{s} = softmax(Ŝ{s})" if r.scaled else
                                          f",   A{s} = softmax(S{s})") +
                  ("   (row i over positions j ≤ i)" if r.causal else "   (row by row)"),
                  f"O{s} = A{s} · V{s}" + (f",   {a} = concat(heads) · WO{s}ᵀ" if r.output_weights is not None
                                          else f",   {a} = concat(heads)")])]
        shown, hidden = worked_pairs(examples, heads, self.s.elements)
        for e, shown_h in shown.items():
            place = _place(self.page, k, e)
            for h in shown_h:
                head = attentionworked.Head(r, place, e, h)
                sym = self._symbols(k, e, h, heads)
                title = (f"Example {e + 1}, head {h}" if examples > 1 else f"Head {h}") if heads > 1 else \
                    (f"Example {e + 1}" if examples > 1 else "")
                if title:
                    out.append(Para(f"**{title}:**"))
                lines: list[str] = []
                def cell(role: str, head: Any = head) -> Any:  # each printed number by its own name
                    return lambda i, j: head.cell(role, i, j)

                for role, width in (("Q", d_k), ("K", d_k), ("V", d_v)):
                    lines += self._grid(sym[role], positions, width, lambda t, d, role=role: head.projection(role, t, d),
                                        cell(role))
                    lines.append("")
                lines += self._grid(f"{sym['S']}", positions, positions, head.score, cell("S"), head.allowed)
                if r.scaled:
                    lines += ["", *self._worked("√d_k", op("sqrt", num(d_k, True))),
                              *self._grid(f"{sym['Ŝ']}", positions, positions, head.scaled, cell("Ŝ"), head.allowed)]
                if r.causal:
                    lines += ["", "(the causal mask: row i takes positions j ≤ i only; a later position's score "
                                  "is left out: its weight is 0)"]
                lines += ["", *self._grid(sym["A"], positions, positions, head.softmax, cell("A"), head.allowed),
                          "", *self._grid(sym["O"], positions, d_v, head.mixed, cell("O"))]
                out.append(Math(lines))
        if hidden:
            out.append(Para(pairs_note(hidden, examples, heads)))
        if heads > 1:
            d_v = r.v.shape[-1]
            heads_of = {e: [attentionworked.Head(r, _place(self.page, k, e), e, h) for h in range(heads)]
                        for e in range(examples)}
            out += [Para("**The heads side by side:**"),
                    Math(self.page.sequences(f"concat{s}", r.concat, lambda e, unit: heads_of[e][unit[-1] // d_v].cell(
                        "O", unit[0], unit[-1] % d_v)))]
        if r.output_weights is not None:
            out += [Para(f"**Output weights ({a}):**"), Math(self._elements(a, k, r.a))]
        return out + self.page.result(a, r.a, n.keys("a", k))

    def _elements(self, symbol: str, k: int, values: np.ndarray) -> list[str]:
        shown, hidden = self.page.elements(*values.shape)
        lines: list[str] = []
        for e, unit in shown:
            key = self.n.key("a", k, unit, e)
            lines += self._worked(self.n.element(symbol, e, unit, 0), self.page.table.expression(key), key)
        if hidden:
            lines.append(elided_note(hidden))
        return lines

    def _compact_Attend(self, r: Attend) -> list[str]:
        return [*self.page.array(self.n.a(r.layer), r.a, self.n.keys("a", r.layer)), ""]


class AttentionBackward(_Lines):
    """The backward records of a self_attention layer, on a Page."""

    def __init__(self, page: Page, training: TrainingStep):
        super().__init__(page)
        self.training = training

    def _forward(self, k: int) -> Attend:
        return next(r for r in self.training.forward.operations if isinstance(r, Attend) and r.layer == k)

    def _print_AttentionGradient(self, g: AttentionGradient, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, g.layer, numbering.next()
        f = self._forward(k)
        s, a = subscript(str(k)), n.a(k)
        examples, positions = g.gradient.shape[:2]
        heads, d_k, d_v = f.heads, f.q.shape[-1], f.v.shape[-1]
        out: list[Block] = [
            Heading(3, f"Step {label}: Backpropagate through Self-Attention"),
            Para(f"**From ∂L/∂{a} back to the weights:** "
                 + (f"through WO{s} to the heads side by side; " if f.output_weights is not None else "")
                 + "through each weighted sum to the weights A and the values V; through each row's softmax "
                   "(its Jacobian ∂aᵢⱼ/∂sᵢₘ = aᵢⱼ(1 − aᵢⱼ) when m = j, −aᵢⱼaᵢₘ otherwise, so ∂L/∂sᵢⱼ = aᵢⱼ(∂L/∂aᵢⱼ − "
                   "Σₘ ∂L/∂aᵢₘ·aᵢₘ))"
                 + (", then ÷ √d_k" if f.scaled else "")
                 + f"; to Q and K; and to WQ{s}, WK{s} and WV{s}, summed over the examples and positions.")]
        if g.output_grad is not None:
            lines = [f"∂L/∂WO{s}[o,m] = Σ ∂L/∂{a}[t,o] × concat{s}[t,m]", ""]
            lines += self._weights("dWO", k, g.output_grad.shape)
            out += [Math(lines)]
        shown, hidden = worked_pairs(examples, heads, self.s.elements)
        for e, shown_h in shown.items():
            place = _place(self.page, k, e)
            back = attentionworked.Back(g, place, e, f)
            lines = []
            if g.output_grad is not None:
                lines += [*self._grid(f"∂L/∂concat{s}{n.example(e)}", positions, heads * d_v, back.concat,
                                      lambda t, m: back.cell("O", m // d_v, t, m % d_v)), ""]
            for h in shown_h:
                head = attentionworked.Head(f, place, e, h)
                sym = self._symbols(k, e, h, heads)

                def cell(role: str, h: int = h) -> Any:  # each printed gradient by its own name
                    return lambda i, j: back.cell(role, h, i, j)

                if heads > 1:
                    lines += [f"head {h}:"]
                lines += self._grid(f"∂L/∂{sym['A']}", positions, positions, lambda i, j, h=h: back.weights(h, i, j),
                                    cell("A"), head.allowed)
                lines += ["", *self._grid(f"∂L/∂{sym['V']}", positions, d_v, lambda j, d, h=h: back.value(h, j, d),
                                          cell("V"))]
                first = 0
                allowed = list(head.allowed(first))
                lines += ["", f"the softmax Jacobian of row {first}: J[j,m] = ∂{sym['A']}[{first},j]/∂{sym['S']}[{first},m]"]
                lines += self._grid("J", len(allowed), len(allowed),
                                    lambda j, m, h=h: back.jacobian(h, first, allowed[j], allowed[m]),
                                    lambda j, m, h=h: back.jacobian_cell(h, first, allowed[j], allowed[m]))
                lines += ["", *self._grid(f"∂L/∂{sym['Ŝ' if f.scaled else 'S']}", positions, positions,
                                          lambda i, j, h=h: back.logits(h, i, j), cell(back.logit()), head.allowed)]
                if f.scaled:
                    lines += ["", *self._grid(f"∂L/∂{sym['S']}", positions, positions,
                                              lambda i, j, h=h: back.scores(h, i, j), cell("S"), head.allowed)]
                lines += ["", *self._grid(f"∂L/∂{sym['Q']}", positions, d_k, lambda i, d, h=h: back.query(h, i, d),
                                          cell("Q")),
                          "", *self._grid(f"∂L/∂{sym['K']}", positions, d_k, lambda j, d, h=h: back.key(h, j, d),
                                          cell("K")), ""]
            out.append(Math(lines[:-1] if lines and lines[-1] == "" else lines))
        if hidden:
            out.append(Para(pairs_note(hidden, examples, heads)))
        lines = []
        for kind, role in (("dWQ", "Q"), ("dWK", "K"), ("dWV", "V")):
            lines += [f"∂L/∂W{role}{s}[i,j] = Σ ∂L/∂{role}{s}[t,i] × {n.a(k - 1)}[t,j]", ""]
            lines += self._weights(kind, k, getattr(f, {"Q": "query_weights", "K": "key_weights",
                                                       "V": "value_weights"}[role]).shape)
            lines.append("")
        return out + [Para("**The projections' weights:**"), Math(lines[:-1])]

    def _weights(self, kind: str, k: int, shape: tuple[int, ...]) -> list[str]:
        rows, hidden_r = pick(shape[0], self.s.elements)
        cols, hidden_c = pick(shape[1], self.s.elements)
        lines: list[str] = []
        for i in rows:
            for j in cols:
                key = quantities.name(kind, k, i, j, step=self.n.step)
                lines += self._worked(f"∂L/∂{kind[1:]}{subscript(str(k))}[{i},{j}]",
                                      self.page.table.expression(key), key)
        hidden = shape[0] * shape[1] - len(rows) * len(cols)
        if hidden:
            lines.append(elided_note(hidden))
        return lines

    def _print_AttentionBack(self, b: AttentionBack, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, b.layer, numbering.next()
        s, x = subscript(str(k)), n.a(k - 1)
        lines = [f"∂L/∂{x} = ∂L/∂Q{s} · WQ{s} + ∂L/∂K{s} · WK{s} + ∂L/∂V{s} · WV{s}", ""]
        shown, hidden = self.page.elements(*b.upstream.shape)
        for e, unit in shown:
            key = n.key("da", k - 1, unit, e)
            lines += self._worked(n.element(f"∂L/∂{x}", e, unit, 0), self.page.table.expression(key), key)
        if hidden:
            lines.append(elided_note(hidden))
        return [Heading(3, f"Step {label}: Backpropagate to {x} through Q, K and V"),
                Para(f"**Three paths:** {x} made the queries, the keys and the values, so its gradient is the sum "
                     "of what comes back along each (each path summed first, then the three added)."),
                Math(lines), *self.page.result(f"∂L/∂{x}", b.upstream, n.keys("da", k - 1))]


NEARLY_ONE_HOT = 0.95  # a row putting this much of its weight on one position attends to it almost alone
_MENTIONED = 3  # rows named one by one; the rest are counted


def attention_focus(step: TrainingStep, n: Any, p: Any) -> list[str]:
    """Attention rows that are nearly one-hot: the output there is almost one position's value, and the
    softmax passes little gradient back to that row's scores (aᵢⱼ(1 − aᵢⱼ) is small)."""
    out: list[str] = []
    for r in step.forward.of_type(Attend):
        allowed = r.mask if r.mask is not None else np.ones(r.weights.shape[-2:], dtype=bool)
        rows = [(e, h, i) for e, h, i in np.ndindex(*r.weights.shape[:3])
                if allowed[i].sum() > 1 and r.weights[e, h, i].max() >= NEARLY_ONE_HOT]
        if not rows:
            continue
        s = subscript(str(r.layer))
        named = []
        for e, h, i in rows[:_MENTIONED]:
            j = int(np.argmax(r.weights[e, h, i]))
            where = (f"head {h}, " if r.heads > 1 else "") + (f"example {e + 1}, " if r.weights.shape[0] > 1 else "")
            named.append(f"{where}position {i} puts {fmt(r.weights[e, h, i, j], p)} of its weight on position {j}")
        more = f" (and {len(rows) - _MENTIONED} more rows)" if len(rows) > _MENTIONED else ""
        out.append(f"**A{s}: {'an attention row is' if len(rows) == 1 else 'attention rows are'} nearly one-hot:** "
                   f"{'; '.join(named)}{more}. Such a row's output is almost that position's value alone, and its "
                   "softmax passes little gradient back to its scores (aᵢⱼ(1 − aᵢⱼ) is near 0).")
    return out


class AttentionResults:
    """`--detail brief`: each attention record's result, without its working."""

    def __init__(self, w: Any):
        self.w, self.n = w, w.n

    def _print_Attend(self, r: Attend) -> list[str]:
        n, k, s = self.n, r.layer, subscript(str(r.layer))
        rows = [f"A{s} = softmax(Q{s} · K{s}ᵀ{' / √d_k' if r.scaled else ''}){', causal' if r.causal else ''}"]
        return [*rows, *self.w.array(f"{n.a(k)} = self-attention({n.a(k - 1)})", r.a, n.keys("a", k)), ""]

    def _print_AttentionGradient(self, g: AttentionGradient) -> list[str]:
        from nnworked.render.page import matrix_block

        out: list[str] = []
        for name in g.produces():
            key = lambda i, j, name=name: quantities.name("d" + name[:-len(str(g.layer))], g.layer, i, j,  # noqa: E731
                                                          step=self.n.step)
            out += [*matrix_block(f"∂L/∂{self.n.param(name)}", g.produces()[name], self.w.p, self.w.s.elements,
                                  labels=key), ""]
        return out

    def _print_AttentionBack(self, b: AttentionBack) -> list[str]:
        n, k = self.n, b.layer
        return [*self.w.array(f"∂L/∂{n.a(k - 1)} = through Q, K and V", b.upstream, n.keys("da", k - 1)), ""]
