"""What benchmarks/lenet.py and benchmarks/transformer.py share: one training step solved through nnworked
beside the same step written in plain numpy, first checked to agree, then timed side by side (the median
over interleaved rounds of each round's ratio, after a warm-up round; which runs first alternates), and the
size of its elided Markdown walkthrough. Ratios and PASS/FAIL are printed, never asserted."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nnworked.engine.network import solve  # noqa: E402
from nnworked.render import get  # noqa: E402
from nnworked.render.settings import Settings  # noqa: E402

STEP_TARGET, MARKDOWN_TARGET = 5, 2_000_000


def _sample(fn: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def compare(label: str, loaded: Any, numpy_step: Callable[[], tuple[dict, float]], rounds: int) -> int:
    """Exit status 1 only when the two steps disagree; `numpy_step()` gives the updated parameters and the
    loss after the step."""
    trace = solve(loaded)
    new, final_loss = numpy_step()
    ours = {u.name: u.new for u in trace.steps[0].updates}
    worst = max(float(np.max(np.abs(ours[name] - new[name]))) for name in new)
    agree = worst < 1e-9 and abs(trace.losses[-1] - final_loss) < 1e-9
    print(f"results agree: {'yes' if agree else 'NO'} (largest difference in the updated parameters {worst:.1e})")

    ratios = []
    for r in range(rounds + 1):
        pair = [("nnworked", lambda: solve(loaded)), ("numpy", numpy_step)]
        times = dict((name, _sample(fn, 3)) for name, fn in (pair if r % 2 else pair[::-1]))
        if r:  # the first round warms up
            ratios.append(times["nnworked"] / times["numpy"])
    ratio = statistics.median(ratios)
    print(f"{label:<56} {ratio:6.2f}×   target <= {STEP_TARGET}   {'PASS' if ratio <= STEP_TARGET else 'FAIL'}")
    size = len(get("markdown")(trace, Settings()).encode("utf-8"))
    print(f"{'its Markdown walkthrough (elided), bytes':<56} {size:>9,}   target < {MARKDOWN_TARGET:,}   "
          f"{'PASS' if size < MARKDOWN_TARGET else 'FAIL'}")
    return 0 if agree else 1
