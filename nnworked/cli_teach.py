"""The teacher's commands: generate (new exercises from a template, with sheets, keys and a roster's
manifest) and grade (one sheet's answers, or a whole class's from its manifest)."""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

from nnworked import choices
from nnworked.choices import Reveal, Rounding, Style
from nnworked.cli_common import _fail, _printable, app
from nnworked.limits import MAX_ATTEMPTS, MAX_PRECISION, MAX_VARIANTS, MIN_PRECISION


@app.command()
def generate(
    template: str = typer.Argument(..., metavar="TEMPLATE", help="A bundled scenario, or a scenario file in which "
                                   "numbers may be ranges such as \"-3..3\" or \"-0.9..0.9\"."),
    count: Optional[int] = typer.Option(None, "--count", "-n", min=1, max=MAX_VARIANTS, help="How many variants "
                                        "(default 5; with --roster, a variant per student unless given)."),
    roster: Optional[str] = typer.Option(None, "--roster", help="A CSV of students (student_id, name): each gets a "
                                         "variant (from the seed and their id), a sheet headed with their name and "
                                         "id, and manifest.csv says who has which (grade --manifest reads it)."),
    seed: int = typer.Option(1, "--seed", min=0, help="The same seed gives the same variants."),
    style: Style = typer.Option(Style.integers, "--style", help="Numbers drawn as integers, one-decimal or "
                                "two-decimals."),
    max_decimals: Optional[int] = typer.Option(None, "--max-decimals", min=0, help="Every value worked with + − × "
                                               "has at most this many decimals (0: integers)."),
    allow_dead_relu: bool = typer.Option(False, "--allow-dead-relu", help="Keep variants with a dead ReLU unit."),
    allow_saturation: bool = typer.Option(False, "--allow-saturation", help="Keep saturated sigmoids (σ′ < 0.05)."),
    min_error: float = typer.Option(0.05, "--min-error", callback=choices.finite(above=False),
                                    help="Some output must miss its target by at least this."),
    within: Optional[float] = typer.Option(None, "--within", callback=choices.finite(above=True),
                                           help="Every answer's magnitude at most this."),
    attempts: int = typer.Option(2000, "--attempts", min=1, max=MAX_ATTEMPTS, help="Draws at most, before giving up."),
    report: bool = typer.Option(False, "--report", help="Stress-test the template: acceptance, rejections, the "
                                "spread of every answer, answers that repeat."),
    output_dir: Optional[str] = typer.Option(None, "--output-dir", "--output", "-o", help="Write each variant's scenario, "
                                             "sheet and key here."),
    combined: bool = typer.Option(False, "--combined", help="With --output-dir: all sheets in one document and "
                                  "all keys in another."),
    blanks: str = typer.Option("one-per-layer", "--blanks", help="Which values each sheet leaves blank."),
    reveal: Reveal = typer.Option(Reveal.guided, "--reveal", help="What each sheet shows of values computed from "
                                  "its blanks: guided (later values given) or none (exams)."),
    precision: Optional[int] = typer.Option(None, "--precision", min=MIN_PRECISION, max=MAX_PRECISION,
                                            help="Decimals shown in every variant (overrides the template)."),
    rounding: Optional[Rounding] = typer.Option(None, "--rounding", help="exact, or carry (overrides the template)."),
    exam: bool = typer.Option(False, "--exam", help="Printable exam sheets (as run --exam): nothing computed from "
                              "a blank shown, answer boxes, points, a name and ID box, the variant on every page."),
    points: int = typer.Option(1, "--points", min=1, max=100, help="What each blank is worth."),
    vary_blanks: bool = typer.Option(False, "--vary-blanks", help="Each variant's blanks chosen anew (by the seed "
                                     "and the variant), so neighbours fill in different values."),
    format: str = typer.Option("markdown", "--format", "-f", callback=choices.sheet_format,
                               help="Sheets and keys as markdown, latex, html, moodle (one cloze question per "
                               "variant, the key as its feedback) or qti (a Canvas package, one quiz per variant)."),
) -> None:
    """Make new exercises from a template, each with its sheet and answer key.

    Examples:

      nnworked generate ai-by-hand/4-hidden-layer --count 10 --max-decimals 0 --output-dir week3

      nnworked generate spam --style one-decimal --max-decimals 2 --report
    """
    import nnworked
    from nnworked.errors import NnworkedError, OptionError

    if combined and output_dir is None:
        raise typer.BadParameter("it needs --output-dir (it writes all the sheets into one document and all "
                                 "the keys into another)", param_hint="'--combined'")
    choices.roster_inputs(roster, output_dir, combined, report)
    if output_dir is not None and os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise typer.BadParameter(f"'{output_dir}' is a file: give a folder (it is made if it does not exist)",
                                 param_hint="'--output-dir'")
    try:
        drawing = dict(max_decimals=max_decimals, allow_dead_relu=allow_dead_relu, allow_saturation=allow_saturation,
                       min_error=min_error, within=within, attempts=attempts, show_progress=True, precision=precision,
                       rounding=rounding.value if rounding else None)
        made = nnworked.generate_roster(template, roster, seed, count, style.value, **drawing) if roster else \
            nnworked.generate(template, count or 5, seed, style.value, blanks=blanks, allow_fewer=report, **drawing)
        if report:
            sys.stdout.write(made.stress())
        if output_dir is not None:
            files = made.files(blanks, format, combined, reveal.value, exam, points, vary_blanks, show_progress=True)
            paths = {os.path.join(output_dir, name): text for name, text in files.items()}
            from nnworked.files import write_all

            write_all(paths, never_over=template, option="--output-dir", folder=output_dir)
            print(_printable(f"wrote {len(files)} files to {output_dir}{made.note() if roster else ''}"))
        elif not report:
            sys.stdout.write(_printable(made.listing()))
            print("(--output-dir writes each variant's scenario, sheet and key)")
    except OptionError as error:
        raise typer.BadParameter(_printable(error.message), param_hint=f"'{error.option}'") from None
    except NnworkedError as error:
        _fail(str(error))


