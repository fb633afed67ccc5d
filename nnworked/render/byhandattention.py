"""The AI by Hand layout of self-attention, as Tom Yeh's self-attention sheet draws it: each token a column.
X with a column per token; W_Q · X = Q, W_K · X = K and W_V · X = V as grids (a row per feature); the
score grid Kᵀ · Q with a column per query, so that the scaling by 1/√d_k and the softmax run down each
column (each column of A sums to 1); V · A = Z, a column per token; each head, then the heads stacked
and W_O. Backward in the same grids: ∂L/∂A = Vᵀ · ∂L/∂Z and ∂L/∂V = ∂L/∂Z · Aᵀ, each column of ∂L/∂A
through its softmax Jacobian, ∂L/∂Q = K · ∂L/∂S, ∂L/∂K = Q · ∂L/∂Sᵀ, each weight's gradient ∂L/∂Q · Xᵀ
(summed over the tokens), and ∂L/∂X along its three paths.

A cell is written [row,column] as the grid shows it (a feature's row, a token's column). The numbers are
the trace's, each worked line `nnworked.attentionworked`'s or the table's, as in the standard layout;
each cell is named as there, so an exercise sheet blanks it."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnworked.attention_records import Attend, AttentionBack, AttentionGradient
from nnworked.attentionworked import Back, Head
from nnworked.expr import num, op
from nnworked.render.attention import _place, pairs_note, worked_pairs
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.byhandsequences import Part, joined
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import subscript
from nnworked.render.page import Page
from nnworked.trace import TrainingStep

MASKED = "·"  # a score the causal mask leaves out (the sheets write −∞: e^(−∞) = 0; no infinity is printed as a value)


def attention_weights(page: Page, k: int, layer: Any) -> list[str]:
    """The setup's W_Q, W_K, W_V (and W_O): a row per query, key or value feature, a column per input one."""
    s, lines = subscript(str(k)), []
    for role, weights in (("Q", layer.query_weights), ("K", layer.key_weights), ("V", layer.value_weights),
                          ("O", layer.output_weights)):
        if weights is not None:
            lines += [*joined(f"W{role}{s}", page, [Part(weights, given=True)]), ""]
    return lines[:-1]


