"""The front door: what `import nnworked` offers, and what every command calls.

A notebook user and the command line take the same path: `load` a scenario, `solve` it into a trace,
`render` the trace in a format. `run` does the first two and returns a `Walkthrough` that renders itself
(and shows itself in Jupyter). Each command of the CLI is a parse, one call here, and a print.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from nnworked.errors import NnworkedError

# what `run` and `load` take from the command line's options: they override the file's own settings
SCENARIO_OPTIONS = ("steps", "precision", "rounding")


def load(source: Any, **options: Any):  # noqa: ANN201
    """A scenario from a bundled name (`"spam"`), a path, YAML text, a dict, or a loaded scenario.

    `options` (steps, precision, rounding) override the file's own settings; None leaves them. Raises
    `nnworked.ScenarioError`, whose `problems` each carry path, line, column, message and hint.
    """
    from nnworked import bundled, scenario
    from nnworked.yamlsource import Document, load_text

    unknown = sorted(set(options) - set(SCENARIO_OPTIONS))
    if unknown:
        raise TypeError(f"load() got unknown options {', '.join(unknown)}; it takes {', '.join(SCENARIO_OPTIONS)}")
    if isinstance(source, scenario.Scenario):
        loaded = source
    elif isinstance(source, Mapping):
        loaded = scenario.from_document(Document(_plain(source), "<dict>", None))
    elif isinstance(source, Path):
        loaded = scenario.load(str(source))
    elif isinstance(source, str):
        if "\n" in source and not os.path.exists(source):  # YAML text: a name or a path is one line
            loaded = scenario.from_document(load_text(source, "<text>"))
        else:
            loaded = scenario.load(bundled.resolve(source))
    else:
        raise TypeError(f"load() takes a bundled name, a path, YAML text or a dict, not {type(source).__name__}")
    return loaded.with_options(**options)


def _plain(value: Any) -> Any:
    """A dict as YAML would have given it: lists, not tuples or numpy arrays; plain numbers."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def describe(s: Any) -> str:
    """What `nnworked validate` says of a valid scenario: its shape, its examples, what it computes."""
    if s.matmul is not None:
        return f"a matrix product, {s.matmul.a.shape[0]}×{s.matmul.a.shape[1]} times {s.matmul.b.shape[0]}×" \
               f"{s.matmul.b.shape[1]}"
    from nnworked.rules.layers import LAYERS

    parts = ["×".join(map(str, s.inputs.shape[1:])), *(LAYERS[layer.type].summary(layer) for layer in s.layers)]
    shape = ("-" if all(part.isdigit() for part in parts) else " → ").join(parts)
    examples = s.inputs.shape[0]
    what = (f"trains {s.steps} step{'s' if s.steps != 1 else ''}" if s.trains else
            "loss and gradients" if s.targets is not None else "forward pass only")
    return f"a {shape} network, {examples} example{'s' if examples != 1 else ''}, {what}"


def solve(source: Any, keep: int | None = None, **options: Any):  # noqa: ANN201
    """The trace of a scenario (anything `load` takes): every forward pass, loss, gradient and update.

    `keep`: how many steps, from the first, hold their full records; the others hold their loss alone, so
    that a long run's memory does not grow with its steps (None, the default: every step in full). Every
    format renders the same text either way: one showing every step (JSON) solves them again one by one.
    """
    from nnworked.engine.network import solve as solve_scenario

    return solve_scenario(load(source, **options), keep)


def from_torch(model: Any, inputs: Any, targets: Any = None, loss_fn: Any = None, optimizer: Any = None, *,
               steps: int = 1, title: str | None = None, precision: int = 4):  # noqa: ANN201
    """The scenario of a small PyTorch model (an nn.Sequential of nn.Linear and activations), for `run`,
    `solve`, `check` and every format: with targets and loss_fn its loss and gradients, with an optimizer
    (fresh) `steps` training steps as it takes them. Raises NnworkedError for what nnworked cannot represent."""
    from nnworked.fromtorch import from_torch as build

    return build(model, inputs, targets, loss_fn, optimizer, steps=steps, title=title, precision=precision)


