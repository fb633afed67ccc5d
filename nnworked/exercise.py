"""Exercise sheets: which values a student fills in, chosen by a rule and a seed.

A value is named as a teacher would say it: z1[0] (one example) or z1[0,1] (unit 0 of example 1), a1, dz1
and da1 for ∂L/∂z₁ and ∂L/∂a₁, dW2[0,1] and db2[0] for the gradients, W2[0,1] and b2[0] for the values
after the update, L for the loss, C[0,1] for a matrix product. A name without an index means every cell.
The sheet and its key carry the same short variant id, derived from the scenario and the blanks.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import random
import re

from nnworked.errors import NnworkedError, OptionError
from nnworked.quantities import parse, table
from nnworked.trace import Trace

RULES = ("one-per-layer", "forward", "backward", "all")


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
    available = quantities(trace)
    rng = random.Random(seed)
    if rule == "one-per-layer":
        keys: set[str] = set()
        groups = ["C"] if trace.matmul is not None else \
            [f"z{k}" for k in range(1, len(trace.scenario.layers) + 1)] + \
            [f"dW{k}" for k in range(1, len(trace.scenario.layers) + 1)]
        for group in groups:
            cells = sorted(k for k in available if k.startswith(group + "["))
            if cells:
                keys.add(rng.choice(cells))
    elif rule == "forward":
        keys = {k for k in available if parse(k).kind in ("z", "a", "C")}
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
    source = {"inputs": s.inputs.tolist(), "layers": [[l.weights.tolist(), None if l.bias is None else
                                                       l.bias.tolist()] for l in s.layers],
              "matmul": None if s.matmul is None else [s.matmul.a.tolist(), s.matmul.b.tolist()],
              "targets": None if s.targets is None else s.targets.tolist(), "blanks": sorted(keys)}
    digest = hashlib.sha256(json.dumps(source).encode()).hexdigest()
    return "v-" + digest[:6]
