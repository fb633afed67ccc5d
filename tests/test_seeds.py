"""The two walkthrough seeds, reproduced number by number at the precision each document prints.

Each check names a line of our Markdown output by its left-hand side and lists numbers the seed prints on
the matching line; they must appear in that order in our line. A seed number with d decimals matches
ours when ours, rounded to d decimals, equals it. Where the seed shows more decimals than nnworked's
precision (the spam seed writes η × ∂L/∂W₂[1] as 0.01789 by shifting the point of −0.1789 by hand),
the seed's number rounded to our decimals must equal ours.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.helpers import decimals, lines_starting, markdown, numbers, to_float, trace_of


def same_at_seed_precision(ours: str, seed: str) -> bool:
    places = min(decimals(ours), decimals(seed))
    quantum = Decimal(1).scaleb(-places)
    as_decimal = lambda s: Decimal(s.replace("−", "-").replace(",", "")).quantize(quantum, ROUND_HALF_UP)  # noqa: E731
    return as_decimal(ours) == as_decimal(seed)


def check(text: str, lhs: str, *seed_numbers: str) -> None:
    """Some line starting with `lhs` contains the seed's numbers, in order."""
    candidates = lines_starting(text, lhs)
    assert candidates, f"no line starts with {lhs!r}"
    for candidate in candidates:
        ours, position = numbers(candidate[len(lhs):]), 0
        for seed in seed_numbers:
            while position < len(ours) and not same_at_seed_precision(ours[position], seed):
                position += 1
            if position == len(ours):
                break
            position += 1
        else:
            return
    raise AssertionError(f"{lhs}: seed numbers {seed_numbers} not all found in {candidates}")


@pytest.fixture(scope="module")
def spam() -> str:
    return markdown("spam")


@pytest.fixture(scope="module")
def house() -> str:
    return markdown("house_price")


SPAM = [
    ("z₁[0]", "0.05", "0.06", "0.1", "0.21"),
    ("z₁[1]", "0.15", "0.12", "0.2", "0.47"),
    ("h[0]", "0.21", "0.21"),
    ("h[1]", "0.47", "0.47"),
    ("z₂ =", "0.105", "0.282", "0.1", "0.487"),
    ("ŷ = σ(0.487)", "0.6145", "1.6145", "0.6194"),
    ("∂L/∂ŷ = −", "0.6194", "-1.6145"),
    ("∂ŷ/∂z₂", "0.6194", "0.3806", "0.2357"),
    ("δ₂ =", "-1.6145", "0.2357", "-0.3806"),
    ("δ₂ = ŷ − y", "0.6194", "1", "-0.3806"),
    ("∂L/∂W₂[0]", "-0.3806", "0.21", "-0.0799"),
    ("∂L/∂W₂[1]", "-0.3806", "0.47", "-0.1789"),
    ("∂L/∂b₂", "-0.3806"),
    ("∂L/∂h[0]", "0.5", "-0.3806", "-0.1903"),
    ("∂L/∂h[1]", "0.6", "-0.3806", "-0.2284"),
    ("δ₁[0]", "-0.1903", "1", "-0.1903"),
    ("δ₁[1]", "-0.2284", "1", "-0.2284"),
    ("∂L/∂W₁[0,0]", "-0.1903", "0.5", "-0.0952"),
    ("∂L/∂W₁[0,1]", "-0.1903", "0.3", "-0.0571"),
    ("∂L/∂W₁[1,0]", "-0.2284", "0.5", "-0.1142"),
    ("∂L/∂W₁[1,1]", "-0.2284", "0.3", "-0.0685"),
    ("∂L/∂b₁", "-0.1903", "-0.2284"),
    ("W₂[0]_new", "0.5", "0.00799", "0.508"),
    ("W₂[1]_new", "0.6", "0.01789", "0.618"),
    ("b₂_new", "0.1", "0.138"),
    ("W₁[0,0]_new", "0.1", "0.00952", "0.110"),
    ("W₁[0,1]_new", "0.2", "0.00571", "0.206"),
    ("W₁[1,0]_new", "0.3", "0.01142", "0.311"),
    ("W₁[1,1]_new", "0.4", "0.00685", "0.407"),
    ("b₁[0]_new", "0.1", "0.119"),
    ("b₁[1]_new", "0.2", "0.223"),
    ("| W₁[0,0] |", "0.100", "0.110"),
    ("| W₁[0,1] |", "0.200", "0.206"),
    ("| W₁[1,0] |", "0.300", "0.311"),
    ("| W₁[1,1] |", "0.400", "0.407"),
    ("| b₁ |", "0.1", "0.2", "0.119", "0.223"),
    ("| W₂ |", "0.5", "0.6", "0.508", "0.618"),
    ("| b₂ |", "0.1", "0.138"),
]


@pytest.mark.parametrize("row", SPAM, ids=[row[0] for row in SPAM])
def test_spam_reproduces_the_seed(spam: str, row: tuple[str, ...]) -> None:
    check(spam, *row)


