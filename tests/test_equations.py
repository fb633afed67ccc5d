"""Every worked equation nnworked prints must be arithmetically self-consistent at its printed precision.

The checker (tests/equations.py) is independent of nnworked: it parses the rendered Markdown text
itself and evaluates each purely numeric "=" segment with exact interval arithmetic.
"""

from __future__ import annotations

import pytest

try:  # tests/ may or may not become a package
    from . import equations as eq
except ImportError:
    import equations as eq

from nnworked import bundled, scenario
from nnworked.engine.network import solve
from nnworked.render import get
from nnworked.render.settings import Settings

# ----------------------------------------------------------------------------------------------
# The checker itself: it must flag wrong lines and accept right ones.


def test_wrong_line_is_flagged():
    result = eq.check_line("z = 0.1 × 0.5 = 0.06")
    assert result.comparisons == 1
    assert result.problems, "0.1 × 0.5 = 0.06 must be flagged"


def test_the_loose_reading_would_miss_it():
    # Reading 0.1 and 0.5 as [0.05, 0.15] and [0.45, 0.55] (half a unit in the last printed digit,
    # ignoring the stated precision) accepts anything in [0.0225, 0.0825]; the checker therefore
    # uses the output's stated precision P = 4, under which each stands for v ± 0.00005.
    assert not eq.check_line("z = 0.1 × 0.5 = 0.06", places=None).problems
    assert eq.check_line("z = 0.1 × 0.5 = 0.06", places=4).problems


@pytest.mark.parametrize(
    "text, places, lo, hi",
    [
        ("0.21", 4, "0.20995", "0.21005"),  # d ≤ P: ± half a unit in the P-th decimal
        ("0.4790", 4, "0.47895", "0.47905"),
        ("0.6194", 4, "0.61935", "0.61945"),
        ("330,625", 4, "330624.99995", "330625.00005"),
        ("0.00799", 4, "0.007985", "0.007995"),  # small, three significant figures: rounded
        ("0.00630", 4, "0.006295", "0.006305"),  # padded with a zero: rounded
        ("0.0000001", 4, "0.0000001", "0.0000001"),  # an input as written: exact
        ("0.0069", 5, "0.006895", "0.006905"),
        ("0.21", None, "0.205", "0.215"),  # loose reading
        ("2000", None, "2000", "2000"),
    ],
)
def test_number_intervals(text, places, lo, hi):
    from fractions import Fraction

    assert eq.number(text, places) == eq.Interval(Fraction(lo), Fraction(hi))


def test_stated_precision_is_read():
    assert eq.stated_places("computed exactly, shown to 4 decimals (more where ...)") == 4
    assert eq.stated_places("each shown intermediate is rounded to 5 decimals (half away") == 5
    assert eq.stated_places("nothing said") is None


def test_right_line_passes():
    result = eq.check_line("z₁[0] = (0.1 × 0.5) + (0.2 × 0.3) + 0.1 = 0.05 + 0.06 + 0.1 = 0.21")
    assert result.comparisons == 2
    assert not result.problems


def test_rounding_case_passes():
    # −1.6145 × 0.2357 = −0.38053765 exactly; printed to 4 decimals it is −0.3805, but the printed
    # factors are themselves rounded, so −0.3806 (from unrounded values) is consistent.
    result = eq.check_line("δ₂ = −1.6145 × 0.2357 = −0.3806")
    assert result.comparisons == 1
    assert not result.problems


@pytest.mark.parametrize(
    "line",
    [
        "ŷ = σ(0.487) = 1 / (1 + e^(−0.487)) = 1 / (1 + 0.6145) = 1 / 1.6145 = 0.6194",
        "W₂[0]_new = 0.5 − (0.1 × (−0.0799)) = 0.5 + 0.00799 = 0.5080",
        "δ₂ = ŷ − y = 0.6194 − 1 = −0.3806 ✓",
        "δ₁[0] = −0.1903 × 1 = −0.1903   (z > 0)",
        "L = (925 − 350)² = 575² = 330,625",
        "∂L/∂W₁[0,0] = 23,000 × 2000 = 46,000,000",
        "W₁[0,0]_new = 0.001 − (0.0000001 × 46,000,000) = 0.001 − 4.6 = −4.599",
        "L = −ln(0.6194) = 0.4790",
        "h[0] = max(0, 0.21) = 0.21",
        "h[2] = max(0, −0.38) = 0",
        "h⁽¹⁾[0] = tanh(0.1) = 0.0997",
        "s = √(2.3294) = 1.5262",
        "L = −[0.25 + 0.5] = −0.75",
        "big = 1.2346 × 10¹⁵ = 1,234,600,000,000,000",
        "small = 5 × 10⁻⁵ = 0.00005",
        "∂L/∂ŷ⁽²⁾ = −1 / 0.3994 / 4 = −2.5040 / 4 = −0.6260",
        "δ₁ = 0.0751 × (1 − 0.6044²) = 0.0751 × (1 − 0.3653) = 0.0751 × 0.6347 = 0.0477",
        "W₂[1]_new = 15 − (0.0000001 × 21,850) = 15 − 0.00219 = 14.99781",
    ],
)
def test_notation_is_understood(line):
    result = eq.check_line(line)
    assert result.comparisons >= 1, line
    assert not result.problems, result.problems


