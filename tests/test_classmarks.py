"""Marking a class from a manifest: students of several variants at once, into a gradebook (CSV and JSON)
and a feedback file each (Markdown and HTML), written all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nnworked
from nnworked.answers import AnswerError
from nnworked.cli import app
from nnworked.manifest import ManifestError

# Two variants, worked by hand: v-a: z1[0] = 1·1 + 1·2 + 0 = 3, z1[1] = 2·1 − 1·2 + 1 = 1, z2 = 1·3 + 2·1 = 5;
# v-b: z1[0] = 2·1 + 1·2 = 4, z1[1] = 1·1 + 1·2 = 3, z2 = 1·4 + 1·3 = 7 (ReLU throughout, all positive).
VARIANT = """title: "Week 3 ({id})"
inputs: [[1, 2]]
targets: [[1]]
layers:
  - weights: {w1}
    bias: {b1}
    activation: relu
  - weights: {w2}
    bias: [0]
    activation: relu
loss: mse
precision: 4
exercise:
  variant: {id}
  blanks: ["z1[0]", "a1[0]", "z2[0]", "a2[0]"]
"""
MANIFEST = "student_id,name,variant\ns1,Ana,v-a\ns2,Ben,v-b\ns3,Cy,v-a\ns4,=Di,v-b\n"
ANSWERS = {"s1": "z1[0]: 3\na1[0]: 3\nz2[0]: 5\na2[0]: 5\n",   # all right
           "Ben": "z1[0]: 5\na1[0]: 5\nz2[0]: 8\na2[0]: 8\n",  # z1 wrong, the rest right from it (filed by name)
           "s4": "z1[0]: 4\na1[0]: 4\nz2[0]: -7\na2[0]: 0\n"}  # the sign flipped; ReLU(−7) = 0 from it
# s3 hands nothing in


def course(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "v-a.yaml").write_text(VARIANT.format(id="v-a", w1="[[1, 1], [2, -1]]", b1="[0, 1]", w2="[[1, 2]]"))
    (tmp_path / "v-b.yaml").write_text(VARIANT.format(id="v-b", w1="[[2, 1], [1, 1]]", b1="[0, 0]", w2="[[1, 1]]"))
    (tmp_path / "manifest.csv").write_text(MANIFEST)
    folder = tmp_path / "answers"
    folder.mkdir()
    for who, text in ANSWERS.items():
        (folder / f"{who}.yaml").write_text(text)
    return str(tmp_path / "manifest.csv"), str(folder)


GRADEBOOK = """student_id,name,variant,z1[0],a1[0],z2[0],a2[0],total,out_of
s1,Ana,v-a,1,1,1,1,4,4
s2,Ben,v-b,0,1,1,1,3,4
s3,Cy,v-a,0,0,0,0,0,4
s4,'=Di,v-b,1,1,0,1,3,4
"""


def test_a_class_of_two_variants_is_marked_into_a_gradebook(tmp_path: Path) -> None:
    manifest, answers = course(tmp_path)
    marked = nnworked.grade_class(manifest, answers)
    assert marked.gradebook_csv() == GRADEBOOK  # a name that a spreadsheet would run as a formula is quoted
    book = json.loads(marked.gradebook_json())
    assert [s["total"] for s in book["students"]] == [4, 3, 0, 3]
    assert book["students"][2]["handed_in"] is False
    assert book["students"][3]["first_wrong"] == {"value": "z2[0]", "answer": -7.0, "expected": 7.0,
                                                  "status": "wrong", "note": "the sign is flipped"}
    assert book["summary"]["mistakes"] == {"the sign is flipped": 1}
    # the same answers as one CSV of many students of both variants
    (tmp_path / "class.csv").write_text("student,z1[0],a1[0],z2[0],a2[0]\ns1,3,3,5,5\nBen,5,5,8,8\ns4,4,4,-7,0\n")
    assert nnworked.grade_class(manifest, str(tmp_path / "class.csv")).gradebook_csv() == GRADEBOOK


def test_each_student_gets_feedback_with_the_keys_working_of_their_first_wrong_value(tmp_path: Path) -> None:
    manifest, answers = course(tmp_path)
    marked = nnworked.grade_class(manifest, answers)
    ben = marked.students[1]
    working = "z1[0] = (2 × 1) + (1 × 2) + 0 = 2 + 2 + 0 = 4"
    assert marked.feedback(ben) == f"""# Feedback for Ben (s2)

Week 3 (v-b) · variant v-b · **3 of 4** (3 carried forward: right for your own earlier value)

| Value | Your answer | Key | Mark |
| --- | ---: | ---: | --- |
| z1[0] | 5 | 4 | wrong |
| a1[0] | 5 | 4 | carried: right for your own earlier value |
| z2[0] | 8 | 7 | carried: right for your own earlier value |
| a2[0] | 8 | 7 | carried: right for your own earlier value |

## Your first wrong value: z1[0]

You wrote 5; the key has 4.

How the key works it:

