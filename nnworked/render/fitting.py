"""Fitting lines of mathematics to a width: a worked line broken between its stages, a matrix cut into
column slices. Only spaces break a line, so a number or a name is never split.

A worked line `lhs = stage = stage = value` breaks before an `=`, each continuation line with its `=`
under the first one, as a teacher writes a long derivation on the board:

    z₂ = (0.5 × 0.21) + (0.6 × 0.47) + 0.1
       = 0.105 + 0.282 + 0.1 = 0.487

A stage too long for a line of its own breaks before an operator (+ − × / →), the outermost first, and
its continuation lines start with that operator, indented past their `=`.
"""

from __future__ import annotations

import re

_OPENING, _CLOSING = "([{", ")]}"
_OPERATORS = ("+", "−", "-", "×", "/", "→", "⊙", "·")
_TIGHT = "×/⊙·"  # operators that bind tighter than + and −: a line breaks at them only after the sums
_NOTE = "   "  # three spaces set a note off a line (`   ← answer`, `   (summed over …)`): a break before it is best


def break_line(text: str, width: int, hanging: int = 2) -> list[str]:
    """`text` as lines no wider than `width` where spaces allow (a single word wider than the width stays
    whole). A line without an outermost `=` continues `hanging` columns in from its first line's indent."""
    if len(text) <= width:
        return [text]
    indent = len(text) - len(text.lstrip(" "))
    stages = _split_outermost(text, " = ")
    if len(stages) == 1 or len(stages[0]) > width // 2:  # prose that holds an "=" breaks as prose
        first, *rest = _break_stage(text.lstrip(" "), width - indent, width - indent - hanging)
        return [" " * indent + first, *(" " * (indent + hanging) + part for part in rest)]
    lhs, rest = stages[0], stages[1:]
    equals = min(len(lhs) + 1, max(indent + 2, width // 3))  # the column of every "=" after the first
    out: list[str] = []
    current = lhs + " ="
    stage_on_line = False  # whether the current line holds a stage already (the lhs alone does not count)
    for stage in rest:
        joint = " = " if stage_on_line else " "  # a line that ends in "=" takes the stage after a space
        if len(current) + len(joint) + len(stage) <= width:
            current += joint + stage
            stage_on_line = True
            continue
        if stage_on_line:
            out.append(current)
            current = " " * equals + "="
        start = len(current) + 1
        first, *more = _break_stage(stage, width - start, width - start - 2)
        current += " " + first
        for part in more:
            out.append(current)
            current = " " * (start + 2) + part
        stage_on_line = True
        if more:  # the next stage starts on a line of its own, so each stage reads as one piece
            out.append(current)
            current = " " * equals + "="
            stage_on_line = False
    if current.strip() != "=":
        out.append(current)
    return out


def _split_outermost(text: str, separator: str) -> list[str]:
    """`text` split at `separator` wherever it stands outside every bracket."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth = max(0, depth - 1)
        elif depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _breaks(text: str) -> list[tuple[int, int]]:
    """Where `text` may break, as (position of the space, rank): lower ranks break first. A note set off
    by three spaces ranks best, then an operator outside every bracket, then one inside a bracket (deeper
    ranks worse), then any other space."""
    found, depth = [], 0
    for i, char in enumerate(text):
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth = max(0, depth - 1)
        elif char == " " and i > 0 and text[i - 1] != " " and i + 1 < len(text):
            after = len(text) - len(text[i:].lstrip(" "))  # the first character after these spaces
            if text.startswith(_NOTE, i) and depth == 0:
                found.append((i, 0))
            elif after + 1 < len(text) and text[after] in _OPERATORS and text[after + 1] == " ":
                found.append((i, 1 + 2 * depth + (text[after] in _TIGHT)))  # a sum before its products
            elif after < len(text):
                found.append((i, 100 + depth))
    return found


def _break_stage(text: str, first: int, others: int) -> list[str]:
    """One stage in pieces: the first at most `first` wide, the others at most `others` (each after the
    first starts with the operator it broke before). A piece that cannot be made to fit stays whole."""
    pieces: list[str] = []
    limit = first
    while len(text) > limit:
        # the best-ranked break that leaves at least half the line filled; failing that, the furthest
        fitting = [(rank, -position) for position, rank in _breaks(text) if limit // 2 <= position <= limit] or \
                  [(0, -position) for position, _ in _breaks(text) if 0 < position <= limit]
        if not fitting:
            later = [position for position, _ in _breaks(text) if position > limit]
            if not later:
                break
            cut = later[0]  # nothing fits: the shortest overflow
        else:
            cut = -min(fitting)[1]
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
        limit = max(others, 1)
    pieces.append(text)
    return pieces


_GRID_ROW = re.compile(r"\| .*\|(\s{2,}\S.*)?$")
_RULE_ROW = re.compile(r"\| -+ \|")


def is_grid_row(line: str) -> bool:
    """A row of a matrix as numbers.matrix_lines draws it, `| 1  2 |`, perhaps after `name = ` or before a
    note such as `   (2×2)`."""
    return _GRID_ROW.search(line.rstrip()) is not None


def slice_grid(rows: list[str], width: int) -> list[str]:
    """Rows of a matrix too wide for `width`, cut into slices of whole columns, one below the other: each
    slice but the last ends its rows in …, each but the first starts them with …. A cut falls only where
    every row has two spaces (between two columns) or a block's bar │ (between [W │ b]), so no number is
    split; a rule between stacked blocks (`| ---- |`) is cut wherever the numbers are."""
    # the opening bar stands in one column in every row (a name before it may hold bars too: ∂L/∂[W | b])
    start = min(p for p, c in enumerate(rows[0]) if c == "|" and all(len(r) > p and r[p] == "|" for r in rows))
    heads = [row[:start] for row in rows]
    bodies = [row[start:] for row in rows]
    rules = [_RULE_ROW.fullmatch(b.rstrip()) is not None for b in bodies]  # `| ---- |` between stacked blocks
    slices: list[list[str]] = []
    offset = 0
    length = max(len(b) for b in bodies)
    bodies = [b.ljust(length) for b in bodies]
    while True:
        lead = start if not slices else start + 2  # "… " opens every slice after the first
        room = width - lead
        if length - offset <= room:
            slices.append([b[offset:].rstrip() for b in bodies])
            break
        cuts = [p for p in range(offset + 1, min(length, offset + room))
                if all(b[p - 1:p + 1] in ("  ", " │") for b, rule in zip(bodies, rules) if not rule)]
        if not cuts:  # no whole column fits: leave the rest as it is
            slices.append([b[offset:].rstrip() for b in bodies])
            break
        cut = cuts[-1]  # every row has a space before it, so the …s stand in one column
        slices.append([b[offset:cut] + ("-" if rule else "…") for b, rule in zip(bodies, rules)])
        offset = cut
        while offset < length and all(b[offset] in " -" if rule else b[offset] == " " for b, rule in zip(bodies, rules)):
            offset += 1
    out: list[str] = []
    for number, piece in enumerate(slices):
        if number:
            out.append("")
            out += [" " * start + "… " + body for body in piece]
        else:
            out += [head + body for head, body in zip(heads, piece)]
    return out
