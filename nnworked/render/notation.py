"""Symbols for a scenario's quantities, as the seeds write them: x, z₁, h, ŷ, W₁, δ₂, W₂[0], z₁⁽²⁾[1]."""

from __future__ import annotations

from dataclasses import dataclass

from nnworked.render.numbers import subscript, superscript


@dataclass(frozen=True)
class Notation:
    layers: int
    examples: int

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
        """W1 -> W₁"""
        return name[0] + subscript(name[1:])

    def example(self, n: int) -> str:
        """The superscript that marks example n (counting from 1) in a batch; nothing for one example."""
        return superscript(f"({n + 1})").replace("(", "⁽").replace(")", "⁾") if self.examples > 1 else ""

    def element(self, symbol: str, n: int, i: int, units: int) -> str:
        return symbol + self.example(n) + (f"[{i}]" if units > 1 else "")

    @staticmethod
    def weight(symbol: str, i: int, j: int, rows: int) -> str:
        return f"{symbol}[{j}]" if rows == 1 else f"{symbol}[{i},{j}]"

    def layer_name(self, k: int) -> str:
        if k == 0:
            return "Input"
        if k == self.layers:
            return "Output"
        return "Hidden" if self.layers == 2 else f"Hidden {k}"
