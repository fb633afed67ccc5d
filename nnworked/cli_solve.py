"""The commands that solve one scenario: run (the worked solution in any format), list, show, validate and
verify. Heavy imports (numpy, the engine) happen inside the commands, so `--help` and `list` start fast."""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

from nnworked import choices
from nnworked.choices import Detail, Layout, LossAxis, Reveal, Rounding
from nnworked.cli_common import _fail, _printable, _width, app
from nnworked.limits import MAX_PRECISION, MAX_STEPS, MIN_PRECISION, MIN_WIDTH
from nnworked.render import FORMATS, help_text


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