class Walkthrough:
    """A solved scenario that renders itself in any format, exactly as `nnworked run` prints it."""

    def __init__(self, trace: Any, progress: bool = False):
        self.trace, self.progress = trace, progress  # progress: a bar on a terminal's stderr for long work

    def render(self, format: str = "terminal", **options: Any) -> str:  # noqa: A002
        """The text `nnworked run` prints (or writes with --output) for the same format and options:
        detail, layout, full, all_steps, why_matrices, exercise, answers, blanks, seed, columns, image."""
        with _shown(self.progress):
            return render(self.trace, format, **options)

    def rich(self, **options: Any):  # noqa: ANN201
        """The terminal walkthrough as rich Text (colour), for a console: the options of `render`."""
        with _shown(self.progress):
            return rich(self.trace, **options)

    @property
    def data(self) -> dict:
        """The `--format json` object, as Python data."""
        import json

        return json.loads(self.render("json"))

    def files(self, format: str, output: str, **options: Any) -> dict[str, str]:  # noqa: A002
        """What `nnworked run --output FILE` writes: the document, then the files that go beside it (a
        training run's loss chart, linked from a document that can show it), path → text."""
        with _shown(self.progress):
            return files(self.trace, format, output, **options)

    def _repr_markdown_(self) -> str:
        return self.render("markdown")

    def _repr_html_(self) -> str:  # a notebook's output is part of a page: the HTML body, its style kept inside
        from nnworked.notebook import fragment

        with _shown(self.progress):
            return fragment(self.trace)

    def __repr__(self) -> str:
        return f"<Walkthrough {self.trace.scenario.title!r}: {len(self.trace.steps)} step(s)>"


def run(source: Any, keep: int | None = None, progress: bool = False, **options: Any) -> Walkthrough:
    """`nnworked run`: load and solve; options steps, precision and rounding override the file's; `keep` as
    for `solve` (the command line keeps step 1 in full, or every step with --all-steps); `progress`: while
    solving and rendering take long, a bar on stderr when it is a terminal (the command line asks for it)."""
    with _shown(progress):
        return Walkthrough(solve(source, keep, **options), progress)


def _shown(on: bool):  # noqa: ANN202
    from nnworked.progress import shown

    return shown(on)


def render(trace: Any, format: str = "terminal", **options: Any) -> str:  # noqa: A002
    """The trace in a format, as text (bytes for a binary format: a QTI .zip, an .xlsx). Options: detail,
    layout, full, all_steps, why_matrices, columns; with `exercise` a sheet (blanks chosen by the rule
    `blanks` and `seed`), with `answers` its key, with both the sheet with its key, as the format holds
    them; `exam` a printable exam sheet, `points` what each blank is worth."""
    record = _format(format)
    settings, both = _settings(trace, **options)
    if settings.blanks is not None and not settings.blanks.answers and not both and not record.sheets:
        from nnworked.errors import OptionError

        raise OptionError("--exercise", f"a {format} file computes every value, so it cannot be an exercise "
                                        "sheet: ask for its key (--answers) or leave out --exercise")
    if not both:
        return _text(trace, record, settings)
    sheet, key = _sheet_and_key(settings)
    way = record.with_key
    if way == "parts":
        return record.printer().render_parts(trace, [sheet, key])
    if way == "after":
        return _text(trace, record, sheet) + "\n" + _text(trace, record, key)
    if way in ("key", "feedback"):
        return _text(trace, record, key if way == "key" else sheet)
    raise ValueError(f"the format {format} declares no known way to hold a sheet with its key: {way!r}")


def rich(trace: Any, **options: Any):  # noqa: ANN201
    """The terminal walkthrough as rich Text, for a console that shows colour (the same options)."""
    from rich.text import Text

    from nnworked.render import FORMATS

    record = next(f for f in FORMATS.values() if f.console)
    settings, both = _settings(trace, **options)
    parts = [record.printer().render(trace, part) for part in (_sheet_and_key(settings) if both else [settings])]
    return Text("\n").join(parts)


def _format(name: str):  # noqa: ANN202
    from nnworked.render import FORMATS

    if name not in FORMATS:
        raise NnworkedError(f"unknown format '{name}'; choose from: {', '.join(FORMATS)}")
    return FORMATS[name]


