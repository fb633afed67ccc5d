"""Every printer prints every block type, found by the block's type; a type a printer lacks is an error at
once, never a silent skip."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from nnworked.render import blocks, html, latex, markdown, terminal
from nnworked.render.blocks import Bullets, Figure, Heading, Image, Math, Para, Rule, Table

PRINTERS = {
    "terminal": lambda bs: terminal.blocks_to_text(bs, 60).plain,
    "markdown": markdown.blocks_to_markdown,
    "html": html.body,
    "latex": latex.body,
}
EVERY_BLOCK = [Heading(2, "Step 1"), Para("**Bold** and `code`"), Math(["z = 1 + 2 = 3"]), Bullets(["one"]),
               Table(["a", "b"], [["1", "2"]], ("left", "right")), Image("The loss", "out loss.svg"), Rule(),
               Figure("The network", "<svg></svg>", r"\begin{tikzpicture}\end{tikzpicture}")]


class Margin(NamedTuple):  # a block type no printer has been taught
    text: str


def test_every_block_type_has_a_printer_in_every_format() -> None:
    kinds = {name for name, value in vars(blocks).items() if isinstance(value, type) and issubclass(value, tuple)
             and value.__module__ == blocks.__name__}
    assert kinds == {type(b).__name__ for b in EVERY_BLOCK}
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
