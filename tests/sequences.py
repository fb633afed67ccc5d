"""Shared by the tests of sequence layers: a test-only layer rule that reads sequences and applies a dense
layer at every position (so the shared foundation, the layers that apply at every position, the loss over
positions, the names [example, position, unit], is tested before and apart from any recurrent rule), and a
scenario builder for it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from nnworked.rules.layers import LAYERS
from nnworked.rules.layers.dense import Dense
from nnworked.rules.layers.sequence import parse_sequences


class PositionwiseFirst(Dense):
    """A dense layer that comes first and reads `inputs` as sequences (tests only: no user writes it)."""

    name = "positionwise_test"

    def parse_inputs(self, check: Any, value: Any):  # noqa: ANN201
        return parse_sequences(check, value)


@contextlib.contextmanager
def positionwise() -> Iterator[None]:
    """The test-only rule registered for the duration of a test."""
    LAYERS.register(PositionwiseFirst)
    try:
        yield
    finally:
        LAYERS.unregister(PositionwiseFirst.name)
