"""Fresh exercises from a template: numbers drawn by a seed, kept only when they make a good exercise.

A template is a scenario file in which any number may be a range, written as text: "-3..3" (whole
numbers), "-0.9..0.9" (steps of the template's number style). A bundled scenario works as a template as
it is: each of its inputs, weights and biases (a matrix product's A and B) is drawn again in the chosen
number style, and its targets anew of the same kind. Each draw is solved and checked against the constraints; drawing is bounded, and
when too few draws pass, the error says which constraint rejected them and how often.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.losses import LOSSES
from nnworked.rules.losses.base import draw_from_grid
from nnworked.errors import NnworkedError, ScenarioError
from nnworked.quantities import parse, table
from nnworked.scenario import Scenario, from_document
from nnworked.trace import Trace
from nnworked.yamlsource import Document

STYLES = {"integers": 1.0, "one-decimal": 0.1, "two-decimals": 0.01}
DEFAULT_SPAN = {"integers": 3.0, "one-decimal": 0.9, "two-decimals": 0.99}
_NUMBER = r"-?\d+(?:\.\d+)?"
# "-3..3", or with values left out: "-3..3 except 0", "-0.9..0.9 except 0, 0.5"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*(?:except\s+({_NUMBER}(?:\s*,\s*{_NUMBER})*))?\s*$")
_DRAWN = ("inputs", "weights", "bias", "matmul")  # what a bundled template draws anew


@dataclass(frozen=True)
class Constraints:
    max_decimals: int | None = None  # every value a student writes has at most this many decimals
    allow_dead_relu: bool = False
    allow_saturation: bool = False
    min_error: float = 0.05  # |ŷ − y| at least this for some output, so the gradients matter
    within: float | None = None  # every answer's magnitude at most this


@dataclass
class Variant:
    id: str
    data: dict[str, Any]
    scenario: Scenario
    trace: Trace


@dataclass
class Report:
    draws: int = 0
    rejected: Counter = field(default_factory=Counter)
    variants: list[Variant] = field(default_factory=list)

    @property
    def acceptance(self) -> float:
        return len(self.variants) / self.draws if self.draws else 0.0


def _grid(low: float, high: float, step: float) -> list[float]:
    count = int(round((high - low) / step))
    return [round(low + i * step, 10) for i in range(count + 1)]


def _draw(value: Any, rng: random.Random, step: float, path: tuple, redraw: bool, span: float) -> Any:
    """The template value with every range (and, when `redraw`, every number under inputs, weights and
    bias) replaced by a draw."""
    if isinstance(value, dict):
        return {k: _draw(v, rng, step, path + (k,), redraw, span) for k, v in value.items()}
    if isinstance(value, list):
        return [_draw(v, rng, step, path + (i,), redraw, span) for i, v in enumerate(value)]
    if isinstance(value, str) and (match := _RANGE.match(value)):
        low, high = float(match.group(1)), float(match.group(2))
        if low > high:
            from nnworked.yamlsource import format_path

            raise NnworkedError(f"the range '{value}' at {format_path(path)} goes down: write the low end first, "
                                f"'{match.group(2)}..{match.group(1)}'")
        whole = "." not in match.group(1) + match.group(2)  # "-3..3": whole numbers, whatever the style
        excluded = {round(float(v), 10) for v in match.group(3).split(",")} if match.group(3) else set()
        grid = [v for v in _grid(low, high, 1.0 if whole else step) if v not in excluded]
        if not grid:
            from nnworked.yamlsource import format_path

            raise NnworkedError(f"the range '{value}' at {format_path(path)} leaves nothing to draw: every value "
                                "in it is excepted")
        choice = rng.choice(grid)
        return int(choice) if whole or step == 1.0 else choice
    if redraw and isinstance(value, (int, float)) and not isinstance(value, bool) and \
            any(part in _DRAWN for part in path if isinstance(part, str)):
        choice = rng.choice([v for v in _grid(-span, span, step) if v != 0])
        return int(choice) if step == 1.0 else choice
    return value


def _targets(data: dict[str, Any], rng: random.Random, step: float, span: float, classes: int) -> None:
    """New targets of the same kind and shape as the template's: 0/1 for BCE, one of `classes` for
    cross-entropy (one-hot, or a class index [c]); a sequence's at each of its positions."""
    loss = data.get("loss")
    name = loss.get("name") if isinstance(loss, dict) else loss
    rows = data.get("targets")
    if not isinstance(rows, list):
        return
    rows = rows if rows and isinstance(rows[0], list) else [rows]
    grid = _grid(-span, span, step)

    def draw() -> float:
        value = rng.choice(grid)
        return int(value) if step == 1.0 else value

    rule = LOSSES.get(name) if isinstance(name, str) else None

    def redraw(node: list[Any]) -> list[Any]:  # down to the rows: an example's, or each position's of a sequence
        if node and isinstance(node[0], list) and node[0] and isinstance(node[0][0], list):
            return [redraw(child) for child in node]
        return rule.draw_targets(node, rng, draw, classes) if rule else draw_from_grid(node, draw)

    data["targets"] = redraw(rows)


