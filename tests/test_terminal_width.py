"""The terminal at any width from 60 columns: worked lines break between stages (or before an operator)
with a hanging indent, never inside a number; matrices and tables that do not fit are cut or wrapped;
headings keep the terminal's own colour."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from rich.console import Console

import nnworked
from nnworked import bundled
from nnworked.render import get
from nnworked.render.blocks import Heading, Math, Table
from nnworked.render.fitting import break_line, slice_grid
from nnworked.render.settings import Settings
from nnworked.render.terminal import HEADING_STYLES, blocks_to_text
from tests.helpers import numbers, trace_of

UNWRAPPED = 5000  # columns no line reaches: the text as it is before any line is broken


def _render(name: str, columns: int, **options: object) -> str:
    return get("terminal")(trace_of(name), Settings(columns=columns, **options)).plain  # type: ignore[arg-type]


def _all_numbers(text: str) -> Counter:
    return Counter(n for line in text.splitlines() for n in numbers(line))


@pytest.mark.parametrize("width", [60, 80, 100])
@pytest.mark.parametrize("name", bundled.names())
def test_no_line_is_wider_than_the_terminal_and_no_number_is_split(name: str, width: int) -> None:
    for options in ({}, {"layout": "ai-by-hand"}, {"detail": "full"}):
        text = _render(name, width, **options)
        too_wide = [line for line in text.splitlines() if len(line) > width]
        assert too_wide == [], (options, too_wide)
        # a number broken across two lines would count as two other numbers
        assert _all_numbers(text) == _all_numbers(_render(name, UNWRAPPED, **options)), options


def test_a_long_worked_line_breaks_before_an_equals_sign_under_the_first() -> None:
    line = "ŷ = σ(0.487) = 1 / (1 + e^(−0.487)) = 1 / (1 + 0.6145) = 1 / 1.6145 = 0.6194"
    assert break_line(line, 40) == ["ŷ = σ(0.487) = 1 / (1 + e^(−0.487))",
                                    "  = 1 / (1 + 0.6145) = 1 / 1.6145",
                                    "  = 0.6194"]
    assert break_line(line, len(line)) == [line]


def test_a_stage_too_long_for_a_line_breaks_before_its_outermost_operator() -> None:
    line = ("∂L/∂h[0] = (0.3 × 0.2796) + (−0.1 × 0.3850) + (0.2 × (−0.6646)) = 0.0839 − 0.0385 − 0.1329"
            " = −0.0875   ← answer")
    assert break_line(line, 50) == ["∂L/∂h[0] = (0.3 × 0.2796) + (−0.1 × 0.3850)",
                                    "             + (0.2 × (−0.6646))",
                                    "         = 0.0839 − 0.0385 − 0.1329",
                                    "         = −0.0875   ← answer"]


def test_a_line_without_an_equals_sign_breaks_at_its_arrows_with_a_hanging_indent() -> None:
    line = "Input (2)  →  Hidden (2, ReLU)  →  Output (1, Sigmoid)  →  Loss"
    assert break_line(line, 56) == ["Input (2)  →  Hidden (2, ReLU)  →  Output (1, Sigmoid)", "  →  Loss"]


def test_a_word_wider_than_the_width_stays_whole() -> None:
    assert break_line("x = 0.123456789012345678901234567890", 10) == ["x = 0.123456789012345678901234567890"]


def test_a_matrix_too_wide_is_cut_between_whole_columns() -> None:
    rows = ["W = | 0.1111  −0.2222  0.3333 |",
            "    |     44        5      −6 |"]
    assert slice_grid(rows, 23) == ["W = | 0.1111  −0.2222 …",
                                    "    |     44        5 …",
                                    "",
                                    "    … 0.3333 |",
                                    "    …     −6 |"]
    assert slice_grid(rows, 22) == ["W = | 0.1111 …",
                                    "    |     44 …",
                                    "",
                                    "    … −0.2222 …",
                                    "    …       5 …",
                                    "",
                                    "    … 0.3333 |",
                                    "    …     −6 |"]


def test_a_table_too_wide_wraps_its_widest_cells_at_spaces() -> None:
    table = Table(["Parameter", "Before", "After"],
                  [["b₁", "[0.1, −0.1, 0.05]", "[0.0975, −0.1089, 0.0515]"], ["b₂", "0", "0.0175"]],
                  ("left", "right", "right"))
    assert blocks_to_text([table], 40).plain == (
        "    Parameter       Before         After\n"
        "    ────────────────────────────────────\n"
        "    b₁               [0.1,      [0.0975,\n"
        "                     −0.1,      −0.1089,\n"
        "                     0.05]       0.0515]\n"
        "    b₂                   0        0.0175")


def test_worked_lines_inside_math_blocks_are_fitted_too() -> None:
    text = blocks_to_text([Math(["∂L/∂z₂ = ∂L/∂a₂ ⊙ ReLU′(z₂): multiply by 1 where z > 0 and by 0 otherwise"])], 60)
    assert text.plain == ("    ∂L/∂z₂ = ∂L/∂a₂ ⊙ ReLU′(z₂): multiply by 1 where z > 0\n"
                          "               and by 0 otherwise")


def test_headings_keep_the_terminals_own_text_colour() -> None:
    """Yellow or blue letters vanish on a light or a dark background; bold and underline read on both."""
    for style in HEADING_STYLES.values():
        assert Console().get_style(style).color is None
    text = blocks_to_text([Heading(1, "Title"), Heading(2, "Section"), Heading(3, "Step")], 60)
    colours = {span.style for span in text.spans if "bold" in str(span.style)}
    assert colours == set(HEADING_STYLES.values())


def test_a_long_title_wraps_to_the_width() -> None:
    text = blocks_to_text([Heading(2, "A section heading far too long to sit on one line of sixty columns")], 60)
    assert text.plain == ("A section heading far too long to sit on one line of sixty\n"
                          "columns " + "─" * 52)


def test_run_width_lays_out_for_that_many_columns() -> None:
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "nnworked", *args], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "COLUMNS": "100"})

    result = cli("run", "spam", "--width", "60")
    assert result.returncode == 0
    assert result.stdout == nnworked.run("spam").render("terminal", columns=60, width=60)
    assert max(len(line) for line in result.stdout.splitlines()) == 60
    refused = cli("run", "spam", "--width", "59")
    assert refused.returncode == 2 and "--width" in refused.stderr


def test_a_stacked_grid_with_bars_in_its_name_is_cut_between_columns_and_at_its_blocks_bars() -> None:
    from nnworked.render.fitting import slice_grid

    body = "| −0.000558  −0.00335 │ −0.000598 |"
    rows = ["(∂L/∂[W | b])ₜ = " + body,
            " " * 17 + "| " + "-" * (len(body) - 4) + " |",  # the rule between two stacked blocks
            " " * 17 + "|  −0.00315  −0.01892 │  −0.00338 |"]
    assert slice_grid(rows, 44) == ["(∂L/∂[W | b])ₜ = | −0.000558  −0.00335 …",
                                    "                 | ---------------------",
                                    "                 |  −0.00315  −0.01892 …",
                                    "",
                                    "                 … │ −0.000598 |",
                                    "                 … ----------- |",
                                    "                 … │  −0.00338 |"]
