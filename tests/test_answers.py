"""Answer files as a teacher meets them: spreadsheets' CSV, decimal commas, repeats, gaps and junk. Every
problem is listed at once with its place; nothing is read silently wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnworked.answers import AnswerError, read
from nnworked.cli import app


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


def problems(path: str) -> list[str]:
    with pytest.raises(AnswerError) as caught:
        read(path)
    return [p.replace(str(Path(path).parent) + "/", "") for p in caught.value.problems]


def test_a_spreadsheets_byte_order_mark_hides_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "class.csv", "student,z1[0],a1[0]\nana,0.21,0.21\n", encoding="utf-8-sig")
    assert read(path) == {"ana": {"z1[0]": 0.21, "a1[0]": 0.21}}
    two = write(tmp_path, "ben.csv", "z1[0],0.21\n", encoding="utf-8-sig")
    assert read(two) == {"ben": {"z1[0]": 0.21}}


def test_every_problem_is_listed_with_its_row_student_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "class.csv", "student,z1[0],a1[0]\nana,0.21,abc\nben,nan,\nana,1,2\n,3,4\n"
                                        "cy,inf,9" + "9" * 400 + "\n")
    assert problems(path) == [
        "class.csv, row 2, ana, column a1[0]: 'abc' is not a number",
        "class.csv, row 3, ben, column z1[0]: 'nan' is not a finite number (nan, infinity or beyond ±1.8e308)",
        "class.csv, row 4: the student 'ana' appears twice (also class.csv, row 2); keep one",
        "class.csv, row 5: the student's name is empty",
        "class.csv, row 6, cy, column z1[0]: 'inf' is not a finite number (nan, infinity or beyond ±1.8e308)",
        "class.csv, row 6, cy, column a1[0]: '9999999999999999999999999999999999999999' is not a finite number "
        "(nan, infinity or beyond ±1.8e308)",
    ]


def test_an_empty_cell_is_a_value_left_unanswered(tmp_path: Path) -> None:
    path = write(tmp_path, "class.csv", "student,z1[0],a1[0]\nana,0.21,\n")
    assert read(path) == {"ana": {"z1[0]": 0.21}}
    result = CliRunner().invoke(app, ["grade", "spam", path, "--blanks", "z1[0]"])
    assert result.exit_code == 0
    assert "  a1[0]                   —         0.21  missing" in result.stdout


def test_a_repeated_column_or_value_is_refused(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "class.csv", "student,z1[0],z1[0]\nana,1,2\n")) == [
        "class.csv, row 1: the column 'z1[0]' appears twice; keep one"]
    assert problems(write(tmp_path, "ana.csv", "z1[0],1\nz1[0],2\n")) == [
        "ana.csv, row 2: 'z1[0]' is answered twice (also row 1); keep one"]


def test_decimal_commas_are_read_where_unambiguous_and_refused_where_not(tmp_path: Path) -> None:
    assert read(write(tmp_path, "quoted.csv", 'student,z1[0],a1[0]\nana,"0,2689","1,0"\n')) == \
        {"ana": {"z1[0]": 0.2689, "a1[0]": 1.0}}
    assert read(write(tmp_path, "semicolons.csv", "student;z1[0];dW1[0,1]\nana;0,2689;−1,5\n")) == \
        {"ana": {"z1[0]": 0.2689, "dW1[0,1]": -1.5}}
    assert problems(write(tmp_path, "ben.csv", "z1[0],0,2689\n")) == [
        "ben.csv, row 1: expected two cells, a value's name and its number, given 3 — a decimal comma? write "
        "0.2689, or quote the number"]
    assert problems(write(tmp_path, "cy.csv", 'z1[0],"1.000,5"\n')) == [
        "cy.csv, row 1, z1[0]: '1.000,5' is not a number (write a decimal point, or one decimal comma)"]


def test_yaml_answers_are_placed_by_line_and_column(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "ana.yaml", "z1[0]: 0.21\na1[0]: .nan\ndz1[0]: .inf\n")) == [
        "ana.yaml:2:8: a1[0]: 'nan' is not a finite number (nan, infinity or beyond ±1.8e308)",
        "ana.yaml:3:9: dz1[0]: 'inf' is not a finite number (nan, infinity or beyond ±1.8e308)"]
    huge = problems(write(tmp_path, "ben.yaml", "z1[0]: " + "9" * 400 + "\n"))
    assert huge[0].startswith("ben.yaml:1:8: z1[0]: this integer is too large to compute with")


@pytest.mark.parametrize("name, text, message", [
    ("class.csv", "student,z1[0]\n", "no answers found"),
    ("ana.yaml", "", "expected a mapping of value names to numbers"),
])
def test_a_file_without_answers_is_an_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    assert message in problems(write(tmp_path, name, text))[0]
    (tmp_path / "empty").mkdir()
    assert problems(str(tmp_path / "empty")) == ["empty: no answer files in this folder (expected .yaml, .yml, "
                                                 ".csv files)"]


def test_the_report_shows_a_students_control_characters_as_escapes(tmp_path: Path) -> None:
    path = write(tmp_path, "class.csv", "student,z1[0]\n\x1b[31mred\x1b]0;x\x07,0.21\nben,0.3\n")
    result = CliRunner().invoke(app, ["grade", "spam", path, "--blanks", "z1[0]"])
    assert result.exit_code == 0 and "\x1b" not in result.stdout
    assert r"\x1b[31mred\x1b]0;x\x07: 1 of 2" in result.stdout


def test_command_line_mistakes_of_grade_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "ana.csv", "z1[0],0.21\n")
    assert CliRunner().invoke(app, ["grade", "spam", path, "--blanks", "z9[0]"]).exit_code == 2
    assert CliRunner().invoke(app, ["grade", "spam", path, "--seed", "-5"]).exit_code == 2
