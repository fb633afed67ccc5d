"""The command line: thin commands that call the library and print what it returns.

Exit codes: 0 done; 1 the scenario or its data is wrong (message on stderr, no traceback); 2 the command
line is wrong (typer/click report those). Heavy imports (numpy, the engine) happen inside `run` and
`validate`, so `--help`, `--version` and `list` start fast.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

from nnworked import __version__
from nnworked.limits import MAX_ATTEMPTS, MAX_PRECISION, MAX_STEPS, MAX_VARIANTS, MIN_PRECISION, MIN_WIDTH
from nnworked import choices
from nnworked.choices import Detail, Layout, LossAxis, Reveal, Rounding, Style
from nnworked.render import FORMATS, help_text

app = typer.Typer(
    name="nnworked",
    help="Worked solutions for small neural networks: every multiplication, sum, chain-rule product and "
    "weight update, with the real numbers.\n\nExample: nnworked run spam",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _printable(text: str) -> str:
    from nnworked.text import printable

    return printable(text, newlines=True)


def _fail(message: str) -> None:
    from rich.console import Console

    # a message may quote a file's text: no control character gets through
    Console(stderr=True, highlight=False, soft_wrap=True).print(_printable(message), markup=False)
    raise typer.Exit(1)


def _version(value: bool) -> None:
    if value:
        print(f"nnworked {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Worked solutions for small neural networks."""


@app.command()
def run(
    scenario: str = typer.Argument(..., metavar="SCENARIO", autocompletion=choices.bundled_names,
                                   help="A scenario YAML file, or the name of a bundled one (nnworked list)."),
    format: str = typer.Option("terminal", "--format", "-f", metavar=f"<{'|'.join(FORMATS)}>",
                               callback=choices.known_format, help=help_text()),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, max=MAX_STEPS, help="Training steps (overrides the "
                                        "file)."),
    precision: Optional[int] = typer.Option(None, "--precision", min=MIN_PRECISION, max=MAX_PRECISION,
                                            help="Decimals shown."),
    rounding: Optional[Rounding] = typer.Option(None, "--rounding", help="exact, or carry: round each shown "
                                                "intermediate and use it as rounded, as by hand."),
    full: bool = typer.Option(False, "--full", help="Work every element, however large the network."),
    all_steps: bool = typer.Option(False, "--all-steps", help="Show every training step in full, not only the first."),
    layout: Optional[Layout] = typer.Option(None, "--layout", help="standard, or ai-by-hand: examples as columns, "
                                            "[W | b] against [x | 1] (default: the scenario's own)."),
    detail: Detail = typer.Option(Detail.default, "--detail", help="brief (results per layer), default (every "
                                  "element worked), full (adds the derivations and why matrices)."),
    why_matrices: bool = typer.Option(False, "--why-matrices", help="Add the 'why we use matrices' section."),
    exercise: bool = typer.Option(False, "--exercise", help="Print an exercise sheet: chosen values blanked as ?."),
    answers: bool = typer.Option(False, "--answers", help="Print the sheet's answer key: the blanks filled and "
                                 "worked, marked, and listed at the end (with --exercise: the sheet, then the key)."),
    blanks: Optional[str] = typer.Option(None, "--blanks", help="Which values to blank: one-per-layer (the default, "
                                         "unless the file records its own), forward, backward, all, or names "
                                         "such as 'z1[0,1], dW2'."),
    seed: int = typer.Option(1, "--seed", min=0, help="Chooses the blanks of a rule; the same seed gives the same "
                             "sheet."),
    reveal: Optional[Reveal] = typer.Option(None, "--reveal", help="What a sheet shows of values computed from its "
                                            "blanks: guided (the default: later values given) or none (an exam)."),
    exam: bool = typer.Option(False, "--exam", help="A printable exam: --exercise --reveal none, with answer boxes, "
                              "points, a name and ID box and the variant code (a QR code in HTML and LaTeX) on "
                              "every page."),
    points: int = typer.Option(1, "--points", min=1, max=100, help="What each blank is worth (an exam prints it; "
                               "Moodle and QTI weight each field by it)."),
    width: Optional[int] = typer.Option(None, "--width", min=MIN_WIDTH, help="Lay out for this many columns "
                                        "(default: the terminal's; at most 100 are used): long worked lines "
                                        "break between stages, in documents too."),
    loss_axis: LossAxis = typer.Option(LossAxis.zero, "--loss-axis", help="Where the loss chart written beside a "
                                       "Markdown file starts its loss axis: zero (the default: a 3 % drop looks "
                                       "like one) or data (the lowest loss)."),
) -> None:
    """Print the worked solution of a scenario.

    Examples:

      nnworked run spam

      nnworked run house_price --format markdown --output house_price.md --detail full

      nnworked run my_network.yaml --steps 20 --format json

      nnworked run ai-by-hand/5-batch --layout ai-by-hand

      nnworked run ai-by-hand/6-seven-layers --exercise --seed 3   (then --answers for its key)
    """
    from nnworked.errors import NnworkedError, OptionError

    if exam and reveal == Reveal.guided:
        raise typer.BadParameter("an exam reveals nothing computed from a blank: leave out --reveal guided",
                                 param_hint="'--exam'")
    exercise = exercise or exam
    if reveal is not None and not (exercise or answers):
        raise typer.BadParameter("it needs --exercise, --answers or --exam (it is a sheet's policy)",
                                 param_hint="'--reveal'")
    if blanks is not None and not (exercise or answers):
        raise typer.BadParameter("it needs --exercise or --answers (it chooses which values a sheet leaves "
                                 "blank)", param_hint="'--blanks'")
    if FORMATS[format].needs_blanks and not (exercise or answers):
        raise typer.BadParameter(f"{FORMATS[format].noun} needs blanks: add --exercise (and --blanks to choose "
                                 "them)", param_hint="'--format' / '-f'")
    if FORMATS[format].binary and output is None:
        extension = FORMATS[format].extension
        raise typer.BadParameter(f"{format} is a binary format ({FORMATS[format].noun}): give a file to write it to "
                                 f"with --output, such as --output "
                                 f"{os.path.basename(scenario).removesuffix('.yaml')}.{extension}",
                                 param_hint="'--format' / '-f'")
    if output is not None and os.path.isdir(output):
        raise typer.BadParameter(f"'{output}' is a folder: give the name of a file", param_hint="'--output'")
    import nnworked

    options = dict(full=full, all_steps=all_steps, layout=layout.value if layout else None, detail=detail.value,
                   why_matrices=why_matrices, exercise=exercise, answers=answers, blanks=blanks, seed=seed,
                   reveal="none" if exam else reveal.value if reveal else None, exam=exam, points=points)
    if width is not None:
        options.update(width=width, columns=width)
    try:
        walkthrough = nnworked.run(scenario, keep=None if all_steps else 1, progress=True, steps=steps,
                                   precision=precision, rounding=rounding.value if rounding else None)
        if output is not None:
            files = walkthrough.files(format, output, loss_axis=loss_axis.value, **options)
        else:
            console = _console(format)
            if console is not None and console.color_system is not None:
                console.print(walkthrough.rich(**{"columns": console.width, **options}), soft_wrap=True)
                return
            text = walkthrough.render(format, **{"columns": console.width if console else 100, **options})
    except OptionError as error:
        raise typer.BadParameter(_printable(error.message), param_hint=f"'{error.option}'") from None
    except NnworkedError as error:
        _fail(str(error))
        return
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from nnworked.files import write_all

    notes = {path: f" ({'the loss chart' if path.endswith('.loss.svg') else 'the picture of the network'}, written "
                   f"beside {output})" for path in list(files)[1:]}
    try:
        write_all(files, never_over=scenario, option="--output", notes=notes)
    except OptionError as error:
        raise typer.BadParameter(_printable(error.message), param_hint=f"'{error.option}'") from None
    except NnworkedError as error:
        _fail(str(error))