@app.command()
def grade(
    key: Optional[str] = typer.Argument(None, metavar="KEY|MANIFEST", help="The scenario the sheet was made from (a "
                                        "bundled name, a file, a variant's .yaml), or a class's manifest."),
    answers: Optional[str] = typer.Argument(None, metavar="ANSWERS", help="A YAML or CSV of value name → number, a "
                                            "CSV with one row per student (first column 'student'), or a folder of "
                                            "such files."),
    manifest: Optional[str] = typer.Option(None, "--manifest", "-m", help="Mark a class: who worked which variant "
                                           "(generate --roster writes it); then give ANSWERS alone."),
    blanks: Optional[str] = typer.Option(None, "--blanks", help="The blanks the sheet was made with (a generated "
                                         "variant's file records its own)."),
    seed: int = typer.Option(1, "--seed", min=0, help="The seed the sheet was made with."),
    reveal: Optional[Reveal] = typer.Option(None, "--reveal", help="The sheet's policy: guided, or none (an exam)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the gradebook (CSV, JSON) and each "
                                         "student's feedback (Markdown, HTML) into this folder, all or nothing."),
    gradebook: Optional[str] = typer.Option(None, "--gradebook", help="Write the gradebook alone (.csv or .json)."),
    feedback: Optional[str] = typer.Option(None, "--feedback", help="Write the feedback alone, into this folder."),
) -> None:
    """Mark students' answers, carrying errors forward and naming the likely mistake.

    Examples:

      nnworked grade ai-by-hand/7-backpropagation answers/ --blanks backward

      nnworked grade week3/v-3f9a2c.yaml ana.yaml --seed 3

      nnworked grade --manifest week3/manifest.csv answers/ --output marks
    """
    import nnworked
    from nnworked.errors import NnworkedError, OptionError

    manifest, given = choices.grade_inputs(key, answers, manifest, blanks, output, gradebook, feedback)
    writing = any(option is not None for option in (output, gradebook, feedback))
    try:
        if manifest is not None:
            marked = nnworked.grade_class(manifest, given[0], show_progress=True)
            report, inputs = marked.text(), [manifest, given[0]]
        else:
            marks = nnworked.grade(given[0], given[1], blanks=blanks, seed=seed, show_progress=True,
                                   reveal=reveal.value if reveal else None)
            report, inputs = marks.text(), [given[1]]
            marked = marks.gradebook() if writing else None
        written = marked.write(output, gradebook, feedback, inputs) if writing else []
    except OptionError as error:
        raise typer.BadParameter(_printable(error.message), param_hint=f"'{error.option}'") from None
    except NnworkedError as error:
        _fail(str(error))
        return
    sys.stdout.write(report + (_printable(f"wrote {len(written)} files to {output or feedback or gradebook}\n")
                               if written else ""))
