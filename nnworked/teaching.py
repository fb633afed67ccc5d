"""The front door's tools for teachers: exercise sheets and their keys, fresh variants, rosters, and the
marks of a class (`import nnworked` offers each; `nnworked.api` holds the rest of the front door, which
these build on: load, solve, run)."""

from __future__ import annotations

from typing import Any, Mapping

from nnworked.api import Walkthrough, _shown, run, solve
from nnworked.errors import NnworkedError


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
