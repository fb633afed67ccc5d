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


class Marks:
    """A class's marks for one sheet: `results` (student → one Mark per blank), `summary` (for a class of
    more than one) and `text()`, the report `nnworked grade` prints."""

    def __init__(self, trace: Any, keys: frozenset[str], variant: str, answers: dict[str, dict[str, float]],
                 reveal: str | None = None):
        from nnworked import grading, progress

        self.trace, self.keys, self.variant, self.answers = trace, keys, variant, answers
        students = progress.track(answers.items(), len(answers), "Marking")
        self.sheet = grading.Sheet(trace, keys, reveal)  # what the sheet asks and hides, once for the class
        self.results = {name: self.sheet.grade(given) for name, given in students}
        self.summary = grading.summary(self.results) if len(self.results) > 1 else None

    def text(self) -> str:
        from nnworked.grading import sort_key
        from nnworked.render.marks import report

        return report(self.trace, self.keys, self.variant, self.answers, self.results, self.summary, sort_key)

    def gradebook(self):  # noqa: ANN201
        """The class as a gradebook with a feedback file per student (a `ClassMarks`, as `grade_class`
        gives), each student named by their answers' file or row."""
        from nnworked.classmarks import from_marks

        return from_marks(self)


def grade(key: Any, answers: Any, blanks: str | None = None, seed: int = 1, show_progress: bool = False,
          reveal: str | None = None) -> Marks:
    """`nnworked grade`: mark answers (a file, a folder, or a dict of student → value name → number)
    against the sheet made from `key` (anything `load` takes) with `blanks` and `seed`; `reveal`: the
    sheet's policy (guided, or none for an exam; by default the one the key records, else guided), which
    says which values the students worked out themselves; `show_progress`: a bar on a terminal's stderr
    while a large class is marked."""
    from nnworked import answers as answer_files
    from nnworked import sheets

    trace = solve(key, keep=1)
    keys, variant = sheets.for_scenario(trace, blanks, seed)
    given = answers if isinstance(answers, Mapping) else answer_files.read(str(answers))
    with _shown(show_progress):
        return Marks(trace, keys, variant, dict(given), reveal)


def grade_class(manifest: Any, answers: Any, show_progress: bool = False):  # noqa: ANN201
    """`nnworked grade --manifest MANIFEST ANSWERS`: every student of the manifest (which variant each
    worked; `generate --roster` writes it) marked against their own variant; `answers`: a folder of answer
    files, one CSV of many students of many variants, or a dict student → value name → number. Returns a
    `ClassMarks`: `students`, `summary`, `gradebook_csv()`, `gradebook_json()`, `feedback(student, format)`,
    `files(output)`, `write(output)` and `text()`."""
    from nnworked.classmarks import mark_class

    with _shown(show_progress):
        return mark_class(str(manifest), answers)


def generate_roster(template: Any, roster: Any, seed: int = 1, count: int | None = None, style: str = "integers", *,
                    max_decimals: int | None = None, allow_dead_relu: bool = False, allow_saturation: bool = False,
                    min_error: float = 0.05, within: float | None = None, attempts: int = 2000,
                    show_progress: bool = False, precision: int | None = None,
                    rounding: str | None = None):  # noqa: ANN201
    """`nnworked generate TEMPLATE --roster students.csv`: each student of the roster (a CSV: student_id,
    name) a variant of the template, drawn from the seed and their own id (the same student and seed give
    the same variant, whatever the roster's order), or with `count` one of a shared pool of that many.
    Returns a `roster.Roster`: `students`, `assigned`, and `files(blanks, format, reveal)`, which hold each
    variant's scenario and key, each student's sheet headed with their name and id, and manifest.csv."""
    from nnworked import roster as rosters
    from nnworked import variants

    constraints = variants.Constraints(max_decimals, allow_dead_relu, allow_saturation, min_error, within)
    return rosters.make(str(template), str(roster), seed, count, style, constraints, attempts, show_progress,
                        precision=precision, rounding=rounding)


def check(source: Any, answers: Any, blanks: str | None = None, seed: int = 1):  # noqa: ANN201
    """A student's own numbers marked as `grade` marks them: `answers` is a dict of value name → number
    (z1[0], or as the sheet spells it, ŷ, ∂L/∂W₂[0]) or an answers file holding one student's. Marks the
    values given, or the sheet's blanks when the scenario (anything `load` takes) records an exercise or
    `blanks` names them. Shown in Jupyter as a table; `.text()` is `grade`'s report."""
    from nnworked.checking import check as mark

    return mark(solve(source, keep=1), answers, blanks, seed)


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


