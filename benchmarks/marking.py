"""Marking a class against solving its variants: ratios of medians of interleaved rounds, in one process.

    python benchmarks/marking.py            # 1,000 students, 3 interleaved rounds (after a warm-up round)
    python benchmarks/marking.py --quick    # 200 students, 3 rounds
    python benchmarks/marking.py --students 500 --rounds 5

The class (made once, not timed): `nnworked.generate` draws one variant of `spam` per student (two
decimals), each written as a generated variant's .yaml (recording its blanks, one per layer), a manifest
of student → variant, and one CSV holding every student's answers: most right, some with one early value
wrong and the rest worked right from it (carried), some with a value off, some with nothing handed in.

Timed, side by side in every round:

1. solve: `nnworked.solve(path)` of every variant file (read, validate, solve): the work of producing
   those 1,000 keys.
2. mark: `nnworked.grade_class(manifest, answers)`: read the manifest and the answers, solve each variant,
   mark every student with errors carried forward (target: at most 1× the solving).
3. mark + write: the same, then the gradebook (CSV and JSON) and each student's feedback (Markdown and
   HTML) as text, what `grade --manifest ... --output DIR` writes.
4. command line: `nnworked grade --manifest MANIFEST ANSWERS --output DIR` run in this process (its report
   printed to nowhere, its files written to a temporary folder): a variant is solved only when one of its
   students needs a worked correction (the report and a right student's feedback read the marking key).

Each ratio is the median over rounds of that round's ratio (which one runs first alternates). PASS/FAIL
against the target is printed, never asserted; the exit status is 1 only when the marking is wrong (a
student who handed in their key's values not given full marks).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nnworked  # noqa: E402
from nnworked import sheets  # noqa: E402

TEMPLATE = "spam"
SEED = 2026


def make_class(folder: Path, students: int) -> tuple[list[str], str, str, dict[str, int]]:
    """The variant files, the manifest, the answers CSV, and each student's expected total (-1: unknown)."""
    made = nnworked.generate(TEMPLATE, count=students, seed=SEED, style="two-decimals", attempts=100 * students,
                             allow_saturation=True, allow_dead_relu=True, min_error=0.0)
    files = made.files()
    for name, text in files.items():
        if name.endswith((".yaml", ".marking-key.json")):  # the scenario and its key, as `generate` writes them
            (folder / name).write_text(text, encoding="utf-8")
    rng = random.Random(SEED)
    rows, names, expected = [], set(), {}
    manifest = ["student_id,name,variant"]
    for n, v in enumerate(made.variants):
        student = f"s{n:04d}"
        manifest.append(f"{student},Student {n},{v.id}")
        trace = nnworked.solve(str(folder / f"{v.id}.yaml"), keep=1)
        keys, _ = sheets.for_scenario(trace, None, 1)
        values = sheets.quantities(trace)
        order = sorted(keys, key=_order)
        answers = {k: round(values[k], trace.precision.decimals_for(values[k])) for k in order}
        kind = rng.random()
        if kind < 0.7:
            expected[student] = len(keys)
        elif kind < 0.85:  # z of the first layer 0.5 too large, and its ReLU worked right from it (carried)
            z = order[0]
            a = "a" + z[1:]
            answers[z] += 0.5
            if a in answers and answers[a] == answers[z] - 0.5 and answers[a] > 0:
                answers[a] += 0.5
            expected[student] = -1
        elif kind < 0.95:
            answers[order[-1]] = -answers[order[-1]] if answers[order[-1]] else 1.0
            expected[student] = -1
        else:
            answers = {}
            expected[student] = 0
        if answers:
            rows.append((student, answers))
            names |= set(answers)
    columns = sorted(names, key=_order)
    lines = ["student," + ",".join(f'"{c}"' for c in columns)]
    for student, answers in rows:
        lines.append(student + "," + ",".join(repr(answers[c]) if c in answers else "" for c in columns))
    (folder / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    (folder / "answers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [str(folder / f"{v.id}.yaml") for v in made.variants], str(folder / "manifest.csv"), \
        str(folder / "answers.csv"), expected


def _order(key: str) -> tuple:
    from nnworked.quantities import sort_key

    return sort_key(key)


def solve_all(paths: list[str]) -> None:
    for path in paths:
        nnworked.solve(path)


def mark(manifest: str, answers: str):  # noqa: ANN201
    return nnworked.grade_class(manifest, answers)


def mark_and_write(manifest: str, answers: str) -> None:
    mark(manifest, answers).files(output="out")


def command_line(manifest: str, answers: str, output: str) -> None:
    import contextlib
    import io
    import shutil

    from nnworked.cli import app

    shutil.rmtree(output, ignore_errors=True)
    with contextlib.redirect_stdout(io.StringIO()):
        app(["grade", "--manifest", manifest, answers, "--output", output], standalone_mode=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 students instead of 1,000")
    parser.add_argument("--students", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    students = options.students or (200 if options.quick else 1000)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"making a class of {students:,} students of {TEMPLATE}, each on their own variant …", file=sys.stderr)
        paths, manifest, answers, expected = make_class(Path(tmp), students)
        marked = mark(manifest, answers)
        wrong = [s.id for s in marked.students if expected[s.id] >= 0 and s.score != expected[s.id]]
        if wrong:
            print(f"MARKING WRONG for {len(wrong)} students, e.g. {wrong[:5]}")
            return 1
        carried = sum(s.carried > 0 for s in marked.students)
        print(f"{students:,} students, {len({s.variant for s in marked.students}):,} variants, "
              f"{carried} with carried credit; every student who handed in the key's values has full marks")
        work = {"solve": lambda: solve_all(paths), "mark": lambda: mark(manifest, answers),
                "mark + write": lambda: mark_and_write(manifest, answers),
                "command line": lambda: command_line(manifest, answers, str(Path(tmp) / "marks"))}
        times: dict[str, list[float]] = {name: [] for name in work}
        names = list(work)
        for r in range(options.rounds + 1):
            for name in names[r % len(names):] + names[:r % len(names)]:
                start = time.perf_counter()
                work[name]()
                if r:  # round 0 warms up
                    times[name].append(time.perf_counter() - start)
            if r:
                print(f"  round {r}/{options.rounds} done", file=sys.stderr, flush=True)
    for name in ("mark", "mark + write", "command line"):
        ratios = [m / s for m, s in zip(times[name], times["solve"])]
        median = statistics.median(ratios)
        verdict = f"{'PASS' if median <= 1 else 'FAIL'} (target <= 1x)" if name == "mark" else "(no target)"
        print(f"{name} / solve: {median:.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}x) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
