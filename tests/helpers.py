"""Shared by the tests: render a scenario to text exactly as a user would see it, at a fixed width."""

from __future__ import annotations

import re

from rich.console import Console

from nnworked import bundled, scenario
from nnworked.engine.network import solve
from nnworked.render import get
from nnworked.render.settings import Settings
from nnworked.trace import Trace

WIDTH = 100
NUMBER = re.compile(r"[−-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[−-]?\d+(?:\.\d+)?")


def trace_of(name: str, **options: object) -> Trace:
    return solve(scenario.load(bundled.resolve(name)).with_options(**options))


def markdown(name: str, settings: Settings | None = None, **options: object) -> str:
    return get("markdown")(trace_of(name, **options), settings or Settings())


def terminal(name: str, settings: Settings | None = None, **options: object) -> str:
    console = Console(width=WIDTH, no_color=True, color_system=None, record=True, file=open("/dev/null", "w"),
                      highlight=False)
    console.print(get("terminal")(trace_of(name, **options), settings or Settings()), soft_wrap=True)
    return console.export_text()


def numbers(line: str) -> list[str]:
    return NUMBER.findall(line)


def to_float(text: str) -> float:
    return float(text.replace("−", "-").replace(",", ""))


def decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def lines_starting(text: str, prefix: str) -> list[str]:
    return [l.strip() for l in text.splitlines() if l.strip().startswith(prefix)]




def solved_carried(draw, attempts: int = 10) -> Trace:  # noqa: ANN001
    """The trace of the first of `draw()`'s scenarios that solves: a variance that rounds to 0 with ε makes
    σ = 0 under carry, which is reported (NumericalError), and the test draws again."""
    from nnworked.errors import NumericalError

    for _ in range(attempts):
        try:
            return solve(draw())
        except NumericalError:
            continue
    raise AssertionError("no draw could be solved")


def assert_every_quantity_is_its_working(trace: Trace) -> None:
    """Every quantity of the table, forward, loss, backward and updated, is what its printed working evaluates
    to at the trace's precision (under carry, digit for digit)."""
    from nnworked import quantities, worked

    table, precision = quantities.table(trace), trace.precision
    for key, value in table.values.items():
        assert worked.value(table.expression(key), precision) == value, key
