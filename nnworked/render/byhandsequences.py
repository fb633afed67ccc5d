"""The AI by Hand layout of sequences: each token (position) a column and each feature a row, as Tom Yeh's
sheets draw self-attention, RNNs and LSTMs. This module holds what the sequence sheets share: a grid made
of blocks set side by side (│) or stacked (a rule between them), an example's sequence with its tokens as
columns, the setup's inputs and sequence-layer weights, and the dense layers a sequence scenario applies
at every position, worked as [W | b] · [h ; 1] with one column per token. The attention sheet is in
`byhandattention`, the recurrent ones in `byhandrecurrent`.

Every number is the trace's, each cell named as the table of quantities names it (so a sheet blanks it);
every worked line is the table's expression or the one the standard layout prints."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import fmt
from nnworked.render.page import Numbering, Page
from nnworked.trace import Activate, BackToPrevious, LayerGradient, Linear, OutputDelta, ThroughActivation

Cell = Callable[[int, int], str]  # (row, column) -> the label of the number in that cell


class Part:
    """One block of a joined grid: its values, how each cell is named, whether they are given numbers,
    and what to print instead of a cell (the −∞ of a masked score), if anything."""

    def __init__(self, values: np.ndarray, labels: Cell | None = None, given: bool = False,
                 text: Callable[[int, int], str | None] | None = None):
        self.values, self.labels, self.given, self.text = values, labels, given, text

    def cell(self, page: Page, r: int, c: int) -> str:
        shown = self.text(r, c) if self.text else None
        if shown is not None:
            return shown
        return fmt(self.values[r, c], page.p, self.given, self.labels(r, c) if self.labels else "")


def _shown(count: int, limit: int) -> list[int]:
    """The indices of a grid's rows or columns shown, −1 where the elided ones stand (⋮ or …)."""
    indices, hidden = pick(count, limit)
    return indices[:-1] + [-1] + indices[-1:] if hidden else indices


