"""Blank policies, proven on every bundled scenario with every blank rule by perturbation.

A given number that only the blanks are computed from (the bias of a blanked unit, or A[0,0] of a matrix
product) is moved, the scenario solved again, and the two sheets compared number by number:

- exam (`--reveal none`): nothing but that given may print differently anywhere, every training step,
  the pass after training and the summary table included.
- guided: no line that shows a blank ends in a value that moved with it, and no value that follows from
  the blanks alone (read off the table's dependencies) prints anywhere.

Nothing here lists the lines that used to leak: a missing label, a renderer that prints a value from
somewhere the table does not know, or a policy that forgets a dependency makes a moved number show.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnworked.rules.layers import LAYERS
from nnworked import bundled, quantities, sheets
from nnworked import scenario as scenarios
from nnworked.engine.network import solve
from nnworked.errors import OptionError
from nnworked.render import get
from nnworked.render.numbers import Blanks, fmt
from nnworked.render.settings import Settings
from nnworked.trace import Trace

G = "____"  # the blank as Markdown prints it
BLANK_SETS = [("one-per-layer", 1), ("one-per-layer", 2), ("forward", 1), ("backward", 1), ("all", 1)]
SHIFTS = (1.0, -1.0, 2.0, 0.0123457, -0.0123457)  # integers first: an integer scenario prints integers
_NUMBER = re.compile(r"−?\d{1,3}(?:,\d{3})+(?:\.\d+)?|−?\d+(?:\.\d+)?")  # 21,850 is one number


def _load(name: str, steps: int = 2) -> scenarios.Scenario:
    """Two training steps for an exam (every later value must hide); a guided sheet is about step 1."""
    s = scenarios.load(bundled.resolve(name))
    return s.with_options(steps=steps) if s.learning_rate is not None and s.targets is not None else s


def _moved(s: scenarios.Scenario, layer: int, shift: float) -> tuple[scenarios.Scenario, list[str]]:
    """`s` with one given moved by `shift`, and the quantities computed from it directly."""
    if s.matmul is not None:
        a = s.matmul.a.copy()
        a[0, 0] = round(a[0, 0] + shift, 7)
        return s._replace(matmul=s.matmul._replace(a=a)), [quantities.name("C", 0, 0, j)
                                                          for j in range(s.matmul.b.shape[1])]
    layers = list(s.layers)
    lay = layers[layer - 1]
    if lay.bias is not None:
        bias = lay.bias.copy()
        bias.flat[0] = round(bias.flat[0] + shift, 7)  # an LSTM's (gates, hidden): gate i's b[0]
        layers[layer - 1] = lay._replace(bias=bias)
    else:
        field = _weights_field(lay)
        weights = getattr(lay, field).copy()
        weights[0, 0] = round(weights[0, 0] + shift, 7)
        layers[layer - 1] = lay._replace(**{field: weights})
    # what bias[0] (or W[0,0]) feeds directly: unit 0 of each example, or every position of channel 0 of an image
    direct = [key for key in quantities.table(solve(s)).values if quantities.parse(key).kind == "z"
              and quantities.parse(key).layer == layer and quantities.parse(key).index[0] == 0]
    direct += [key for key in quantities.table(solve(s)).values if quantities.parse(key).kind == "q"
               and quantities.parse(key).layer == layer and quantities.parse(key).index[-1] == 0]  # W_Q[0,0]'s
    direct += [key for key in quantities.table(solve(s)).values if quantities.parse(key).kind == "zi"
               and quantities.parse(key).layer == layer and quantities.parse(key).index[-1] == 0]  # an LSTM's b_i[0]'s
    return s._replace(layers=tuple(layers)), direct


def _weights_field(lay) -> str:  # noqa: ANN001
    """The weights a layer without a bias has first: a dense layer's, an rnn's W_x, self-attention's W_Q."""
    return next(field for field in ("weights", "input_weights", "query_weights") if hasattr(lay, field))


def _signs(trace: Trace) -> list:
    if trace.matmul is not None:
        return []
    passes = [step.forward for step in trace.steps] + ([trace.final[0]] if trace.final else [])
    losses = [step.loss for step in trace.steps] + ([trace.final[1]] if trace.final else [])
    # ŷ − y and each gradient an update subtracts print their sign as an operator: (−2.5 + 4)², 0 − (η × g)
    return [np.sign(op.z).tolist() for f in passes for op in f.operations if type(op).__name__ in ("Linear", "Convolve")] \
        + [np.sign(loss.yhat - loss.y).tolist() for loss in losses if loss is not None] \
        + [np.sign(u.grad).tolist() for step in trace.steps for u in step.updates if not u.frozen]


def _pair(s: scenarios.Scenario, layer: int) -> tuple[Trace, Trace, list[str]] | None:
    """The traces before and after the move, with the same sign of every z (no ReLU crosses its kink, no
    sentence such as 'both are > 0' changes), of every ŷ − y and of every gradient an update subtracts, and
    the same display precision; None if no shift keeps them."""
    trace = solve(s)
    for shift in SHIFTS:
        moved, direct = _moved(s, layer, shift)
        other = solve(moved)
        if _signs(other) == _signs(trace) and other.precision == trace.precision and _same_sign(s, moved, layer):
            return trace, other, direct
    return None


