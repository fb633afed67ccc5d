"""Moodle XML and IMS QTI packages, checked against their formats' own rules: the XML parses, every cloze
field parses by Moodle's embedded-answers syntax, and each field holds exactly the values it should
(worked here independently of nnworked, from the scenario's numbers)."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import nnworked
from nnworked.api import render
from tests.test_cli import cli

# Moodle's embedded answers (cloze): {points:NUMERICAL:answer~answer…}; an answer is `=value:tolerance` (full
# marks) or `%percent%value:tolerance`, then `#feedback`. Numbers as Moodle's multianswer reads them.
NUMBER = r"-?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][-+]?\d+)?"
FIELD = re.compile(r"\{(\d+):(NUMERICAL|NM):((?:\\.|[^\\}])*)\}")
ANSWER = re.compile(rf"^(=|%-?\d+(?:\.\d+)?%)({NUMBER}):({NUMBER})#(.*)$", re.S)
SPAM_SIGMOID_INPUT = 0.1 + 0.5 * 0.21 + 0.6 * 0.47  # z₂ of the spam scenario, by hand


def cloze_fields(text: str) -> list[tuple[int, list[tuple[str, str, str, str]]]]:
    """Every field of a cloze question's text, parsed by the syntax's rules: (points, [(grade, value,
    tolerance, feedback unescaped)]). Fails on anything that opens a field and does not parse."""
    out = []
    for points, _, body in FIELD.findall(text):
        answers = re.split(r"(?<!\\)~", body)
        parsed = []
        for answer in answers:
            match = ANSWER.match(answer)
            assert match, f"not a cloze answer: {answer!r}"
            feedback = match.group(4)
            assert not re.search(r'(?<!\\)[}#~/"]', feedback), f"unescaped syntax character in {feedback!r}"
            parsed.append((match.group(1), match.group(2), match.group(3), re.sub(r"\\(.)", r"\1", feedback)))
        out.append((int(points), parsed))
    assert not re.search(r"\{\d+:", FIELD.sub("", text)), "a field that does not parse"
    return out


def question_text(xml: str, index: int = 0) -> str:
    questions = [q for q in ET.fromstring(xml).findall("question") if q.get("type") == "cloze"]
    return questions[index].find("questiontext/text").text


def test_a_moodle_field_holds_the_value_its_tolerance_and_each_catalogued_mistake() -> None:
    trace = nnworked.solve("spam")
    xml = render(trace, "moodle", exercise=True, blanks="z1[0], dz2")
    fields = cloze_fields(question_text(xml))
    yhat = 1 / (1 + math.exp(-SPAM_SIGMOID_INPUT))
    delta = yhat - 1  # sigmoid with cross-entropy: δ₂ = ŷ − y
    # z1[0] and a1[0] (a blank z closes its a), da2, dz2 and db2 (with one example, the same number)
    assert [points for points, _ in fields] == [1, 1, 1, 1, 1]
    z, a, _, d, _ = (answers for _, answers in fields)
    # right: the key as printed, give or take half a unit of its last decimal (0.21 to three decimals is
    # the same number, asked once)
    assert z == [("=", "0.21", "5e-05", "Right: z₁[0]"), ("%0%", "-0.21", "0.0005", "z₁[0]: the sign is flipped")]
    assert a == [("=", "0.21", "5e-05", "Right: h[0]"), ("%0%", "-0.21", "0.0005", "h[0]: the sign is flipped")]
    # right: the key to its four decimals and (rounding: exact) to three, as grade takes either; each
    # mistake's value as a student writes it, to the key's four decimals
    assert [(g, float(v), t, f) for g, v, t, f in d] == [
        ("=", round(delta, 4), "5e-05", "Right: δ₂"), ("=", round(delta, 3), "0", "Right: δ₂"),
        ("%0%", round(-delta, 4), "0.0005", "δ₂: the sign is flipped (ŷ − y and y − ŷ confused)"),
        ("%0%", round(-1 / yhat, 4), "0.0005",  # ∂L/∂ŷ, not times σ′
         "δ₂: the activation's derivative forgotten (sigmoid′ not multiplied in) (∂L/∂ŷ given as δ)")]
    # the feedback each wrong value gets is what `nnworked grade` says of that answer
    marks = nnworked.grade("spam", {"ann": {"dz2[0]": round(-1 / yhat, 4)}}, blanks="dz2").results["ann"]
    assert next(m for m in marks if m.key == "dz2[0]").note == "the activation's derivative forgotten (sigmoid′ not multiplied in) (∂L/∂ŷ given as δ)"


def moodle_grade(answers: list[tuple[str, str, str, str]], typed: float) -> str | None:
    """The grade Moodle gives a typed number: that of the first answer it lies within (value ± tolerance)."""
    return next((grade for grade, value, tolerance, _ in answers
                 if abs(typed - float(value)) <= float(tolerance) + 1e-14), None)


def test_a_wrong_final_value_is_never_right_on_moodle_or_canvas_whatever_is_blank() -> None:
    # spam's W₁[0,0] after the update, by hand: δ₂ = σ(z₂) − 1, ∂L/∂W₁[0,0] = x₁·W₂[0,0]·δ₂ (ReLU passes,
    # z₁[0] > 0), and W₁[0,0] − 0.1 × that: 0.10951…, printed 0.1095
    updated = 0.1 - 0.1 * 0.5 * 0.5 * (1 / (1 + math.exp(-SPAM_SIGMOID_INPUT)) - 1)
    assert round(updated, 4) == 0.1095
    trace = nnworked.solve("spam")
    xml = render(trace, "moodle", exercise=True, blanks="all")
    field = next(answers for _, answers in cloze_fields(question_text(xml))
                 if answers[0][0] == "=" and float(answers[0][1]) == 0.1095)
    items = [i for i in open_package(render(trace, "qti", exercise=True, blanks="all")).popitem()[1].iter(QTI + "item")
             if i.get("title") != "The exercise"]
    ranges = next(answer_ranges(i) for i in items if answer_ranges(i)[0][1] == 0.1095)

    def canvas(typed: float) -> str | None:
        return next((score for score, exact, low, high, _ in ranges if typed == exact or low <= typed <= high), None)

    marked = nnworked.grade("spam", {"s": {"W1[0,0]": 0.1092}, "t": {"W1[0,0]": 0.1095}, "u": {"W1[0,0]": 0.11}},
                            blanks="all").results
    for typed, student in ((0.1092, "s"), (0.1095, "t"), (0.11, "u")):
        right = next(m for m in marked[student] if m.key == "W1[0,0]").credit
        assert right == (typed != 0.1092)  # grade: 0.1092 is wrong; 0.1095, and 0.11 to one decimal fewer, right
        assert (moodle_grade(field, typed) == "=") == right, typed
        assert (canvas(typed) == "100") == right, typed
    assert moodle_grade(field, 0.10944) is None and canvas(0.10956) is None  # they round to 0.1094 and 0.1096


def test_a_number_keeps_its_exponent() -> None:
    trace = nnworked.solve({"inputs": [[1]], "layers": [{"weights": [[1.5e-10]]}]})
    fields = cloze_fields(question_text(render(trace, "moodle", exercise=True, blanks="z1")))
    # 1.5e-10 printed to 3 significant figures (1.50e-10): half a unit of its last decimal is 5e-13 (to one
    # decimal fewer it is the same number, asked once); a mistake's value is offered with grade's room
    assert fields[0][1][:2] == [("=", "1.5e-10", "5e-13", "Right: z₁"), ("%0%", "-1.5e-10", "5e-12", "z₁: the sign is flipped")]


def test_every_blank_is_visible_and_a_feedback_escapes_the_cloze_syntax() -> None:
    text = question_text(render(nnworked.solve("spam"), "moodle", exercise=True, blanks="z1[0], da1[0]"))
    assert "h[0] (a1[0]) = max(0, <span class=\"blank\">?</span>) = {1:NUMERICAL:" in text
    assert '<span class="blank"></span>' not in text
    assert r"#Right: ∂L\/∂h[0]~" in text  # a / inside a field is written \/
    fields = cloze_fields(text)
    assert fields[2][1][0][3] == "Right: ∂L/∂h[0]"


def test_a_description_holding_the_end_of_cdata_cannot_break_the_xml() -> None:
    scenario = {"title": "A ]]> B", "description": "ends ]]> here <b>&", "inputs": [[1]], "targets": [[1]],
                "layers": [{"weights": [[2]]}], "loss": "mse"}
    xml = render(nnworked.solve(scenario), "moodle", exercise=True, blanks="z1")
    question = ET.fromstring(xml).find("question")
    assert question.find("name/text").text.startswith("A ]]> B (v-")
    assert "ends ]]&gt; here &lt;b&gt;&amp;" in question.find("questiontext/text").text
    assert "ends ]]&gt; here" in question.find("generalfeedback/text").text


def test_generated_questions_go_into_a_pool(tmp_path: Path) -> None:
    out = tmp_path / "pool"
    result = cli("generate", "spam", "--count", "2", "--seed", "4", "--format", "moodle", "--combined",
                 "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    root = ET.fromstring((out / "questions.xml").read_text(encoding="utf-8"))
    kinds = [q.get("type") for q in root.findall("question")]
    assert kinds == ["category", "cloze", "cloze"]
    assert root.find("question/category/text").text == "$course$/top/nnworked/Spam filter: one training step"
    for index in (0, 1):
        assert cloze_fields(question_text((out / "questions.xml").read_text(encoding="utf-8"), index))


def test_a_slash_in_a_pool_name_is_escaped() -> None:
    from nnworked.render.moodle import category

    assert "<text>$course$/top/nnworked/A//B &amp; C</text>" in category("A/B & C")


# ---- IMS QTI 1.2 (Canvas) ---------------------------------------------------------------------------------

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"


def open_package(data: bytes) -> dict[str, ET.Element]:
    """Every file of a QTI package, parsed; the manifest's resources must name exactly its other files."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.testzip() is None
        files = {name: ET.fromstring(package.read(name)) for name in package.namelist()}
    manifest = files["imsmanifest.xml"]
    assert manifest.tag == CP + "manifest"
    resources = manifest.findall(f"{CP}resources/{CP}resource")
    assert all(r.get("type") == "imsqti_xmlv1p2" and r.get("href") == r.find(CP + "file").get("href")
               for r in resources)
    assert sorted(r.find(CP + "file").get("href") for r in resources) == sorted(set(files) - {"imsmanifest.xml"})
    return files


