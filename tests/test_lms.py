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
    assert z == [("=", "0.21", "0.0005", "Right: z₁[0]"), ("%0%", "-0.21", "0.0005", "z₁[0]: the sign is flipped")]
    assert a == [("=", "0.21", "0.0005", "Right: h[0]"), ("%0%", "-0.21", "0.0005", "h[0]: the sign is flipped")]
    assert [(g, float(v), t, f) for g, v, t, f in d] == [
        ("=", pytest.approx(delta, abs=1e-11), "0.0005", "Right: δ₂"),
        ("%0%", pytest.approx(-delta, abs=1e-11), "0.0005", "δ₂: the sign is flipped (ŷ − y and y − ŷ confused)"),
        ("%0%", pytest.approx(-1 / yhat, abs=1e-11), "0.0005",  # ∂L/∂ŷ, not times σ′
         "δ₂: the activation's derivative forgotten (sigmoid′ not multiplied in)")]
    # the feedback each wrong value gets is what `nnworked grade` says of that answer
    marks = nnworked.grade("spam", {"ann": {"dz2[0]": round(-1 / yhat, 4)}}, blanks="dz2").results["ann"]
    assert next(m for m in marks if m.key == "dz2[0]").note == "the activation's derivative forgotten (sigmoid′ not multiplied in)"


def test_a_number_keeps_its_exponent() -> None:
    trace = nnworked.solve({"inputs": [[1]], "layers": [{"weights": [[1.5e-10]]}]})
    fields = cloze_fields(question_text(render(trace, "moodle", exercise=True, blanks="z1")))
    # 1.5e-10 printed to 3 significant figures (1.50e-10): half a unit of its last decimal is 5e-13, and
    # under exact rounding one decimal fewer is accepted too
    assert fields[0][1][:2] == [("=", "1.5e-10", "5e-12", "Right: z₁"), ("%0%", "-1.5e-10", "5e-12", "z₁: the sign is flipped")]


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