def _same_sign(s: scenarios.Scenario, moved: scenarios.Scenario, layer: int) -> bool:
    """The moved given keeps its sign (`+ 0.1` stays `+ 0.1123457`, never `− 0.9`): the line keeps its shape."""
    old, new = (float(np.sign(v)) for v in _given_values(s, moved, layer))
    return old == new or (old == 0 and new > 0)


def _sheet(trace: Trace, keys: frozenset[str], reveal: str, layout: str | None) -> str:
    blanks = Blanks(keys, False, "v-test", glyph=G, reveal=reveal)
    return get("markdown")(trace, Settings(blanks=blanks, all_steps=reveal == "none", layout=layout, width=10_000))


def _tokens(line: str) -> tuple[str, list[str]]:
    """The line's shape (numbers as #, columns' padding as one space) and its numbers."""
    # a grid's rule is as wide as its widest number: its width is no part of the shape
    return re.sub(r"\s+", " ", re.sub(r"-{2,}", "--", _NUMBER.sub("#", line))), _NUMBER.findall(line)


def _differences(before: str, after: str) -> list[tuple[str, str, str]]:
    """(line, number before, number after) for every number that printed differently."""
    lines, others = before.splitlines(), after.splitlines()
    assert len(lines) == len(others), "the sheets differ in shape"
    out = []
    for line, other in zip(lines, others):
        (shape, numbers), (other_shape, other_numbers) = _tokens(line), _tokens(other)
        assert shape == other_shape, f"{line!r} became {other!r}"
        out += [(line, a, b) for a, b in zip(numbers, other_numbers) if a != b]
    return out


def _given_texts(s: scenarios.Scenario, moved: scenarios.Scenario, layer: int) -> set[tuple[str, str]]:
    """The moved given, before and after, as the file writes it, and to the precision shown (a frozen parameter
    keeps its given value, which the summary's later columns print so)."""
    p = solve(s).precision
    old, new = _given_values(s, moved, layer)
    return {(fmt(old, p, given=True), fmt(new, p, given=True)), (fmt(old, p), fmt(new, p))}


def _given_values(s: scenarios.Scenario, moved: scenarios.Scenario, layer: int) -> tuple[float, float]:
    if s.matmul is not None:
        old, new = s.matmul.a[0, 0], moved.matmul.a[0, 0]
    elif s.layers[layer - 1].bias is not None:
        old, new = s.layers[layer - 1].bias.flat[0], moved.layers[layer - 1].bias.flat[0]
    else:
        field = _weights_field(s.layers[layer - 1])
        old, new = getattr(s.layers[layer - 1], field)[0, 0], getattr(moved.layers[layer - 1], field)[0, 0]
    return old, new


def _cases() -> list:
    out = []
    for name in bundled.names():
        s = _load(name)
        if any(not getattr(LAYERS[layer.type], "sheets", True) for layer in s.layers):
            continue  # a layer type with no sheets yet refuses them (sheets.choose)
        layers = [1] if s.matmul is not None else sorted({1, len(s.layers)})
        for layer in layers:
            for rule, seed in BLANK_SETS:
                out.append(pytest.param(name, layer, rule, seed, id=f"{name}-layer{layer}-{rule}-{seed}"))
    return out


def _setup(name: str, layer: int, rule: str, seed: int, steps: int = 2):  # noqa: ANN202
    s = _load(name, steps)
    pair = _pair(s, layer)
    if pair is None:
        pytest.skip("every shift moves a z across 0 or changes the precision")
    trace, other, direct = pair
    try:
        keys = sheets.choose(trace, rule, seed)
    except OptionError:
        pytest.skip(f"{rule} leaves nothing blank here")
    keys = sheets.choose(trace, ", ".join(sorted(keys | set(direct))), seed)  # as a teacher names them
    moved = other.scenario
    return s, trace, other, keys, _given_texts(s, moved, layer)


@pytest.mark.parametrize("name, layer, rule, seed", _cases())
@pytest.mark.parametrize("layout", [None, "ai-by-hand"])
def test_an_exam_shows_nothing_computed_from_a_blank(name: str, layer: int, rule: str, seed: int,
                                                     layout: str | None) -> None:
    s, trace, other, keys, given = _setup(name, layer, rule, seed)
    if layout and trace.matmul is not None:
        pytest.skip("a matrix product has one layout")
    leaks = [d for d in _differences(_sheet(trace, keys, "none", layout), _sheet(other, keys, "none", layout))
             if (d[1], d[2]) not in given]
    assert not leaks, f"moved with the blanks {sorted(keys)}: {leaks[:5]}"


def _ending(line: str) -> list[str]:
    """The numbers after a worked line's last "=": the value it arrives at."""
    return _NUMBER.findall(line.rsplit(" = ", 1)[-1])


