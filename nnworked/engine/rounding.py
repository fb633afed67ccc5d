"""How many decimals a value is shown with, and decimal rounding half away from zero.

`rounding: exact` computes in float64 and shows `places` decimals; a value below 0.1 gets more when that
is what it takes to show three significant figures (a small gradient such as 0.00799 never prints as
0.0080 or 0), and a value below 1 never prints as 0.
`rounding: carry` is the calculator on the desk: every shown intermediate is rounded to exactly `places`
decimals, half away from zero, and later steps use the rounded value.
"""

from __future__ import annotations

import math
from typing import NamedTuple

MIN_SIGNIFICANT = 3
MAX_EXTRA_DECIMALS = 10


def round_half_away(value: float, decimals: int) -> float:
    """Decimal rounding, half away from zero, after removing binary noise (0.005175 gives 0.00518)."""
    if not math.isfinite(value):
        return value
    scaled = round(abs(value) * 10.0**decimals, 6)  # 517.4999999999 is 517.5 written in binary
    return math.copysign(math.floor(scaled + 0.5) / 10.0**decimals, value)


class Precision(NamedTuple):
    places: int = 4
    carry: bool = False

    def decimals_for(self, value: float) -> int:
        if self.carry or value == 0 or not math.isfinite(value) or abs(value) >= 1:
            return self.places
        magnitude = math.floor(math.log10(abs(value)))
        # below 0.1, three significant figures; below 1, at least one (0.3 never shows as 0)
        needed = MIN_SIGNIFICANT - 1 - magnitude if abs(value) < 0.1 else -magnitude
        return min(max(self.places, needed), self.places + MAX_EXTRA_DECIMALS)

    def display(self, value: float) -> tuple[int, float, bool]:
        """Decimals, the value as printed, and whether printing lost nothing: computed once per number."""
        decimals = self.decimals_for(value)
        shown = round_half_away(value, decimals)
        return decimals, shown, abs(value - shown) <= 1e-12 * max(1.0, abs(value))

    def carried(self, value: float) -> float:
        """What a later step uses: the shown value under carry, the value itself otherwise."""
        return round_half_away(value, self.places) if self.carry else value