def _console(format: str):  # noqa: ANN202, A002
    """The terminal's console, for a format printed through it (colour only on a terminal); else None."""
    if not FORMATS[format].console:
        return None
    from rich.console import Console

    return Console(highlight=False)


@app.command("list")
def list_scenarios() -> None:
    """List the bundled scenarios, one line each.

    Example:

      nnworked list
    """
    from nnworked import bundled

    names = bundled.names()
    width = max(len(n) for n in names)
    for name in names:
        print(f"{name.ljust(width)}  {bundled.title(name)}")


@app.command()
def show(name: str = typer.Argument(..., metavar="NAME", help="A bundled scenario's name (nnworked list).",
                                    autocompletion=choices.bundled_names)) -> None:
    """Print a bundled scenario's YAML exactly as it ships, to copy and change.

    Example:

      nnworked show spam > my_network.yaml
    """
    from nnworked import bundled
    from nnworked.errors import NnworkedError

    try:
        text = bundled.path(name).read_bytes()
    except NnworkedError as error:
        _fail(str(error))
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(text)  # the bytes of the file, whatever the terminal's encoding
    sys.stdout.buffer.flush()


@app.command()
def validate(scenario: str = typer.Argument(..., metavar="SCENARIO", autocompletion=choices.bundled_names,
                                            help="A scenario YAML file, or a bundled scenario's name.")) -> None:
    """Check a scenario file and list every problem in it; exit 1 if there are any.

    Example:

      nnworked validate my_network.yaml
    """
    import nnworked
    from nnworked import progress
    from nnworked import bundled
    from nnworked.api import describe
    from nnworked.errors import NnworkedError

    try:
        path = bundled.resolve(scenario)
        with progress.shown():  # a large file's reading shows a bar on a terminal
            loaded = nnworked.load(path)
    except NnworkedError as error:
        _fail(str(error))
        return
    print(_printable(f"{path}: OK — {describe(loaded)}"))


@app.command()
def verify(scenario: str = typer.Argument(..., metavar="SCENARIO", autocompletion=choices.bundled_names,
                                          help="A scenario YAML file, or a bundled scenario's name.")) -> None:
    """Check every gradient against central finite differences (and PyTorch autograd, if installed).

    Prints the largest difference for each quantity; exits 1 if any is beyond the tolerance.

    Example:

      nnworked verify spam
    """
    import nnworked
    from nnworked.errors import NnworkedError

    try:
        verification = nnworked.verify(scenario, show_progress=True)
    except NnworkedError as error:
        _fail(str(error))
        return
    sys.stdout.write(verification.text(_width()))
    if not verification.ok:
        raise typer.Exit(1)


def _width() -> int:
    from rich.console import Console

    return min(Console().width, 100)


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


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        # the reader went away (`nnworked run spam | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


if __name__ == "__main__":
    main()