def _settings(trace: Any, exercise: bool = False, answers: bool = False, blanks: str | None = None,
              seed: int = 1, columns: int = 100, reveal: str | None = None, exam: bool = False,
              points: int = 1, **options: Any):  # noqa: ANN202
    """What a printer is told, and whether a sheet goes with its key. `reveal` is a sheet's policy: guided
    (later values the student needs stay given) or none (an exam: nothing computed from a blank shows);
    by default the one the scenario records, else guided."""
    from nnworked.render.settings import Settings
    from nnworked.scenario import REVEALS

    if exam:  # a printable exam: an exercise sheet that reveals nothing computed from a blank
        if reveal not in (None, "none"):
            raise NnworkedError("an exam reveals nothing computed from a blank: leave out reveal")
        exercise, reveal = True, "none"
    if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= 100:
        raise NnworkedError(f"points must be a whole number from 1 to 100 (what each blank is worth), not {points!r}")
    if (blanks is not None or reveal is not None) and not (exercise or answers):
        raise NnworkedError("blanks and reveal are for an exercise sheet: ask for exercise=True or answers=True")
    if reveal not in (None, *REVEALS):
        raise NnworkedError(f"unknown reveal '{reveal}'; choose from: {', '.join(REVEALS)}")
    settings = Settings(**options, columns=min(columns, 100))
    if settings.all_steps and len(getattr(trace.steps, "kept", trace.steps)) < len(trace.steps):
        raise NnworkedError(f"this trace holds only its first {len(trace.steps.kept)} step(s) in full: solve "
                            "with keep=None to render every step")
    if not (exercise or answers):
        return settings, False
    from nnworked import sheets
    from nnworked.render.numbers import Blanks

    keys, variant = sheets.for_scenario(trace, blanks, seed)
    policy = reveal or trace.scenario.reveal or "guided"
    sheet = Blanks(keys, answers and not exercise, variant, reveal=policy, points=points, exam=exam)
    return settings._replace(blanks=sheet), exercise and answers


def _sheet_and_key(sheet: Any) -> list:
    return [sheet, sheet._replace(blanks=sheet.blanks._replace(answers=True))]


def _text(trace: Any, record: Any, settings: Any) -> str:
    out = record.printer().render(trace, settings)
    return out.plain + "\n" if record.console else out  # a console's rich Text, as plain text


def files(trace: Any, format: str, output: str, loss_axis: str = "zero",  # noqa: A002
          **options: Any) -> dict[str, str]:
    """The document written to `output` and the files beside it, path → text, the document first: a
    Markdown walkthrough gets the picture of its network (NAME-network.svg) and, over several steps, its loss
    chart (NAME.loss.svg), each linked; the chart's loss axis starts at zero, or with `loss_axis="data"` at
    the lowest loss."""
    from nnworked.render import FORMATS

    if loss_axis not in ("zero", "data"):
        raise NnworkedError(f"unknown loss axis '{loss_axis}'; choose from: zero, data")
    beside: dict[str, str] = {}
    record = FORMATS[format] if format in FORMATS else None
    sheet_and_key = options.get("exercise") and options.get("answers")
    exam = options.get("exam") or options.get("exercise") and (options.get("reveal") or trace.scenario.reveal) == "none"
    # (an exam's chart would give away values computed from its blanks)
    if record is not None and record.chart_beside and len(trace.steps) > 1 and not sheet_and_key and not exam:
        from nnworked.render.chart import svg

        image = os.path.splitext(output)[0] + ".loss.svg"
        beside[image] = svg(trace.losses, trace.precision, f"{trace.scenario.title}: loss", loss_axis == "zero")
        options = {**options, "image": os.path.basename(image)}
    if record is not None and record.chart_beside and not (options.get("exercise") or options.get("answers")):
        from nnworked.render.network import drawable, svg as network_svg

        if drawable(trace):  # (a sheet's picture would give its blanks away)
            picture = os.path.splitext(output)[0] + "-network.svg"
            beside[picture] = network_svg(trace)
            options = {**options, "network": os.path.basename(picture)}
    return {output: render(trace, format, **options), **beside}


class Verification:
    """Every gradient of step 1 against finite differences (and PyTorch, where installed): `checks`, `ok`,
    and `text()`, the report `nnworked verify` prints."""

    def __init__(self, scenario: Any, show_progress: bool = False):
        from nnworked import gradcheck

        self.scenario = scenario
        self.checks = gradcheck.verify(scenario, show_progress=show_progress)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def text(self, width: int = 100) -> str:
        from nnworked import gradcheck
        from nnworked.render.checks import report

        return report(self.scenario.title, self.checks, self.scenario.rounding, gradcheck.EPSILON,
                      gradcheck.TOLERANCE, width)


def verify(source: Any, show_progress: bool = False, **options: Any) -> Verification:
    """`nnworked verify`: the gradients of a scenario (anything `load` takes) checked independently;
    `show_progress`: a bar on a terminal's stderr while a large network is checked."""
    return Verification(load(source, **options), show_progress)