@pytest.mark.parametrize(
    "line",
    [
        "ŷ = σ(0.487) = 1 / (1 + e^(−0.487)) = 1 / (1 + 0.6154) = 1 / 1.6154 = 0.6194",  # e^ wrong
        "L = −ln(0.6194) = 0.4709",
        "h[0] = max(0, 0.21) = 0",
        "h = tanh(0.1) = 0.1997",
        "L = (925 − 350)² = 575² = 330,626",  # integers are exact
        "∂L/∂W₁[0,0] = 23,000 × 2000 = 4,600,000",
        "big = 1.2346 × 10¹⁵ = 1,234,700,000,000,000",
        "W₂[0]_new = 0.5 − (0.1 × (−0.0799)) = 0.5 − 0.00799 = 0.4920",  # sign slip
        "x = 1 / 0.4652 / 4 = 0.5 / 4",  # left-associative division
        "L = −[0.25 + 0.5] = −0.25 + 0.5",  # brackets group
        "q = 2 × 3 + 1 = 8",  # precedence
        "r = (−0.0997)² = −0.00994",
        "δ₂ = ŷ − y = 0.6194 − 1 = 0.3806 ✓",
    ],
)
def test_wrong_arithmetic_is_flagged(line):
    assert eq.check_line(line).problems, line


@pytest.mark.parametrize(
    "line",
    [
        "σ(z) = 1 / (1 + e^(−z))",
        "L = −[y·ln(ŷ) + (1 − y)·ln(1 − ŷ)]",
        "x = [0.5, 0.3]    (input features)",
        "∂L/∂W₁ = | −0.0952  −0.0571 |",
        "h⁽¹⁾[0] = LeakyReLU(−0.55) = 0.1 × (−0.55) = −0.055",  # one comparison, LeakyReLU skipped
        "(∂L/∂ŷₖ = 0 wherever yₖ = 0)",
        "z = 0.1 + … + 0.9 = 12",  # elided sums are skipped
    ],
)
def test_symbolic_segments_are_skipped(line):
    result = eq.check_line(line)
    assert not result.problems
    assert result.comparisons <= 1


def test_a_numeric_segment_that_cannot_be_parsed_is_reported():
    assert eq.check_line("z = 0.5 × 2 = 1 +").problems
    assert eq.check_line("z = (0.5 × 2 = 1").problems
    assert eq.check_line("z = 0.5 × 2 = 1e+00").problems  # raw float formatting leaked
    assert eq.check_line("L = −ln(0) = ∞").problems  # a non-finite value
    assert eq.check_line("z = 0 / 0 = undefined").problems


def test_wrapped_lines_are_joined_and_checked():
    md = "\n".join(
        [
            "```",
            "L = 0.5 × ((−0.4271 − 1)² + (0.5411 − 0)²) = 0.5 × ((−1.4271)² + 0.5411²) = 0.5 × (2.0366 + 0.2928)",
            "  = 0.5 × 2.3294 = 1.1647",
            "```",
            "outside = 1 + 1 = 3",
            "```",
            "z = 0.1 × 0.5",
            "  = 0.06",
            "```",
        ]
    )
    report = eq.check_markdown(md, places=4)
    assert report.equations == 2
    assert report.comparisons == 4 + 1
    assert [r.line.split(" =")[0] for r in report.failures] == ["z"]


def _render(name: str, settings: Settings) -> str:
    return get("markdown")(solve(scenario.load(bundled.resolve(name))), settings)


def test_a_tampered_rendering_is_caught():
    text = _render("spam", Settings())
    assert "= 0.105 + 0.282 + 0.1 = 0.487" in text
    assert not eq.check_markdown(text).failures
    tampered = text.replace("= 0.105 + 0.282 + 0.1 = 0.487", "= 0.105 + 0.282 + 0.1 = 0.497", 1)
    failures = eq.check_markdown(tampered).failures
    assert len(failures) == 1 and "0.497" in failures[0].line


# ----------------------------------------------------------------------------------------------
# Every bundled scenario, as rendered.

MINIMUM = {"spam": 20, "house_price": 20}  # worked equations expected at the very least
SETTINGS = {
    "default": Settings(),
    "full": Settings(full=True),
    "full-all-steps": Settings(full=True, all_steps=True),
    "detail-full": Settings(detail="full", all_steps=True),
    "brief": Settings(detail="brief"),
    "by-hand": Settings(layout="ai-by-hand", detail="full"),
}


@pytest.mark.parametrize("settings", list(SETTINGS), ids=list(SETTINGS))
@pytest.mark.parametrize("name", bundled.names())
def test_every_printed_equation_is_consistent(name, settings):
    report = eq.check_markdown(_render(name, SETTINGS[settings]))
    if report.places is None:  # the loose reading is only acceptable where nothing has decimals
        decimals = [s for r in report.lines for s, _ in r.numeric if "." in s]
        assert not decimals, f"{name}: the output does not state its precision; checked loosely"
    print(f"{name} [{settings}]: {report.equations} equations, {report.comparisons} comparisons")
    assert not report.failures, f"{name} [{settings}]: inconsistent lines:\n{report.describe_failures()}"
    if settings != "brief":  # brief prints results, hardly any worked lines
        assert report.equations >= MINIMUM.get(name, 1), f"{name}: only {report.equations} equations checked"


def test_the_headline_scenarios_are_bundled():
    assert {"spam", "house_price"} <= set(bundled.names())