def _decimals(value: float) -> int:
    text = f"{value:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def hand_values(trace: Trace) -> dict[str, float]:
    """The values a student computes with + − × only (a sigmoid's e^(−z) has no finite decimals: what
    follows it is not asked to be short). Named as exercise blanks are."""
    s = trace.scenario
    values = table(trace).values
    from nnworked.rules.layers import LAYERS

    linear_until = next((k for k, l in enumerate(s.layers, 1) if not ACTIVATIONS[l.activation].exact_by_hand
                         or not LAYERS[l.type].exact_by_hand), len(s.layers) + 1)
    backward_exact = linear_until > len(s.layers) and (s.loss is None or s.loss.rule.exact_by_hand)
    out = {}
    for key, value in values.items():
        kind, layer = parse(key).kind, parse(key).layer
        if kind in ("z", "a", "C") and (layer < linear_until or kind == "C" or (kind == "z" and layer == linear_until)):
            out[key] = value
        elif backward_exact and kind in ("dz", "da", "dW", "dK", "db", "W", "K", "b", "L"):
            out[key] = value
    return out


def check(trace: Trace, constraints: Constraints) -> str | None:
    """The first constraint this variant breaks, or None."""
    step = trace.steps[0] if trace.steps else None
    if step is not None:
        for act in step.forward.activate:
            reason = ACTIVATIONS[act.activation].rejects(act, constraints)
            if reason:
                return reason
        from nnworked.rules.layers import LAYERS

        for k, layer in enumerate(trace.scenario.layers, start=1):
            reason = LAYERS[layer.type].rejects(tuple(r for r in step.forward.operations if r.layer == k), constraints)
            if reason:
                return reason
        if step.loss is not None and np.max(np.abs(step.loss.yhat - step.loss.y)) < constraints.min_error:
            return "prediction too close to the target"
    if _identical_neurons(trace):
        return "two identical neurons"
    hand = hand_values(trace)
    if constraints.max_decimals is not None and any(_decimals(v) > constraints.max_decimals for v in hand.values()):
        return f"more than {constraints.max_decimals} decimals"
    if constraints.within is not None and any(abs(v) > constraints.within for v in table(trace).values.values()):
        return f"an answer beyond ±{constraints.within:g}"
    return None


def _identical_neurons(trace: Trace) -> bool:
    """Two units of one dense layer with the same weights and bias: the sheet would ask the same thing twice."""
    for layer in trace.scenario.layers:
        weights = getattr(layer, "weights", None)
        if not isinstance(weights, np.ndarray) or weights.ndim != 2:
            continue
        bias = layer.bias if isinstance(getattr(layer, "bias", None), np.ndarray) else np.zeros(weights.shape[0])
        rows = {(tuple(w), b) for w, b in zip(weights.tolist(), bias.tolist())}
        if len(rows) < weights.shape[0]:
            return True
    return False


