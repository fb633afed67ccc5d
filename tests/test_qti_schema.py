"""The QTI package's assessments against the IMS QTI 1.2 ASI schema itself (vendored in tests/schemas/ims,
see SOURCE.md there): every file `--format qti` writes, for a dense network, a normalisation layer, a
scenario under carry, and a combined package of generated variants."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

import nnworked
from nnworked.api import render
from tests.test_cli import cli

xmlschema = pytest.importorskip("xmlschema", reason="the test extra's xmlschema validates the QTI package")

SCHEMA = Path(__file__).parent / "schemas" / "ims" / "domainProfile_4" / "ims_qtiasiv1p2.xsd"


@pytest.fixture(scope="module")
def schema():  # noqa: ANN201
    return xmlschema.XMLSchema(str(SCHEMA))


def assessments(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name).decode("utf-8") for name in package.namelist() if name != "imsmanifest.xml"}


def errors(schema, text: str) -> list[str]:  # noqa: ANN001
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(text)]


@pytest.mark.parametrize("name, blanks", [("spam", "all"), ("batch_norm_step", "a2[0,0], dgamma2, da1[0,0]"),
                                          ("house_price", "all"), ("iris_softmax", "backward")])
def test_every_assessment_is_valid_qti_1_2(schema, name: str, blanks: str) -> None:  # noqa: ANN001
    files = assessments(render(nnworked.solve(name), "qti", exercise=True, blanks=blanks))
    assert len(files) == 1
    for text in files.values():
        assert errors(schema, text) == []


def test_a_combined_package_of_generated_variants_is_valid_qti_1_2(schema, tmp_path: Path) -> None:  # noqa: ANN001
    result = cli("generate", "spam", "--count", "3", "--seed", "9", "--format", "qti", "--combined",
                 "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    files = assessments((tmp_path / "questions.zip").read_bytes())
    assert len(files) == 3
    for text in files.values():
        assert errors(schema, text) == []


def test_the_schema_refuses_what_qti_1_2_does_not_allow(schema) -> None:  # noqa: ANN001
    # the check can fail: a numerical answer's bounds in the wrong order, or a condition QTI 1.2 lacks
    text = next(iter(assessments(render(nnworked.solve("spam"), "qti", exercise=True, blanks="z1[0]")).values()))
    assert "<vargte " in text and "<varlte " in text
    assert errors(schema, text.replace("<vargte ", "<vargreater ", 1).replace("</vargte>", "</vargreater>", 1))
    assert errors(schema, text.replace("<section ", "<part ", 1).replace("</section>", "</part>", 1))
