"""Grading: tolerances that follow the rounding, errors carried forward, the catalogue of likely mistakes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nnworked import sheets
from nnworked.answers import read as read_answers
from nnworked.grading import grade
from tests.helpers import trace_of


def marks_for(name: str, rule: str, changes: dict[str, float], **options: object) -> dict[str, object]:
    trace = trace_of(name, **options)
    keys = sheets.choose(trace, rule, 1)
    values = sheets.quantities(trace)
    answers = {k: round(values[k], trace.precision.decimals_for(values[k])) for k in keys}
    answers.update(changes)
    return {m.key: m for m in grade(trace, keys, answers)}


SPAM_RULE = "z1[0], dz2, dz1[0], dW1[0,0], da1[0]"


def test_answers_rounded_as_printed_are_right() -> None:
    marks = marks_for("spam", SPAM_RULE, {})
    assert all(m.status == "correct" for m in marks.values())
    marks = marks_for("spam", SPAM_RULE, {"dz2[0]": -0.381})  # a decimal fewer is still the same number
    assert marks["dz2[0]"].status == "correct"
    marks = marks_for("spam", SPAM_RULE, {"dz2[0]": -0.3816})
    assert marks["dz2[0]"].status == "wrong"


def test_errors_are_carried_forward() -> None:
    wrong = {"dz2[0]": 0.3806, "db2[0]": 0.3806, "da1[0]": 0.1903, "dz1[0]": 0.1903, "db1[0]": 0.1903,
             "dW1[0,0]": 0.0952}
    marks = marks_for("spam", SPAM_RULE, wrong)
    assert marks["dz2[0]"].status == "wrong"
    assert [marks[k].status for k in ("da1[0]", "dz1[0]", "dW1[0,0]", "db1[0]")] == ["carried"] * 4
    # a later value that is wrong even for the student's own earlier value earns nothing
    marks = marks_for("spam", SPAM_RULE, {**wrong, "dW1[0,0]": 0.0500})
    assert marks["dW1[0,0]"].status == "wrong"


@pytest.mark.parametrize("name, rule, key, answer, mistake, options", [
    ("spam", SPAM_RULE, "dz2[0]", 0.3806, "the sign is flipped", {}),
    ("spam", SPAM_RULE, "dz2[0]", -1.6145, "derivative forgotten", {}),
    ("spam", SPAM_RULE, "da1[0]", round(0.50799261 * -0.38060055, 4), "the updated weights used in backprop", {}),
    ("house_price", "dz2", "dz2[0]", 575, "the ½ convention confused", {}),
    ("xor_batch", "dW2", "dW2[0,0]", round(4 * 0.012607, 4), "the batch mean forgotten", {"steps": 1}),
])
def test_the_catalogue_of_mistakes(name: str, rule: str, key: str, answer: float, mistake: str,
                                   options: dict) -> None:
    marks = marks_for(name, rule, {key: answer}, **options)
    assert marks[key].status == "wrong"
    assert mistake in marks[key].note, marks[key].note


def test_a_class_from_csv_and_folders(tmp_path: Path) -> None:
    sheet = tmp_path / "class.csv"
    sheet.write_text("student,z1[0],dz2[0],da1[0]\nana,0.21,0.3806,0.1903\nben,0.21,−0.3806,−0.1903\n",
                     encoding="utf-8")
    students = read_answers(str(sheet))
    assert students["ana"]["dz2[0]"] == 0.3806 and students["ben"]["da1[0]"] == -0.1903
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "cy.yaml").write_text("z1[0]: 0.21\n")
    (tmp_path / "folder" / "di.csv").write_text("name,value\ndW1[0,0],-0.0952\n")  # a name with a comma, unquoted
    assert read_answers(str(tmp_path / "folder")) == {"cy": {"z1[0]": 0.21}, "di": {"dW1[0,0]": -0.0952}}
    result = subprocess.run([sys.executable, "-m", "nnworked", "grade", "spam", str(sheet), "--blanks",
                             "z1[0], dz2, da1[0]"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "ana: 2 of 8 (1 carried forward)" in result.stdout  # a1, da2, db2, dz1, db1 are blanks too
    assert "first wrong value: dz2[0] = 0.3806, expected −0.3806 — likely the sign is flipped" in result.stdout
    assert "class: 2 students" in result.stdout and "1 × the sign is flipped" in result.stdout


def test_an_answer_may_be_named_as_the_sheet_shows_it_or_as_the_key_names_it() -> None:
    trace = trace_of("spam")
    keys = frozenset({"a1[0]", "a2[0]", "dW2[0,0]", "dW2[0,1]", "dz2[0]", "W1[1,0]"})
    values = sheets.quantities(trace)
    spelled = {"h[0]": values["a1[0]"], "ŷ": values["a2[0]"], "∂L/∂W₂[0]": values["dW2[0,0]"],
               "dW2[1]": values["dW2[0,1]"], "δ₂": values["dz2[0]"], "W1[1,0]": values["W1[1,0]"]}
    marks = grade(trace, keys, spelled)
    assert {m.key: m.status for m in marks} == {k: "correct" for k in keys}
    assert [m.status for m in grade(trace, keys, {"∂L/∂W2[0]": 0.5})].count("wrong") == 1
