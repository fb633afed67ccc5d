"""Exercise sheets: which values a student fills in, chosen by a rule and a seed.

A value is named as a teacher would say it: z1[0] (one example) or z1[0,1] (unit 0 of example 1), a1, dz1
and da1 for ∂L/∂z₁ and ∂L/∂a₁, dW2[0,1] and db2[0] for the gradients, W2[0,1] and b2[0] for the values
after the update, L for the loss, C[0,1] for a matrix product. A name without an index means every cell.
The sheet and its key carry the same short variant id, derived from the scenario and the blanks.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Callable

import numpy as np


from nnworked import scenario
from nnworked.errors import NnworkedError, OptionError
from nnworked.expr import Expr, Op, evaluate
from nnworked.quantities import FINAL, INTERMEDIATE, LSTM_BACKWARD, LSTM_FORWARD, labels, name as quantity_name, parse, table
from nnworked.trace import Trace

RULES = ("one-per-layer", "forward", "backward", "all")
REVEALS = tuple(scenario.REVEALS)  # what a sheet shows of the values computed from its blanks (see `hidden`)


def quantities(trace: Trace) -> dict[str, float]:
    """Every value of the first step a sheet can leave blank, by name (the table of quantities' values)."""
    return table(trace).values


def _close(keys: set[str], available: dict[str, float]) -> set[str]:
    """A blank must not be readable elsewhere: z and its activation a, ∂L/∂a and ∂L/∂z, and (with one
    example, where they are the same number) ∂L/∂z and ∂L/∂b go together."""
    pairs = {"z": ["a"], "a": ["z"], "dz": ["da", "db"], "da": ["dz", "db"], "db": ["dz", "da"]}
    closed = set(keys)
    for key in keys:
        name = parse(key)
        for other in pairs.get(name.kind, []):
            candidate = str(name._replace(kind=other))
            if candidate in available:
                closed.add(candidate)
    return closed


def hidden(trace: Trace, keys: frozenset[str], reveal: str = "guided") -> frozenset[str]:
    """The values a sheet hides besides its blanks, read from the table's dependencies.

    guided: the values that follow from the blanks alone (every quantity they are computed from is a blank
    or follows from one): the loss and ∂L/∂ŷ from ŷ, δ = ŷ − y, ∂L/∂b = δ for one example, a weight after
    its update from its gradient. Values computed from a blank and from a value the sheet shows stay given,
    as on AI by Hand sheets: the student needs them for what follows. A later pass hides the same values as
    the first step (its value of a blank is the blank again, when the update barely moves it).
    none (an exam): every value that depends on a blank, transitively; later passes are hidden by their
    step qualifier (`render.numbers`), since every one of them is computed from the first step's updates."""
    if reveal not in REVEALS:
        raise OptionError("--reveal", f"'{reveal}' is not a policy; choose from: {', '.join(REVEALS)}")
    t = table(trace)
    if reveal == "none":
        out = t.downstream(keys)
        return frozenset(out - keys) | _example_losses(trace, lambda sources: bool(sources & (out | keys)))
    # Both tests only grow with `follows`, so passes until one adds nothing reach the same set in any
    # order; each pass reads the values hidden so far once, and each key's intermediates are worked once.
    places = trace.precision.places
    follows = set(keys)
    intermediates: dict[str, list[tuple[frozenset[str], float]]] = {}
    grew = True
    while grew:
        grew = False
        wanted = _wanted(t, follows, places)
        for key in t.values:
            if key not in follows and (t.depends(key) and t.depends(key) <= follows
                                       or _works_on_the_way(t, key, wanted, intermediates, places)):
                follows.add(key)
                grew = True
    return frozenset(follows - keys) | _later_passes(trace, follows) \
        | _example_losses(trace, lambda sources: sources <= follows) | _losses_on_the_way(trace, follows, places)


def _losses_on_the_way(trace: Trace, hidden: set[str], places: int) -> frozenset[str]:
    """A batch's (or a sequence's) per-example losses L[e] whose working passes through a hidden value, as the
    loss of one example is hidden (`_works_on_the_way`): under ½·(ŷ − y)² summed, L[e]'s ŷ − y is ∂L/∂ŷ."""
    t = table(trace)
    wanted = _wanted(t, hidden, places)
    return frozenset(loss for loss in _example_losses(trace, lambda sources: True)
                     if _works_on_the_way(t, loss, wanted, {}, places))


def _later_passes(trace: Trace, hidden: set[str]) -> frozenset[str]:
    """The same values in every later pass (`a1[1]@final` for a hidden `a1[1]`): an update that barely moves
    a value (a saturated tanh, a ReLU at 0, a small learning rate) prints it again in the next pass, digit
    for digit or nearly, and so gives the blank away; the later passes hide what the first step hides."""
    passes = [*range(2, len(trace.steps) + 1), *([FINAL] if trace.final is not None else [])]
    return frozenset(f"{key}@{step}" for step in passes for key in hidden)


def _wanted(t, hidden: set[str], places: int) -> dict[frozenset[str], set[float]]:  # noqa: ANN001
    """What each hidden value is computed from → its values, rounded as `_works_on_the_way` compares them."""
    wanted: dict[frozenset[str], set[float]] = {}
    for other in hidden:
        sources = t.depends(other)
        if sources:
            wanted.setdefault(frozenset(sources), set()).add(round(t.values[other], places))
    return wanted


def _works_on_the_way(t, key: str, wanted: dict[frozenset[str], set[float]],  # noqa: ANN001
                      intermediates: dict[str, list[list]], places: int) -> bool:
    """Whether the working of `key` passes through a hidden value (`wanted`): an intermediate computed from
    exactly what that value is computed from, and equal to it (½·(ŷ − y)² shows ŷ − y, which is ∂L/∂ŷ):
    printing the line would give the hidden value away through an identity."""
    if not wanted:
        return False
    if key not in intermediates:  # [what it is computed from, the operation, its rounded value once worked]
        intermediates[key] = [[frozenset(labels(inner)), inner, None] for inner in _inner(t.expression(key))]
    for entry in intermediates[key]:
        values = wanted.get(entry[0])
        if values:
            if entry[2] is None:
                entry[2] = round(evaluate(entry[1]), places)
            if entry[2] in values and entry[2] == entry[2]:  # never NaN, as == never finds it
                return True
    return False


def _inner(expr: Expr) -> list[Expr]:
    """Every operation inside an expression, not the expression itself."""
    out: list[Expr] = []
    for arg in getattr(expr, "args", ()):
        if isinstance(arg, Op):
            out += [arg, *_inner(arg)]
    return out


def _example_losses(trace: Trace, hide: Callable[[frozenset[str]], bool]) -> frozenset[str]:
    """A batch's per-example losses L[e] (printed, though not values a sheet asks for) that `hide` hides,
    given what each is computed from."""
    t = table(trace)
    if trace.matmul is not None or "L" not in t.values:
        return frozenset()
    rows = trace.steps[0].loss.per_example.shape  # (examples,), or (examples, positions): a loss per position
    if len(rows) == 1 and rows[0] == 1:
        return frozenset()
    names = [quantity_name("L", 0, *index) for index in np.ndindex(*rows)]
    return frozenset(n for n in names if hide(t.depends(n)))


def aliases(trace: Trace) -> dict[str, str]:
    """The spellings a sheet shows for each asked value (ŷ, h[0], ∂L/∂W₂[0], δ₂, W₂[0]_new, dW2[0] for a
    one-row dW2[0,0]) → its canonical name, so an answer file may use either."""
    from nnworked.render.notation import Notation

    s = trace.scenario
    if trace.matmul is not None:
        return {}
    n = Notation(len(s.layers), s.inputs.shape[0])
    units = {k: getattr(layer, "units", 0) for k, layer in enumerate(s.layers, 1)}
    out: dict[str, str] = {}
    for key in table(trace).values:
        name = parse(key)
        k = name.layer
        if name.kind in ("z", "a", "dz", "da"):
            i, e = (list(name.index) + [0])[:2]
            if len(name.index) >= 3:  # an image's (channel, row, col), and the example in a batch
                i, e = tuple(name.index[:3]), (name.index[3] if len(name.index) > 3 else 0)
            symbol = {"z": n.z(k), "a": n.a(k), "dz": n.delta(k), "da": n.a(k)}[name.kind]
            cell = n.element(symbol, e, i, units[k])
            spellings = {"z": [cell], "a": [cell], "dz": [cell, "∂L/∂" + n.element(n.z(k), e, i, units[k])],
                         "da": ["∂L/∂" + cell]}[name.kind]
        elif name.kind in ("dW", "W") and len(name.index) == 2:
            i, j = name.index
            cell = n.weight(n.W(k), i, j, units[k])
            spellings = ["∂L/∂" + cell] if name.kind == "dW" else [cell + "_new"]
            if units[k] == 1:
                spellings.append(f"{name.kind}{k}[{j}]")
        elif name.kind in ("dK", "K") and len(name.index) == 4:
            cell = f"{n.param(f'K{k}')}[{','.join(map(str, name.index))}]"
            spellings = ["∂L/∂" + cell] if name.kind == "dK" else [cell + "_new"]
        elif name.kind in ("db", "b") and name.index:
            cell = n.b(k) + (f"[{name.index[0]}]" if units[k] > 1 else "")
            spellings = ["∂L/∂" + cell] if name.kind == "db" else [cell + "_new"]
        elif name.kind in LSTM_FORWARD or name.kind in LSTM_BACKWARD:
            spellings = [_lstm_spelling(name)]
        else:
            spellings = []
        for spelling in spellings:  # as printed, and typed without subscripts (z2 for z₂)
            out.setdefault(spelling, key)
            out.setdefault(spelling.translate(_PLAIN_DIGITS), key)
    return out


_PLAIN_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def _lstm_spelling(name) -> str:  # noqa: ANN001
    """An LSTM's value as its walkthrough prints it: zf1[0,1,0] as z₁.f[0,1,0], dc1[0,0,0] as ∂L/∂c₁[0,0,0]."""
    from nnworked.render.numbers import subscript

    kind, gradient = (name.kind[1:], "∂L/∂") if name.kind in LSTM_BACKWARD else (name.kind, "")
    symbol = f"z{subscript(name.layer)}.{kind[1:]}" if kind.startswith("z") else f"{kind}{subscript(name.layer)}"
    return f"{gradient}{symbol}[{','.join(map(str, name.index))}]"


def canonical(trace: Trace, answers: dict[str, float]) -> dict[str, float]:
    """An answer file's values by canonical name: a sheet's own spelling (ŷ, ∂L/∂W₂[0]) is accepted too."""
    spelled = aliases(trace)
    return {spelled.get(key.replace(" ", ""), key): value for key, value in answers.items()}


def for_scenario(trace: Trace, rule: str | None, seed: int) -> tuple[frozenset[str], str]:
    """The blanks and variant id of a sheet: those the scenario file records (a generated variant), unless a
    rule is given; else the rule's (one-per-layer by default)."""
    s = trace.scenario
    if rule is None and s.blanks:
        try:
            keys = choose(trace, ", ".join(s.blanks), seed)
        except OptionError as error:  # the file's own list, not the command line, is wrong
            raise NnworkedError(f"{s.source}: exercise.blanks: {error.message}") from None
        return keys, s.variant or variant(trace, keys)
    keys = choose(trace, rule or "one-per-layer", seed)
    return keys, variant(trace, keys)


def choose(trace: Trace, rule: str, seed: int) -> frozenset[str]:
    """The blanks for a rule (one of RULES, or a comma-separated list of names) and a seed."""
    from nnworked.rules.layers import LAYERS

    unsheeted = sorted({layer.type for layer in trace.scenario.layers if not getattr(LAYERS[layer.type], "sheets", True)})
    if unsheeted:  # its intermediate values are not yet named, so a blank could show up in a later line
        raise NnworkedError(f"{trace.scenario.source}: exercise sheets cannot blank the values of "
                            f"{', '.join(unsheeted)} layers yet: the walkthrough (without --exercise, --answers or "
                            "--exam) works every one")
    available = quantities(trace)
    rng = random.Random(seed)
    if rule == "one-per-layer":
        keys: set[str] = set()
        groups = ["C"] if trace.matmul is not None else _layer_groups(trace)
        for group in groups:
            cells = sorted(k for k in available if k.startswith(group + "["))
            if cells:
                keys.add(rng.choice(cells))
    elif rule == "forward":
        keys = {k for k in available if parse(k).kind in ("z", "a", "C") or parse(k).kind in INTERMEDIATE}
    elif rule == "backward":
        keys = {k for k in available if parse(k).kind in ("dz", "da", "dW", "db")}
    elif rule == "all":
        keys = set(available)
    else:
        keys = set(named(rule, available))
    if not keys:
        raise OptionError("--blanks", f"the rule '{rule}' leaves nothing blank in this scenario (a forward-only "
                          "scenario has no gradients to ask for)")
    return frozenset(_close(keys, available))


def _layer_groups(trace: Trace) -> list[str]:
    """One value per layer, forward then backward: the value each layer's rule asks for (z1 of a dense or
    conv2d layer, a2 of a pooling layer, none of a flatten), then its first parameter's gradient (dW1, dK1)."""
    from nnworked.rules.layers import LAYERS

    layers = list(enumerate(trace.scenario.layers, 1))
    forward = [f"{LAYERS[l.type].asks}{k}" for k, l in layers if LAYERS[l.type].asks]
    backward = []
    for k, layer in layers:
        names = list(LAYERS[layer.type].parameters(k, layer))
        if names:
            backward.append("d" + names[0])
    return forward + backward


def named(text: str, available: dict[str, float]) -> list[str]:
    """Names such as "z1[0,1], W2": a name without an index stands for every cell of it."""
    keys: list[str] = []
    for name in (part.strip() for part in re.split(r",(?![^\[]*\])", text) if part.strip()):  # not z1[0,1]'s comma
        name = name.replace(" ", "")
        if name in available:
            keys.append(name)
            continue
        cells = [k for k in available if k.startswith(name + "[")]
        if not cells:
            try:
                asked = parse(name)
            except ValueError:
                asked = None
            row = str(asked._replace(index=(0, *asked.index))) if asked and len(asked.index) == 1 else ""
            if row in available:  # a one-row matrix, such as W2[1] for W2[0,1]
                keys.append(row)
                continue
            stems = sorted({k.split("[")[0] for k in available})
            import difflib  # only a mistyped name needs it

            close = difflib.get_close_matches(name, list(available) + stems, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise OptionError("--blanks", f"there is no value '{name}' in this scenario.{hint} Its values are "
                              f"{', '.join(stems)}, each alone (every cell) or with an index such as [0] or "
                              f"[0,1]; or give a rule: {', '.join(RULES)}.")
        keys += cells
    return keys


def variant(trace: Trace, keys: frozenset[str]) -> str:
    """A short id shared by a sheet and its key: the same scenario and blanks give the same id."""
    s = trace.scenario
    source = {"inputs": s.inputs.tolist(), "layers": [_layer_source(k, l) for k, l in enumerate(s.layers, 1)],
              "matmul": None if s.matmul is None else [s.matmul.a.tolist(), s.matmul.b.tolist()],
              "targets": None if s.targets is None else s.targets.tolist(), "blanks": sorted(keys)}
    import json

    digest = hashlib.sha256(json.dumps(source).encode()).hexdigest()
    return "v-" + digest[:6]


def _layer_source(k: int, layer) -> list:  # noqa: ANN001
    """What makes a layer's numbers: a dense layer's [weights, bias] (so every dense id stays as it was), any
    other layer's type, its description (stride, padding, window) and its parameters."""
    from nnworked.rules.layers import LAYERS

    if getattr(layer, "weights", None) is not None:
        return [layer.weights.tolist(), None if layer.bias is None else layer.bias.tolist()]
    rule = LAYERS[layer.type]
    return [layer.type, rule.describe(layer), [v.tolist() for v in rule.parameters(k, layer).values()]]