class ByHandAttention:
    """The self-attention records in the AI by Hand layout, on a Page."""

    def __init__(self, page: Page, training: TrainingStep | None = None):
        self.page, self.p, self.n, self.s, self.training = page, page.p, page.n, page.s, training

    # -- what the printers share --

    def _worked(self, lhs: str, rows: int, cols: int, work: Callable[[int, int], Any],
                label: str | Callable[[int, int], str], allowed: Callable[[int, int], bool] | None = None) -> list[str]:
        """The cells [row,col] of a grid worked column by column (token by token), the rest counted; `label` is
        every cell's label, or `label(row, col)` each one's."""
        limit, lines, left = self.s.elements, [], 0
        named = label if callable(label) else (lambda r, c: label)
        shown_cols, _ = pick(cols, limit)
        for c in range(cols):
            rows_here = [r for r in range(rows) if allowed is None or allowed(r, c)]
            if c not in shown_cols:
                left += len(rows_here)
                continue
            shown_rows, more = pick(len(rows_here), limit)
            for r in (rows_here[i] for i in shown_rows):
                lines += line(f"{lhs}[{r},{c}]", work(r, c), self.p, self.s.width, label=named(r, c))
            left += more
        return lines + ([elided_note(left)] if left else [])

    def _table(self, lhs: str, rows: int, cols: int, key: Callable[[int, int], str]) -> list[str]:
        """Cells whose worked line is the table's (a quantity of their own)."""
        lines: list[str] = []
        shown_r, _ = pick(rows, self.s.elements)
        shown_c, _ = pick(cols, self.s.elements)
        for c in shown_c:
            for r in shown_r:
                lines += line(f"{lhs}[{r},{c}]", self.page.table.expression(key(r, c)), self.p, self.s.width,
                              label=key(r, c))
        hidden = rows * cols - len(shown_r) * len(shown_c)
        return lines + ([elided_note(hidden)] if hidden else [])

    def _grid(self, symbol: str, values: np.ndarray, label: str | Callable[[int, int], str],
              blocked: Callable[[int, int], bool] | None = None, text: str = MASKED) -> list[str]:
        labels = label if callable(label) else (lambda r, c: label)
        shown = (lambda r, c: text if blocked(r, c) else None) if blocked else None
        return joined(symbol, self.page, [Part(values, labels, text=shown)])

    def _symbols(self, k: int, e: int, h: int, heads: int) -> dict[str, str]:
        head = subscript(f",{h}") if heads > 1 else ""
        return {role: f"{role}{subscript(str(k))}{head}{self.n.example(e)}" for role in ("Q", "K", "V", "S", "Ŝ", "A", "Z")}

    @staticmethod
    def _masked(head: Head) -> Callable[[int, int], bool]:
        """Row j (a key), column i (a query) of a score grid: left out by the causal mask."""
        return lambda j, i: j not in head.allowed(i)

    # -- forward --

    def _print_Attend(self, r: Attend) -> list[Block]:
        n, k, s = self.n, r.layer, subscript(str(r.layer))
        x, a = n.a(k - 1), n.a(k)
        examples, positions = r.inputs.shape[:2]
        d_k, d_v, heads = r.q.shape[-1], r.v.shape[-1], r.heads
        out: list[Block] = [
            Heading(3, f"Layer {k}: self-attention, each token a column"),
            Para(f"Each token of {x} is a column. W · {x} projects every token at once: Q, K and V have a row per "
                 f"feature and a column per token. The scores Kᵀ · Q have a column per query token and a row per key "
                 f"token" + (f", divided by √d_k = √{d_k}" if r.scaled else " (not scaled)")
                 + (f"; the causal mask leaves out each key after its query ({MASKED}), so its weight is 0" if r.causal else "")
                 + "; the softmax runs down each column, so each column of A sums to 1; V · A = Z is each token's "
                   "weighted sum of the values, a column per token."
                 + (f" d_model = {heads * d_k} is split into {heads} heads of {d_k} rows each; their Z are stacked."
                    if heads > 1 else "") + " A cell is written [row,column].")]
        shown, hidden = worked_pairs(examples, heads, self.s.elements)
        for e, shown_h in shown.items():
            place = _place(self.page, k, e)
            mark = n.example(e)
            x_labels = (lambda f, t: n.key("a", k - 1, (t, f), e)) if k > 1 else None
            lines = joined(f"{x}{mark}", self.page, [Part(r.inputs[e].T, x_labels, k == 1 and r.given)])
            if examples > 1:
                out.append(Para(f"**Example {e + 1}:**"))
            out.append(Math(lines))
            for h in shown_h:
                out += self._head(r, Head(r, place, e, h), e, h)
            if heads > 1:
                d_v = r.v.shape[-1]
                of = [Head(r, place, e, h) for h in range(heads)]
                out += [Para("**The heads' Z stacked, a column per token:**"),
                        Math(self._grid(f"concat{s}{mark}", r.concat[e].T,
                                        lambda m, t: of[m // d_v].cell("O", t, m % d_v)))]
            if r.output_weights is not None:
                source = f"concat{s}" if heads > 1 else f"Z{s}"
                out += [Para(f"**The output weights:** {a} = WO{s} · {source}"),
                        Math(self._table(f"{a}{mark}", r.a.shape[2], positions,
                                         lambda o, t, e=e: n.key("a", k, (t, o), e)))]
            out.append(Math(self._grid(f"{a}{mark}", r.a[e].T, lambda o, t, e=e: n.key("a", k, (t, o), e))))
        if hidden:
            out.append(Para(pairs_note(hidden, examples, heads)))
        return out

    def _head(self, r: Attend, head: Head, e: int, h: int) -> list[Block]:
        k, s = r.layer, subscript(str(r.layer))
        sym = self._symbols(k, e, h, r.heads)
        x = self.n.a(k - 1) + self.n.example(e)
        positions, d_k, d_v = r.inputs.shape[1], r.q.shape[-1], r.v.shape[-1]
        masked = self._masked(head)

        def by_row(role: str) -> Callable[[int, int], str]:  # a feature's row d, a token's column t
            return lambda d, t: head.cell(role, t, d)

        def by_column(role: str) -> Callable[[int, int], str]:  # a key's row j, a query's column i
            return lambda j, i: head.cell(role, i, j)

        out: list[Block] = [Para(f"**Head {h}** (rows {h * d_k}–{(h + 1) * d_k - 1} of WQ{s} and WK{s}, "
                                 f"{h * d_v}–{(h + 1) * d_v - 1} of WV{s}):")] if r.heads > 1 else []
        for role, values, width in (("Q", r.q, d_k), ("K", r.k, d_k), ("V", r.v, d_v)):
            out.append(Math([f"{sym[role]} = W{role}{s} · {x}", "",
                             *self._worked(sym[role], width, positions,
                                           lambda d, t, role=role: head.projection(role, t, d), by_row(role)),
                             "", *self._grid(sym[role], values[e, h].T, by_row(role))]))
        scores = [f"{sym['S']} = {sym['K']}ᵀ · {sym['Q']}   (column i: query token i; row j: key token j)", "",
                  *self._worked(sym["S"], positions, positions, lambda j, i: head.score(i, j), by_column("S"),
                                lambda j, i: j in head.allowed(i)),
                  "", *self._grid(sym["S"], r.scores[e, h].T, by_column("S"), masked if r.causal else None)]
        if r.scaled:
            scores += ["", f"{sym['Ŝ']} = {sym['S']} / √d_k", "", *line("√d_k", op("sqrt", num(d_k, True)), self.p,
                                                                     self.s.width),
                       *self._worked(sym["Ŝ"], positions, positions, lambda j, i: head.scaled(i, j), by_column("Ŝ"),
                                     lambda j, i: j in head.allowed(i)),
                       "", *self._grid(sym["Ŝ"], r.scaled_scores[e, h].T, by_column("Ŝ"), masked if r.causal else None)]
        logits = sym["Ŝ" if r.scaled else "S"]
        out += [Math(scores),
                Math([f"{sym['A']} = softmax({logits}), column by column: each column sums to 1", "",
                      *self._worked(sym["A"], positions, positions, lambda j, i: head.softmax(i, j), by_column("A"),
                                    lambda j, i: j in head.allowed(i)),
                      "", *self._grid(sym["A"], r.weights[e, h].T, by_column("A"))]),
                Math([f"{sym['Z']} = {sym['V']} · {sym['A']}   (column i: token i's weighted sum of the values)", "",
                      *self._worked(sym["Z"], d_v, positions, lambda d, i: head.mixed(i, d), by_row("O")),
                      "", *self._grid(sym["Z"], r.mixed[e, h].T, by_row("O"))])]
        return out

    # -- backward --

    def _forward(self, k: int) -> Attend:
        assert self.training is not None
        return next(r for r in self.training.forward.operations if isinstance(r, Attend) and r.layer == k)

    def _print_AttentionGradient(self, g: AttentionGradient) -> list[Block]:
        n, k, s = self.n, g.layer, subscript(str(g.layer))
        f = self._forward(k)
        a, x = n.a(k), n.a(k - 1)
        examples, positions = g.gradient.shape[:2]
        heads, d_v = f.heads, f.v.shape[-1]
        out: list[Block] = [
            Heading(3, f"Layer {k}: back through self-attention, each token a column"),
            Para("The forward grids read backwards: ∂L/∂A = Vᵀ · ∂L/∂Z and ∂L/∂V = ∂L/∂Z · Aᵀ; each column of ∂L/∂A "
                 "through its own softmax (∂L/∂sⱼ = aⱼ(∂L/∂aⱼ − Σₘ ∂L/∂aₘ·aₘ), the column's Jacobian applied)"
                 + (", then ÷ √d_k" if f.scaled else "") + "; ∂L/∂Q = K · ∂L/∂S and ∂L/∂K = Q · ∂L/∂Sᵀ; each "
                 "weight's gradient ∂L/∂Q · Xᵀ (and K, V), which sums over the tokens"
                 + (" and the examples" if examples > 1 else "") + ".")]
        da = lambda e: (lambda o, t: n.key("da", k, (t, o), e))  # noqa: E731
        if g.output_grad is not None:
            source = f"concat{s}" if heads > 1 else f"Z{s}"
            out.append(Math([f"∂L/∂WO{s} = ∂L/∂{a} · {source}ᵀ", "",
                             *self._table(f"∂L/∂WO{s}", *g.output_grad.shape, lambda o, m: n.wkey("dWO", k, o, m)),
                             "", *self._grid(f"∂L/∂WO{s}", g.output_grad, lambda o, m: n.wkey("dWO", k, o, m))]))
        shown, hidden = worked_pairs(examples, heads, self.s.elements)
        for e, shown_h in shown.items():
            mark = n.example(e)
            place = _place(self.page, k, e)
            back = Back(g, place, e, f)
            if examples > 1:
                out.append(Para(f"**Example {e + 1}:**"))
            lines = self._grid(f"∂L/∂{a}{mark}", g.gradient[e].T, da(e))
            concat = lambda m, t, back=back: back.cell("O", m // d_v, t, m % d_v)  # noqa: E731  (a row per feature)
            if g.output_grad is not None:
                lines += ["", f"∂L/∂concat{s}{mark} = WO{s}ᵀ · ∂L/∂{a}{mark}", "",
                          *self._worked(f"∂L/∂concat{s}{mark}", heads * d_v, positions, lambda m, t: back.concat(t, m),
                                        concat),
                          "", *self._grid(f"∂L/∂concat{s}{mark}", g.concat_grad[e].T, concat)]
            out.append(Math(lines))
            for h in shown_h:
                out += self._back_head(f, g, back, Head(f, place, e, h), e, h)
        if hidden:
            out.append(Para(pairs_note(hidden, examples, heads)))
        for role, grad in (("Q", g.query_weights_grad), ("K", g.key_weights_grad), ("V", g.value_weights_grad)):
            key = lambda i, j, role=role: n.wkey(f"dW{role}", k, i, j)  # noqa: E731
            out.append(Math([f"∂L/∂W{role}{s} = ∂L/∂{role}{s} · {x}ᵀ   (every head's rows, summed over the tokens"
                             + (" and examples)" if examples > 1 else ")"), "",
                             *self._table(f"∂L/∂W{role}{s}", *grad.shape, key), "",
                             *self._grid(f"∂L/∂W{role}{s}", grad, key)]))
        return out

    def _back_head(self, f: Attend, g: AttentionGradient, back: Back, head: Head, e: int, h: int) -> list[Block]:
        k = f.layer
        sym = self._symbols(k, e, h, f.heads)
        positions, d_k, d_v = f.inputs.shape[1], f.q.shape[-1], f.v.shape[-1]
        masked = self._masked(head)

        def by_column(role: str) -> Callable[[int, int], str]:  # a key's row j, a query's column i: its own name
            return lambda j, i: back.cell(role, h, i, j)

        def by_row(role: str) -> Callable[[int, int], str]:  # a feature's row d, a token's column t
            return lambda d, t: back.cell(role, h, t, d)
        allowed = lambda j, i: j in head.allowed(i)  # noqa: E731
        upstream = (f"rows {h * d_v}–{(h + 1) * d_v - 1} of ∂L/∂concat" if f.heads > 1 else
                    "∂L/∂concat" if f.output_weights is not None else f"∂L/∂{self.n.a(k)}")
        first = list(head.allowed(0))
        lines = [f"∂L/∂{sym['Z']} = {upstream};   ∂L/∂{sym['A']} = {sym['V']}ᵀ · ∂L/∂{sym['Z']}", "",
                 *self._worked(f"∂L/∂{sym['A']}", positions, positions, lambda j, i: back.weights(h, i, j),
                               by_column("A"), allowed),
                 "", *self._grid(f"∂L/∂{sym['A']}", g.weights_grad[e, h].T, by_column("A"), masked if f.causal else None,
                                 "·"),
                 "", f"∂L/∂{sym['V']} = ∂L/∂{sym['Z']} · {sym['A']}ᵀ", "",
                 *self._worked(f"∂L/∂{sym['V']}", d_v, positions, lambda d, j: back.value(h, j, d), by_row("V")),
                 "", *self._grid(f"∂L/∂{sym['V']}", g.value_grad[e, h].T, by_row("V"))]
        logits = sym["Ŝ" if f.scaled else "S"]
        softmax = [f"column 0's softmax Jacobian: J[j,m] = ∂{sym['A']}[j,0]/∂{logits}[m,0]", "",
                   *self._worked("J", len(first), len(first), lambda j, m: back.jacobian(h, 0, first[j], first[m]),
                                 lambda j, m: back.jacobian_cell(h, 0, first[j], first[m])),
                   "", f"∂L/∂{logits} = each column's Jacobian · that column of ∂L/∂{sym['A']}", "",
                   *self._worked(f"∂L/∂{logits}", positions, positions, lambda j, i: back.logits(h, i, j),
                                 by_column(back.logit()), allowed),
                   "", *self._grid(f"∂L/∂{logits}", g.logits_grad[e, h].T, by_column(back.logit()),
                                   masked if f.causal else None, "·")]
        if f.scaled:
            softmax += ["", f"∂L/∂{sym['S']} = ∂L/∂{sym['Ŝ']} / √d_k", "",
                        *self._worked(f"∂L/∂{sym['S']}", positions, positions, lambda j, i: back.scores(h, i, j),
                                      by_column("S"), allowed),
                        "", *self._grid(f"∂L/∂{sym['S']}", g.scores_grad[e, h].T, by_column("S"),
                                        masked if f.causal else None, "·")]
        projections = [f"∂L/∂{sym['Q']} = {sym['K']} · ∂L/∂{sym['S']}", "",
                       *self._worked(f"∂L/∂{sym['Q']}", d_k, positions, lambda d, i: back.query(h, i, d), by_row("Q")),
                       "", *self._grid(f"∂L/∂{sym['Q']}", g.query_grad[e, h].T, by_row("Q")),
                       "", f"∂L/∂{sym['K']} = {sym['Q']} · ∂L/∂{sym['S']}ᵀ", "",
                       *self._worked(f"∂L/∂{sym['K']}", d_k, positions, lambda d, j: back.key(h, j, d), by_row("K")),
                       "", *self._grid(f"∂L/∂{sym['K']}", g.key_grad[e, h].T, by_row("K"))]
        title = [Para(f"**Head {h}:**")] if f.heads > 1 else []
        return [*title, Math(lines), Math(softmax), Math(projections)]

    def _print_AttentionBack(self, b: AttentionBack) -> list[Block]:
        n, k, s = self.n, b.layer, subscript(str(b.layer))
        x = n.a(k - 1)
        examples, positions, features = b.upstream.shape
        out: list[Block] = [Heading(3, f"Layer {k - 1}: ∂L/∂{x} along Q, K and V"),
                            Para(f"{x} made the queries, the keys and the values, so its gradient sums the three paths "
                                 "(each path summed first, then the three added)."),
                            Math([f"∂L/∂{x} = WQ{s}ᵀ · ∂L/∂Q{s} + WK{s}ᵀ · ∂L/∂K{s} + WV{s}ᵀ · ∂L/∂V{s}"])]
        shown_e, hidden_e = pick(examples, self.s.elements)
        for e in shown_e:
            key = lambda j, t, e=e: n.key("da", k - 1, (t, j), e)  # noqa: E731
            out.append(Math([*self._table(f"∂L/∂{x}{n.example(e)}", features, positions, key), "",
                             *joined(f"∂L/∂{x}{n.example(e)}", self.page, [Part(b.upstream[e].T, key)])]))
        if hidden_e:
            out.append(Para(elided_note(hidden_e, "examples")))
        return out
