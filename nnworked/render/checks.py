"""The report of `nnworked verify` as text: one row per gradient, with its largest difference from the
finite differences (and from PyTorch's autograd, where installed), and the verdict."""

from __future__ import annotations

import io
from typing import Any

from nnworked.text import printable


def report(title: str, checks: list[Any], rounding: str, epsilon: float, tolerance: float, width: int = 100) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, color_system=None, highlight=False)
    if not checks:
        console.print(printable(f"{title}: no targets, so there are no gradients to check."), markup=False)
        return out.getvalue()
    # each pass of PyTorch's autograd, with the torch computations it names ("nn.RNN"); several are numbered
    passes = list(dict.fromkeys(c.reference for c in checks if c.reference != "finite differences"))
    computed = [p.removeprefix("PyTorch autograd").strip(" ()") for p in passes]
    label = {p: "autograd" if len(passes) == 1 else f"autograd {i}" for i, p in enumerate(passes, 1)}
    against = "" if not passes else " and PyTorch autograd" + (
        (f" ({computed[0]})" if computed[0] else "") if len(passes) == 1 else
        ", " + ", ".join(f"{i}: {c}" for i, c in enumerate(computed, 1)))
    console.print(printable(f"{title}: every gradient of step 1 against central finite differences (ε = "
                            f"{epsilon:g}){against}"), markup=False)
    table = Table(box=box.SIMPLE_HEAD)
    for column, justify in [("gradient", "left"), ("checked", "right"), ("largest |difference|", "right"),
                            ("relative", "right"), ("at", "left"), ("against", "left"), ("", "left")]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in checks:
        table.add_row(f"∂L/∂{c.name}", f"{c.checked} of {c.of}", f"{c.worst_difference:.2e}",
                      f"{c.worst_relative:.2e}", str(list(c.worst_index)),
                      label[c.reference] if c.reference != "finite differences" else "fin. diff.",
                      "ok" if c.ok else "FAIL")
    console.print(table)
    for c in (c for c in checks if c.kinks):
        console.print(f"∂L/∂{c.name}: {len(c.kinks)} element(s) at a kink (ReLU′(0) = 0), not checkable by finite "
                      f"differences there: {', '.join(str(list(i)) for i in c.kinks)}", markup=False)
    if rounding == "carry":
        console.print("(checked with exact rounding: carried, hand-rounded gradients differ in their last digits "
                      "by design)", markup=False)
    failed = [c for c in checks if not c.ok]
    if failed:
        console.print(f"{len(failed)} gradient(s) differ by more than {tolerance:g} (relative): "
                      f"{', '.join(c.name for c in failed)}", markup=False)
    else:
        console.print(f"All {len(checks)} gradients agree to within {tolerance:g} (relative).", markup=False)
    return out.getvalue()
