"""Typeset nodes (nnworked/render/mathtree.py) as LaTeX mathematics for amsmath: true minus signs, \\times,
\\sigma, \\hat{y}, \\frac, e^{-z}, bmatrix, and a blank as an empty box sized for its answer."""

from __future__ import annotations

from nnworked.render.mathtree import (Box, Fenced, Fraction, Ident, Matrix, Node, Number, Operator, Root, Row, Script,
                                      Space, Words)

_SYMBOLS = {
    "−": "-", "×": r"\times", "·": r"\cdot", "∂": r"\partial", "σ": r"\sigma", "δ": r"\delta", "η": r"\eta",
    "θ": r"\theta", "λ": r"\lambda", "μ": r"\mu", "ρ": r"\rho", "β": r"\beta", "ε": r"\varepsilon", "α": r"\alpha",
    "γ": r"\gamma", "φ": r"\varphi", "ψ": r"\psi", "ω": r"\omega", "Σ": r"\Sigma", "Δ": r"\Delta", "⊙": r"\odot",
    "⊗": r"\otimes", "→": r"\rightarrow", "←": r"\leftarrow", "≤": r"\leq", "≥": r"\geq", "√": r"\surd",
    "∞": r"\infty", "⋮": r"\vdots", "′": "'", "│": r"\mid", "|": r"\vert", "✓": r"\checkmark", "…": r"\ldots",
    "≈": r"\approx", "‖": r"\|", "≠": r"\neq", "±": r"\pm", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
    "%": r"\%", "#": r"\#", "_": r"\_", "\\": r"\backslash", "~": r"\sim", "^": r"\hat{}", "ᵀ": r"^{\mathsf{T}}",
    "÷": r"\div", "½": r"\tfrac{1}{2}",
}
# the loss chart's bars (▁ … █), as rules of their heights
_SYMBOLS.update({bar: rf"\rule{{0.45em}}{{{0.25 * (k + 1):.2f}ex}}" for k, bar in enumerate("▁▂▃▄▅▆▇█")})
_PLAIN = set("=+-()[],;:.!?/*<>@")


def tex(node: Node) -> str:
    """The LaTeX (math mode) of a node."""
    return _PRINTERS[type(node)](node)


def _row(node: Row) -> str:
    return " ".join(tex(item) for item in node.items)


def _ident(node: Ident) -> str:
    if len(node.text) == 1:
        body = _SYMBOLS.get(node.text, node.text)
    else:
        body = rf"\operatorname{{{node.text}}}"
    return rf"\hat{{{body}}}" if node.hat else body


def _number(node: Number) -> str:
    return node.text.replace("−", "-").replace(",", "{,}")


def _operator(node: Operator) -> str:
    if node.text in _SYMBOLS:
        return _SYMBOLS[node.text]
    if node.text in _PLAIN or node.text.isalnum() and node.text.isascii():
        return node.text
    from nnworked.render.latex import escape

    return rf"\text{{{escape(node.text)}}}"  # a character with no math spelling: as text, escaped


def _words(node: Words) -> str:
    from nnworked.render.latex import escape

    return rf"\text{{{escape(node.text)}}}"


def _script(node: Script) -> str:
    base = tex(node.base)
    if isinstance(node.base, (Script, Fraction, Row)) or base.endswith("'"):
        base = "{" + base + "}"
    return base + (f"_{{{tex(node.sub)}}}" if node.sub is not None else "") + \
        (f"^{{{tex(node.sup)}}}" if node.sup is not None else "")


def _fraction(node: Fraction) -> str:
    return rf"\frac{{{tex(node.numerator)}}}{{{tex(node.denominator)}}}"


def _root(node: Root) -> str:
    return rf"\sqrt{{{tex(node.body)}}}"


def _fenced(node: Fenced) -> str:
    inner = tex(node.body)
    if "\\frac" in inner:  # brackets as tall as the fraction they hold
        return rf"\left{_delimiter(node.open)} {inner} \right{_delimiter(node.close)}"
    return f"{_delimiter(node.open)}{inner}{_delimiter(node.close)}"


def _delimiter(char: str) -> str:
    return {"{": r"\{", "}": r"\}"}.get(char, char)


def box(chars: int) -> str:
    """An empty box with room for `chars` characters of the answer."""
    return rf"\fbox{{\rule{{0pt}}{{1.8ex}}\rule{{{0.55 * chars:.2f}em}}{{0pt}}}}"


def _box(node: Box) -> str:
    return box(node.chars)


def _space(node: Space) -> str:
    return r"\quad"


def _matrix(node: Matrix) -> str:
    columns = len(node.rows[0]) if node.rows else 0
    rows = []
    for i, cells in enumerate(node.rows):
        rows.append((r"\hline " if i == node.rule else "") + " & ".join(tex(c) for c in cells))
    body = r" \\ ".join(rows)
    if node.bar < 0 and node.rule < 0:
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"
    spec = "".join(("|" if j == node.bar else "") + "c" for j in range(columns))
    return rf"\left[\begin{{array}}{{{spec}}} {body} \end{{array}}\right]"


_PRINTERS = {Row: _row, Ident: _ident, Number: _number, Operator: _operator, Words: _words, Script: _script,
             Fraction: _fraction, Root: _root, Fenced: _fenced, Box: _box, Space: _space, Matrix: _matrix}
