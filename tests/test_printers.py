"""Every printer prints every block type, found by the block's type; a type a printer lacks is an error at
once, never a silent skip."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from nnworked.render import blocks, html, latex, markdown, terminal
from nnworked.engine.rounding import Precision
from nnworked.expr import num, op
from nnworked.render.blocks import Bullets, Figure, Heading, Image, Math, Para, Rule, Table, Worked

PRINTERS = {
    "terminal": lambda bs: terminal.blocks_to_text(bs, 60).plain,
    "markdown": markdown.blocks_to_markdown,
    "html": html.body,
    "html (MathML)": lambda bs: html.body(bs, typeset=True),
    "latex": latex.body,
}
WORKED = Worked(("z = 1 + 2 = 3",), "z", (), (op("add", num(1), num(2)), num(3)), Precision(4))
EVERY_BLOCK = [Heading(2, "Step 1"), Para("**Bold** and `code`"), Math(["z = 1 + 2", WORKED]), Bullets(["one"]),
               Table(["a", "b"], [["1", "2"]], ("left", "right")), Image("The loss", "out loss.svg"), Rule(),
               Figure("The network", "<svg></svg>", r"\begin{tikzpicture}\end{tikzpicture}")]


class Margin(NamedTuple):  # a block type no printer has been taught
    text: str


def test_every_block_type_has_a_printer_in_every_format() -> None:
    kinds = {name for name, value in vars(blocks).items() if isinstance(value, type) and issubclass(value, tuple)
             and value.__module__ == blocks.__name__}
    assert kinds == {type(b).__name__ for b in EVERY_BLOCK} | {"Worked"}  # a worked line, inside a Math block
    for name, printer in PRINTERS.items():
        assert printer(EVERY_BLOCK), name


@pytest.mark.parametrize("name", PRINTERS)
def test_a_block_type_a_printer_lacks_is_an_error(name: str) -> None:
    with pytest.raises(TypeError, match="has no way to print a Margin block"):
        PRINTERS[name]([Para("before"), Margin("note")])


def test_an_image_is_linked_where_a_format_can_show_it_and_named_where_not() -> None:
    image = [Image("The loss", "out loss.svg")]
    assert markdown.blocks_to_markdown(image) == "![The loss](out%20loss.svg)\n"
    assert html.body(image) == '<p><img src="out%20loss.svg" alt="The loss"></p>'
    assert terminal.blocks_to_text(image, 60).plain == "The loss: out loss.svg"
    assert latex.body(image) == r"The loss: \texttt{out loss.svg}" + "\n"


# ---- trace records: each writer prints each record type it meets by the record's type -------------------

class Dilate(NamedTuple):  # an operation record no writer has been taught
    layer: int
    output: object = None


def _writers():  # noqa: ANN202
    from nnworked import solve
    from nnworked.api import load
    from nnworked.render import brief
    from nnworked.render.backward import BackwardWriter
    from nnworked.render.byhand import ByHandWriter
    from nnworked.render.forward import ForwardWriter
    from nnworked.render.notation import Notation
    from nnworked.render.page import Page
    from nnworked.quantities import table
    from nnworked.render.settings import Settings

    trace = solve(load("spam"))
    s, step = trace.scenario, trace.steps[0]
    page = Page(trace.precision, Notation(len(s.layers), 1), Settings(), table(trace), s.loss)
    strange = step._replace(forward=step.forward._replace(operations=(*step.forward.operations, Dilate(3))),
                            backward=(Dilate(3), *step.backward))
    return {
        "forward": lambda: ForwardWriter(page).forward(strange.forward, 1),
        "compact": lambda: ForwardWriter(page).compact(strange.forward),
        "backward": lambda: BackwardWriter(page, strange).backward(3),
        "byhand forward": lambda: ByHandWriter(page, strange).forward(strange.forward),
        "byhand backward": lambda: ByHandWriter(page, strange).backward(),
        "brief forward": lambda: brief.forward(strange, ForwardWriter(page)),
        "brief backward": lambda: brief.backward(strange, ForwardWriter(page)),
    }


@pytest.mark.parametrize("writer", ["forward", "compact", "backward", "byhand forward", "byhand backward",
                                    "brief forward", "brief backward"])
def test_a_record_type_a_writer_lacks_is_an_error(writer: str) -> None:
    with pytest.raises(TypeError, match=r"has no way to print a Dilate record$"):
        _writers()[writer]()