def test_spam_lines_read_as_the_issue_quotes_them(spam: str) -> None:
    assert "z₁[0] = (0.1 × 0.5) + (0.2 × 0.3) + 0.1 = 0.05 + 0.06 + 0.1 = 0.21" in spam
    assert "δ₂ = ŷ − y = 0.6194 − 1 = −0.3806 ✓" in spam
    assert "Input (2)  →  Hidden (2, ReLU)  →  Output (1, Sigmoid)  →  Loss" in spam
    assert "Since y = 1, the second term vanishes:" in spam


def test_the_spam_seed_loss_is_wrong_and_nnworked_prints_the_right_value(spam: str) -> None:
    # The seed prints L = −log(0.6194) = 0.4794. It is 0.4790, whether from ŷ or from the 0.6194 shown.
    seed_value = 0.4794
    assert round(-math.log(0.6194), 4) == 0.4790 != seed_value
    assert round(trace_of("spam").steps[0].loss.value, 4) == 0.4790
    assert "L = −ln(ŷ) = −ln(0.6194) = 0.4790" in spam
    assert "Loss decreased from 0.4790 to 0.4493" in spam
    assert "0.4794" not in spam


def test_spam_never_prints_w_times_x_under_the_name_z1(spam: str) -> None:
    # The seed's "why matrices" section calls W₁·x (0.11, 0.27, no bias) z₁; z₁ is 0.21 and 0.47.
    for line in lines_starting(spam, "z₁"):
        assert not line.endswith(("= 0.11", "= 0.27")), line


HOUSE = [
    ("z₁[0]", "2", "30", "32"),
    ("z₁[1]", "4", "15", "19"),
    ("h[0]", "32"),
    ("h[1]", "19"),
    ("z₂ =", "640", "285", "925"),
    ("L = (ŷ − y)² = (925", "330,625"),
    ("∂L/∂ŷ = 2", "925", "350", "1150"),
    ("δ₂ = 1150", "1150"),
    ("∂L/∂W₂[0]", "1150", "32", "36,800"),
    ("∂L/∂W₂[1]", "1150", "19", "21,850"),
    ("∂L/∂h[0]", "20", "1150", "23,000"),
    ("∂L/∂h[1]", "15", "1150", "17,250"),
    ("δ₁[0]", "23,000", "1", "23,000"),
    ("δ₁[1]", "17,250", "1", "17,250"),
    ("∂L/∂W₁[0,0]", "23,000", "2000", "46,000,000"),
    ("∂L/∂W₁[0,1]", "23,000", "3", "69,000"),
    ("∂L/∂W₁[1,0]", "17,250", "2000", "34,500,000"),
    ("∂L/∂W₁[1,1]", "17,250", "3", "51,750"),
    ("W₂[0]_new", "20", "0.0000001", "36,800", "20", "0.00368", "19.99632"),
    ("W₂[1]_new", "15", "0.0000001", "21,850", "15", "0.00219", "14.99781"),
    ("W₁[0,0]_new", "0.001", "0.0000001", "46,000,000", "0.001", "4.6", "-4.599"),
    ("W₁[0,1]_new", "10", "0.0000001", "69,000", "10", "0.0069", "9.9931"),
    ("W₁[1,0]_new", "0.002", "0.0000001", "34,500,000", "0.002", "3.45", "-3.448"),
    ("W₁[1,1]_new", "5", "0.0000001", "51,750", "5", "0.00518", "4.99482"),
    ("z₁[0] = (−4.599", "-9168"),
    ("z₁[1] = (−3.448", "-6881"),
    ("h = [0, 0]",),
    ("z₂ = (19.99632", "0"),
    ("L = (ŷ − y)² = (0 − 350)", "122,500"),
]


@pytest.mark.parametrize("row", HOUSE, ids=[row[0] for row in HOUSE])
def test_house_price_reproduces_the_seed(house: str, row: tuple[str, ...]) -> None:
    check(house, *row)


def test_house_price_hand_rounding_is_carried(house: str) -> None:
    # 0.0000001 × 21,850 = 0.002185 is carried as 0.00219, so 15 − 0.00219 = 14.99781 exactly as the seed
    assert "W₂[1]_new = 15 − (0.0000001 × 21,850) = 15 − 0.00219 = 14.99781" in house
    assert "W₁[1,1]_new = 5 − (0.0000001 × 51,750) = 5 − 0.00518 = 4.99482" in house
    # without carrying, the exact value rounds the other way at the last digit
    exact = trace_of("house_price", rounding="exact").steps[0].updates
    w2 = next(u for u in exact if u.name == "W2").new
    assert round(float(w2[0, 1]), 6) == 14.997815


def test_house_price_loss_decreases_as_the_seed_says(house: str) -> None:
    # the seed adds "The network is learning." below h = [0, 0]; that step killed both ReLU units, so we
    # say what the numbers show instead
    assert ("Loss decreased from 330,625 to 122,500, but both ReLU units of layer 1 are now dead (h = [0, 0]): "
            "no gradient can flow through them, so the weights into and out of them cannot change any more."
            in house.replace("\n", " "))
    assert "The network is learning" not in house
    assert to_float(numbers(lines_starting(house, "L = (ŷ − y)² = (0 − 350)")[0])[-1]) == 122500
