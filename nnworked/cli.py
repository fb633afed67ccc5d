"""The command line: thin commands that call the library and print what it returns.

Exit codes: 0 done; 1 the scenario or its data is wrong (message on stderr, no traceback); 2 the command
line is wrong (typer/click report those). Heavy imports (numpy, the engine) happen inside `run` and
`validate`, so `--help`, `--version` and `list` start fast.
"""

from __future__ import annotations

import math
import os
import sys
from enum import Enum
from typing import Optional

import typer

from nnworked import __version__
from nnworked.limits import MAX_ATTEMPTS, MAX_PRECISION, MAX_STEPS, MAX_VARIANTS, MIN_PRECISION
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


def _known_format(value: str) -> str:
    """The formats are read when the command runs, so one registered after import is a choice too."""
    if value not in FORMATS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(repr(name) for name in FORMATS)}.")
    return value


class Layout(str, Enum):
    standard = "standard"
    ai_by_hand = "ai-by-hand"


class Detail(str, Enum):
    brief = "brief"
    default = "default"
    full = "full"


class Rounding(str, Enum):
    exact = "exact"
    carry = "carry"


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


def _bundled_names(incomplete: str) -> list[str]:
    """Shell completion of a scenario argument: the bundled names (a path falls back to the shell's files)."""
    from nnworked import bundled

    return bundled.complete(incomplete)


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Worked solutions for small neural networks."""


@app.command()
def run(
    scenario: str = typer.Argument(..., metavar="SCENARIO", autocompletion=_bundled_names,
                                   help="A scenario YAML file, or the name of a bundled one (nnworked list)."),
    format: str = typer.Option("terminal", "--format", "-f", metavar=f"<{'|'.join(FORMATS)}>",
                               callback=_known_format, help=help_text()),
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

    if blanks is not None and not (exercise or answers):
        raise typer.BadParameter("it needs --exercise or --answers (it chooses which values a sheet leaves "
                                 "blank)", param_hint="'--blanks'")
    if FORMATS[format].needs_blanks and not (exercise or answers):
        raise typer.BadParameter("a Moodle question needs blanks: add --exercise (and --blanks to choose them)",
                                 param_hint="'--format' / '-f'")
    if output is not None and os.path.isdir(output):
        raise typer.BadParameter(f"'{output}' is a folder: give the name of a file", param_hint="'--output'")
    import nnworked

    options = dict(full=full, all_steps=all_steps, layout=layout.value if layout else None, detail=detail.value,
                   why_matrices=why_matrices, exercise=exercise, answers=answers, blanks=blanks, seed=seed)
    try:
        walkthrough = nnworked.run(scenario, keep=None if all_steps else 1, progress=True, steps=steps,
                                   precision=precision, rounding=rounding.value if rounding else None)
        if output is not None:
            files = walkthrough.files(format, output, **options)
        else:
            console = _console(format)
            if console is not None and console.color_system is not None:
                console.print(walkthrough.rich(**options, columns=console.width), soft_wrap=True)
                return
            text = walkthrough.render(format, **options, columns=console.width if console else 100)
    except OptionError as error:
        raise typer.BadParameter(_printable(error.message), param_hint=f"'{error.option}'") from None
    except NnworkedError as error:
        _fail(str(error))
        return
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _refuse_overwriting(scenario, files, "'--output'",
                        {path: f" (the loss chart, written beside {output})" for path in list(files)[1:]})
    _write_all(files)


def _console(format: str):  # noqa: ANN202, A002
    """The terminal's console, for a format printed through it (colour only on a terminal); else None."""
    if not FORMATS[format].console:
        return None
    from rich.console import Console

    return Console(highlight=False)


def _write_all(files: dict[str, str]) -> None:
    """The document and the files that go beside it: all of them or none."""
    from nnworked.errors import NnworkedError
    from nnworked.files import write_all

    try:
        write_all(files)
    except NnworkedError as error:
        _fail(str(error))


