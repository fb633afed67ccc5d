"""Self-attention in a spreadsheet (`--format xlsx`), forward and back, each token a column.

Forward: W_Q, W_K, W_V left of Q, K, V (each cell a row of W times a token's column); per head, each score
Q_i·K_j under its key token j in the row of its query token i, the score ÷ √d_k, each row's softmax in
the stable form e^(s − max) / Σ e^(s − max) over the positions the causal mask leaves (a masked weight
is 0); each head's weighted sum of the values, the heads one under another (the concatenation), and W_O
left of a = W_O · concat. Back: ∂L/∂W_O and ∂L/∂concat, per head ∂L/∂(weights), each row through the
softmax Jacobian, w_j × (g_j − Σ g·w), ÷ √d_k, then ∂L/∂V, ∂L/∂Q, ∂L/∂K with ∂L/∂W_V, ∂L/∂W_Q,
∂L/∂W_K left of them, and ∂L/∂x along the three projections. Each formula rounds as the engine rounds
under rounding: carry. Every cell of an intermediate, forward and back, is named as its quantity.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnworked.attention_records import Attend, AttentionBack, AttentionGradient
from nnworked.engine.attention import join
from nnworked.quantities import name as quantity_name
from nnworked.render.spreadsheet_cells import Grid, Matrix, Place
from nnworked.rules.activations.softmax import SOFTMAX_SHIFT_ABOVE

Read = Callable[[Place], str]
ROLES = {"Q": "query_weights_grad", "K": "key_weights_grad", "V": "value_weights_grad"}
PROJECTIONS = (("Q", "WQ", "query"), ("K", "WK", "key"), ("V", "WV", "value"))


def tokens(values: np.ndarray) -> np.ndarray:
    """(N, H, T, d) per head → (H·d, N·T): the heads one under another, a token a column."""
    joined = join(values)
    return joined.reshape(-1, joined.shape[-1]).T


class AttentionCells:
    """The forward record of self-attention, for Layout."""

    def _allowed(self, att: Any, i: int) -> list[int]:
        """The key positions query position i attends to: those the causal mask leaves, or all."""
        positions = att.weights.shape[-1]
        return [j for j in range(positions) if att.mask is None or att.mask[i, j]]

    def pair_block(self, grid: Grid, row: int, values: np.ndarray, h: int,
                   build: Callable[[int, int, int, int], Callable[[Read], str] | None], kind: str = "",
                   layer: int = 0, step: int | str = 1, mask: np.ndarray | None = None) -> np.ndarray:
        """values[n, h, i, j] of one head: row i (the query token), j under token j of example n; `build`
        gives each cell's formula (None: a masked weight, 0). A cell is named as the quantity `kind` (S, Sc,
        A, and backward dA, dSc, dS: [n, i, j], or [n, h, i, j] with several heads), so a sheet can blank it; a
        masked pair is none."""
        examples, heads, positions, _ = values.shape
        out = np.empty((examples, positions, positions), dtype=object)
        for n, i, j in np.ndindex(examples, positions, positions):
            col = self.col(self.example_col, n * positions + j)
            formula = build(n, h, i, j)
            index = (n, i, j) if heads == 1 else (n, h, i, j)
            named = kind and (mask is None or mask[i, j])
            key = quantity_name(kind, layer, *index, step=step) if named else ""
            out[n, i, j] = self.computed(grid, row + i, col, values[n, h, i, j], formula or (lambda read: "0"), key)
        return out

    def _cells_Attend(self, grid: Grid, row: int, att: Attend, places: dict[str, Any],
                      before: dict[str, Matrix] | None, step: int | str) -> int:
        n, k = self.n, att.layer
        examples, heads, positions, dk = att.q.shape
        dv = att.v.shape[-1]
        x = places[f"a{k - 1}"]
        features, columns = len(x), examples * positions
        row = self.heading(grid, row, f"Layer {k}: self-attention, {heads} head{'s' if heads > 1 else ''} (d_k = {dk})"
                           f"{', causal' if att.causal else ''}; each token a column")
        projected: dict[str, Matrix] = {}
        for letter, name, label in PROJECTIONS:
            weights = getattr(att, f"{label}_weights")
            row = self.heading(grid, row, f"W_{letter} (left) and {letter} = W_{letter} · {n.a(k - 1)}" +
                               (f" (head h: rows from h·{dk if letter != 'V' else dv})" if heads > 1 else ""))
            w = self.param_matrix(grid, row, f"{name}{k}", weights, before)
            places[f"{name}{k}"] = w
            projected[letter] = self.matrix(grid, row, self.example_col, tokens(getattr(att, letter.lower())),
                                            lambda i, c, r, col, v, w=w, role=letter.lower(): self.computed(
                                                grid, r, col, v, lambda read: "+".join(
                                                    self.times(read(w[i][f]), read(x[f][c])) for f in range(features)),
                                                quantity_name(role, k, *divmod(c, positions), i, step=step)))
            row += weights.shape[0] + 1
        q, key, value = projected["Q"], projected["K"], projected["V"]
        root = None
        if att.scaled:
            self.text(grid, row, 0, "√d_k")
            root = self.computed(grid, row, self.param_col, att.root, lambda read: f"SQRT({dk})")
            row += 2
        weights_at = []
        for h in range(heads):
            head = f"head {h + 1}: " if heads > 1 else ""
            row = self.heading(grid, row, f"{head}scores Q·Kᵀ (row i: query token i; under token j: its key)")
            scores = self.pair_block(grid, row, att.scores, h, lambda n_, h_, i, j: lambda read: "+".join(
                self.times(read(q[h_ * dk + d][n_ * positions + i]), read(key[h_ * dk + d][n_ * positions + j]))
                for d in range(dk)), "S", k, step, att.mask)
            row += positions + 1
            if root is not None:
                row = self.heading(grid, row, f"{head}the scores ÷ √d_k")
                scores = self.pair_block(grid, row, att.scaled_scores, h, lambda n_, h_, i, j, s=scores:
                                         lambda read: f"{read(s[n_, i, j])}/{read(root)}", "Sc", k, step, att.mask)
                row += positions + 1
            row = self.heading(grid, row, f"{head}each row's softmax, e^(s − max) / Σ e^(s − max)" +
                               (" over j ≤ i (the causal mask: a later token gets weight 0)" if att.causal else ""))

            def softmax(n_: int, h_: int, i: int, j: int, s: np.ndarray = scores) -> Callable[[Read], str] | None:
                allowed = self._allowed(att, i)
                if j not in allowed:
                    return None

                def build(read: Read) -> str:
                    row_ = [read(s[n_, i, u]) for u in allowed]
                    top = f"MAX({','.join(row_)})" if len(row_) > 1 else row_[0]
                    if not self.p.carry:
                        return (f"EXP({row_[allowed.index(j)]}-{top})/"
                                f"({'+'.join(f'EXP({cell}-{top})' for cell in row_)})")
                    # as the engine carries it: each e^(s − shift) rounded, then their sum, where the shift is
                    # the row's maximum only above SOFTMAX_SHIFT_ABOVE (a shift changes what rounds)
                    shift = f"IF({top}>{SOFTMAX_SHIFT_ABOVE:g},{top},0)"
                    e = [self.r(f"EXP({cell}-{shift})") for cell in row_]
                    return f"{e[allowed.index(j)]}/{self.total(e)}"
                return build

            weights_at.append((scores, self.pair_block(grid, row, att.weights, h, softmax, "A", k, step, att.mask)))
            row += positions + 1
        places[f"attention{k}"] = weights_at
        row = self.heading(grid, row, "each head's weighted sum of the values, Σ_j weight_ij × V_j" +
                           (", the heads one under another (the concatenation)" if heads > 1 else ""))

        def mixed(c: int, t: int, r: int, col: int, v: float) -> Place:
            h, (e, i) = c // dv, divmod(t, positions)
            w = weights_at[h][1]
            return self.computed(grid, r, col, v, lambda read: "+".join(
                self.times(read(w[e, i, j]), read(value[c][e * positions + j])) for j in self._allowed(att, i)),
                quantity_name("O", k, e, i, c, step=step) if att.output_weights is not None else
                self.unit_key("a", k, c, t, step))

        concat = self.matrix(grid, row, self.example_col, att.concat.reshape(columns, -1).T, mixed)
        places.update({f"Q{k}@tokens": q, f"K{k}@tokens": key, f"V{k}@tokens": value, f"concat{k}": concat,
                       f"root{k}": [[root]]})
        row += heads * dv + 1
        if att.output_weights is None:
            places[f"a{k}"] = concat
        else:
            out = att.output_weights
            row = self.heading(grid, row, f"W_O (left) and {n.a(k)} = W_O · concat")
            wo = self.param_matrix(grid, row, f"WO{k}", out, before)
            places[f"WO{k}"] = wo
            places[f"a{k}"] = self.matrix(grid, row, self.example_col, att.a.reshape(columns, -1).T,
                                          lambda o, c, r, col, v: self.computed(grid, r, col, v, lambda read: "+".join(
                                              self.times(read(wo[o][u]), read(concat[u][c])) for u in range(out.shape[1])),
                                              self.unit_key("a", k, o, c, step)))
            row += out.shape[0]
        if self.ones_below(k):
            self.ones_across(grid, row, columns)
            row += 1
        return row + 1


class AttentionGradientCells:
    """The backward records of self-attention, for spreadsheet_backward.Backward."""

    def weight_gradient(self, grid: Grid, row: int, name: str, values: np.ndarray, delta: Matrix, inputs: Matrix,
                        first: bool) -> Matrix:
        """∂L/∂W = Σ over the tokens of ∂L/∂(its output) ⊗ its input, left of ∂L/∂(output)."""
        columns = len(delta[0])
        return self.matrix(grid, row, self.param_col, values, lambda i, j, r, c, v: self.computed(
            grid, r, c, v, lambda read: "+".join(self.times(read(delta[i][t]), read(inputs[j][t])) for t in range(columns)),
            quantity_name(f"d{name.rstrip('0123456789')}", int(name.lstrip('WQKVO')), i, j) if first else ""))

    def _cells_AttentionGradient(self, grid: Grid, row: int, rec: AttentionGradient, step: Any,
                                 places: dict[str, Any]) -> int:
        n, k = self.n, rec.layer
        examples, heads, positions, dk = rec.query_grad.shape
        dv = rec.value_grad.shape[-1]
        columns = examples * positions
        first = step.number == 1
        g, x, concat = places[f"da{k}"], places[f"a{k - 1}"], places[f"concat{k}"]
        q, key, value, root = (places[f"Q{k}@tokens"], places[f"K{k}@tokens"], places[f"V{k}@tokens"],
                               places[f"root{k}"][0][0])
        attention = places[f"attention{k}"]
        causal = self.s.layers[k - 1].causal  # (as the forward record's mask: j ≤ i)
        allowed = (lambda i: list(range(i + 1))) if causal else (lambda i: list(range(positions)))  # noqa: E731

        def named(kind: str, c: int, t: int) -> str:  # feature c of token column t, as the quantity (step 1 only)
            return quantity_name(kind, k, *divmod(t, positions), c) if first else ""

        pair_kind = lambda name: name if first else ""  # noqa: E731  (a pair's quantity, named in step 1 only)
        if rec.output_grad is not None:
            wo = places[f"WO{k}"]
            row = self.heading(grid, row, f"Layer {k}: ∂L/∂W_O = Σ over the tokens ∂L/∂{n.a(k)} ⊗ concat (left), "
                               f"∂L/∂concat = W_Oᵀ · ∂L/∂{n.a(k)}")
            places[f"dWO{k}"] = self.weight_gradient(grid, row, f"WO{k}", rec.output_grad, g, concat, first)
            outputs = len(g)
            dconcat = self.matrix(grid, row, self.example_col, rec.concat_grad.reshape(columns, -1).T,
                                  lambda c, t, r, col, v: self.computed(grid, r, col, v, lambda read: "+".join(
                                      self.times(read(wo[o][c]), read(g[o][t])) for o in range(outputs)),
                                      named("dO", c, t)))
            row += max(outputs, heads * dv) + 1
        else:
            dconcat = g
            row = self.heading(grid, row, f"Layer {k}: back through self-attention (∂L/∂concat = ∂L/∂{n.a(k)})")
        scores_grad = []
        for h in range(heads):
            head = f"head {h + 1}: " if heads > 1 else ""
            weights = attention[h][1]
            row = self.heading(grid, row, f"{head}∂L/∂(weights) = ∂L/∂out · Vᵀ (row i, under token j)")
            dweights = self.pair_block(grid, row, rec.weights_grad, h, lambda n_, h_, i, j: lambda read: "+".join(
                self.times(read(dconcat[h_ * dv + d][n_ * positions + i]), read(value[h_ * dv + d][n_ * positions + j]))
                for d in range(dv)), pair_kind("dA"), k, 1, rec.mask)
            row += positions + 1
            row = self.heading(grid, row, f"{head}each row through its softmax Jacobian: w_ij × (∂L/∂w_ij − Σ_j' w_ij' "
                               "× ∂L/∂w_ij')")

            def jacobian(n_: int, h_: int, i: int, j: int, dw: np.ndarray = dweights,
                         w: np.ndarray = weights) -> Callable[[Read], str] | None:
                cols = allowed(i)
                if j not in cols:
                    return None
                # w_j × (g_j − Σ g·w), each stage rounded under carry as the engine works it
                # (worked.softmax_delta: the softmax rule's Jacobian)
                return lambda read: f"{read(w[n_, i, j])}*" + self.rp(f"{read(dw[n_, i, j])}-" + self.total(
                    [self.times(read(dw[n_, i, u]), read(w[n_, i, u])) for u in cols]))

            grad = self.pair_block(grid, row, rec.logits_grad, h, jacobian, pair_kind("dSc" if root is not None else "dS"), k, 1,
                                   rec.mask)
            row += positions + 1
            if root is not None:
                row = self.heading(grid, row, f"{head}÷ √d_k: ∂L/∂(Q·Kᵀ)")
                grad = self.pair_block(grid, row, rec.scores_grad, h, lambda n_, h_, i, j, d=grad: (
                    lambda read: f"{read(d[n_, i, j])}/{read(root)}") if j in allowed(i) else None, pair_kind("dS"), k, 1,
                    rec.mask)
                row += positions + 1
            scores_grad.append(grad)
        blocks = {
            "V": (rec.value_grad, dv, lambda c, t: [(weights_of(attention, c // dv)[t // positions, i, t % positions],
                                                     dconcat[c][t - t % positions + i])
                                                    for i in range(positions) if t % positions in allowed(i)]),
            "Q": (rec.query_grad, dk, lambda c, t: [(scores_grad[c // dk][t // positions, t % positions, j],
                                                     key[c][t - t % positions + j]) for j in allowed(t % positions)]),
            "K": (rec.key_grad, dk, lambda c, t: [(scores_grad[c // dk][t // positions, i, t % positions],
                                                   q[c][t - t % positions + i])
                                                  for i in range(positions) if t % positions in allowed(i)]),
        }
        texts = {"V": "Σ_i weight_ij × ∂L/∂out_i", "Q": "Σ_j ∂L/∂S_ij × K_j", "K": "Σ_i ∂L/∂S_ij × Q_i"}
        for letter in ("V", "Q", "K"):
            values, width, pairs = blocks[letter]
            row = self.heading(grid, row, f"∂L/∂W_{letter} (left) and ∂L/∂{letter} = {texts[letter]}")
            delta = self.matrix(grid, row, self.example_col, tokens(values), lambda c, t, r, col, v, pairs=pairs:
                                self.computed(grid, r, col, v, lambda read: "+".join(
                                    self.times(read(a), read(b)) for a, b in pairs(c, t)) or "0",
                                    named(f"d{letter.lower()}", c, t)))
            places[f"d{letter}{k}@tokens"] = delta
            places[f"dW{letter}{k}"] = self.weight_gradient(grid, row, f"W{letter}{k}", getattr(rec, ROLES[letter]),
                                                            delta, x, first)
            row += heads * width + 1
        return row

    def _cells_AttentionBack(self, grid: Grid, row: int, rec: AttentionBack, step: Any, places: dict[str, Any]) -> int:
        n, k = self.n, rec.layer
        upstream, keyed = self.landing(k - 1, rec.upstream, step)
        upstream = upstream.reshape(-1, upstream.shape[-1])
        paths = [(places[f"W{letter}{k}"], places[f"d{letter}{k}@tokens"]) for letter in ("Q", "K", "V")]
        row = self.heading(grid, row, f"∂L/∂{n.a(k - 1)} = W_Qᵀ·∂L/∂Q + W_Kᵀ·∂L/∂K + W_Vᵀ·∂L/∂V: the three paths")

        def cell(f: int, t: int, r: int, col: int, v: float) -> Place:
            return self.computed(grid, r, col, v, lambda read: self.total([self.r("+".join(
                self.times(read(w[i][f]), read(d[i][t])) for i in range(len(w)))) for w, d in paths]),
                self.unit_key("da", k - 1, f, t, step.number) if keyed else "")

        places[f"da{k - 1}"] = self.matrix(grid, row, self.example_col, upstream.T, cell)
        return row + upstream.shape[1] + 1


def weights_of(attention: list[tuple[np.ndarray, np.ndarray]], h: int) -> np.ndarray:
    return attention[h][1]
