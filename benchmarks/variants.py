"""Generating variants against solving them, in-process: the ratio of medians of interleaved rounds, never
absolute timings (the style of bench.py).

    python benchmarks/variants.py            # 5 interleaved rounds (after one warm-up round)
    python benchmarks/variants.py --quick    # 2 rounds of 200 variants

1. `nnworked.generate("spam", count=1000, max_decimals=2)`: every draw, its checks and steering, kept or not
2. solving those 1,000 variants: each variant's YAML data read as a scenario (`nnworked.load`, validation
   included, as every draw is) and solved (`nnworked.solve`, step 1 kept, as generate keeps it)

ratio = (1) / (2), target <= 10. A round times one sample of each, starting with a different one every
round; the ratio is the median over rounds of that round's ratio. PASS/FAIL is printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nnworked  # noqa: E402

TARGET = 10.0


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 200 variants")
    args = parser.parse_args()
    count, rounds = (200, 2) if args.quick else (1000, 5)

    def generating() -> nnworked.Generated:
        return nnworked.generate("spam", count=count, seed=2026, max_decimals=2)

    made = generating()  # warm-up, and the variants the other side solves
    data = [v.data for v in made.variants]
    print(f"{len(data)} variants of spam with --max-decimals 2 in {made.report.draws} draws")

    def solving() -> None:
        for d in data:
            nnworked.solve(nnworked.load(d), keep=1)

    sides = [("generate", generating), ("solve", solving)]
    ratios = []
    for round_ in range(rounds):
        order = sides if round_ % 2 == 0 else sides[::-1]
        times = {name: _timed(work) for name, work in order}
        ratios.append(times["generate"] / times["solve"])
        print(f"  round {round_ + 1}: generate / solve = {ratios[-1]:.2f}×")
    ratio = statistics.median(ratios)
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"{count} variants of spam (--max-decimals 2) / solving those {count} scenarios: {ratio:.2f}× "
          f"(target <= {TARGET:g}×) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