def metadata(item: ET.Element) -> dict[str, str]:
    return {f.find(QTI + "fieldlabel").text: f.find(QTI + "fieldentry").text
            for f in item.iter(QTI + "qtimetadatafield")}


def answer_ranges(item: ET.Element) -> list[tuple[str, float, float, float, str]]:
    """(score, exact value, low, high, feedback text) of each response condition, in order."""
    feedback = {f.get("ident"): f.find(f"{QTI}flow_mat/{QTI}material/{QTI}mattext").text
                for f in item.findall(QTI + "itemfeedback")}
    out = []
    for condition in item.findall(f"{QTI}resprocessing/{QTI}respcondition"):
        either = condition.find(f"{QTI}conditionvar/{QTI}or")
        exact = float(either.find(QTI + "varequal").text)
        low, high = (float(either.find(f"{QTI}and/{QTI}{tag}").text) for tag in ("vargte", "varlte"))
        out.append((condition.find(QTI + "setvar").text, exact, low, high,
                    feedback[condition.find(QTI + "displayfeedback").get("linkrefid")]))
    return out


def test_a_qti_package_holds_the_sheet_then_one_numerical_question_per_asked_value() -> None:
    trace = nnworked.solve("spam")
    files = open_package(render(trace, "qti", exercise=True, blanks="z1[0], dz2"))
    (name, assessment), = [(n, x) for n, x in files.items() if n != "imsmanifest.xml"]
    assert assessment.tag == QTI + "questestinterop"
    test = assessment.find(QTI + "assessment")
    assert name == test.get("ident") + ".xml" and test.get("title") == f"Spam filter: one training step ({name[:-4]})"
    items = test.findall(f"{QTI}section/{QTI}item")
    assert [metadata(i)["question_type"] for i in items] == ["text_only_question"] + ["numerical_question"] * 5
    assert [i.get("title") for i in items] == ["The exercise", "z₁[0]", "h[0]", "∂L/∂ŷ", "δ₂", "∂L/∂b₂"]
    assert [metadata(i)["points_possible"] for i in items] == ["0", "1", "1", "1", "1", "1"]
    sheet = items[0].find(f"{QTI}presentation/{QTI}material/{QTI}mattext").text
    assert "z₁[0] = (0.1 × 0.5) + (0.2 × 0.3) + 0.1 = <strong>? (z₁[0])</strong>" in sheet
    assert "0.21" not in sheet.split("z₁[1]")[0].split("Calculate each element")[1]  # the blank stays blank
    assert answer_ranges(items[1]) == [("100", 0.21, 0.20995, 0.21005, "Right: z₁[0]"),
                                       ("0", -0.21, -0.2105, -0.2095, "z₁[0]: the sign is flipped")]
    yhat = 1 / (1 + math.exp(-SPAM_SIGMOID_INPUT))
    delta = answer_ranges(items[4])
    assert [(score, words) for score, *_, words in delta] == [
        ("100", "Right: δ₂"), ("100", "Right: δ₂"), ("0", "δ₂: the sign is flipped (ŷ − y and y − ŷ confused)"),
        ("0", "δ₂: the activation's derivative forgotten (sigmoid′ not multiplied in) (∂L/∂ŷ given as δ)")]
    # right: −0.3806 ± half a unit of its fourth decimal, or −0.381 exactly; each mistake with grade's room
    for (_, exact, low, high, _), (value, room) in zip(delta, [(round(yhat - 1, 4), 0.00005), (round(yhat - 1, 3), 0),
                                                               (round(1 - yhat, 4), 0.0005),
                                                               (round(-1 / yhat, 4), 0.0005)]):
        assert exact == pytest.approx(value, abs=1e-11)
        assert (low, high) == (pytest.approx(value - room, abs=1e-11), pytest.approx(value + room, abs=1e-11))


def test_a_qti_package_is_written_to_a_file_all_or_nothing(tmp_path: Path) -> None:
    refused = cli("run", "spam", "--exercise", "--format", "qti")
    assert refused.returncode == 2 and ("qti is a binary format (a QTI package): give a file to write it to with "
                                        "--output, such as --output spam.zip") in " ".join(
        refused.stderr.replace("│", " ").split())
    nowhere = cli("run", "spam", "--exercise", "--format", "qti", "--output", str(tmp_path / "no" / "s.zip"))
    assert nowhere.returncode == 1 and list(tmp_path.iterdir()) == []
    assert cli("run", "spam", "--exercise", "--format", "qti", "--output", str(tmp_path / "s.zip")).returncode == 0
    assert open_package((tmp_path / "s.zip").read_bytes())


def test_generated_qti_packages_are_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        result = cli("generate", "spam", "--count", "3", "--seed", "9", "--format", "qti", "--combined",
                     "--output-dir", str(tmp_path / folder))
        assert result.returncode == 0, result.stderr
    data = (tmp_path / "a" / "questions.zip").read_bytes()
    assert data == (tmp_path / "b" / "questions.zip").read_bytes()
    assert len(open_package(data)) == 4  # the manifest and three assessments
