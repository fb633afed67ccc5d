"""The front door: what `import nnworked` offers, and what every command calls.

A notebook user and the command line take the same path: `load` a scenario, `solve` it into a trace,
`render` the trace in a format. `run` does the first two and returns a `Walkthrough` that renders itself
(and shows itself in Jupyter). Each command of the CLI is a parse, one call here, and a print.
"""

from __future__ import annotations

import json
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


def solve(source: Any, **options: Any):  # noqa: ANN201
    """The trace of a scenario (anything `load` takes): every forward pass, loss, gradient and update."""
    from nnworked.engine.network import solve as solve_scenario

    return solve_scenario(load(source, **options))


class Walkthrough:
    """A solved scenario that renders itself in any format, exactly as `nnworked run` prints it."""

    def __init__(self, trace: Any):
        self.trace = trace

    def render(self, format: str = "terminal", **options: Any) -> str:  # noqa: A002
        """The text `nnworked run` prints (or writes with --output) for the same format and options:
        detail, layout, full, all_steps, why_matrices, exercise, answers, blanks, seed, columns, image."""
        return render(self.trace, format, **options)

    @property
    def data(self) -> dict:
        """The `--format json` object, as Python data."""
        return json.loads(self.render("json"))

    def files(self, format: str, output: str, **options: Any) -> dict[str, str]:  # noqa: A002
        """What `nnworked run --output FILE` writes: the document, then the files that go beside it (a
        training run's loss chart, linked from a document that can show it), path → text."""
        return files(self.trace, format, output, **options)

    def _repr_markdown_(self) -> str:
        return self.render("markdown")

    def _repr_html_(self) -> str:
        return self.render("html")

    def __repr__(self) -> str:
        return f"<Walkthrough {self.trace.scenario.title!r}: {len(self.trace.steps)} step(s)>"


def run(source: Any, **options: Any) -> Walkthrough:
    """`nnworked run`: load and solve; options steps, precision and rounding override the file's."""
    return Walkthrough(solve(source, **options))


def render(trace: Any, format: str = "terminal", *, exercise: bool = False, answers: bool = False,  # noqa: A002
           blanks: str | None = None, seed: int = 1, columns: int = 100, **options: Any) -> str:
    """The trace in a format. With `exercise` a sheet (blanks chosen by the rule `blanks` and `seed`),
    with `answers` its key, with both the sheet and then its key in one document."""
    from nnworked.render import FORMATS, get
    from nnworked.render.settings import Settings

    if format not in FORMATS:
        raise NnworkedError(f"unknown format '{format}'; choose from: {', '.join(FORMATS)}")
    if blanks is not None and not (exercise or answers):
        raise NnworkedError("blanks are chosen for an exercise sheet: ask for exercise=True or answers=True")
    settings = Settings(**options, columns=min(columns, 100))
    if exercise or answers:
        from nnworked import exercise as sheets
        from nnworked.render.numbers import Blanks

        keys, variant = sheets.for_scenario(trace, blanks, seed)
        settings = settings._replace(blanks=Blanks(keys, answers and not exercise, variant))
        if exercise and answers:
            return _sheet_and_key(trace, format, settings)
    if format == "terminal":
        return _plain_terminal(trace, settings)
    return get(format)(trace, settings)


def _sheet_and_key(trace: Any, format: str, settings: Any) -> str:  # noqa: A002
    """The sheet, then its key: in one document where the format can hold both, else one after the other."""
    from nnworked.render import FORMATS

    key = settings._replace(blanks=settings.blanks._replace(answers=True))
    record = FORMATS[format]
    if record.sheet_and_key:
        return record.printer().render_parts(trace, [settings, key])
    return render_one(trace, format, settings) + "\n" + render_one(trace, format, key)


def render_one(trace: Any, format: str, settings: Any) -> str:  # noqa: A002
    from nnworked.render import get

    return _plain_terminal(trace, settings) if format == "terminal" else get(format)(trace, settings)


def _plain_terminal(trace: Any, settings: Any) -> str:
    """The terminal walkthrough as plain text (no colour), laid out at `settings.columns`."""
    from nnworked.render.terminal import render as terminal

    return terminal(trace, settings).plain + "\n"


def files(trace: Any, format: str, output: str, **options: Any) -> dict[str, str]:  # noqa: A002
    """The document written to `output` and the files beside it, path → text, the document first."""
    from nnworked.render import FORMATS

    beside: dict[str, str] = {}
    record = FORMATS[format] if format in FORMATS else None
    sheet_and_key = options.get("exercise") and options.get("answers")
    if record is not None and record.chart_beside and len(trace.steps) > 1 and not sheet_and_key:
        from nnworked.render.chart import svg

        image = os.path.splitext(output)[0] + ".loss.svg"
        beside[image] = svg(trace.losses, trace.precision, f"{trace.scenario.title}: loss")
        options = {**options, "image": os.path.basename(image)}
    return {output: render(trace, format, **options), **beside}
