"""What an LSTM layer's numbers show, for the walkthrough's Key Observations (its rule's `observe`): how the
gradient along the cell state changes from one time step back to the one before, and the forget gates that
set it. The cell is what lets an LSTM carry a gradient back through many steps where a plain RNN's fades."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.lstm_records import GATES, LSTMBackward, LSTMForward
from nnworked.render.numbers import fmt
from nnworked.render.observations import SUMMARY, _norm

_FORGET = GATES.index("f")


def memory(forward: tuple[Any, ...], backward: tuple[Any, ...], n: Any, p: Any) -> list[str]:
    fwd = next((r for r in forward if isinstance(r, LSTMForward)), None)
    back = next((r for r in backward if isinstance(r, LSTMBackward)), None)
    if fwd is None or back is None or back.dc.shape[1] < 2:
        return []  # one step has no "back in time"
    sizes = [_norm(back.dc[:, t]) for t in range(back.dc.shape[1])]  # scaled first: squares of 1e200 overflow
    if not all(np.isfinite(sizes)):
        return []  # a size too large to write says nothing a reader can use
    forget = fwd.gates[_FORGET]
    listing = "; ".join(f"step {t}: {fmt(size, SUMMARY)}" for t, size in enumerate(sizes))
    first, last = sizes[0], sizes[-1]
    if last == 0:
        trend = "no gradient reaches the cell at the last step"
    elif first < last / 2:
        trend = "it shrinks going back in time: the early steps learn least"
    elif first > last * 2:
        trend = "it grows going back in time"
    else:
        trend = "it keeps its size, within a factor of 2, back to the first step, as the cell is meant to let it"
    return [f"**The memory of LSTM layer {fwd.layer} through time:** the size of ∂L/∂c at each step (√ of the sum "
            f"of its squares) is {listing}; {trend}. Each step back along the cell multiplies that gradient by the "
            f"forget gate f, which averages {fmt(float(np.mean(forget)), SUMMARY)} here (from "
            f"{fmt(float(np.min(forget)), SUMMARY)} to {fmt(float(np.max(forget)), SUMMARY)}): near 1 the cell "
            "remembers, and its gradient passes back almost whole."]
