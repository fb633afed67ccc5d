"""An IMS QTI 1.2 package, as Canvas (and Blackboard, Brightspace) import it: a .zip holding
imsmanifest.xml and one assessment per variant.

An assessment opens with the exercise sheet (a text-only item: every blank a ?, each asked value marked
with the name its question asks for), then one numerical question per asked value: right as `grading.right_answers`
says, each catalogued mistake answered with its feedback, and the answer as the general feedback.
Canvas writes a numerical answer with a margin as `<or><varequal>v</varequal><and><vargte>v − t</vargte>
<varlte>v + t</varlte></and></or>`, and reads it back the same way; so does this.

The zip is written with fixed dates and in a fixed order: the same variants give the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape, quoteattr

from nnworked.errors import NnworkedError
from nnworked.render import html
from nnworked.render.fields import Field, fields
from nnworked.render.numbers import machine
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from nnworked.trace import Trace

QTI = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
_FIELD = re.compile(r"\x02([^\x03]+)\x03")


def render(trace: Trace, settings: Settings) -> bytes:
    return quiz([question(trace, settings)])


def question(trace: Trace, settings: Settings) -> str:
    """One variant's assessment (the file inside the package), as XML text."""
    blanks = settings.blanks
    if blanks is None:
        raise NnworkedError("a QTI package needs blanks: add --exercise (and --blanks to choose them)")
    asked = fields(trace, blanks.keys)
    label = {f.key: f.label for f in asked}
    sheet = settings._replace(blanks=blanks._replace(answers=False, glyph="\x01", field="\x02{key}\x03"))
    key = settings._replace(blanks=blanks._replace(answers=True, glyph="\x01", field=""))
    visible = '<span class="blank">?</span>'
    text = html.body(build(trace, sheet)).replace(html.BLANK, visible)
    text = _FIELD.sub(lambda m: f"<strong>? ({html.html.escape(label[m.group(1)], quote=False)})</strong>", text)
    ident = blanks.variant
    items = [_item(f"{ident}-sheet", "The exercise", "text_only_question", 0, text, html.body(build(trace, key)))]
    items += [_numerical(f"{ident}-{n}", field, blanks.points) for n, field in enumerate(asked, 1)]
    title = f"{trace.scenario.title} ({ident})"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<questestinterop xmlns="{QTI}">\n'
            f"  <assessment ident={quoteattr(ident)} title={quoteattr(title)}>\n"
            '    <section ident="root_section">\n' + "".join(items) +
            "    </section>\n  </assessment>\n</questestinterop>\n")


def _metadata(kind: str, points: float) -> str:
    return ("        <itemmetadata><qtimetadata>\n"
            f"          <qtimetadatafield><fieldlabel>question_type</fieldlabel><fieldentry>{kind}</fieldentry>"
            "</qtimetadatafield>\n"
            "          <qtimetadatafield><fieldlabel>points_possible</fieldlabel>"
            f"<fieldentry>{machine(points)}</fieldentry></qtimetadatafield>\n"
            "        </qtimetadata></itemmetadata>\n")


def _material(text: str) -> str:
    return f'<material><mattext texttype="text/html">{escape(text)}</mattext></material>'


def _item(ident: str, title: str, kind: str, points: float, text: str, feedback: str) -> str:
    return (f"      <item ident={quoteattr(ident)} title={quoteattr(title)}>\n" + _metadata(kind, points) +
            f"        <presentation>{_material(text)}</presentation>\n"
            f'        <itemfeedback ident="general_fb"><flow_mat>{_material(feedback)}</flow_mat></itemfeedback>\n'
            "      </item>\n")


def _within(value: float, tolerance: float) -> str:
    """The condition `value ± tolerance`, as Canvas writes an exact answer with a margin."""
    return (f'<or><varequal respident="response1">{machine(value)}</varequal><and>'
            f'<vargte respident="response1">{machine(value - tolerance)}</vargte>'
            f'<varlte respident="response1">{machine(value + tolerance)}</varlte></and></or>')


def _numerical(ident: str, field: Field, points: float) -> str:
    right = "".join('          <respcondition continue="No">\n'
                    f"            <conditionvar>{_within(value, tolerance)}</conditionvar>\n"
                    '            <setvar action="Set" varname="SCORE">100</setvar>\n'
                    '            <displayfeedback feedbacktype="Response" linkrefid="correct_fb"/>\n'
                    "          </respcondition>\n" for value, tolerance in field.right)
    wrong = "".join('          <respcondition continue="No">\n'
                    f"            <conditionvar>{_within(m.value, m.tolerance)}</conditionvar>\n"
                    '            <setvar action="Set" varname="SCORE">0</setvar>\n'
                    f'            <displayfeedback feedbacktype="Response" linkrefid="mistake{n}_fb"/>\n'
                    "          </respcondition>\n" for n, m in enumerate(field.mistakes, 1))
    feedback = [("general_fb", f"{field.label} = {machine(field.value)}"), ("correct_fb", f"Right: {field.label}")]
    feedback += [(f"mistake{n}_fb", f"{field.label}: {m.what}") for n, m in enumerate(field.mistakes, 1)]
    text = (f"<p>{html.html.escape(field.label, quote=False)} = ? (named {html.html.escape(field.key, quote=False)} in the exercise; "
            "as a decimal)</p>")
    return (f"      <item ident={quoteattr(ident)} title={quoteattr(field.label)}>\n" +
            _metadata("numerical_question", points) +
            f"        <presentation>{_material(text)}\n"
            '          <response_str ident="response1" rcardinality="Single"><render_fib fibtype="Decimal">'
            '<response_label ident="answer1"/></render_fib></response_str>\n'
            "        </presentation>\n"
            "        <resprocessing>\n"
            '          <outcomes><decvar maxvalue="100" minvalue="0" varname="SCORE" vartype="Decimal"/>'
            "</outcomes>\n" + right + wrong +
            "        </resprocessing>\n" +
            "".join(f"        <itemfeedback ident={quoteattr(name)}><flow_mat>{_material(html.html.escape(words, quote=False))}"
                    "</flow_mat></itemfeedback>\n" for name, words in feedback) +
            "      </item>\n")


def manifest(idents: list[str]) -> str:
    resources = "".join(f'    <resource identifier={quoteattr(ident)} type="imsqti_xmlv1p2" '
                        f"href={quoteattr(ident + '.xml')}>\n"
                        f"      <file href={quoteattr(ident + '.xml')}/>\n    </resource>\n" for ident in idents)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<manifest identifier="nnworked-{"-".join(idents)[:60]}" xmlns="{CP}">\n'
            "  <metadata><schema>IMS Content</schema><schemaversion>1.1.3</schemaversion></metadata>\n"
            "  <organizations/>\n  <resources>\n" + resources + "  </resources>\n</manifest>\n")


def quiz(assessments: list[str], pool: str = "") -> bytes:
    """The package: the manifest and each assessment (one per variant), as the bytes of a .zip. `pool` is
    Moodle's idea; a Canvas import makes one quiz per assessment, which a teacher may put in a bank."""
    idents = [re.search(r'<assessment ident="([^"]+)"', a).group(1) for a in assessments]  # type: ignore[union-attr]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in [("imsmanifest.xml", manifest(idents)),
                           *((f"{ident}.xml", a) for ident, a in zip(idents, assessments))]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # no clock: the same bytes every run
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            package.writestr(info, text.encode("utf-8"))
    return out.getvalue()