def _refuse_overwriting(source: str, paths, option: str, notes: Optional[dict] = None) -> None:  # noqa: ANN001
    """A command never writes over the scenario it reads (`run X.yaml -o X.yaml`): exit 2."""
    from nnworked import bundled

    scenario = bundled.resolve(source)
    for path in paths:
        if _same_file(path, scenario):
            raise typer.BadParameter(f"writing {path}{(notes or {}).get(path, '')} would replace the scenario it "
                                     f"reads, {source}: give another file name", param_hint=option)


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # another name for it (a hard link)
    except OSError:
        return False  # one of them does not exist yet


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
                                    autocompletion=_bundled_names)) -> None:
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
def validate(scenario: str = typer.Argument(..., metavar="SCENARIO", autocompletion=_bundled_names,
                                            help="A scenario YAML file, or a bundled scenario's name.")) -> None:
    """Check a scenario file and list every problem in it; exit 1 if there are any.

    Example:

      nnworked validate my_network.yaml
    """
    from nnworked import bundled
    from nnworked import scenario as scenarios
    from nnworked.errors import NnworkedError

    try:
        path = bundled.resolve(scenario)
        loaded = scenarios.load(path)
    except NnworkedError as error:
        _fail(str(error))
        return
    print(_printable(f"{path}: OK — {describe(loaded)}"))


@app.command()
def verify(scenario: str = typer.Argument(..., metavar="SCENARIO", autocompletion=_bundled_names,
                                          help="A scenario YAML file, or a bundled scenario's name.")) -> None:
    """Check every gradient against central finite differences (and PyTorch autograd, if installed).

    Prints the largest difference for each quantity; exits 1 if any is beyond the tolerance.

    Example:

      nnworked verify spam
    """
    from rich.console import Console
    from rich.table import Table

    from nnworked import bundled
    from nnworked import scenario as scenarios
    from nnworked import verify as checks
    from nnworked.errors import NnworkedError

    try:
        loaded = scenarios.load(bundled.resolve(scenario))
        results = checks.verify(loaded, show_progress=True)
    except NnworkedError as error:
        _fail(str(error))
        return
    console = Console(highlight=False)
    if not results:
        console.print(f"{loaded.title}: no targets, so there are no gradients to check.")
        return
    from rich import box

    console.print(f"{loaded.title}: every gradient of step 1 against central finite differences (ε = "
                  f"{checks.EPSILON:g}){' and PyTorch autograd' if any(c.reference != 'finite differences' for c in results) else ''}")
    table = Table(box=box.SIMPLE_HEAD)
    for column, justify in [("gradient", "left"), ("checked", "right"), ("largest |difference|", "right"),
                            ("relative", "right"), ("at", "left"), ("against", "left"), ("", "left")]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in results:
        table.add_row(f"∂L/∂{c.name}", f"{c.checked} of {c.of}", f"{c.worst_difference:.2e}", f"{c.worst_relative:.2e}",
                      str(list(c.worst_index)), "autograd" if c.reference != "finite differences" else "fin. diff.",
                      "ok" if c.ok else "FAIL")
    console.print(table)
    failed = [c for c in results if not c.ok]
    for c in (c for c in results if c.kinks):
        console.print(f"∂L/∂{c.name}: {len(c.kinks)} element(s) at a kink (ReLU′(0) = 0), not checkable by finite "
                      f"differences there: {', '.join(str(list(i)) for i in c.kinks)}")
    if loaded.rounding == "carry":
        console.print("(checked with exact rounding: carried, hand-rounded gradients differ in their last digits "
                      "by design)")
    if failed:
        console.print(f"{len(failed)} gradient(s) differ by more than {checks.TOLERANCE:g} (relative): "
                      f"{', '.join(c.name for c in failed)}")
        raise typer.Exit(1)
    console.print(f"All {len(results)} gradients agree to within {checks.TOLERANCE:g} (relative).")


def _finite(above: bool):  # noqa: ANN202
    """The check of a number option that must be finite and above 0 (or at least 0). A range alone lets nan
    through: every comparison with nan is false."""
    def check(value: Optional[float]) -> Optional[float]:
        if value is not None and (not math.isfinite(value) or value < 0 or (above and value == 0)):
            raise typer.BadParameter(f"expected a finite number {'above' if above else 'at least'} 0, given {value:g}")
        return value
    return check


def _sheet_format(value: str) -> str:
    from nnworked.render import FORMATS  # the formats a sheet can be written in, checked before any work

    writable = [f.name for f in FORMATS.values() if f.exercises]
    if value not in writable:
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(map(repr, writable))}")
    return value


class Style(str, Enum):
    integers = "integers"
    one_decimal = "one-decimal"
    two_decimals = "two-decimals"


