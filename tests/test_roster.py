"""Rosters: each student a variant (from the seed and their own id), a personal sheet, and the manifest that
`grade --manifest` reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nnworked
from nnworked import sheets
from nnworked.cli import app
from nnworked.roster import RosterError

TEMPLATE = "ai-by-hand/2-single-neuron"


def roster(tmp_path: Path, text: str, name: str = "students.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_same_student_and_seed_get_the_same_variant_whatever_the_roster(tmp_path: Path) -> None:
    first = nnworked.generate_roster(TEMPLATE, roster(tmp_path, "student_id,name\ns1,Ana\ns2,Ben\ns3,Cy\n"), seed=4)
    other = nnworked.generate_roster(TEMPLATE, roster(tmp_path, "name,id\nCy,s3\nDi,s4\nAna,s1\n", "b.csv"), seed=4)
    assert {k: first.assigned[k].id for k in ("s1", "s3")} == {k: other.assigned[k].id for k in ("s1", "s3")}
    assert len({v.id for v in first.assigned.values()}) == 3  # each their own
    again = nnworked.generate_roster(TEMPLATE, roster(tmp_path, "student_id\ns1\n", "c.csv"), seed=5)
    assert again.assigned["s1"].id != first.assigned["s1"].id  # another seed, another draw
    # a pool shared by the class: each student's id and the seed choose one of its variants, in any order
    pool = nnworked.generate_roster(TEMPLATE, str(tmp_path / "students.csv"), seed=4, count=2)
    reordered = nnworked.generate_roster(TEMPLATE, str(tmp_path / "b.csv"), seed=4, count=2)
    assert len({v.id for v in pool.assigned.values()}) <= 2
    assert pool.assigned["s1"].id == reordered.assigned["s1"].id and pool.assigned["s3"].id == reordered.assigned["s3"].id


def test_personal_sheets_and_the_manifest_that_grade_reads(tmp_path: Path) -> None:
    made = nnworked.generate_roster(TEMPLATE, roster(tmp_path, 'student_id,name\ns1,"Lima, Ana"\nx/2,<b>Ben</b>\n'),
                                    seed=4)
    files = made.files()
    ids = {s: made.assigned[s].id for s in ("s1", "x/2")}
    assert sorted(files) == sorted(["manifest.csv", "s1-sheet.md", "x_2-sheet.md",
                                    *(f"{v}{end}" for v in set(ids.values())
                                      for end in (".yaml", ".marking-key.json", "-key.md"))])
    assert files["manifest.csv"] == ("student_id,name,variant,scenario,sheet,key\n"
                                     f's1,"Lima, Ana",{ids["s1"]},{ids["s1"]}.yaml,s1-sheet.md,{ids["s1"]}-key.md\n'
                                     f'x/2,<b>Ben</b>,{ids["x/2"]},{ids["x/2"]}.yaml,x_2-sheet.md,{ids["x/2"]}-key.md\n')
    assert files["s1-sheet.md"].splitlines()[0] == f"**Name:** Lima, Ana · **ID:** s1 · variant {ids['s1']}"
    assert files["x_2-sheet.md"].splitlines()[0] == f"**Name:** &lt;b>Ben&lt;/b> · **ID:** x/2 · variant {ids['x/2']}"
    assert f"variant {ids['s1']} · fill in each ____" in files["s1-sheet.md"]
    html = nnworked.generate_roster(TEMPLATE, str(tmp_path / "students.csv"), seed=4).files(format="html")
    assert "<p><strong>Name:</strong> &lt;b&gt;Ben&lt;/b&gt;" in html["x_2-sheet.html"]
    latex = nnworked.generate_roster(TEMPLATE, roster(tmp_path, "student_id,name\ns1,Ana_L & {co}\n", "l.csv"),
                                     seed=4).files(format="latex")
    assert r"\textbf{Name:} Ana\_L \& \{co\} \ensuremath{\cdot} \textbf{ID:} s1" in latex["s1-sheet.tex"]
    # the whole week through the command line: generate, hand in the key's values, grade from the manifest
    out = tmp_path / "week"
    result = CliRunner().invoke(app, ["generate", TEMPLATE, "--roster", str(tmp_path / "students.csv"), "--seed", "4",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {len(files)} files to {out} (a sheet for each of 2 students, 2 variants, manifest.csv)\n"
    assert {p.name: p.read_text() for p in out.iterdir()} == files  # the same seed, byte-identical files
    # every student hands in their own key's values, in one CSV: each is marked against their own variant
    given = {student: _key_values(out / f"{ids[student]}.yaml") for student in ids}
    names = sorted({k for values in given.values() for k in values})
    (tmp_path / "class.csv").write_text(
        "student," + ",".join(f'"{k}"' for k in names) + "\n" +
        "".join(f'"{student}",' + ",".join(repr(given[student].get(k, "")) if k in given[student] else ""
                                          for k in names) + "\n" for student in ids))
    result = CliRunner().invoke(app, ["grade", "--manifest", str(out / "manifest.csv"), str(tmp_path / "class.csv"),
                                      "--output", str(tmp_path / "marks")])
    assert result.exit_code == 0, result.output
    book = json.loads((tmp_path / "marks" / "gradebook.json").read_text())
    assert [(s["student_id"], s["variant"], s["total"], s["out_of"]) for s in book["students"]] == [
        (student, ids[student], len(given[student]), len(given[student])) for student in ("s1", "x/2")]


def _key_values(path: Path) -> dict[str, float]:
    trace = nnworked.solve(str(path))
    keys, _ = sheets.for_scenario(trace, None, 1)
    values = sheets.quantities(trace)
    return {k: values[k] for k in keys}


def test_bad_roster_rows_are_listed_by_row_and_column(tmp_path: Path) -> None:
    path = roster(tmp_path, "student_id,name\ns1,Ana\n,Ben\ns1,Ana again\ns4,Di,extra\n")
    with pytest.raises(RosterError) as caught:
        nnworked.generate_roster(TEMPLATE, path)
    assert [p.replace(str(tmp_path) + "/", "") for p in caught.value.problems] == [
        "students.csv, row 3, column student_id: the student's id is empty",
        "students.csv, row 4, column student_id: the student 's1' appears twice (also row 2); keep one",
        "students.csv, row 5: 3 cells under a header of 2 (a comma in a name? quote the name)"]
    with pytest.raises(RosterError, match="no student_id column"):
        nnworked.generate_roster(TEMPLATE, roster(tmp_path, "name\nAna\n", "n.csv"))
    result = CliRunner().invoke(app, ["generate", TEMPLATE, "--roster", path, "--output", str(tmp_path / "o")])
    assert result.exit_code == 1 and "3 problems in the roster" in result.output and not (tmp_path / "o").exists()


def test_command_line_mistakes_of_a_roster_exit_2(tmp_path: Path) -> None:
    path = roster(tmp_path, "student_id\ns1\n")
    for args in (["--roster", path], ["--roster", path, "-o", "x", "--combined"],
                 ["--roster", path, "-o", str(tmp_path / "x"), "--format", "moodle"]):
        assert CliRunner().invoke(app, ["generate", TEMPLATE, *args]).exit_code == 2, args
