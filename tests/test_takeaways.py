"""Markdown that reads like the seed documents: a table of contents at the top, linked to GitHub's anchors,
and a closing Key Takeaways drawn from the scenario's own numbers (never on a sheet or a key)."""

from __future__ import annotations

import nnworked
from nnworked.render.blocks import Heading
from nnworked.render.markdown import anchor, table_of_contents
from nnworked.render.takeaways import key_takeaways
from tests.helpers import trace_of


def _section(markdown: str, heading: str) -> str:
    return markdown.split(f"## {heading}\n\n", 1)[1].split("\n\n", 1)[0].rstrip("\n")


def test_spam_closes_with_its_own_numbers() -> None:
    """By hand: (0.4493 − 0.4790) / 0.4790 = −6.2 %; the largest |∂L/∂θ| of ∂L/∂W₂ = [−0.0799, −0.1789],
    ∂L/∂b₂ = −0.3806, ∂L/∂W₁ (largest −0.1142), ∂L/∂b₁ = [−0.1903, −0.2284] is b₂'s; b₂ = 0.1 + 0.1 × 0.3806."""
    text = nnworked.run("spam").render("markdown")
    assert _section(text, "Key Takeaways") == (
        "- **The loss fell** from 0.4790 to 0.4493 (−6.2 %) in 1 step with the learning rate η = 0.1.\n"
        "- **The largest gradient** is ∂L/∂b₂ = −0.3806: the loss is most sensitive to b₂, which the update "
        "moved from 0.1 to 0.1381.\n"
        "- The prediction ŷ = 0.6194 is **lower** than the target y = 1, so δ₂ = ∂L/∂z₂ = −0.3806 is negative: "
        "the update pushes the output up.")
    assert text.rstrip().endswith("pushes the output up.")


def test_a_dead_unit_and_a_rising_loss_change_the_takeaways() -> None:
    """A different scenario, different sentences: iris's dead ReLU unit z₁[2] = −0.38 (0.2 × 1.4 ... by the
    walkthrough) and its two steps, (0.1844 − 1.0925) / 1.0925 = −83.1 %."""
    items = key_takeaways(trace_of("iris_softmax"))[1].items  # type: ignore[union-attr]
    assert items[0] == "**The loss fell** from 1.0925 to 0.1844 (−83.1 %) in 2 steps with the learning rate η = 0.5."
    assert items[1].startswith("**The largest gradient** of step 1 is ∂L/∂b₂[2] = −0.6646")
    assert items[2].startswith("**Dead ReLU unit:** z₁[2] = −0.38")


def test_without_training_the_takeaways_say_what_there_is() -> None:
    assert key_takeaways(trace_of("gradients_only"))[1].items[0] == (  # type: ignore[union-attr]
        "**The loss** is L = 1.1647; its gradients say which way each parameter would move to lower it.")
    assert key_takeaways(trace_of("forward_only"))[1].items == [  # type: ignore[union-attr]
        "A forward pass through this 3-2-2 network gives ŷ = [−0.01, −0.05]; with targets it would give a loss "
        "to learn from."]
    assert key_takeaways(trace_of("ai-by-hand/1-matrix-multiplication")) == []
    # a sequence's output is a list per position, and a network of sequences is not named by sizes
    assert key_takeaways(trace_of("ai-by-hand/8-self-attention"))[1].items == [  # type: ignore[union-attr]
        "A forward pass through this network gives ŷ = [[10.3076, 2.8328, 4.5903], [10.1055, 2.9733, 4.5003], "
        "[15.0336, 4.1317, 2.1099], [3.0608, 1.5304, 7.7044]]; with targets it would give a loss to learn from."]


def test_the_table_of_contents_opens_the_document_and_links_every_section() -> None:
    text = nnworked.run("spam").render("markdown")
    contents = _section(text, "Table of Contents")
    links = [line.split("](#")[1].rstrip(")") for line in contents.splitlines()]
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ") and line != "## Table of Contents"]
    assert links == [anchor(h) for h in headings]
    assert links[3] == "backward-pass-backpropagation" and links[-1] == "key-takeaways"
    assert text.index("## Table of Contents") < text.index("---") < text.index("## Problem Setup")


def test_repeated_sections_get_githubs_numbered_anchors() -> None:
    assert table_of_contents(["Forward Pass", "Forward Pass", "Loss [x](y)"]) == (
        "## Table of Contents\n\n1. [Forward Pass](#forward-pass)\n2. [Forward Pass](#forward-pass-1)\n"
        "3. [Loss \\[x\\]\\(y)](#loss-xy)")


def test_a_sheet_states_no_takeaways() -> None:
    sheet = nnworked.run("spam").render("markdown", exercise=True, answers=True)
    assert "## Key Takeaways" not in sheet
    assert isinstance(key_takeaways(trace_of("spam"))[0], Heading)