@app.command()
def generate(
    template: str = typer.Argument(..., metavar="TEMPLATE", help="A bundled scenario, or a scenario file in which "
                                   "numbers may be ranges such as \"-3..3\" or \"-0.9..0.9\"."),
    count: int = typer.Option(5, "--count", "-n", min=1, max=MAX_VARIANTS, help="How many variants."),
    seed: int = typer.Option(1, "--seed", min=0, help="The same seed gives the same variants."),
    style: Style = typer.Option(Style.integers, "--style", help="Numbers drawn as integers, one-decimal or "
                                "two-decimals."),
    max_decimals: Optional[int] = typer.Option(None, "--max-decimals", min=0, help="Every value worked with + − × "
                                               "has at most this many decimals (0: integers)."),
    allow_dead_relu: bool = typer.Option(False, "--allow-dead-relu", help="Keep variants with a dead ReLU unit."),
    allow_saturation: bool = typer.Option(False, "--allow-saturation", help="Keep saturated sigmoids (σ′ < 0.05)."),
    min_error: float = typer.Option(0.05, "--min-error", callback=_finite(above=False),
                                    help="Some output must miss its target by at least this."),
    within: Optional[float] = typer.Option(None, "--within", callback=_finite(above=True),
                                           help="Every answer's magnitude at most this."),
    attempts: int = typer.Option(2000, "--attempts", min=1, max=MAX_ATTEMPTS, help="Draws at most, before giving up."),
    report: bool = typer.Option(False, "--report", help="Stress-test the template: acceptance, rejections, the "
                                "spread of every answer, answers that repeat."),
    output_dir: Optional[str] = typer.Option(None, "--output-dir", "-o", help="Write each variant's scenario, "
                                             "sheet and key here."),
    combined: bool = typer.Option(False, "--combined", help="With --output-dir: all sheets in one document and "
                                  "all keys in another."),
    blanks: str = typer.Option("one-per-layer", "--blanks", help="Which values each sheet leaves blank."),
    format: str = typer.Option("markdown", "--format", "-f", callback=_sheet_format,
                               help="Sheets and keys as markdown, latex, html, or moodle (one cloze question per "
                               "variant, the key as its feedback)."),
) -> None:
    """Make new exercises from a template, each with its sheet and answer key.

    Examples:

      nnworked generate ai-by-hand/4-hidden-layer --count 10 --max-decimals 0 --output-dir week3

      nnworked generate spam --style one-decimal --max-decimals 2 --report
    """
    from nnworked import bundled
    from nnworked import generate as gen
    from nnworked.errors import NnworkedError, OptionError
    from nnworked.yamlsource import load_file

    if combined and output_dir is None:
        raise typer.BadParameter("it needs --output-dir (it writes all the sheets into one document and all "
                                 "the keys into another)", param_hint="'--combined'")
    if output_dir is not None and os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise typer.BadParameter(f"'{output_dir}' is a file: give a folder (it is made if it does not exist)",
                                 param_hint="'--output-dir'")
    constraints = gen.Constraints(max_decimals, allow_dead_relu, allow_saturation, min_error, within)
    try:
        result = gen.generate(load_file(bundled.resolve(template)), count, seed, style.value, constraints, attempts,
                              show_progress=True)
        if len(result.variants) < count and not report:
            raise NnworkedError(gen.shortfall(result, count))
        if result.variants:  # a --blanks the scenario cannot take is a mistake, written out or not
            from nnworked.exercise import choose

            choose(result.variants[0].trace, blanks, seed)
        if report:
            _print_report(result, gen)
        if output_dir is not None:
            files = gen.variant_files(result.variants, combined, blanks, seed, format)
            paths = {os.path.join(output_dir, name): text for name, text in files.items()}
            _refuse_overwriting(template, paths, "'--output-dir'")
            _write_folder(output_dir, paths)  # all rendered before the first is written
            print(f"wrote {len(files)} files to {output_dir}")
        elif not report:
            for v in result.variants:
                print(f"{v.id}  {v.scenario.title}")
            print("(--output-dir writes each variant's scenario, sheet and key)")
    except OptionError as error:
        raise typer.BadParameter(_printable(error.message), param_hint=f"'{error.option}'") from None
    except NnworkedError as error:
        _fail(str(error))


def _write_folder(folder: str, files: dict[str, str]) -> None:
    """Make the folder and write every file in it, or (on any failure) leave neither behind."""
    from nnworked.errors import NnworkedError
    from nnworked.files import write_all

    made = []  # the folders this run makes, deepest last
    path = os.path.abspath(folder)
    while not os.path.exists(path):
        made.insert(0, path)
        path = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        write_all(files)
    except (OSError, NnworkedError) as error:
        for path in reversed(made):
            try:
                os.rmdir(path)
            except OSError:
                break  # not empty, or never made
        _fail(str(error) if isinstance(error, NnworkedError) else
              f"{folder}: cannot make the folder: {error.strerror or error}")