def _working(line: str) -> list[str]:
    """The numbers of a worked line before its last "=": what the value is computed from."""
    return _NUMBER.findall(line.rsplit(" = ", 1)[0])


def _follows(trace: Trace, keys: frozenset[str]) -> set[str]:
    """The values that follow from `keys` alone, from the table's dependencies (the test's own closure)."""
    table = quantities.table(trace)
    out = set(keys)
    while True:
        more = {q for q in table.values if q not in out and table.depends(q) and table.depends(q) <= out}
        if not more:
            return out
        out |= more


# Sheets whose numbers make two different quantities equal whatever the move, so that the perturbation
# cannot tell a value the sheet shows from one it hides (the sheet is right; the numbers coincide).
COINCIDENCES = {
    ("residual_block", 5, "one-per-layer", 2): "x = [1, 2] meets w2 = 0.5·I: ∂L/∂W₂[1,1] = δ₂[1]·2 = δ₃[1]·1 = "
                                               "∂L/∂W₃[1,0], so η × one gradient is the other's update",
    ("attention_three_tokens", 1, "one-per-layer", 1): "softmax over two classes: the shown ∂L/∂z₂[2,1] = (ŷ[2,1] − 1) / 3 = "
                                                        "−0.0845 is minus the blank ŷ[2,0]'s ∂L/∂z₂[2,0] whatever the move, "
                                                        "and a line prints its sign as an operator (− 0.0845)",
}


@pytest.mark.parametrize("name, layer, rule, seed", _cases())
@pytest.mark.parametrize("layout", [None, "ai-by-hand"])
def test_a_guided_sheet_never_shows_what_follows_from_a_blank(name: str, layer: int, rule: str, seed: int,
                                                              layout: str | None) -> None:
    if (name, layer, rule, seed) in COINCIDENCES:
        pytest.skip(COINCIDENCES[(name, layer, rule, seed)])
    s, trace, other, keys, given = _setup(name, layer, rule, seed, steps=1)
    if layout and trace.matmul is not None:
        pytest.skip("a matrix product has one layout")
    before, after = _sheet(trace, keys, "guided", layout), _sheet(other, keys, "guided", layout)
    moved = [d for d in _differences(before, after) if (d[1], d[2]) not in given]
    # a line that shows a blank does not end in a value that moved with it: every number before its last
    # "=" printed the same (the given aside), and yet the value it arrives at changed
    ends = [line for line, other in zip(before.splitlines(), after.splitlines())
            if G in line and " = " in line and _ending(line) != _ending(other)
            and not any(c in line.rsplit(" = ", 1)[-1] for c in "|[")  # a row of an array, not a worked value
            and all(a == b or (a, b) in given for a, b in zip(_working(line), _working(other)))]
    assert not ends, f"a line ends in a value computed from a blank: {ends[:3]}"
    # no value that follows from the blanks alone prints, anywhere
    values, others = quantities.table(trace).values, quantities.table(other).values
    p = trace.precision
    hidden = _follows(trace, keys)

    def pair(q: str) -> tuple[str, str]:
        return fmt(values[q], p), fmt(others.get(q, values[q]), p)

    shown_pairs = {pair(q) for q in values if q not in hidden}  # the same numbers as a value the sheet shows
    pairs = {pair(q): q for q in hidden if pair(q)[0] != pair(q)[1] and pair(q) not in shown_pairs}
    shown = [(pairs[(a, b)], line) for line, a, b in moved if (a, b) in pairs]
    assert not shown, f"printed though it follows from the blanks {sorted(keys)}: {shown[:3]}"


def test_the_perturbation_catches_a_leak() -> None:
    """The exam check fails on a sheet that leaks: the same sheet under the guided policy shows the loss."""
    s, trace, other, keys, given = _setup("spam", 1, "one-per-layer", 1)
    leaks = [d for d in _differences(_sheet(trace, keys, "guided", None), _sheet(other, keys, "guided", None))
             if (d[1], d[2]) not in given]
    assert leaks


def test_a_guided_sheet_hides_a_blank_where_the_next_pass_would_print_it_again() -> None:
    """rnn_three_steps: h saturates (tanh(6.95)) and η = 0.001 barely moves the weights, so the forward pass
    after the update prints the last h to the same 8 decimals (0.99999815); a sheet that blanks z₁ hides h
    there too, as it hides it in the first step."""
    trace = solve(_load("rnn_three_steps", 1))
    keys = sheets.choose(trace, "z1", 1)
    hidden = sheets.hidden(trace, keys)
    before, after = (forward.operations[0].output for forward in (trace.steps[0].forward, trace.final[0]))  # h_T
    assert fmt(before[0, 1], trace.precision) == fmt(after[0, 1], trace.precision) == "0.99999815"
    assert {"a1[0]", "a1[1]", "a1[0]@final", "a1[1]@final", "z1[0,2,1]@final"} <= hidden
    sheet = _sheet(trace, keys, "guided", None)
    after = sheet[sheet.index("Next Forward Pass"):]  # the description quotes h; the working must not
    assert "0.99999815" not in after and "0.9986059" not in after
    assert f"h = [{G}, {G}]" in after
