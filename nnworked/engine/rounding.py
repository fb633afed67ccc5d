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
    if not math.isfinite(value) or abs(value) >= 2.0**52:  # such a float is a whole number already
        return value
    scaled = round(_shift(abs(value), decimals), 6)  # 517.4999999999 is 517.5 written in binary
    return math.copysign(_shift(math.floor(scaled + 0.5), -decimals), value)


def _shift(value: float, decimals: int) -> float:
    """value × 10^decimals, in steps that never overflow 10.0**n (a denormal needs over 300 decimals)."""
    while abs(decimals) > 300:
        step = 300 if decimals > 0 else -300
        value, decimals = (value * 10.0**step if step > 0 else value / 10.0**-step), decimals - step
    return value * 10.0**decimals if decimals >= 0 else value / 10.0**-decimals


class Precision(NamedTuple):
    places: int = 4
    carry: bool = False

    def decimals_for(self, value: float) -> int:
        if self.carry or value == 0 or not math.isfinite(value) or abs(value) >= 1:
            return self.places
        magnitude = math.floor(math.log10(abs(value)))
        # below 0.1, three significant figures; below 1, at least one (0.3 never shows as 0)
        needed = MIN_SIGNIFICANT - 1 - magnitude if abs(value) < 0.1 else -magnitude
        # beyond the extra decimals a value prints in scientific notation (see scientific), still with
        # three significant figures: a nonzero value never prints as 0 or as a long run of zeros
        return max(self.places, needed)

    def scientific(self, value: float) -> bool:
        """Too large or too small for plain decimals: printed as m × 10ⁿ."""
        return math.isfinite(value) and (abs(value) >= 1e15 or
                                         self.decimals_for(value) > self.places + MAX_EXTRA_DECIMALS)

    def display(self, value: float) -> tuple[int, float, bool]:
        """Decimals, the value as printed, and whether printing lost nothing: computed once per number."""
        decimals = self.decimals_for(value)
        shown = round_half_away(value, decimals)
        return decimals, shown, abs(value - shown) <= 1e-12 * max(1.0, abs(value))

    def carried(self, value: float) -> float:
        """What a later step uses: the shown value under carry, the value itself otherwise."""
        return round_half_away(value, self.places) if self.carry else value