def _print_report(result, gen) -> None:  # noqa: ANN001
    from nnworked.render.numbers import fmt

    print(f"{result.draws} draws, {len(result.variants)} variants kept ({result.acceptance:.1%} accepted)")
    for reason, times in result.rejected.most_common():
        print(f"  rejected {times:>6} × {reason}")
    if not result.variants:
        return
    facts = gen.stress(result)
    precision = result.variants[0].trace.precision
    print("answer ranges across the variants:")
    for key, (low, high) in sorted(facts["spread"].items()):
        print(f"  {key:<12} {fmt(low, precision)} … {fmt(high, precision)}")
    if facts["repeats"]:
        print("answers that repeat (a student could guess them):")
        for key, (value, times) in sorted(facts["repeats"].items()):
            print(f"  {key:<12} {fmt(value, precision)} in {times} of {len(result.variants)} variants")


@app.command()
def grade(
    key: str = typer.Argument(..., metavar="KEY", help="The scenario the sheet was made from (a bundled name, a "
                              "file, or a generated variant's .yaml)."),
    answers: str = typer.Argument(..., metavar="ANSWERS", help="A YAML or CSV of value name → number, a CSV with "
                                  "one row per student (first column 'student'), or a folder of such files."),
    blanks: Optional[str] = typer.Option(None, "--blanks", help="The blanks the sheet was made with (a generated "
                                         "variant's file records its own)."),
    seed: int = typer.Option(1, "--seed", help="The seed the sheet was made with."),
) -> None:
    """Mark students' answers, carrying errors forward and naming the likely mistake.

    Examples:

      nnworked grade ai-by-hand/7-backpropagation answers/ --blanks backward

      nnworked grade week3/v-3f9a2c.yaml ana.yaml --seed 3
    """
    from nnworked import bundled, exercise, grading
    from nnworked import scenario as scenarios
    from nnworked.engine.network import solve
    from nnworked.errors import NnworkedError
    from nnworked.render.numbers import fmt

    try:
        trace = solve(scenarios.load(bundled.resolve(key)))
        keys, variant = exercise.for_scenario(trace, blanks, seed)
        students = grading.read_answers(answers)
    except NnworkedError as error:
        _fail(str(error))
        return
    p = trace.precision
    results = {name: grading.grade(trace, keys, given) for name, given in students.items()}
    print(f"{trace.scenario.title} · variant {variant} · {len(keys)} values")
    for name, marks in results.items():
        credit = sum(m.credit for m in marks)
        carried = sum(m.status == "carried" for m in marks)
        print(f"\n{name}: {credit} of {len(marks)}" + (f" ({carried} carried forward)" if carried else ""))
        ignored = sorted(set(students[name]) - keys)
        if ignored:
            print(f"  not asked on this sheet, ignored: {', '.join(ignored)}")
        first = next((m for m in marks if m.status == "wrong"), None)
        if first is not None:
            print(f"  first wrong value: {first.key} = {fmt(first.answer, p, given=True)}, expected "
                  f"{fmt(first.correct, p)}" + (f" — likely {first.note}" if first.note else ""))
        for m in marks:
            shown = "—" if m.answer is None else fmt(m.answer, p, given=True)
            print(f"  {m.key:<12} {shown:>12} {fmt(m.correct, p):>12}  {m.status}" + (f": {m.note}" if m.note else ""))
    if len(results) > 1:
        facts = grading.summary(results)
        print(f"\nclass: {facts['students']} students, mean {facts['mean']:.1f} of {len(keys)}")
        for k, share in sorted(facts["per_value"].items(), key=lambda kv: grading.sort_key(kv[0])):
            print(f"  {k:<12} {share:>5.0%} earned credit")
        for mistake, times in sorted(facts["mistakes"].items(), key=lambda kv: -kv[1]):
            print(f"  {times} × {mistake}")


def describe(s) -> str:  # noqa: ANN001
    if s.matmul is not None:
        return f"a matrix product, {s.matmul.a.shape[0]}×{s.matmul.a.shape[1]} times {s.matmul.b.shape[0]}×" \
               f"{s.matmul.b.shape[1]}"
    shape = "-".join(str(n) for n in [s.inputs.shape[1], *(layer.units for layer in s.layers)])
    examples = s.inputs.shape[0]
    what = (f"trains {s.steps} step{'s' if s.steps != 1 else ''}" if s.trains else
            "loss and gradients" if s.targets is not None else "forward pass only")
    return f"a {shape} network, {examples} example{'s' if examples != 1 else ''}, {what}"


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
