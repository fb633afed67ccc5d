"""The command line as a user meets it: run, list, validate, --version, --help, colour, files, pipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from nnworked import __version__, bundled

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "100"}


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnworked", *args], capture_output=True, text=True,
                          env={**ENV, **(env or {})})


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout == f"nnworked {__version__}\n"


def test_list_shows_every_bundled_scenario_with_its_title() -> None:
    result = cli("list")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == bundled.names()
    width = max(len(name) for name in bundled.names())
    assert f"{'spam'.ljust(width)}  Spam filter: one training step" in lines


def test_help_and_list_do_not_import_numpy() -> None:
    code = ("import sys, runpy; sys.argv = ['nnworked', '{}'];\n"
            "try: runpy.run_module('nnworked', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print('NUMPY' if 'numpy' in sys.modules else 'CLEAN', file=sys.stderr)")
    for command in ("--help", "list"):
        result = subprocess.run([sys.executable, "-c", code.format(command)], capture_output=True, text=True, env=ENV)
        assert result.stderr.strip().endswith("CLEAN"), result.stderr


def test_every_command_has_help_with_an_example() -> None:
    for command in ("run", "list", "validate"):
        result = cli(command, "--help")
        assert result.returncode == 0
        assert "nnworked " + command in result.stdout.replace("\n", " "), result.stdout


def test_run_prints_the_walkthrough_without_colour_when_piped() -> None:
    result = cli("run", "spam")
    assert result.returncode == 0
    assert "\x1b[" not in result.stdout
    assert "δ₂ = ŷ − y = 0.6194 − 1 = −0.3806 ✓" in result.stdout


def test_no_color_is_respected_even_on_a_forced_terminal() -> None:
    coloured = cli("run", "spam", env={"FORCE_COLOR": "1"})
    assert "\x1b[" in coloured.stdout
    plain = cli("run", "spam", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[3" not in plain.stdout  # no colour codes (bold may remain)


def test_markdown_and_json_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "spam.md"
    result = cli("run", "spam", "--format", "markdown", "--output", str(out))
    assert result.returncode == 0 and result.stdout == ""
    assert out.read_text(encoding="utf-8").startswith("# Spam filter: one training step\n")
    out = tmp_path / "spam.json"
    assert cli("run", "spam", "-f", "json", "-o", str(out)).returncode == 0
    assert json.loads(out.read_text())["steps"][0]["loss"] > 0


def test_terminal_format_to_a_file_is_plain_text(tmp_path: Path) -> None:
    out = tmp_path / "spam.txt"
    assert cli("run", "spam", "-o", str(out), env={"FORCE_COLOR": "1"}).returncode == 0
    text = out.read_text(encoding="utf-8")
    assert "\x1b[" not in text and "z₁[0] = (0.1 × 0.5)" in text


def test_options_override_the_file() -> None:
    result = cli("run", "spam", "--precision", "2", "--format", "markdown")
    assert "L = −ln(ŷ) = −ln(0.62) = 0.48" in result.stdout
    assert "∂L/∂W₂[0] = −0.38 × 0.21 = −0.0799" in result.stdout  # small values keep 3 significant figures
    result = cli("run", "house_price", "--rounding", "exact", "--format", "markdown")
    # exact: 0.0000001 × 21,850 = 0.002185 is shown as 0.00219 but not carried, so the result differs
    assert "W₂[1]_new = 15 − (0.0000001 × 21,850) = 15 − 0.00219 = 14.99782" in result.stdout


def test_piping_into_head_ends_quietly() -> None:
    result = subprocess.run(f"'{sys.executable}' -m nnworked run xor_batch --all-steps | head -n 3",
                            shell=True, capture_output=True, text=True, env=ENV)
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 3
    assert result.stderr == ""


def test_validate(tmp_path: Path) -> None:
    result = cli("validate", "spam")
    assert result.returncode == 0
    assert result.stdout.endswith("spam.yaml: OK — a 2-2-1 network, 1 example, trains 1 step\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("inputs: [[1, 2]]\nlayers:\n  - weights: [[1, 2, 3]]\n    activaton: relu\n")
    result = cli("validate", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "2 problems found:"
    assert f"{bad}:3:14: layers[0].weights: the weights of layer 1 do not fit the inputs" in result.stderr
    assert f"{bad}:4:5: layers[0].activaton: unknown key 'activaton'" in result.stderr
    assert "did you mean 'activation'?" in result.stderr


def test_markdown_with_several_steps_gets_a_loss_chart_beside_it(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    out = tmp_path / "xor.md"
    assert cli("run", "xor_batch", "-f", "markdown", "-o", str(out)).returncode == 0
    assert "![The loss at every step](xor.loss.svg)" in out.read_text(encoding="utf-8")
    chart = ET.parse(tmp_path / "xor.loss.svg").getroot()
    assert chart.tag.endswith("svg")
    points = chart.find("{http://www.w3.org/2000/svg}polyline").get("points").split()
    assert len(points) == 21  # the loss before each of 20 steps, and after the last
    # a single step draws no chart
    assert cli("run", "spam", "-f", "markdown", "-o", str(tmp_path / "spam.md")).returncode == 0
    assert not (tmp_path / "spam.loss.svg").exists()


def test_the_terminal_shows_a_one_line_loss_chart() -> None:
    from nnworked.render.chart import sparkline

    assert sparkline([4, 3, 2, 1]) == "█▆▃▁"
    assert "loss   0.7152 █▇▆▆▅▅▄▄▃▃▃▂▂▂▂▁▁▁▁▁▁ 0.6912   (20 steps)" in cli("run", "xor_batch").stdout


def test_an_exam_sheet_hides_every_value_computed_from_a_blank(tmp_path: Path) -> None:
    exam = cli("run", "spam", "--exam", "--format", "json")
    assert exam.returncode == 0, exam.stderr
    assert json.loads(exam.stdout)["exercise"]["reveal"] == "none"
    text = cli("run", "spam", "--exercise", "--reveal", "none").stdout
    assert text == cli("run", "spam", "--exam").stdout
    assert "Every value computed from a blank is hidden too" in text
    assert "    L = −ln(ŷ) = −ln(?) = ?" in text
    assert "    W₂[1]_new = 0.6 − (0.1 × ?) = ?" in text  # guided gives it: ∂L/∂W₂[1] is needed later
    assert "    W₂[1]_new = 0.6 − (0.1 × (−0.1789)) = 0.6 + 0.0179 = 0.6179" in cli("run", "spam", "--exercise").stdout
    assert "Key Observations" not in text and "The network is learning" not in text
    assert "    z₁[0] = ?\n    z₁[1] = ?\n    h = [?, ?]" in text  # the pass after training
    assert "0.6179" not in text and "0.4214" not in text


def test_reveal_is_a_sheets_policy_and_an_exam_is_not_guided() -> None:
    alone = cli("run", "spam", "--reveal", "none")
    assert alone.returncode == 2 and "it needs --exercise, --answers or --exam" in alone.stderr
    both = cli("run", "spam", "--exam", "--reveal", "guided")
    assert both.returncode == 2 and "an exam reveals nothing computed from a blank" in both.stderr
    wrong = cli("run", "spam", "--exercise", "--reveal", "some")
    assert wrong.returncode == 2 and "guided" in wrong.stderr


def test_generate_records_the_policy_and_run_reads_it(tmp_path: Path) -> None:
    made = cli("generate", "spam", "--count", "1", "--output-dir", str(tmp_path), "--reveal", "none")
    assert made.returncode == 0, made.stderr
    variant = next(tmp_path.glob("v-*.yaml"))
    assert "reveal: none" in variant.read_text(encoding="utf-8")
    assert "Every value computed from a blank is hidden too" in cli("run", str(variant), "--exercise").stdout
    sheet = next(p for p in tmp_path.iterdir() if p.name.endswith(".md") and "key" not in p.name)
    assert "Every value computed from a blank is hidden too" in sheet.read_text(encoding="utf-8")


def test_a_policy_a_file_records_must_be_one_there_is(tmp_path: Path) -> None:
    path = tmp_path / "variant.yaml"
    path.write_text('inputs: [[1, 2]]\nlayers:\n  - weights: [[1, 1]]\n'
                    'exercise: {variant: v-1, blanks: ["z1[0]"], reveal: nope}\n', encoding="utf-8")
    result = cli("run", str(path), "--exercise")
    assert result.returncode == 1
    assert (f"{path}:4:53: exercise.reveal: unknown reveal — expected one of guided, none, given the text 'nope'\n"
            "    hint: did you mean 'none'?") in result.stderr
