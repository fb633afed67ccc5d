"""What the sequence layers (rnn, lstm, self_attention) share: how a scenario writes a sequence, and how
one example's shape says it is one.

A batch of sequences is an array (examples, positions, features). A layer's `parse` receives and returns
the shape of one example: (positions, features) for a sequence, (features,) for a vector. The layers after
a sequence layer (dense with its activation, layer_norm, residual, dropout) apply at every position; the
loss is taken at every position as at every example."""

from __future__ import annotations

from typing import Any

import numpy as np

SEQUENCES = "[example][position][feature]"


def is_sequence(shape: tuple[int, ...] | None) -> bool:
    """Whether one example of this shape is a sequence: (positions, features)."""
    return shape is not None and len(shape) == 2


def parse_sequences(check: Any, value: Any, what: str = "inputs") -> np.ndarray | None:
    """`inputs` (or targets) as sequences: a 3-D list [example][position][feature]; a 2-D list is one
    sequence. Gives the array (examples, positions, features)."""
    depth, node = 0, value
    while isinstance(node, list) and node:
        depth, node = depth + 1, node[0]
    if depth not in (2, 3):
        check.add((what,), "sequences must be 2 or 3 levels of lists", f"{SEQUENCES} (a 2-D list is one sequence)",
                  f"{depth} level{'s' if depth != 1 else ''}",
                  "write each position of a sequence as a list of its features: [[0.5, 1], [0.2, 0]]")
        return None
    levels = ["[example]", "[position]", "[feature]"][3 - depth:]
    array = check.tensor(value, (what,), f"the {what} sequences", depth, "".join(levels))
    if array is None:
        return None
    return array.reshape((1,) * (3 - depth) + array.shape)
