"""Moodle XML: the exercise sheet as one cloze question, one numerical field per asked value (where the
student works it), its tolerance following the scenario's rounding, grading's catalogue of mistakes as the
feedback on each field's wrong answers, and the answer key as the question's feedback.

Moodle's embedded-answers (cloze) syntax, which the tests parse back:
`{points:NUMERICAL:=value:tolerance#feedback~%0%wrong:tolerance#feedback}`; inside a field `}`, `#`, `~`,
`/`, `"` and `\\` are escaped with a backslash.
"""

from __future__ import annotations

import html as htmllib
import re

from nnworked.errors import NnworkedError
from nnworked.render import html
from nnworked.render.fields import Field, fields
from nnworked.render.numbers import machine
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from nnworked.trace import Trace

_FIELD = re.compile(r"\x02([^\x03]+)\x03")
# a blank that is not an answer field: html's own blank is an empty span, styled by the page's CSS, which
# Moodle drops, so `max(0, ?)` would read `max(0, )`
VISIBLE_BLANK = '<span class="blank">?</span>'


def _order(key: str) -> tuple:
    from nnworked.quantities import sort_key

    return sort_key(key)


def cdata(text: str) -> str:
    """`text` as CDATA: a `]]>` inside it (a scenario's description may hold one) would end the section
    early, so it is split across two."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _cloze_text(text: str) -> str:
    """Feedback text inside a cloze field: HTML-escaped, then the field's own syntax characters escaped."""
    escaped = htmllib.escape(text, quote=False)
    return re.sub(r'([\\}#~/"])', r"\\\1", escaped)


def cloze(field: Field, points: int = 1) -> str:
    """One numerical field: the right answer, then each catalogued mistake at 0%, each with its feedback."""
    right = "~".join(f"={machine(value)}:{machine(tolerance)}#" + _cloze_text(f"Right: {field.label}")
                     for value, tolerance in field.right)
    wrong = "".join(f"~%0%{machine(m.value)}:{machine(m.tolerance)}#" + _cloze_text(f"{field.label}: {m.what}")
                    for m in field.mistakes)
    return f"{{{points}:NUMERICAL:{right}{wrong}}}"


def category(path: str) -> str:
    """A category record: the questions after it are imported into `$course$/top/…/path`, a pool a quiz's
    random question can draw from. A `/` inside a name is written `//` (Moodle's escape)."""
    name = "/".join(part.replace("/", "//") for part in ["nnworked", path])
    return ('  <question type="category">\n'
            f"    <category><text>$course$/top/{htmllib.escape(name)}</text></category>\n"
            "  </question>\n")


def render(trace: Trace, settings: Settings) -> str:
    return quiz([question(trace, settings)])


def quiz(questions: list[str], pool: str = "") -> str:
    """Questions in one file that Moodle imports as a set (one per variant, say); with `pool`, into that
    category, from which a quiz's random question draws one per student."""
    head = category(pool) if pool else ""
    return '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + head + "".join(questions) + "</quiz>\n"


def question(trace: Trace, settings: Settings) -> str:
    blanks = settings.blanks
    if blanks is None:
        raise NnworkedError("a Moodle question needs blanks: add --exercise (and --blanks to choose them)")
    sheet = settings._replace(blanks=blanks._replace(answers=False, glyph="\x01", field="\x02{key}\x03"))
    key = settings._replace(blanks=blanks._replace(answers=True, glyph="\x01", field=""))
    # a brace in the text could start a cloze field of its own ({1:NUMERICAL:=…}): only ours may
    question = html.body(build(trace, sheet)).replace("{", "&#123;").replace(html.BLANK, VISIBLE_BLANK)
    by_key = {f.key: f for f in fields(trace, blanks.keys)}
    asked: list[str] = []

    def ask(name: str) -> str:
        if name in asked:  # asked once; elsewhere the value is a plain blank
            return VISIBLE_BLANK
        asked.append(name)
        return cloze(by_key[name], blanks.points)

    question = _FIELD.sub(lambda match: ask(match.group(1)), question)
    rest = sorted(blanks.keys - set(asked), key=_order)
    if rest:  # a value the layout shows only inside a matrix still gets its own field
        items = "".join(f"<li>{htmllib.escape(by_key[name].label)} = {ask(name)}</li>" for name in rest)
        question += f"\n<p>Also fill in:</p><ul>{items}</ul>"
    feedback = html.body(build(trace, key))
    title = f"{trace.scenario.title} ({blanks.variant})"
    return ('  <question type="cloze">\n'
            f"    <name><text>{htmllib.escape(title)}</text></name>\n"
            f'    <questiontext format="html"><text>{cdata(question)}</text></questiontext>\n'
            f'    <generalfeedback format="html"><text>{cdata(feedback)}</text></generalfeedback>\n'
            "    <penalty>0.3333333</penalty>\n    <hidden>0</hidden>\n"
            f"    <idnumber>{blanks.variant}</idnumber>\n  </question>\n")
