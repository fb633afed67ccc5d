"""Marking keys: `generate` writes each variant's key beside it, and marking a class uses it for a student
whose every value is right, without solving; every other student (and every variant edited since, or whose
key was edited) is marked by solving. Either way the marks are the same, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import nnworked
from nnworked import api, markkeys, sheets
from nnworked.classmarks import mark_class
from nnworked.render.numbers import fmt
from nnworked.variants import to_yaml


@pytest.fixture(scope="module")
def made():  # noqa: ANN201
    return nnworked.generate("spam", count=3, seed=7, style="two-decimals", attempts=300, allow_saturation=True,
                             allow_dead_relu=True, min_error=0.0)


def _write(folder: Path, made) -> list[str]:  # noqa: ANN001
    for name, text in made.files().items():
        if name.endswith((".yaml", markkeys.SUFFIX)):
            (folder / name).write_text(text, encoding="utf-8")
    return [v.id for v in made.variants]


def _key_values(folder: Path, variant: str) -> dict[str, float]:
    data = json.loads((folder / f"{variant}{markkeys.SUFFIX}").read_text(encoding="utf-8"))
    return {k: float(v["printed"].replace("−", "-")) for k, v in data["values"].items()}


def test_each_variant_key_holds_what_solving_its_written_file_gives(tmp_path: Path, made) -> None:  # noqa: ANN001
    for variant in _write(tmp_path, made):
        path = tmp_path / f"{variant}.yaml"
        trace = nnworked.solve(str(path), keep=1)
        asked, recorded = sheets.for_scenario(trace, None, 1)
        data = json.loads((tmp_path / f"{variant}{markkeys.SUFFIX}").read_text(encoding="utf-8"))
        values = sheets.quantities(trace)
        assert data["variant"] == recorded == variant
        assert data["sha256"] == markkeys.fingerprint(path.read_bytes())
        assert set(data["values"]) == set(asked)
        for name, entry in data["values"].items():
            assert entry["value"] == values[name]  # exactly, not approximately
            assert entry["printed"] == fmt(values[name], trace.precision)
            assert entry["decimals"] == trace.precision.decimals_for(values[name])


def _class(folder: Path, made) -> tuple[str, dict[str, dict[str, float]], list[str]]:  # noqa: ANN001
    v0, v1, v2 = _write(folder, made)
    right0, right1, right2 = (_key_values(folder, v) for v in (v0, v1, v2))
    first = min(right1, key=nnworked.quantities.sort_key)
    last = max(right1, key=nnworked.quantities.sort_key)
    answers = {
        "s1": dict(right0),                                      # all right
        "s2": {k: right0[k] for k in list(right0)[:2]},           # right, but only two values given
        "s3": {**right1, last: -right1[last] if right1[last] else 1.0},  # the last value wrong
        "s4": {**right1, first: right1[first] + 0.5},             # an early value off, the rest as the key's
        "s5": {},                                                 # handed in an empty sheet
        "s7": dict(right2),                                       # right for v2 as generated
    }  # s6 hands nothing in
    # the teacher edits v2 after generating: its key is stale and must not mark s7 right
    data = yaml.safe_load((folder / f"{v2}.yaml").read_text(encoding="utf-8"))
    data["inputs"][0][0] = round(data["inputs"][0][0] + 0.5, 2)
    (folder / f"{v2}.yaml").write_text(to_yaml(data), encoding="utf-8")
    manifest = "student_id,name,variant\n" + "".join(
        f"s{n},Student {n},{v}\n" for n, v in ((1, v0), (2, v0), (3, v1), (4, v1), (5, v1), (6, v0), (7, v2)))
    (folder / "manifest.csv").write_text(manifest, encoding="utf-8")
    return str(folder / "manifest.csv"), answers, [v0, v1, v2]


def _counting_solve(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    solved: list[str] = []
    real = api.solve

    def solve(source, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        solved.append(Path(source).stem)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(api, "solve", solve)
    return solved


def test_marks_from_keys_are_the_marks_from_solving_byte_for_byte(tmp_path: Path, made,  # noqa: ANN001
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    manifest, answers, (v0, v1, v2) = _class(tmp_path, made)
    solved = _counting_solve(monkeypatch)
    keyed = mark_class(manifest, answers)
    marked_solved = list(solved)
    keyed_files = keyed.files(output="out")  # a right student's feedback reads the title and precision from the key
    with_keys = (keyed.gradebook_csv(), keyed.gradebook_json(), keyed_files, keyed.text())
    assert sorted(marked_solved) == sorted([v1, v2])  # v0's students are all right: marked from its key alone
    assert sorted(solved) == sorted([v1, v2])  # nor solved for their feedback; no variant solved twice
    for name in tmp_path.glob(f"*{markkeys.SUFFIX}"):
        name.unlink()
    solved.clear()
    plain = mark_class(manifest, answers)
    assert sorted(solved) == sorted([v0, v1, v2])
    assert (plain.gradebook_csv(), plain.gradebook_json(), plain.files(output="out"), plain.text()) == with_keys
    scores = {s.id: (s.score, len(s.marks)) for s in keyed.students}
    assert scores["s1"] == (6, 6) and scores["s2"] == (2, 6) and scores["s5"] == (0, 6) and scores["s6"] == (0, 6)
    assert scores["s3"] == (5, 6)
    assert scores["s7"][0] < 6  # the edited variant's values changed: the stale key's values are not right
    statuses = {s.id: [m.status for m in s.marks] for s in keyed.students}
    assert "carried" in statuses["s7"] and statuses["s4"][0] == "wrong"  # carried credit, by solving


def test_a_value_changed_in_a_key_cannot_make_a_wrong_answer_right(tmp_path: Path, made) -> None:  # noqa: ANN001
    manifest, answers, (v0, _, _) = _class(tmp_path, made)
    path = tmp_path / f"{v0}{markkeys.SUFFIX}"
    data = json.loads(path.read_text(encoding="utf-8"))
    name = next(iter(data["values"]))
    data["values"][name]["value"] += 1.0  # the fingerprint of the scenario still matches
    path.write_text(json.dumps(data), encoding="utf-8")
    assert markkeys.read(str(tmp_path / f"{v0}.yaml")) is None
    wrong = {**answers["s1"], name: answers["s1"][name] + 1.0}
    marks = {m.key: m.status for m in mark_class(manifest, {"s1": wrong}).students[0].marks}
    assert marks[name] == "wrong"


def test_a_key_is_read_only_beside_the_scenario_it_was_made_from(tmp_path: Path, made) -> None:  # noqa: ANN001
    v0 = _write(tmp_path, made)[0]
    scenario = str(tmp_path / f"{v0}.yaml")
    assert markkeys.read(scenario).variant == v0  # type: ignore[union-attr]
    (tmp_path / f"{v0}.yaml").write_text((tmp_path / f"{v0}.yaml").read_text() + "# a comment\n")
    assert markkeys.read(scenario) is None  # any byte changed: solved instead


def test_the_command_line_solves_only_the_variants_that_need_a_worked_correction(
        tmp_path: Path, made, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """`grade --manifest ... --output DIR`: what it prints and every file it writes are the same, byte for
    byte, with the keys as without them; with them, a variant whose students are all right is not solved."""
    from typer.testing import CliRunner

    from nnworked.cli import app

    manifest, answers, (v0, v1, v2) = _class(tmp_path, made)
    rows = sorted({name for given in answers.values() for name in given}, key=nnworked.quantities.sort_key)
    csv_rows = ["student," + ",".join(f'"{name}"' for name in rows)]
    csv_rows += [student + "," + ",".join(repr(given[n]) if n in given else "" for n in rows)
                 for student, given in answers.items() if given]
    (tmp_path / "answers.csv").write_text("\n".join(csv_rows) + "\n", encoding="utf-8")

    def run(out: str) -> tuple[str, dict[str, bytes]]:
        result = CliRunner().invoke(app, ["grade", "--manifest", manifest, str(tmp_path / "answers.csv"),
                                          "--output", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
        files = {p.name: p.read_bytes() for p in sorted((tmp_path / out).iterdir())}
        return result.stdout.replace(out, "OUT"), files

    solved = _counting_solve(monkeypatch)
    with_keys = run("keyed")
    assert sorted(solved) == sorted([v1, v2])  # v0's students (s1, s2, s6) are all right or blank
    assert b"Every value is right." in with_keys[1]["feedback-s1.md"]
    for name in tmp_path.glob(f"*{markkeys.SUFFIX}"):
        name.unlink()
    solved.clear()
    plain = run("plain")
    assert sorted(solved) == sorted([v0, v1, v2])
    assert plain == with_keys
    assert len(plain[1]) == 2 + 2 * 7  # the gradebook (CSV, JSON) and each student's Markdown and HTML


def test_a_keyed_variants_trace_solves_for_anything_beyond_its_title_and_precision(tmp_path: Path, made,  # noqa: ANN001
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    manifest, answers, (v0, _, v2) = _class(tmp_path, made)
    solved = _counting_solve(monkeypatch)
    student = mark_class(manifest, {"s1": answers["s1"]}).students[0]
    assert solved == [v2]  # edited since its key was made: solved to mark it
    trace = student.sheet.trace
    assert (trace.scenario.title, trace.precision) == (made.variants[0].trace.scenario.title,
                                                       made.variants[0].trace.precision)
    assert solved == [v2]
    assert len(trace.scenario.layers) == len(made.variants[0].trace.scenario.layers)  # solved now, once
    assert trace.steps[0].loss.value == made.variants[0].trace.steps[0].loss.value and solved == [v2, v0]