class Exercise:
    """An exercise sheet of a scenario: which values are `blanks`, its `variant` id, their `answers`, and the
    sheet and its key in any format."""

    def __init__(self, walkthrough: Walkthrough, blanks: str | None, seed: int):
        from nnworked import sheets

        self.walkthrough, self.rule, self.seed = walkthrough, blanks, seed
        keys, self.variant = sheets.for_scenario(walkthrough.trace, blanks, seed)
        values = sheets.quantities(walkthrough.trace)
        self.blanks = sorted(keys)
        self.answers = {key: values[key] for key in self.blanks}

    def sheet(self, format: str = "terminal", **options: Any) -> str:  # noqa: A002
        return self.walkthrough.render(format, exercise=True, blanks=self.rule, seed=self.seed, **options)

    def key(self, format: str = "terminal", **options: Any) -> str:  # noqa: A002
        return self.walkthrough.render(format, answers=True, blanks=self.rule, seed=self.seed, **options)


def exercise(source: Any, blanks: str | None = None, seed: int = 1, **options: Any) -> Exercise:
    """`nnworked run --exercise`: a sheet of a scenario (anything `load` takes; options steps, precision and
    rounding) with the values the rule `blanks` and `seed` choose (the file's own, else one per layer)."""
    return Exercise(run(source, **options), blanks, seed)


class Generated:
    """Fresh variants of a template: `variants` (each with its scenario and trace), the search's `report`,
    and what a teacher writes or prints."""

    def __init__(self, report: Any, count: int, seed: int):
        self.report, self.count, self.seed = report, count, seed
        self.variants = report.variants

    def files(self, blanks: str = "one-per-layer", format: str = "markdown", combined: bool = False,  # noqa: A002
              reveal: str = "guided", exam: bool = False, points: int = 1, vary_blanks: bool = False,
              show_progress: bool = False) -> dict:
        """File name → text (bytes for a .zip): each variant's scenario (recording its exercise), sheet and
        key; `exam` makes printable exam sheets, `vary_blanks` gives each variant blanks of its own;
        `show_progress`: a bar on a terminal's stderr while the sheets take long."""
        from nnworked.variants import variant_files

        with _shown(show_progress):
            return variant_files(self.variants, combined, blanks, self.seed, format, reveal, exam, points,
                                 vary_blanks)

    def listing(self) -> str:
        return "".join(f"{v.id}  {v.scenario.title}\n" for v in self.variants)

    def stress(self) -> str:
        """Acceptance, rejections, the spread of every answer, answers that repeat."""
        from nnworked.render.numbers import fmt
        from nnworked.variants import stress

        result = self.report
        lines = [f"{result.draws} draws, {len(result.variants)} variants kept ({result.acceptance:.1%} accepted)"]
        lines += [f"  rejected {times:>6} × {reason}" for reason, times in result.rejected.most_common()]
        if result.variants:
            facts = stress(result)
            precision = result.variants[0].trace.precision
            lines.append("answer ranges across the variants:")
            lines += [f"  {key:<12} {fmt(low, precision)} … {fmt(high, precision)}"
                      for key, (low, high) in sorted(facts["spread"].items())]
            apart = facts["difference"]
            if apart:
                lines.append(f"the variants differ in {apart['differ']:.0%} of their {apart['numbers']} drawn numbers "
                             f"on average; the closest two, {apart['closest'][0]} and {apart['closest'][1]}, share "
                             f"{apart['shared']} of them")
            if facts["repeats"]:
                lines.append("answers that repeat (a student could guess them):")
                lines += [f"  {key:<12} {fmt(value, precision)} in {times} of {len(result.variants)} variants"
                          for key, (value, times) in sorted(facts["repeats"].items())]
        return "\n".join(lines) + "\n"


def generate(template: Any, count: int = 5, seed: int = 1, style: str = "integers", *,
             max_decimals: int | None = None, allow_dead_relu: bool = False, allow_saturation: bool = False,
             min_error: float = 0.05, within: float | None = None, attempts: int = 2000,
             blanks: str = "one-per-layer", allow_fewer: bool = False, show_progress: bool = False,
             precision: int | None = None, rounding: str | None = None) -> Generated:
    """`nnworked generate`: `count` new variants of a template (a bundled name or a path; numbers may be
    ranges such as "-3..3"), each kept only when it meets the constraints. Raises NnworkedError saying which
    constraint rejected the draws when fewer than `count` pass (unless `allow_fewer`)."""
    from nnworked import bundled, sheets, variants
    from nnworked.yamlsource import load_file

    constraints = variants.Constraints(max_decimals, allow_dead_relu, allow_saturation, min_error, within)
    found = variants.generate(load_file(bundled.resolve(str(template))), count, seed, style, constraints,
                              attempts, show_progress=show_progress, precision=precision, rounding=rounding)
    if len(found.variants) < count and not allow_fewer:
        raise NnworkedError(variants.shortfall(found, count))
    if found.variants:  # a rule of blanks the variants cannot take is a mistake, written out or not
        sheets.choose(found.variants[0].trace, blanks, seed)
    return Generated(found, count, seed)