def joined(symbol: str, page: Page, parts: list[Part], stacked: bool = False, every: int = 0) -> list[str]:
    """`symbol = | … │ … |`: blocks side by side, each set off by a bar (as [W | b] is), or stacked with a
    rule between them (as [x ; 1] is). A large block keeps its first and last rows and columns. Blocks side
    by side may be cut into bands of `every` rows by rules too (an LSTM's four gates), when no row is elided."""
    limit = page.s.elements
    if stacked:
        cols = _shown(parts[0].values.shape[1], limit)
        rows: list[list[str] | None] = []
        for number, part in enumerate(parts):
            if number:
                rows.append(None)  # the rule between two blocks
            rows += [["⋮" if r == -1 else "…" if c == -1 else part.cell(page, r, c) for c in cols]
                     for r in _shown(part.values.shape[0], limit)]
        cells = [row for row in rows if row is not None]
        widths = [max(len(row[j]) for row in cells) for j in range(len(cols))]
        lines = ["| " + "-" * (sum(widths) + 2 * (len(widths) - 1)) + " |" if row is None else
                 "| " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    else:
        row_index = _shown(parts[0].values.shape[0], limit)
        blocks = []
        for part in parts:
            cols = _shown(part.values.shape[1], limit)
            cells = [["⋮" if r == -1 else "…" if c == -1 else part.cell(page, r, c) for c in cols] for r in row_index]
            widths = [max(len(row[j]) for row in cells) for j in range(len(cols))]
            blocks.append(["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in cells])
        lines = ["| " + " │ ".join(block[r] for block in blocks) + " |" for r in range(len(row_index))]
        if every and -1 not in row_index:
            rule = "| " + "-" * (len(lines[0]) - 4) + " |"
            lines = [text for r, row in enumerate(lines) for text in ([rule, row] if r and r % every == 0 else [row])]
    pad = " " * (len(symbol) + 3)
    return [f"{symbol} = {lines[0]}", *(pad + text for text in lines[1:])]


def tokens(symbol: str, page: Page, values: np.ndarray, labels: Callable[[int, tuple[int, int]], str] | None = None,
           given: bool = False) -> list[str]:
    """A sequence (examples, positions, units) as the sheets draw it: for each example a grid with a row
    per unit and a column per token (x⁽²⁾ = | … | for example 2 of a batch)."""
    shown, hidden = pick(values.shape[0], page.s.elements)
    lines: list[str] = []
    for e in shown:
        cell = (lambda i, t, e=e: labels(e, (t, i))) if labels else None
        lines += joined(f"{symbol}{page.n.example(e)}", page, [Part(values[e].T, cell, given)])
    if hidden:
        lines.append(f"… {hidden:,} more examples")
    return lines


def setup_inputs(page: Page, inputs: np.ndarray, targets: np.ndarray | None) -> list[str]:
    """The setup's input sequences, tokens as columns, and the targets (per token, or one column each)."""
    n = page.n
    lines = tokens(n.a(0), page, inputs, given=True)
    if targets is not None:
        if targets.ndim == 3:
            lines += [""] + tokens("y", page, targets, given=True)
        else:
            lines += [""] + joined("y", page, [Part(targets.T, given=True)])
    return lines


class DenseAtEveryPosition:
    """A dense layer after a sequence layer, in this layout: the same [W | b] times each token's column
    [h ; 1], so z has a column per token; its activation, δ and ∂L/∂h the same way; its weight gradient
    δ · [h | 1]ᵀ summed over every token (and example). The worked lines are the table's."""

    def __init__(self, page: Page):
        self.page, self.p, self.n, self.s = page, page.p, page.n, page.s

    def _lines(self, symbol: str, kind: str, k: int, values: np.ndarray) -> list[str]:
        """Each shown (example, token, unit) worked from the table, named symbol[unit,token]; as many as the
        standard layout works (the first of each example's tokens × units, then the count of the rest)."""
        n = self.n
        lines: list[str] = []
        shown, hidden = self.page.elements(*values.shape)
        for e, (t, i) in shown:
            key = n.key(kind, k, (t, i), e)
            lines += line(f"{symbol}{n.example(e)}[{i},{t}]", self.page.table.expression(key), self.p, self.s.width,
                          label=key)
        if hidden:
            lines.append(elided_note(hidden))
        return lines

    def _grid(self, symbol: str, kind: str, k: int, values: np.ndarray) -> list[str]:
        return tokens(symbol, self.page, values, lambda e, unit: self.n.key(kind, k, unit, e))

    def linear(self, lin: Linear) -> list[Block]:
        n, k = self.n, lin.layer
        has_bias = lin.bias is not None
        product = f"[{n.W(k)} | {n.b(k)}] · [{n.a(k - 1)} ; 1]" if has_bias else f"{n.W(k)} · {n.a(k - 1)}"
        return [Heading(3, f"Layer {k}: {n.layer_name(k - 1)} → {n.layer_name(k)}, at every token"),
                Para("The same weights at every token: each column of the product is one token's column of the "
                     "inputs" + (" with a 1 below it" if has_bias else "") + ", the cell a row of the weights times it."
                     + " A cell is written [unit,token]."),
                Math([f"{n.z(k)} = {product}"]), Math(self._lines(n.z(k), "z", k, lin.z)),
                Math(self._grid(n.z(k), "z", k, lin.z))]

    def activate(self, act: Activate, label: str) -> list[Block]:
        n, k = self.n, act.layer
        return [Heading(3, f"Layer {k}: {label}, at every token"), Math(self._lines(n.a(k), "a", k, act.a)),
                Math(self._grid(n.a(k), "a", k, act.a))]

    def delta(self, step: OutputDelta | ThroughActivation, formula: str) -> list[Block]:
        n, k = self.n, step.layer
        return [Heading(3, f"Layer {k}: ∂L/∂{n.z(k)}, at every token"), Math([formula]),
                Math(self._lines(f"∂L/∂{n.z(k)}", "dz", k, step.delta)),
                Math(self._grid(f"∂L/∂{n.z(k)}", "dz", k, step.delta))]

    def gradient(self, step: LayerGradient) -> list[Block]:
        n, k = self.n, step.layer
        has_bias = step.bias_grad is not None
        target = f"[{n.W(k)} | {n.b(k)}]" if has_bias else n.W(k)
        source = f"[{n.a(k - 1)} | 1]" if has_bias else n.a(k - 1)
        lines: list[str] = []
        rows, hidden_r = pick(step.weights_grad.shape[0], self.s.elements)
        cols, hidden_c = pick(step.weights_grad.shape[1], self.s.elements)
        for i in rows:
            for j in cols:
                key = n.wkey("dW", k, i, j)
                lines += line(f"∂L/∂{n.W(k)}[{i},{j}]", self.page.table.expression(key), self.p, self.s.width, label=key)
            if has_bias:
                key = n.wkey("db", k, i)
                lines += line(f"∂L/∂{n.b(k)}[{i}]", self.page.table.expression(key), self.p, self.s.width, label=key)
        if hidden_r or hidden_c:
            lines.append(elided_note(step.weights_grad.size - len(rows) * len(cols)))
        parts = [Part(step.weights_grad, lambda i, j: n.wkey("dW", k, i, j))]
        if has_bias:
            parts.append(Part(step.bias_grad[:, None], lambda i, _: n.wkey("db", k, i)))
        return [Heading(3, f"Layer {k}: weights and biases" if has_bias else f"Layer {k}: weights"),
                Math([f"∂L/∂{target} = ∂L/∂{n.z(k)} · {source}ᵀ; the product sums over every token"
                      + (" of every example" if step.delta.shape[0] > 1 else "")]),
                Math(lines), Math(joined(f"∂L/∂{target}", self.page, parts))]

    def back(self, step: BackToPrevious) -> list[Block]:
        n, k = self.n, step.layer
        return [Heading(3, f"Layer {k - 1}: ∂L/∂{n.a(k - 1)}, at every token"),
                Math([f"∂L/∂{n.a(k - 1)} = {n.W(k)}ᵀ · ∂L/∂{n.z(k)}   (the bias column takes no part)"]),
                Math(self._lines(f"∂L/∂{n.a(k - 1)}", "da", k - 1, step.upstream)),
                Math(self._grid(f"∂L/∂{n.a(k - 1)}", "da", k - 1, step.upstream))]


def sequence_parameters(page: Page, k: int, layer: Any) -> list[str]:
    """The setup's weights of a sequence layer as its sheet uses them, or [] for another layer."""
    from nnworked.render.byhandattention import attention_weights
    from nnworked.render.byhandrecurrent import lstm_weights, rnn_weights

    if getattr(layer, "query_weights", None) is not None:  # self-attention: W_Q, W_K, W_V (and W_O)
        return attention_weights(page, k, layer)
    weights = getattr(layer, "input_weights", None)
    if weights is None:
        return []
    stack = lstm_weights if weights.ndim == 3 else rnn_weights  # an LSTM's are stacked by gate
    return stack(page, k, layer.input_weights, layer.recurrent_weights, layer.bias, True)


class StandardAtEveryToken:
    """Records this layout draws no token grid for yet (a norm, dropout or a skip connection at every token
    of a sequence): the standard layout's working of each, under this layout's heading (Layer k: …)."""

    def __init__(self, *printers: Any):
        self.printers = printers

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_print_"):
            raise AttributeError(name)
        for printer in self.printers:
            method = getattr(printer, name, None)
            if method is not None:
                return lambda record, method=method: self._retitled(method(record, Numbering(record.layer)), record)
        raise AttributeError(name)

    @staticmethod
    def _retitled(blocks: list[Block], record: Any) -> list[Block]:
        first = blocks[0]
        if isinstance(first, Heading) and ": " in first.text:
            return [Heading(3, f"Layer {record.layer}: {first.text.split(': ', 1)[1]}"), *blocks[1:]]
        return blocks