```
{working}
```
"""
    key = nnworked.run(str(tmp_path / "v-b.yaml")).render("markdown", answers=True)
    assert working.replace("z1[0]", "z₁[0]") + "   ← answer" in key  # the key's own line
    di = marked.feedback(marked.students[3])
    assert "| z2[0] | −7 | 7 | wrong: likely the sign is flipped |" in di
    assert "No answers were received from you" in marked.feedback(marked.students[2])
    assert "Every value is right." in marked.feedback(marked.students[0])


def test_feedback_escapes_what_students_and_teachers_wrote(tmp_path: Path) -> None:
    manifest, answers = course(tmp_path)
    Path(manifest).write_text(MANIFEST.replace("Ana", "<script>alert(1)</script>\x1b[2J"))
    marked = nnworked.grade_class(manifest, answers)
    page = marked.feedback(marked.students[0], "html")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J" in page
    text = marked.feedback(marked.students[0], "markdown")
    assert "<script>" not in text and "# Feedback for &lt;script>alert(1)&lt;/script>\\x1b[2J (s1)" in text


def test_the_command_writes_every_file_or_none(tmp_path: Path) -> None:
    manifest, answers = course(tmp_path)
    out = tmp_path / "marks"
    result = CliRunner().invoke(app, ["grade", "--manifest", manifest, answers, "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "feedback-s1.html", "feedback-s1.md", "feedback-s2.html", "feedback-s2.md", "feedback-s3.html",
        "feedback-s3.md", "feedback-s4.html", "feedback-s4.md", "gradebook.csv", "gradebook.json"]
    assert (out / "gradebook.csv").read_text() == GRADEBOOK
    assert result.stdout.splitlines()[:5] == [
        "4 students, 2 variants",
        "s1 (Ana) · v-a: 4 of 4",
        "s2 (Ben) · v-b: 3 of 4 (3 carried forward) · first wrong: z1[0] = 5, expected 4",
        "s3 (Cy) · v-a: 0 of 4 · no answers handed in",
        "s4 (=Di) · v-b: 3 of 4 (1 carried forward) · first wrong: z2[0] = −7, expected 7 — likely the sign is "
        "flipped"]
    assert result.stdout.endswith(f"wrote 10 files to {out}\n")
    # a manifest in KEY's place is read as one too; a feedback file that cannot be written leaves nothing
    again = tmp_path / "again"
    (again / "feedback-s3.md").mkdir(parents=True)
    result = CliRunner().invoke(app, ["grade", manifest, answers, "--output", str(again)])
    assert result.exit_code == 1 and "cannot write the file" in result.output
    assert sorted(p.name for p in again.iterdir()) == ["feedback-s3.md"]
    # the gradebook alone
    result = CliRunner().invoke(app, ["grade", "-m", manifest, answers, "--gradebook", str(tmp_path / "book.json")])
    assert result.exit_code == 0 and json.loads((tmp_path / "book.json").read_text())["values"][0] == "z1[0]"


def test_a_single_key_class_writes_a_gradebook_too(tmp_path: Path) -> None:
    (tmp_path / "ana.yaml").write_text("z1[0]: 0.21\n")
    (tmp_path / "ben.yaml").write_text("z1[0]: 0.3\n")
    result = CliRunner().invoke(app, ["grade", "spam", str(tmp_path), "--blanks", "z1[0]", "--gradebook",
                                      str(tmp_path / "book.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "book.csv").read_text() == ("student_id,name,variant,z1[0],a1[0],total,out_of\n"
                                                    f"ana,,{result.stdout.split('variant ')[1].split(' ')[0]},1,0,1,2\n"
                                                    f"ben,,{result.stdout.split('variant ')[1].split(' ')[0]},0,0,0,2\n")


def test_manifest_and_answer_problems_are_listed_by_row_and_column(tmp_path: Path) -> None:
    manifest, answers = course(tmp_path)
    Path(manifest).write_text("student_id,name,variant\ns1,Ana,v-a\ns1,Ana again,v-a\n,Nobody,v-a\ns5,Eve,v-z\n"
                              "s6,Fay,\n")
    with pytest.raises(ManifestError) as caught:
        nnworked.grade_class(manifest, answers)
    assert [p.replace(str(tmp_path) + "/", "") for p in caught.value.problems] == [
        "manifest.csv, row 3, column student_id: the student 's1' appears twice (also row 2); keep one",
        "manifest.csv, row 4, column student_id: the student's id is empty",
        "manifest.csv, row 5, student s5, column variant: the variant's scenario v-z.yaml does not exist "
        "(generate --roster writes it beside the manifest)",
        "manifest.csv, row 6, student s6: no variant given (column variant or scenario)"]
    Path(manifest).write_text("name,variant\nAna,v-a\n")
    with pytest.raises(ManifestError, match="no student_id column"):
        nnworked.grade_class(manifest, answers)
    Path(manifest).write_text("student_id,variant\ns1,v-a\n")
    with pytest.raises(AnswerError) as caught:
        nnworked.grade_class(manifest, answers)
    assert [p.split(" (")[0] for p in caught.value.problems] == [
        "answers of 'Ben': no student of the manifest has that id or name",
        "answers of 's4': no student of the manifest has that id or name"]
    result = CliRunner().invoke(app, ["grade", "--manifest", manifest, answers])
    assert result.exit_code == 1 and "2 problems in the answers" in result.output


def test_command_line_mistakes_of_a_class_exit_2(tmp_path: Path) -> None:
    manifest, answers = course(tmp_path)
    for args in (["--manifest", manifest], ["--manifest", manifest, answers, "--blanks", "z1"],
                 ["--manifest", manifest, answers, "--output", manifest],
                 ["--manifest", manifest, answers, "--output", "x", "--gradebook", "b.csv"],
                 ["--manifest", manifest, answers, "--gradebook", "b.txt"], ["spam"]):
        assert CliRunner().invoke(app, ["grade", *args]).exit_code == 2, args
    result = CliRunner().invoke(app, ["grade", "--manifest", manifest, answers, "--output", answers])
    said = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "holds the answers it reads" in said
