"""Typeset nodes (nnworked/render/mathtree.py) as MathML, which browsers render without a script: <mi>, <mn>,
<mo>, <mfrac>, <msub>/<msup>, <msqrt>, <mtable>; a blank is an empty box sized for its answer."""

from __future__ import annotations

from html import escape

from nnworked.render.mathtree import (Box, Fenced, Fraction, Ident, Matrix, Node, Number, Operator, Root, Row, Script,
                                      Space, Words)

_NAMES = {"ŷ": "y"}


def mathml(node: Node) -> str:
    """The MathML of a node (inside a <math> element)."""
    return _PRINTERS[type(node)](node)


def _row(node: Row) -> str:
    return "<mrow>" + "".join(mathml(item) for item in node.items) + "</mrow>"


def _ident(node: Ident) -> str:
    text = f"<mi>{escape(node.text)}</mi>" if len(node.text) == 1 else \
        f'<mi mathvariant="normal">{escape(node.text)}</mi>'
    return f'<mover accent="true">{text}<mo>^</mo></mover>' if node.hat else text


def _number(node: Number) -> str:
    if node.text.startswith("−"):  # a minus sign, then the number
        return f"<mrow><mo>−</mo><mn>{escape(node.text[1:])}</mn></mrow>"
    return f"<mn>{escape(node.text)}</mn>"


def _operator(node: Operator) -> str:
    if node.text in "()[]{}":  # a bracket amid a row of text is not a fence: no space around it
        return f'<mo stretchy="false" lspace="0" rspace="0">{escape(node.text)}</mo>'
    return f"<mo>{escape(node.text)}</mo>"


def _words(node: Words) -> str:
    # spaces at the ends of a token element are dropped: keep them as no-break spaces
    text = escape(node.text)
    stripped = text.strip(" ")
    lead, trail = len(text) - len(text.lstrip(" ")), len(text) - len(text.rstrip(" "))
    return f"<mtext>{' ' * lead}{stripped}{' ' * trail}</mtext>"


def _script(node: Script) -> str:
    base = mathml(node.base)
    if node.sub is not None and node.sup is not None:
        return f"<msubsup>{base}{mathml(node.sub)}{mathml(node.sup)}</msubsup>"
    if node.sub is not None:
        return f"<msub>{base}{mathml(node.sub)}</msub>"
    return f"<msup>{base}{mathml(node.sup)}</msup>"  # type: ignore[arg-type]


def _fraction(node: Fraction) -> str:
    return f"<mfrac>{mathml(node.numerator)}{mathml(node.denominator)}</mfrac>"


def _root(node: Root) -> str:
    return f"<msqrt>{mathml(node.body)}</msqrt>"


def _fenced(node: Fenced) -> str:
    tight = ' lspace="0" rspace="0"'
    return f"<mrow><mo{tight}>{escape(node.open)}</mo>{mathml(node.body)}<mo{tight}>{escape(node.close)}</mo></mrow>"


def box(chars: int) -> str:
    """An empty box with room for `chars` characters of the answer (an HTML box inside <mtext>)."""
    return f'<mtext><span class="blank" style="width: {0.6 * chars:.1f}em"></span></mtext>'


def _box(node: Box) -> str:
    return box(node.chars)


def _space(node: Space) -> str:
    return '<mspace width="1em"></mspace>'


def _matrix(node: Matrix) -> str:
    rows = []
    bar, rule = ' class="bar"', ' class="rule"'
    for i, cells in enumerate(node.rows):
        tds = "".join(f"<mtd{bar if j == node.bar else ''}>{mathml(c)}</mtd>" for j, c in enumerate(cells))
        rows.append(f"<mtr{rule if i == node.rule else ''}>{tds}</mtr>")
    return f'<mrow><mo>[</mo><mtable class="matrix">{"".join(rows)}</mtable><mo>]</mo></mrow>'


_PRINTERS = {Row: _row, Ident: _ident, Number: _number, Operator: _operator, Words: _words, Script: _script,
             Fraction: _fraction, Root: _root, Fenced: _fenced, Box: _box, Space: _space, Matrix: _matrix}
