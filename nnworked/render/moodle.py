"""Moodle XML: the exercise sheet as one cloze question, one numerical field per asked value (where the
student works it), its tolerance following the scenario's rounding, and the answer key as feedback."""

from __future__ import annotations

import re

from nnworked.errors import NnworkedError
from nnworked.grading import tolerance
from nnworked.render import html
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from nnworked.trace import Trace

_FIELD = re.compile(r"\x02([^\x03]+)\x03")


def _order(key: str) -> tuple:
    from nnworked.quantities import sort_key

    return sort_key(key)


def _number(value: float) -> str:
    return repr(round(value, 12)).rstrip("0").rstrip(".") if "." in repr(round(value, 12)) else repr(value)


def render(trace: Trace, settings: Settings) -> str:
    return quiz([question(trace, settings)])


def quiz(questions: list[str]) -> str:
    """Questions in one file that Moodle imports as a set (one per variant, say)."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "".join(questions) + "</quiz>\n"


def question(trace: Trace, settings: Settings) -> str:
    from nnworked.quantities import table

    blanks = settings.blanks
    if blanks is None:
        raise NnworkedError("a Moodle question needs blanks: add --exercise (and --blanks to choose them)")
    values = table(trace).values
    sheet = settings._replace(blanks=blanks._replace(answers=False, glyph="\x01", field="\x02{key}\x03"))
    key = settings._replace(blanks=blanks._replace(answers=True, glyph="\x01", field=""))
    # a brace in the text could start a cloze field of its own ({1:NUMERICAL:=…}): only ours may
    question = html.body(build(trace, sheet)).replace("{", "&#123;")
    asked: list[str] = []

    def ask(name: str) -> str:
        if name in asked:  # asked once; elsewhere the value is a plain blank
            return html.BLANK
        asked.append(name)
        value = values[name]
        return "{1:NUMERICAL:=" + _number(value) + ":" + _number(tolerance(value, trace)) + "#" + name + "}"

    question = _FIELD.sub(lambda match: ask(match.group(1)), question)
    rest = sorted(blanks.keys - set(asked), key=_order)
    if rest:  # a value the layout shows only inside a matrix still gets its own field
        items = "".join(f"<li><code>{name}</code> = {ask(name)}</li>" for name in rest)
        question += f"\n<p>Also fill in:</p><ul>{items}</ul>"
    feedback = html.body(build(trace, key))
    title = f"{trace.scenario.title} ({blanks.variant})"
    return ('  <question type="cloze">\n'
            f"    <name><text>{html.html.escape(title)}</text></name>\n"
            f'    <questiontext format="html"><text><![CDATA[{question}]]></text></questiontext>\n'
            f'    <generalfeedback format="html"><text><![CDATA[{feedback}]]></text></generalfeedback>\n'
            "    <penalty>0.3333333</penalty>\n    <hidden>0</hidden>\n"
            f"    <idnumber>{blanks.variant}</idnumber>\n  </question>\n")
