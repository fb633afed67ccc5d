"""`nnworked.check`: a student's own numbers from a notebook, marked as `grade` marks them, shown in
Jupyter (Markdown, HTML) and as text. Expected values worked by hand from spam.yaml: z1[0] = 0.1 × 0.5 +
0.2 × 0.3 + 0.1 = 0.21; a1[1] = 0.3 × 0.5 + 0.4 × 0.3 + 0.2 = 0.47; ŷ = σ(0.487) = 0.6194;
δ2 = ŷ − 1 = −0.3806, so dW2[0,0] = δ2 × 0.21 = −0.0799 and dW2[0,1] = δ2 × 0.47 = −0.1789."""

from __future__ import annotations

from pathlib import Path

import pytest

import nnworked
from nnworked.errors import NnworkedError

GIVEN = {"z1[0]": 0.21, "a1[0]": 0.21, "ŷ": 0.62, "∂L/∂W₂[0]": 0.0799, "dW2[0,1]": -0.179}


def test_a_students_numbers_are_marked_value_by_value() -> None:
    checked = nnworked.check("spam", GIVEN)
    assert checked.score == (3, 5) and not checked.ok
    assert [(m.key, m.status) for m in checked.marks] == [
        ("z1[0]", "correct"), ("a1[0]", "correct"), ("a2[0]", "wrong"), ("dW2[0,0]", "wrong"),
        ("dW2[0,1]", "correct")]
    assert checked.first_wrong.key == "a2[0]"
    assert checked.text() == (
        "Spam filter: one training step · variant v-71627e · 5 values\n"
        "\n"
        "you: 3 of 5\n"
        "  first wrong value: a2[0] = 0.62, expected 0.6194\n"
        "  z1[0]                0.21         0.21  correct\n"
        "  a1[0]                0.21         0.21  correct\n"
        "  a2[0]                0.62       0.6194  wrong\n"
        "  dW2[0,0]           0.0799      −0.0799  wrong: the sign is flipped (ŷ − y and y − ŷ confused)\n"
        "  dW2[0,1]           −0.179      −0.1789  correct\n")
    assert repr(checked) == checked.text()


def test_in_jupyter_it_shows_a_table() -> None:
    checked = nnworked.check("spam", GIVEN)
    assert checked._repr_markdown_() == (
        "**3 of 5 right** · Spam filter: one training step\n"
        "\n"
        "First wrong value: a2[0] = 0.62, expected 0.6194  \n"
        "\n"
        "| Value | Your answer | Expected | Mark |\n"
        "| --- | ---: | ---: | --- |\n"
        "| z1[0] | 0.21 | 0.21 | ✓ right |\n"
        "| a1[0] | 0.21 | 0.21 | ✓ right |\n"
        "| a2[0] | 0.62 | 0.6194 | ✗ wrong |\n"
        "| dW2[0,0] | 0.0799 | −0.0799 | ✗ wrong: the sign is flipped (ŷ − y and y − ŷ confused) |\n"
        "| dW2[0,1] | −0.179 | −0.1789 | ✓ right |\n")
    page = checked._repr_html_()
    assert page.startswith('<div class="nnworked-check"><p><strong>3 of 5 right</strong> · Spam filter: one training '
                           "step</p><p>First wrong value: a2[0] = 0.62, expected 0.6194</p><table>")
    assert ('<tr class="wrong"><td><code>dW2[0,0]</code></td><td style="text-align:right">0.0799</td>'
            '<td style="text-align:right">−0.0799</td>'
            "<td>✗ wrong: the sign is flipped (ŷ − y and y − ŷ confused)</td></tr>") in page
    assert page.count("<tr class=") == 5 and page.endswith("</tbody></table></div>")


def test_a_value_right_for_the_students_own_earlier_value_is_carried() -> None:
    checked = nnworked.check("spam", {"z1[0]": 0.3, "a1[0]": 0.3})
    assert [(m.key, m.status) for m in checked.marks] == [("z1[0]", "wrong"), ("a1[0]", "carried")]
    assert checked._repr_markdown_().startswith("**1 of 2 right (1 carried forward)** · ")
    assert "| a1[0] | 0.3 | 0.21 | ✓ carried forward: right for the earlier value used |" in checked._repr_markdown_()


