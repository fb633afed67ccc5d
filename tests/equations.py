"""An independent checker for the worked equations nnworked prints.

It reads rendered Markdown as plain text and knows nothing of nnworked's own expression, formula
or number-formatting code. Every line inside a fenced code block is split at "=" (outside brackets)
into segments; each segment that is purely numeric is evaluated with exact interval arithmetic
(fractions; exp/ln/tanh/σ/√ in floats, widened outward), and consecutive numeric segments of a line
must have overlapping intervals, up to a tolerance of 1e-12 relative.

What interval a printed number stands for follows the precision P the output states ("computed
exactly, shown to 4 decimals (more where a small value needs them)", or "rounded to 5 decimals"):
a number with d ≤ P decimals stands for v ± 0.5·10^−P, so 0.1 × 0.5 = 0.06 is caught, while
−1.6145 × 0.2357 = −0.3806 (rounded factors) passes. See half_width for the precise rule. With
places=None every decimal number stands for v ± half a unit in its last digit (the loosest reading).

Notation understood: U+2212 "−" (and "-") for minus, thousands separators (330,625), "×", "·" and
"/" (left-associative), "+", superscript integer powers (0.0997², 10¹⁵, 10⁻⁵), e^(...), ln(...),
tanh(...), σ(...), max(a, b, ...), √(...), grouping with (...) and [...].

Segments with any other letter or symbol (ŷ, h, ∂, Σ, δ, W, ReLU(...), matrices "| ... |",
vectors "[a, b]") are symbolic and skipped. Lines containing "…" are skipped. A trailing "✓" and a
trailing note set off by two or more spaces, "   (z > 0)", are dropped. Lines wrapped by the
renderer (continuation lines that start with spaces and "= ", or with an operator, "+ ") are joined to
the line before.
A numeric-looking segment that cannot be parsed or evaluated, and a line with unbalanced
brackets, are reported as problems rather than skipped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

# --------------------------------------------------------------------------------------------
# Intervals


@dataclass(frozen=True)
class Interval:
    """A closed interval of rationals; lo = hi = None is the whole real line (e.g. 1 / [−0.5, 0.5])."""

    lo: Fraction | None
    hi: Fraction | None

    @staticmethod
    def exact(v: Fraction) -> "Interval":
        return Interval(v, v)

    @property
    def unbounded(self) -> bool:
        return self.lo is None

    def __add__(self, o: "Interval") -> "Interval":
        if self.unbounded or o.unbounded:
            return EVERYTHING
        return Interval(self.lo + o.lo, self.hi + o.hi)

    def __sub__(self, o: "Interval") -> "Interval":
        return self + (-o)

    def __neg__(self) -> "Interval":
        return EVERYTHING if self.unbounded else Interval(-self.hi, -self.lo)

    def __mul__(self, o: "Interval") -> "Interval":
        if self.unbounded or o.unbounded:
            return EVERYTHING
        p = (self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi)
        return Interval(min(p), max(p))

    def contains_zero(self) -> bool:
        return self.unbounded or self.lo <= 0 <= self.hi

    def __truediv__(self, o: "Interval") -> "Interval":
        if o == ZERO:
            raise EvalError("division by 0")
        if self.unbounded or o.contains_zero():
            return EVERYTHING  # a divisor printed as (say) 0.0000 may be any small number
        return self * Interval(1 / o.hi, 1 / o.lo)

    def power(self, n: int) -> "Interval":
        if n < 0:
            return Interval.exact(Fraction(1)) / self.power(-n)
        if n == 0:
            return Interval.exact(Fraction(1))
        if self.unbounded:
            return EVERYTHING
        a, b = self.lo**n, self.hi**n
        if n % 2 or self.lo >= 0:
            return Interval(a, b)
        if self.hi <= 0:
            return Interval(b, a)
        return Interval(Fraction(0), max(a, b))

    def monotone(self, f, name: str, domain_lo: Fraction | None = None) -> "Interval":
        """Apply an increasing float function, widened outward to cover its floating-point error.

        Where the function is only defined above domain_lo (ln: above 0), an interval reaching
        below it gives the whole line; one lying entirely outside it is an error."""
        if self.unbounded:
            return EVERYTHING
        if domain_lo is not None and self.lo <= domain_lo:
            if self.hi <= domain_lo:
                raise EvalError(f"{name} of {self}")
            return EVERYTHING
        try:
            lo, hi = f(float(self.lo)), f(float(self.hi))
        except (ValueError, OverflowError) as exc:
            raise EvalError(f"{name} of {self}: {exc}") from None
        for _ in range(4):
            lo, hi = math.nextafter(lo, -math.inf), math.nextafter(hi, math.inf)
        return Interval(Fraction(lo), Fraction(hi))

    def overlaps(self, o: "Interval") -> bool:
        if self.unbounded or o.unbounded:
            return True
        scale = max(Fraction(1), abs(self.lo), abs(self.hi), abs(o.lo), abs(o.hi))
        tol = scale * Fraction(1, 10**12)
        return self.lo <= o.hi + tol and o.lo <= self.hi + tol

    def __str__(self) -> str:
        if self.unbounded:
            return "(−∞, ∞)"
        if self.lo == self.hi:
            return f"[{float(self.lo):.10g}]"
        return f"[{float(self.lo):.10g}, {float(self.hi):.10g}]"


EVERYTHING = Interval(None, None)
ZERO = Interval.exact(Fraction(0))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


def _max(args: list[Interval]) -> Interval:
    if any(a.unbounded for a in args):
        return EVERYTHING
    return Interval(max(a.lo for a in args), max(a.hi for a in args))


# --------------------------------------------------------------------------------------------
# Errors


class Symbolic(Exception):
    """The segment contains symbols (or is a vector/matrix): not a number to evaluate."""


class ParseError(Exception):
    """The segment looks numeric but cannot be parsed: a checker gap or a malformed line."""


class EvalError(Exception):
    """The segment parses but cannot be evaluated (e.g. division by a printed zero)."""


# --------------------------------------------------------------------------------------------
# Tokens

DEFAULT_PLACES = 4  # the decimals nnworked shows unless a scenario says otherwise

_SUPER = {"⁰": 0, "¹": 1, "²": 2, "³": 3, "⁴": 4, "⁵": 5, "⁶": 6, "⁷": 7, "⁸": 8, "⁹": 9}
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_FUNCS = ("tanh", "max", "ln", "σ")  # "e" is handled on its own: only as "e^"
_OPS = {"+": "+", "−": "-", "-": "-", "×": "*", "·": "*", "/": "/", "(": "(", ")": ")",
        "[": "[", "]": "]", ",": ",", "^": "^", "√": "√"}
_RAW_FLOAT = re.compile(r"\d[eE][+\-−]?\d")
_BAD_WORDS = re.compile(r"\b(nan|inf|infinity|undefined)\b|∞", re.IGNORECASE)  # how a broken value prints


def half_width(whole: str, frac: str | None, places: int | None, mantissa: bool = False) -> Fraction:
    """Half the width of the interval a printed number stands for (0 for an exact number).

    The output states its precision P ("shown to 4 decimals", "rounded to 5 decimals"); no shown
    value is less precise than that. Computed values are shown with P decimals, trimmed when the
    trailing digits are zeros (0.21, and under carry rounding also 0.008 for a rounded 0.0080), or
    with more decimals for a small value so that it keeps three significant figures (0.00799).
    Inputs are shown as written (0.0000001). So a number with d decimals stands for
      - v ± 0.5·10^−P when d ≤ P (an exact 0.21 or 2000 is then slightly widened: harmless);
      - v ± 0.5·10^−d when d > P and it has three or more significant figures or ends in 0;
      - exactly v when d > P with fewer than three significant figures (an input as written:
        a rounded small value would have been padded to three, 0.00630);
      - a mantissa of "… × 10ⁿ" stands for v ± 0.5·10^−max(d, P).
    With places=None (no stated precision) every number stands for v ± half a unit in its last
    printed digit, integers being exact: the loosest reading, under which 0.1 × 0.5 = 0.06 passes.
    """
    d = len(frac) if frac else 0
    if places is None:
        return Fraction(0) if d == 0 else Fraction(1, 2 * 10**d)
    if mantissa or d <= places:
        return Fraction(1, 2 * 10 ** max(d, places))
    significant = len((whole + frac).lstrip("0"))
    if significant < 3 and not frac.endswith("0"):
        return Fraction(0)
    return Fraction(1, 2 * 10**d)


def number(text: str, places: int | None = None, mantissa: bool = False) -> Interval:
    """A printed number as the interval it stands for (see half_width)."""
    m = _NUMBER.fullmatch(text)
    if not m:
        raise ParseError(f"not a number: {text!r}")
    whole, frac = m.group(1).replace(",", ""), m.group(2)
    v = Fraction(int(whole + (frac or "")), 10 ** len(frac or ""))
    h = half_width(whole, frac, places, mantissa)
    return Interval(v - h, v + h)


_MANTISSA = re.compile(r"\s*×\s*10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]")


def tokenize(seg: str, places: int | None = None) -> list[tuple[str, object]]:
    if "|" in seg:
        raise Symbolic("matrix")
    if _RAW_FLOAT.search(seg) or _BAD_WORDS.search(seg):
        raise ParseError(f"raw float notation or a non-finite value in {seg!r}")
    toks: list[tuple[str, object]] = []
    i, n = 0, len(seg)
    while i < n:
        c = seg[i]
        if c.isspace():
            i += 1
            continue
        m = _NUMBER.match(seg, i) if c.isdigit() else None
        if m:
            mantissa = bool(_MANTISSA.match(seg, m.end()))
            if m.group(0) == "10" and m.end() < n and (seg[m.end()] in _SUPER or seg[m.end()] == "⁻"):
                toks.append(("num", Interval.exact(Fraction(10))))  # the base of "× 10ⁿ" is exact
            else:
                toks.append(("num", number(m.group(0), places, mantissa)))
            i = m.end()
            continue
        if c in _SUPER or c == "⁻":
            j, sign = i, 1
            if c == "⁻":
                sign, j = -1, j + 1
            k = j
            while k < n and seg[k] in _SUPER:
                k += 1
            if k == j:
                raise ParseError(f"lone superscript minus in {seg!r}")
            toks.append(("sup", sign * int("".join(str(_SUPER[ch]) for ch in seg[j:k]))))
            i = k
            continue
        if c == "e" and seg.startswith("e^", i) and not (i > 0 and seg[i - 1].isalpha()):
            toks.append(("func", "exp"))
            i += 2
            continue
        for name in _FUNCS:
            if seg.startswith(name, i) and not (i > 0 and seg[i - 1].isalpha()):
                end = i + len(name)
                if end < n and seg[end].isalpha():
                    continue
                toks.append(("func", name))
                i = end
                break
        else:
            if c in _OPS:
                toks.append(("op", _OPS[c]))
                i += 1
                continue
            raise Symbolic(f"symbol {c!r}")
    return toks


# --------------------------------------------------------------------------------------------
# Parser (recursive descent) and evaluation


class _Parser:
    def __init__(self, seg: str, places: int | None):
        self.seg = seg
        self.toks = tokenize(seg, places)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else ("end", None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def expect(self, op: str):
        t = self.take()
        if t != ("op", op):
            raise ParseError(f"expected {op!r}, got {t[1]!r} in {self.seg!r}")

    def parse(self) -> Interval:
        if not self.toks:
            raise Symbolic("empty")
        v = self.expr()
        if self.peek()[0] != "end":
            if self.peek() == ("op", ","):
                raise Symbolic("vector")
            raise ParseError(f"unexpected {self.peek()[1]!r} in {self.seg!r}")
        return v

    def expr(self) -> Interval:
        v = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            r = self.term()
            v = v + r if op == "+" else v - r
        return v

    def term(self) -> Interval:
        v = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            r = self.unary()
            v = v * r if op == "*" else v / r
        return v

    def unary(self) -> Interval:
        t = self.peek()
        if t == ("op", "-"):
            self.take()
            return -self.unary()
        if t == ("op", "+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Interval:
        v = self.primary()
        while self.peek()[0] == "sup":
            v = v.power(self.take()[1])
        return v

    def group(self, close: str) -> Interval:
        v = self.expr()
        if self.peek() == ("op", ","):
            raise Symbolic("vector")
        self.expect(close)
        return v

    def primary(self) -> Interval:
        kind, val = self.take()
        if kind == "num":
            return val
        if (kind, val) == ("op", "("):
            return self.group(")")
        if (kind, val) == ("op", "["):
            return self.group("]")
        if (kind, val) == ("op", "√"):
            arg = self.primary()
            if not arg.unbounded and arg.hi >= 0 and arg.lo < 0:
                arg = Interval(Fraction(0), arg.hi)  # a printed −0.0000 under a root
            return arg.monotone(math.sqrt, "√", domain_lo=Fraction(-1, 10**30))
        if kind == "func":
            if val == "exp":
                return self.primary().monotone(math.exp, "e^")
            self.expect("(")
            if val == "max":
                args = [self.expr()]
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.expr())
                self.expect(")")
                return _max(args)
            arg = self.expr()
            self.expect(")")
            if val == "ln":
                return arg.monotone(math.log, "ln", domain_lo=Fraction(0))
            if val == "tanh":
                return arg.monotone(math.tanh, "tanh")
            if val == "σ":
                return arg.monotone(_sigmoid, "σ")
        raise ParseError(f"unexpected {val!r} in {self.seg!r}")


def evaluate(segment: str, places: int | None = DEFAULT_PLACES) -> Interval:
    """The interval a purely numeric segment stands for. Raises Symbolic if it is not numeric."""
    return _Parser(segment, places).parse()


# --------------------------------------------------------------------------------------------
# Lines and documents

_CONTINUATION = re.compile(r"^\s+[=+−×/·]\s")  # "= …", or "+ …" where a stage too long broke before an operator
_NOTE_START = re.compile(r"\s{2,}\(")


def strip_note(line: str) -> str:
    """Drop a trailing "✓" and a trailing parenthesised note set off by two or more spaces."""
    line = line.rstrip()
    if line.endswith("✓"):
        line = line[:-1].rstrip()
    for m in _NOTE_START.finditer(line):
        start = m.end() - 1  # the "("
        depth = 0
        for j in range(start, len(line)):
            depth += {"(": 1, ")": -1}.get(line[j], 0)
            if depth == 0:
                break
        if depth == 0 and j == len(line) - 1:
            return line[: m.start()].rstrip()
    return line


def code_lines(markdown: str) -> list[str]:
    """The logical lines of all fenced code blocks, with wrapped continuation lines joined."""
    out: list[str] = []
    inside = False
    for raw in markdown.splitlines():
        if raw.lstrip().startswith("```"):
            inside = not inside
            continue
        if not inside:
            continue
        if _CONTINUATION.match(raw) and out and out[-1].strip():
            out[-1] = out[-1].rstrip() + " " + raw.strip()
        else:
            out.append(raw)
    if inside:
        raise ParseError("unterminated code fence")
    return out


def split_segments(line: str) -> list[str]:
    """Split at every "=" that is not inside brackets, so "(g = ∂L/∂θ)" stays whole."""
    segs, depth, start = [], 0, 0
    for i, c in enumerate(line):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "=" and depth == 0:
            segs.append(line[start:i].strip())
            start = i + 1
    segs.append(line[start:].strip())
    return segs


def balanced(line: str) -> bool:
    depth = 0
    for c in line:
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


@dataclass
class LineResult:
    line: str
    numeric: list[tuple[str, Interval]] = field(default_factory=list)
    comparisons: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def checked(self) -> bool:
        return self.comparisons > 0


def check_line(line: str, places: int | None = DEFAULT_PLACES) -> LineResult:
    """Evaluate the numeric segments of one logical line and compare consecutive ones."""
    result = LineResult(line)
    if "…" in line or "=" not in line:
        return result
    line = strip_note(line)
    if not balanced(line):
        result.problems.append("unbalanced brackets")
        return result
    for seg in split_segments(line):
        try:
            value = evaluate(seg, places)
        except Symbolic:
            continue
        except (ParseError, EvalError) as exc:
            result.problems.append(f"cannot evaluate {seg!r}: {exc}")
            continue
        if result.numeric:
            prev_seg, prev = result.numeric[-1]
            result.comparisons += 1
            if not prev.overlaps(value):
                result.problems.append(f"{prev_seg!r} = {prev} but {seg!r} = {value}")
        result.numeric.append((seg, value))
    return result


@dataclass
class Report:
    lines: list[LineResult]
    places: int | None = None

    @property
    def equations(self) -> int:
        """Lines in which at least two numeric segments were compared."""
        return sum(r.checked for r in self.lines)

    @property
    def comparisons(self) -> int:
        return sum(r.comparisons for r in self.lines)

    @property
    def failures(self) -> list[LineResult]:
        return [r for r in self.lines if r.problems]

    def describe_failures(self) -> str:
        return "\n".join(f"{r.line.strip()}\n    -> " + "; ".join(r.problems) for r in self.failures)


_PLACES = re.compile(r"(?:shown|rounded) to (\d+) decimals?")


def stated_places(markdown: str) -> int | None:
    """The precision the output states in its Conventions ("shown to 4 decimals"), if any."""
    found = {int(m.group(1)) for m in _PLACES.finditer(markdown)}
    if len(found) > 1:
        raise ParseError(f"the output states several precisions: {sorted(found)}")
    return found.pop() if found else None


def check_markdown(markdown: str, places: int | None | str = "stated") -> Report:
    """Check every code-block line. places="stated" reads the precision from the text; None is loose."""
    if places == "stated":
        places = stated_places(markdown)
    return Report([check_line(line, places) for line in code_lines(markdown)], places)
