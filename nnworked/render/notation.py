"""Symbols for a scenario's quantities, as the seeds write them: x, z₁, h, ŷ, W₁, δ₂, W₂[0], z₁⁽²⁾[1]."""

from __future__ import annotations

from typing import Callable, NamedTuple

from nnworked import quantities
from nnworked.render.numbers import subscript, superscript

_GREEK = {"gamma": "γ", "beta": "β"}  # a norm layer's parameters, named in files as words


class Notation(NamedTuple):
    layers: int
    examples: int
    step: int | str = 1  # whose values the keys name: 1, 2, … or "final" (the pass after training)
    steps: int = 1  # training steps in all: the final pass uses the parameters after the last

    def a(self, k: int) -> str:
        """The output of layer k; layer 0 is the input."""
        if k == 0:
            return "x"
        if k == self.layers:
            return "ŷ"
        return "h" if self.layers == 2 else f"a{subscript(k)}"

    def z(self, k: int) -> str:
        return f"z{subscript(k)}"

    def W(self, k: int) -> str:
        return f"W{subscript(k)}"

    def b(self, k: int) -> str:
        return f"b{subscript(k)}"

    def delta(self, k: int) -> str:
        return f"δ{subscript(k)}"

    def param(self, name: str) -> str:
        """W1 -> W₁, K2 -> K₂, gamma3 -> γ₃ (as the walkthrough's equations write it)"""
        parsed = quantities.parse(name)
        return _GREEK.get(parsed.kind, parsed.kind) + subscript(str(parsed.layer)) + (f".{parsed.part}" if parsed.part else "")  # Wx₁.i

    def example(self, n: int) -> str:
        """The superscript that marks example n (counting from 1) in a batch; nothing for one example."""
        return superscript(f"({n + 1})").replace("(", "⁽").replace(")", "⁾") if self.examples > 1 else ""

    def element(self, symbol: str, n: int, i: int | tuple[int, ...], units: int) -> str:
        if isinstance(i, tuple):  # an image's (channel, row, col)
            return symbol + self.example(n) + f"[{','.join(map(str, i))}]"
        return symbol + self.example(n) + (f"[{i}]" if units > 1 else "")

    def key(self, kind: str, k: int, i: int, n: int = 0) -> str:
        """The name a teacher blanks a value by: z1[0] with one example, z1[0,1] (unit 0 of example 1)
        in a batch; kinds are z, a, dz, da (∂L/∂z, ∂L/∂a). Weights are wkey's."""
        return quantities.cell(kind, k, i, n, self.examples, self.step)

    def wkey(self, kind: str, k: int, i: int, j: int | None = None, part: str = "") -> str:
        """dW2[0,1], db2[0] (gradients) or W2[0,1], b2[0] (values after the update); an LSTM gate's with its
        part: dWx1.i[0,1]."""
        index = (i,) if j is None else (i, j)
        return quantities.name(kind, k, *index, step=self.step, part=part)

    def before(self, kind: str, k: int, *index: int, part: str = "") -> str:
        """The name of a parameter as this pass uses it: "" in step 1 (the numbers the user wrote), else its
        value after the previous step's update (W1[0,1] in step 2, W1[0,1]@2 in step 3; Wx1.i[0,1] a gate's)."""
        previous = self.steps if self.step == quantities.FINAL else int(self.step) - 1
        return "" if previous < 1 else quantities.name(kind, k, *index, step=previous, part=part)

    def loss_key(self, example: int | None = None) -> str:
        """L, or L[e] for one example's loss in a batch."""
        return quantities.name("L", 0, *(() if example is None else (example,)), step=self.step)

    def keys(self, kind: str, k: int) -> "Callable[[int, int], str]":
        """Labels for an array whose rows are examples: (example, unit) -> key."""
        return lambda n, i: self.key(kind, k, i, n)

    @staticmethod
    def weight(symbol: str, i: int, j: int, rows: int) -> str:
        return f"{symbol}[{j}]" if rows == 1 else f"{symbol}[{i},{j}]"

    def layer_name(self, k: int) -> str:
        if k == 0:
            return "Input"
        if k == self.layers:
            return "Output"
        return "Hidden" if self.layers == 2 else f"Hidden {k}"
