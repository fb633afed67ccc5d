"""A mutation fuzzer over every bundled scenario and over answer files, as a teacher running a hundred
students' files through nnworked would meet them.

Each case mutates a bundled file with a seeded random generator (so a failure names a seed that
reproduces it), runs commands in-process, and asserts what every user is promised: no traceback, exit
code 0, 1 or 2, no control character in any output, and no nan or inf printed as a worked value. The
number of cases is fixed, so the test costs the same on every machine (about 10 s here).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnworked import bundled
from nnworked.cli import app

SCENARIOS = bundled.names()
CASES_PER_SCENARIO = 40

# what a terminal interprets: C0 controls but tab and newline, DEL, C1 controls, and the bidi controls
# that make text read differently from what it is
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
NOT_A_NUMBER = re.compile(r"(?<![A-Za-z])(?:nan|NaN|inf|Infinity)(?![A-Za-z])|∞")

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
DATA_LINE = re.compile(r"^\s*(?:-|\[|[A-Za-z_]+:)(?!\s*[\"'])")  # not prose, nor quoted text
SCALAR = re.compile(r"^(\s*-?\s*[A-Za-z_]+:\s*)([^\[{\s#].*)$")

EXTREME_NUMBERS = ["1e305", "-1e305", "1e-320", "0", "-0.0", "9" * 400, "9" * 5000, ".nan", ".inf", "-.inf",
                   "1e100", "-1e100", "123456789012", "-3", "1e-12", "0.5", "100000"]
HOSTILE_TEXT = ['"\\e[2J\\e]0;pwned\\a"', '"<script>alert(1)</script>"', '"[x](javascript:alert(1))"',
                '"\\\\input{/etc/passwd} %"', '"]]> <![CDATA["', '"\\u202eevil"', '"\\r\\x9b31m"',
                "softplus", "null", "[]", "{}", "[[[1]]]", '"3"', "-1", "true", "{name: leaky_relu, slope: 0}"]
RUNS = [[], ["--format", "json"], ["--format", "markdown"], ["--format", "html"], ["--format", "latex"],
           ["--exercise", "--answers"], ["--exercise", "--format", "moodle"], ["--rounding", "carry"],
           ["--steps", "3", "--all-steps"], ["--precision", "1"], ["--detail", "full"], ["--detail", "brief"],
           ["--layout", "ai-by-hand"], ["--exercise", "--blanks", "all", "--format", "html"]]
COMMANDS = [["run", *options] for options in RUNS] + [["verify"], ["verify"]]


def mutate(text: str, rng: random.Random) -> str:
    """One to three edits of the kinds a careless or hostile file makes."""
    lines = text.splitlines()
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.choice(["number", "number", "text", "delete", "duplicate", "indent", "truncate", "nest"])
        i = rng.randrange(len(lines))
        if kind == "number":
            data = [j for j, line in enumerate(lines) if DATA_LINE.match(line)]  # not prose, which may say "0.1"
            candidates = [(i, m) for m in NUMBER.finditer(lines[i]) if i in data] or \
                [(j, m) for j in data for m in NUMBER.finditer(lines[j])]
            if candidates:
                j, match = rng.choice(candidates)
                lines[j] = lines[j][:match.start()] + rng.choice(EXTREME_NUMBERS) + lines[j][match.end():]
        elif kind == "text":
            match = SCALAR.match(lines[i])
            if match:
                lines[i] = match.group(1) + rng.choice(HOSTILE_TEXT)
            else:
                lines.insert(i, f"title: {rng.choice(HOSTILE_TEXT)}")
        elif kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "indent":
            lines[i] = " " * rng.choice([1, 2, 4]) + lines[i]
        elif kind == "truncate":
            lines = lines[: max(1, i)]
        elif kind == "nest":
            lines[i] = lines[i].replace("[", "[[", 1).replace("]", "]]", 1)
    return "\n".join(lines) + "\n"


def check(result, args: list[str]) -> None:  # noqa: ANN001
    where = " ".join(args)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"{where}: {type(result.exception).__name__}: {result.exception}"
    assert result.exit_code in (0, 1, 2), f"{where}: exit {result.exit_code}"
    output = result.stdout + result.stderr
    bad = CONTROL.search(output)
    assert bad is None, f"{where}: a control character {bad.group()!r} reached the output"
    if result.exit_code == 0:
        if "json" in args:
            json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{where}: {name} in the JSON"))
        else:
            shown = NOT_A_NUMBER.search(result.stdout)
            assert shown is None, f"{where}: {shown.group()!r} printed as a value"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("name", SCENARIOS)
def test_mutated_scenarios_end_cleanly(name: str, runner: CliRunner, tmp_path: Path) -> None:
    original = (bundled.ROOT / f"{name}.yaml").read_text(encoding="utf-8")
    for case in range(CASES_PER_SCENARIO):
        rng = random.Random(f"{name}/{case}")
        path = tmp_path / f"case{case}.yaml"
        path.write_text(mutate(original, rng), encoding="utf-8")
        command = rng.choice(COMMANDS)
        for args in (["validate", str(path)], [command[0], str(path), *command[1:]]):
            check(runner.invoke(app, args), [*args, f"(seed {name}/{case})"])


ANSWER_CELLS = ["", " ", "nan", "inf", "-inf", "0,2689", "1,0", "1.000,5", "9" * 400, "9" * 5000, "abc",
                "\x1b[2J", "1e400", "-0", "0.25", "1e-7", "=1+1", '"', "\u202e3"]


def test_mutated_answer_files_end_cleanly(runner: CliRunner, tmp_path: Path) -> None:
    from nnworked import scenario, sheets
    from nnworked.engine.network import solve

    trace = solve(scenario.load(bundled.resolve("spam")))
    keys = sorted(sheets.for_scenario(trace, "all", 1)[0])
    for case in range(60):
        rng = random.Random(f"answers/{case}")
        header = ["student", *rng.sample(keys, k=min(len(keys), rng.randint(1, 6)))]
        if rng.random() < 0.2:
            header.append(rng.choice(header[1:] + ["\x1b]0;x\x07", "nonsense[9]"]))
        rows = [[rng.choice(["ana", "ben", "ana", "\x1b[31mred", ""])] +
                [rng.choice(ANSWER_CELLS) if rng.random() < 0.4 else f"{rng.uniform(-2, 2):.4f}"
                 for _ in header[1:]] for _ in range(rng.randint(0, 4))]
        text = "\n".join(",".join(f'"{cell}"' if "," in cell else cell for cell in row) for row in [header, *rows])
        bom = "\ufeff" if rng.random() < 0.3 else ""
        path = tmp_path / f"answers{case}.csv"
        path.write_text(bom + text + "\n", encoding="utf-8")
        args = ["grade", "spam", str(path), "--blanks", "all"]
        check(runner.invoke(app, args), [*args, f"(seed answers/{case})"])
