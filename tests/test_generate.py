"""Generated exercises: every constraint holds on every variant, the same seed gives the same files, and
impossible constraints say which one failed instead of looping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnworked import bundled
from nnworked.errors import NnworkedError
from nnworked.variants import Constraints, generate, hand_values, shortfall, stress
from nnworked.render import FORMATS
from nnworked.yamlsource import load_file


def template(name: str):  # noqa: ANN201
    return load_file(bundled.resolve(name))


def decimals(value: float) -> int:
    text = f"{value:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


@pytest.mark.parametrize("name, style, constraints", [
    ("ai-by-hand/4-hidden-layer", "integers", Constraints(max_decimals=0)),
    ("ai-by-hand/3-four-neurons", "integers", Constraints(max_decimals=0, within=10)),
    ("spam", "one-decimal", Constraints(max_decimals=2)),
    ("xor_batch", "one-decimal", Constraints(max_decimals=2, allow_saturation=False)),
    ("iris_softmax", "integers", Constraints(max_decimals=0, min_error=0.2)),
])
def test_every_variant_meets_every_constraint(name: str, style: str, constraints: Constraints) -> None:
    report = generate(template(name), 12, seed=7, style=style, constraints=constraints)
    assert len(report.variants) == 12
    assert len({v.id for v in report.variants}) == 12
    for v in report.variants:
        step = v.trace.steps[0]
        for act in step.forward.activate:  # checked here again, from the numbers, not through the generator
            if act.activation == "relu":
                assert not np.any(np.all(act.z <= 0, axis=0)), (v.id, "dead ReLU")
            if act.activation == "sigmoid":
                assert np.all(act.a * (1 - act.a) >= 0.05), (v.id, "saturated")
        if step.loss is not None:
            assert np.max(np.abs(step.loss.yhat - step.loss.y)) >= constraints.min_error
        hand = hand_values(v.trace)
        assert hand, v.id
        assert all(decimals(x) <= constraints.max_decimals for x in hand.values()), v.id
        if constraints.within:
            assert all(abs(x) <= constraints.within for x in step.forward.arrays()["z1"].ravel())
        for layer in v.scenario.layers:  # drawn in the style asked for
            scaled = layer.weights * (1 if style == "integers" else 10)
            assert np.allclose(scaled, np.round(scaled))


def test_the_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    def run(folder: Path, seed: str) -> dict[str, bytes]:
        result = subprocess.run([sys.executable, "-m", "nnworked", "generate", "ai-by-hand/4-hidden-layer", "-n", "3",
                                 "--max-decimals", "0", "--seed", seed, "-o", str(folder)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    first, again, other = run(tmp_path / "a", "5"), run(tmp_path / "b", "5"), run(tmp_path / "c", "6")
    assert first == again and len(first) == 12  # each variant: scenario, marking key, sheet, key
    assert first != other
    name = next(n for n in first if n.endswith("-sheet.md"))
    variant = name.removesuffix("-sheet.md")
    assert f"variant {variant}" in first[name].decode() and f"variant {variant}" in first[f"{variant}-key.md"].decode()


def test_a_teachers_template_with_ranges(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text('title: Two neurons\ndescription: Compute the forward pass.\ninputs: [["1..3", "-2..2"]]\n'
                    'layers:\n  - weights: [["-3..3", "-3..3"], [1, "0..2"]]\n    bias: ["-1..1", 0]\n'
                    '    activation: relu\n')
    report = generate(load_file(str(path)), 6, seed=1, style="integers", constraints=Constraints(max_decimals=0))
    for v in report.variants:
        x, W = v.scenario.inputs[0], v.scenario.layers[0].weights
        assert 1 <= x[0] <= 3 and -2 <= x[1] <= 2 and -3 <= W[0, 0] <= 3 and W[1, 0] == 1
        assert v.scenario.description == "Compute the forward pass."
        assert v.scenario.title == f"Two neurons ({v.id})"


def test_impossible_constraints_say_which_failed_and_how_often(tmp_path: Path) -> None:
    # a sigmoid's ŷ lies strictly between 0 and 1, so it never misses a 0/1 target by 1 or more
    report = generate(template("spam"), 5, seed=1, style="one-decimal", constraints=Constraints(min_error=1.0),
                      attempts=200)
    assert len(report.variants) == 0 and report.draws == 200
    message = shortfall(report, 5)
    assert message.startswith("found 0 of 5 variants in 200 draws; rejected by ")
    assert "prediction too close to the target: " in message
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "nnworked", "generate", "spam", "--style", "one-decimal",
                             "--min-error", "1", "--attempts", "200", "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 1 and "rejected by" in result.stderr and not out.exists()


def test_the_stress_report() -> None:
    report = generate(template("ai-by-hand/2-single-neuron"), 10, seed=3, style="integers",
                      constraints=Constraints(max_decimals=0, allow_dead_relu=True))
    facts = stress(report)
    low, high = facts["spread"]["z1[0]"]
    assert low <= high and low == min(v.trace.steps[0].forward.arrays()["z1"][0, 0] for v in report.variants)
    result = subprocess.run([sys.executable, "-m", "nnworked", "generate", "ai-by-hand/2-single-neuron", "-n", "10",
                             "--seed", "3", "--allow-dead-relu", "--report"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].endswith("variants kept (" + f"{report.acceptance:.1%}" + " accepted)")
    assert "answer ranges across the variants:" in result.stdout
    with pytest.raises(NnworkedError, match="invalid scenario"):
        bad = load_file(bundled.resolve("spam"))
        bad.data = {**bad.data, "loss": "nope"}
        generate(bad, 1, seed=1, style="integers", constraints=Constraints())


def test_a_generated_variant_file_carries_its_exercise(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "nnworked", *args], capture_output=True, text=True, cwd=tmp_path)

    assert cli("generate", "ai-by-hand/4-hidden-layer", "-n", "1", "--max-decimals", "0", "--seed", "2026",
               "-o", "week").returncode == 0
    variant = next((tmp_path / "week").glob("*.yaml"))
    text = variant.read_text(encoding="utf-8")
    assert f"exercise:\n  variant: {variant.stem}\n  blanks: [" in text
    sheet = cli("run", str(variant), "--exercise", "-f", "markdown").stdout
    assert sheet == (tmp_path / "week" / f"{variant.stem}-sheet.md").read_text(encoding="utf-8")
    (tmp_path / "ana.yaml").write_text("z1[0]: 1\n")
    graded = cli("grade", str(variant), "ana.yaml")
    assert graded.returncode == 0 and graded.stdout.splitlines()[0].endswith(f"· variant {variant.stem} · 4 values")


@pytest.mark.parametrize("fmt", [f.name for f in FORMATS.values() if f.exercises])
def test_variants_in_every_format_one_each_or_combined(tmp_path: Path, fmt: str) -> None:
    import shutil
    import xml.etree.ElementTree as ET

    def run(*extra: str) -> set[str]:
        folder = tmp_path / "-".join(extra or ("each",))
        result = subprocess.run([sys.executable, "-m", "nnworked", "generate", "ai-by-hand/3-four-neurons", "-n", "2",
                                 "--max-decimals", "0", "--allow-dead-relu", "-f", fmt, "-o", str(folder), *extra],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return {p.name for p in folder.iterdir()}

    each, together = run(), run("--combined")
    ext = FORMATS[fmt].extension
    assert len([n for n in each if n.endswith(".yaml")]) == 2
    if FORMATS[fmt].binary:  # a QTI package (tests/test_lms.py opens it)
        assert len([n for n in each if n.endswith(f".{ext}")]) == 2 and f"questions.{ext}" in together
        return
    if FORMATS[fmt].exercises == "questions":
        assert len([n for n in each if n.endswith(".xml")]) == 2 and "questions.xml" in together
        quiz = ET.parse(tmp_path / "--combined" / "questions.xml").getroot()
        assert [q.get("type") for q in quiz.findall("question")] == ["category", "cloze", "cloze"]  # one pool
        return
    assert len([n for n in each if n.endswith(f"-sheet.{ext}")]) == 2 and {f"sheets.{ext}", f"keys.{ext}"} <= together
    if fmt == "latex" and shutil.which("pdflatex"):
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "keys.tex"],
                              cwd=tmp_path / "--combined", capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:]


def test_a_range_written_the_wrong_way_round_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text('inputs: [["3..-3", 1]]\nlayers:\n  - weights: [[1, 2]]\n')
    with pytest.raises(NnworkedError, match=r"the range '3\.\.-3' at inputs\[0\]\[0\] goes down: write the low end "
                                            r"first, '-3\.\.3'"):
        generate(load_file(str(path)), 1, seed=1, style="integers", constraints=Constraints())


def test_count_and_attempts_have_the_same_bounds_in_python_and_on_the_command_line() -> None:
    from typer.testing import CliRunner

    from nnworked.cli import app

    with pytest.raises(NnworkedError, match="^count must be between 1 and 1,000, not 1,001$"):
        generate(template("spam"), 1001, seed=1, style="integers", constraints=Constraints())
    with pytest.raises(NnworkedError, match="^attempts must be between 1 and 1,000,000, not 1,000,001$"):
        generate(template("spam"), 1, seed=1, style="integers", constraints=Constraints(), attempts=1_000_001)
    for option, value in (("--count", "1001"), ("--attempts", "1000001")):
        result = CliRunner().invoke(app, ["generate", "spam", option, value], env={"COLUMNS": "100"})
        assert result.exit_code == 2
        assert f"Invalid value for '{option}'" in result.output


def test_a_class_index_target_is_drawn_from_every_class() -> None:
    """iris_softmax's target is a class index [2] of three classes: the variants draw all three (class 2
    was never drawn when the index was taken from the row's length)."""
    report = generate(load_file(bundled.resolve("iris_softmax")), 12, seed=1, style="integers",
                      constraints=Constraints())
    classes = {int(np.argmax(v.scenario.targets[0])) for v in report.variants}
    assert classes == {0, 1, 2}, classes
