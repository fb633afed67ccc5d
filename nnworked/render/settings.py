"""What a reader asked for, shared by every renderer."""

from __future__ import annotations

from typing import NamedTuple

from nnworked.render.numbers import Blanks


class Settings(NamedTuple):
    full: bool = False  # every element worked, however large the network
    all_steps: bool = False  # every training step in full, not only the first
    limit: int = 6  # elements worked per operation (and rows and columns of a matrix) when not full
    width: int = 100  # worked lines longer than this break before an "="
    detail: str = "default"  # brief (results per layer), default (what the seeds show), full (+ derivations)
    why_matrices: bool = False  # the "why we use matrices" section without the rest of --detail full
    layout: str | None = None  # standard or ai-by-hand (examples as columns, [W | b]); None: the scenario's
    columns: int = 100
    blanks: Blanks | None = None
    network: str | None = None  # where a Markdown document links the picture of the network (written beside it)
    image: str | None = None  # where a document links the loss chart (the CLI writes it beside the document)  # an exercise sheet (or, with answers=True, its key)  # terminal paragraphs wrap at this width (the CLI passes the console's, up to 100)

    @property
    def elements(self) -> int:
        return 0 if self.full else self.limit
