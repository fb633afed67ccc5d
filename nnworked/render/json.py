"""The trace as one JSON object, in the shape CONTRACT.md promises (more keys beside are welcome)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from nnworked import progress
from nnworked.render.settings import Settings
from nnworked.trace import Forward, LossValue, Trace, TrainingStep


def _array(values: np.ndarray) -> Any:
    """Nested lists; a value that is not finite (∂L/∂ŷ where ŷ saturates) becomes null, never NaN."""
    if np.all(np.isfinite(values)):
        return values.tolist()
    return np.where(np.isfinite(values), values, None).tolist()


def _forward(forward: Forward) -> dict[str, Any]:
    return {key: _array(value) for key, value in forward.arrays().items()}


def _loss(loss: LossValue | None) -> float | None:
    return None if loss is None else loss.value


def to_data(trace: Trace) -> dict[str, Any]:
    return _data(trace, [_step(step) for step in trace.every_step()])


def _step(step: TrainingStep) -> dict[str, Any]:
    entry: dict[str, Any] = {"step": step.number, "forward": _forward(step.forward), "loss": _loss(step.loss)}
    if step.loss is not None:
        entry["loss_per_example"] = _array(step.loss.per_example)
        entry["gradients"] = {k: _array(v) for k, v in step.gradients().items()}
    if step.updates:
        entry["parameters"] = {u.name: _array(u.new) for u in step.updates}
        state = {u.name: {k: _array(v) for k, v in u.state.items()} for u in step.updates if u.state}
        if state:
            entry["optimizer_state"] = state
    return entry


def _data(trace: Trace, steps: Any) -> dict[str, Any]:
    """The JSON object; `steps` is what goes under "steps" (the entries, or a placeholder for them)."""
    s = trace.scenario
    data: dict[str, Any] = {"title": s.title}
    if trace.matmul is not None:
        m = trace.matmul
        data["matmul"] = {"A": _array(m.a), "B": _array(m.b), "C": _array(m.c)}
        return data
    counts = s.parameter_counts()
    data["parameters_count"] = {"per_layer": counts, "total": sum(counts)}
    data["steps"] = steps
    if trace.final is not None:
        forward, loss = trace.final
        data["final"] = {"forward": _forward(forward), "loss": _loss(loss)}
    data["settings"] = {
        "precision": s.precision, "rounding": s.rounding, "learning_rate": s.learning_rate,
        "optimizer": {"name": s.optimizer.name, **s.optimizer.params}, "steps": s.steps,
        "loss": None if s.loss is None else {"name": s.loss.name, "scale": s.loss.scale,
                                             "outputs": s.loss.outputs, "batch": s.loss.batch},
        "freeze": sorted(s.freeze),
        "conventions": {"relu_derivative_at_zero": 0, "log": "natural", "delta": "dL/dz",
                        "gradients_use": "weights before the update"},
    }
    return data


# stands for the steps while the rest of the object is written; no scenario text can hold a NUL character
_STEPS = "\0steps\0"


def render(trace: Trace, settings: Settings) -> str:
    blanks = settings.blanks
    if blanks is None:
        data = _data(trace, _STEPS)
    else:  # a sheet names its blanks and gives nothing else away; a key adds the answers to the full data
        from nnworked.quantities import table

        exercise: dict[str, Any] = {"variant": blanks.variant, "blanks": sorted(blanks.keys), "reveal": blanks.reveal}
        if blanks.answers:
            values = table(trace).values
            exercise["answers"] = {key: values[key] for key in sorted(blanks.keys)}
            data = {**_data(trace, _STEPS), "exercise": exercise}
        else:
            data = {"title": trace.scenario.title, "exercise": exercise}
    indent = 1 if _small(trace) else None
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    if "steps" not in data:
        return text + "\n"
    head, tail = text.split(json.dumps(_STEPS), 1)
    return "".join([head, *_steps_text(trace, indent), tail, "\n"])


def _steps_text(trace: Trace, indent: int | None):  # noqa: ANN202
    """The "steps" list, written step by step as json.dumps writes it in place (at depth 2 when indented),
    each step solved, written and let go before the next: a long run's JSON never holds every step."""
    if indent is None:
        opening, separator, closing = "[", ", ", "]"
    else:
        opening, separator, closing = "[\n  ", ",\n  ", "\n ]"
    first = True
    for step in progress.track(trace.every_step(), len(trace.steps), "Writing every step as JSON"):
        entry = json.dumps(_step(step), ensure_ascii=False, indent=indent)
        yield (opening if first else separator) + (entry.replace("\n", "\n  ") if indent else entry)
        first = False
    yield "[]" if first else closing


def _small(trace: Trace) -> bool:
    s = trace.scenario
    return trace.matmul is not None or sum(s.parameter_counts()) * s.inputs.shape[0] < 10_000