def test_check_marks_as_grade_does() -> None:
    from nnworked import grading

    checked = nnworked.check("spam", GIVEN)
    keys = frozenset(m.key for m in checked.marks)
    assert grading.grade(nnworked.solve("spam"), keys, GIVEN) == checked.marks
    graded = nnworked.grade("spam", {"you": GIVEN}, blanks=", ".join(sorted(keys)))  # a sheet adds z2[0] to a2[0]
    assert [m for m in graded.results["you"] if m.key in keys] == checked.marks


def test_a_sheets_blanks_are_marked_when_asked_for_or_recorded(tmp_path: Path) -> None:
    checked = nnworked.check("spam", {"z1[0]": 0.21}, blanks="z1[0]")
    assert [(m.key, m.status) for m in checked.marks] == [("z1[0]", "correct"), ("a1[0]", "missing")]
    assert "| a1[0] |  | 0.21 | — not answered |" in checked._repr_markdown_()
    recorded = nnworked.load("spam")._replace(blanks=("dW2[0,1]",))
    assert [m.key for m in nnworked.check(recorded, {"z1[0]": 0.21}).marks] == ["dW2[0,1]"]


def test_answers_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("z1[0]: 0.21\na2[0]: 0.6194\n", encoding="utf-8")
    assert nnworked.check("spam", path).score == (2, 2)
    assert nnworked.check("spam", str(path)).ok
    both = tmp_path / "class.csv"
    both.write_text("student,z1[0]\nana,0.21\nben,0.3\n", encoding="utf-8")
    with pytest.raises(NnworkedError) as raised:
        nnworked.check("spam", both)
    assert str(raised.value) == (f"{both} holds the answers of 2 students: check marks one student's; nnworked.grade "
                                 "marks a class")


def test_answers_that_cannot_be_marked_are_refused_saying_why() -> None:
    def refused(answers: object) -> str:
        with pytest.raises(NnworkedError) as raised:
            nnworked.check("spam", answers)
        return str(raised.value)

    assert refused({"z1[9]": 1.0}) == (
        "there is no value 'z1[9]' in this scenario. Did you mean 'z1[1]'? Its values are L, W1, W2, a1, a2, b1, b2, "
        "dW1, dW2, da1, da2, db1, db2, dz1, dz2, z1, z2, each alone (every cell) or with an index such as [0] or "
        "[0,1].")
    assert refused({"dW2": 1.0}) == "'dW2' names 2 values: give each its own number, such as dW2[0,0]"
    assert refused({"z1[0]": "0.21", "a1[0]": float("nan"), "b": True}) == (
        "the answers hold values that are not numbers:\n"
        "z1[0]: expected a finite number, given '0.21'\n"
        "a1[0]: expected a finite number, given nan\n"
        "b: expected a finite number, given True")
    assert refused({}) == 'no answers to check: give a dict such as {"z1[0]": 0.21}'


def test_numpy_scalars_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    assert nnworked.check("spam", {"z1[0]": np.float64(0.21), "z1[1]": np.float32(0.47)}).ok


def test_text_from_the_scenario_and_the_answers_is_escaped() -> None:
    scenario = nnworked.load("spam")._replace(title="<b>x</b> | [a](javascript:alert(1))\x1b[2J")
    checked = nnworked.check(scenario, {"z1[0]": 0.21, "<img src=x onerror=alert(1)>": 1.0}, blanks="z1[0]")
    assert checked._repr_markdown_().splitlines()[0] == (
        "**1 of 2 right** · &lt;b>x&lt;/b> \\| [a]\\(javascript:alert(1))\\x1b[2J")
    assert "Not asked on this sheet, ignored: &lt;img src=x onerror=alert(1)>" in checked._repr_markdown_()
    page = checked._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt; | [a](javascript:alert(1))\\x1b[2J</p>" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