def variant_id(data: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return "v-" + digest[:6]


def _classes(template: Document) -> int:
    """The number of outputs the template's targets have (its class indices made one-hot), 0 without targets."""
    try:
        targets = from_document(template).targets
    except ScenarioError as error:
        raise NnworkedError(f"the template makes an invalid scenario:\n{error}") from None
    return targets.shape[-1] if targets is not None else 0


def generate(template: Document, count: int, seed: int, style: str, constraints: Constraints,
             attempts: int = 2000, show_progress: bool = False, precision: int | None = None,
             rounding: str | None = None) -> Report:
    """Up to `count` variants from `attempts` draws at most. Same template, seed and options, same variants.
    `show_progress`: a bar on a terminal's stderr while the draws take long. `precision` and `rounding`
    replace the template's (AI by Hand 7 carries at one decimal, where a small probability rounds to 0)."""
    from nnworked.steering import steer

    from nnworked import progress
    from nnworked.engine.network import solve
    from nnworked.errors import NumericalError
    from nnworked.limits import MAX_ATTEMPTS, MAX_VARIANTS

    for name, value, most in (("count", count, MAX_VARIANTS), ("attempts", attempts, MAX_ATTEMPTS)):
        if not 1 <= value <= most:  # the bounds of --count and --attempts, for a caller from Python too
            raise NnworkedError(f"{name} must be between 1 and {most:,}, not {value:,}")

    step, span = STYLES[style], DEFAULT_SPAN[style]
    has_ranges = _has_ranges(template.data)
    classes = 0 if has_ranges else _classes(template)
    rng = random.Random(seed)
    report = Report()
    seen: set[str] = set()
    with progress.shown(show_progress), progress.bar(count, "Drawing variants") as advance:
        while len(report.variants) < count and report.draws < attempts:
            advance(len(report.variants))
            report.draws += 1
            data = _draw(template.data, rng, step, (), not has_ranges, span)
            if not has_ranges:
                _targets(data, rng, step, span, classes)
            steer(data, template.data, lambda value, path: _draw(value, rng, step, path, not has_ranges, span),
                  lambda value, path: _drawn(value, path, not has_ranges), constraints, like_template=not has_ranges)
            data.update({k: v for k, v in (("precision", precision), ("rounding", rounding)) if v is not None})
            try:
                scenario = from_document(Document(data, template.file, template.root))
                trace = solve(scenario, keep=1)  # a sheet works step 1; later steps need only their loss
            except ScenarioError as error:
                raise NnworkedError(f"the template makes an invalid scenario:\n{error}") from None
            except NumericalError:
                report.rejected["a value undefined after rounding (ln 0 or x/0: try a larger --precision or "
                                "--rounding exact)" if scenario.rounding == "carry" else "overflow"] += 1
                continue
            broken = check(trace, constraints)
            identity = variant_id(data)
            if broken is None and identity in seen:
                broken = "the same as an earlier variant"
            if broken is not None:
                report.rejected[broken] += 1
                continue
            seen.add(identity)
            data = {**data, "title": f"{scenario.title} ({identity})"}
            if not has_ranges and data.get("description"):  # the template's prose described its own numbers
                data["description"] = f"A variant of “{scenario.title}”, drawn by nnworked generate."
            scenario = scenario._replace(title=data["title"], description=data.get("description", ""))
            report.variants.append(Variant(identity, data, scenario, trace._replace(scenario=scenario)))
    return report


def _drawn(value: Any, path: tuple, redraw: bool) -> bool:
    """Whether `_draw` can change `value` (a range in it, or a number a bundled template draws anew)."""
    if isinstance(value, dict):
        return any(_drawn(v, path + (k,), redraw) for k, v in value.items())
    if isinstance(value, list):
        return any(_drawn(v, path + (i,), redraw) for i, v in enumerate(value))
    if isinstance(value, str):
        return bool(_RANGE.match(value))
    return redraw and isinstance(value, (int, float)) and not isinstance(value, bool) and \
        any(part in _DRAWN for part in path if isinstance(part, str))


def _has_ranges(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_ranges(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_ranges(v) for v in value)
    return isinstance(value, str) and bool(_RANGE.match(value))


def shortfall(report: Report, count: int) -> str:
    reasons = ", ".join(f"{reason}: {times}" for reason, times in report.rejected.most_common())
    return (f"found {len(report.variants)} of {count} variants in {report.draws} draws; rejected by "
            f"{reasons or 'nothing'}. Loosen the most frequent constraint, widen the ranges, or allow more "
            "--attempts.")


def difference(report: Report) -> dict[str, Any]:
    """How different the variants are: over every pair, the share of their drawn numbers (inputs, weights,
    biases, targets) that differ, on average, and the closest pair with how many numbers it shares."""
    vectors = [np.concatenate([np.ravel(a) for a in _drawn_arrays(v.scenario)]) for v in report.variants]
    if len(vectors) < 2 or len({len(v) for v in vectors}) != 1:
        return {}
    numbers = np.array(vectors)
    n, size = numbers.shape
    shared_total, closest = 0, (-1, 0, 0)
    for i in range(n - 1):  # one row against the rest at a time: memory stays n × size
        shared = np.sum(numbers[i + 1:] == numbers[i], axis=1)
        shared_total += int(shared.sum())
        j = int(np.argmax(shared))
        if shared[j] > closest[0]:
            closest = (int(shared[j]), i, i + 1 + j)
    pairs = n * (n - 1) // 2
    ids = report.variants
    return {"differ": 1 - shared_total / (pairs * size), "closest": (ids[closest[1]].id, ids[closest[2]].id),
            "shared": closest[0], "numbers": size}


def _drawn_arrays(s: Scenario) -> list[np.ndarray]:
    out = [s.inputs] + ([s.targets] if s.targets is not None else [])
    for layer in s.layers:
        out += [a for a in (getattr(layer, "weights", None), getattr(layer, "bias", None)) if isinstance(a, np.ndarray)]
    if s.matmul is not None:
        out += [s.matmul.a, s.matmul.b]
    return out


def stress(report: Report) -> dict[str, Any]:
    """For --report: the spread of every answer across the variants, answers that repeat (the most common
    value of an answer, where a quarter of the variants or more share it: a student who guessed it would
    often be right), and how different the variants are."""
    answers: dict[str, list[float]] = {}
    for v in report.variants:
        for key, value in table(v.trace).values.items():
            answers.setdefault(key, []).append(value)
    spread = {k: (min(v), max(v)) for k, v in answers.items()}
    repeats = {}
    for key, values in answers.items():
        value, times = Counter(round(x, 10) for x in values).most_common(1)[0]
        if times > 1 and times >= len(values) / 4:
            repeats[key] = (value, times)
    return {"spread": spread, "repeats": repeats, "difference": difference(report)}


def variant_files(variants: list[Variant], combined: bool, rule: str, seed: int,
                  fmt: str = "markdown", reveal: str = "guided", exam: bool = False, points: int = 1,
                  vary_blanks: bool = False) -> dict[str, str | bytes]:
    """File name → text for every variant: its scenario (recording its exercise), its sheet and its key in
    `fmt`, one file each or all in one document. Nothing is written here. `exam`: printable exam sheets
    (reveal none); `vary_blanks`: each variant's blanks chosen by a seed of its own, so neighbours in an
    exam room fill in different values."""
    from nnworked import markkeys as marking_keys
    from nnworked import sheets as exercises
    from nnworked.render import FORMATS
    from nnworked.render.numbers import Blanks
    from nnworked.render.settings import Settings

    writable = [f.name for f in FORMATS.values() if f.exercises]
    if fmt not in writable:
        raise NnworkedError(f"--format: choose from {', '.join(writable)}")
    record = FORMATS[fmt]
    printer = record.printer()
    files: dict[str, str | bytes] = {}
    sheets, keys = [], []
    extension = record.extension
    from nnworked import progress

    reveal = "none" if exam else reveal
    for v in progress.track(variants, len(variants), "Writing sheets"):  # a bar when it takes a while
        chosen = exercises.choose(v.trace, rule, blank_seed(seed, v.id) if vary_blanks else seed)
        on_sheet = Settings(blanks=Blanks(chosen, False, v.id, reveal=reveal, points=points, exam=exam))
        in_key = Settings(blanks=Blanks(chosen, True, v.id, reveal=reveal, points=points, exam=exam))
        # the file records its blanks, id and policy, so `run --exercise` and `grade` need no other options
        recorded = {"variant": v.id, "blanks": sorted(chosen), **({"reveal": reveal} if reveal != "guided" else {})}
        files[f"{v.id}.yaml"] = to_yaml({**v.data, "exercise": recorded})
        # the values marking needs, so `grade --manifest` marks a right student without solving again
        files[f"{v.id}{marking_keys.SUFFIX}"] = marking_keys.build(v.trace, chosen, v.id, files[f"{v.id}.yaml"])
        if record.exercises == "questions":  # one question per variant; its key is the question's feedback
            sheets.append(printer.question(v.trace, on_sheet))
            if not combined:  # each file imports into the same pool
                files[f"{v.id}.{extension}"] = printer.quiz(sheets[-1:], pool=_pool(variants))
            continue
        part = getattr(printer, record.part)
        sheet, key = part(v.trace, on_sheet), part(v.trace, in_key)
        if combined:
            sheets.append(sheet)
            keys.append(key)
        else:
            files[f"{v.id}-sheet.{extension}"] = record.join(v.scenario.title, [sheet])  # type: ignore[misc]
            files[f"{v.id}-key.{extension}"] = record.join(v.scenario.title, [key])  # type: ignore[misc]
    if combined and record.exercises == "questions":
        files[f"questions.{extension}"] = printer.quiz(sheets, pool=_pool(variants))
    elif combined:
        title = variants[0].scenario.title.rsplit(" (", 1)[0]
        files[f"sheets.{extension}"] = record.join(f"{title}: exercises", sheets)  # type: ignore[misc]
        files[f"keys.{extension}"] = record.join(f"{title}: answer keys", keys)  # type: ignore[misc]
    return files


def blank_seed(seed: int, variant: str) -> int:
    """The seed that chooses a variant's blanks when each variant has its own: from the run's seed and the
    variant's id, so the same command gives the same sheets."""
    return int(hashlib.sha256(f"{seed}:{variant}".encode()).hexdigest()[:12], 16)


def _pool(variants: list[Variant]) -> str:
    """The question bank category the variants of one template go into: its title (each variant's title is
    the template's with its id)."""
    return variants[0].scenario.title.rsplit(" (", 1)[0]


def to_yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)

