"""`--format xlsx` under rounding: carry recalculates to the walkthrough's own digits.

A number the scenario gives is never rounded by the carried working, so a later sheet reads it as it is:
transformer_block's layer norm ε = 0.00001, made a carry variant here and recalculated by LibreOffice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nnworked import bundled
from tests.test_xlsx import SOFFICE, _formulas, _recalculated, _values, _write, needs_libreoffice

CARRIED = ["transformer_block"]


def _carry_variant(name: str, folder: Path) -> str:
    """The bundled scenario with `rounding: carry` added (none of them sets a rounding)."""
    text = Path(bundled.resolve(name)).read_text()
    assert "rounding:" not in text and text.endswith("\n"), name
    path = folder / f"{name}.yaml"
    path.write_text(text + "rounding: carry\n")
    return str(path)


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each carry variant's workbook, every step, recalculated in one run of LibreOffice."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui (.ci/run "
                    "installs it)")
    tmp = tmp_path_factory.mktemp("carry")
    sources = {name: _carry_variant(name, tmp) for name in CARRIED}
    files = {name: _write(source, tmp / f"{name}.xlsx", "--all-steps") for name, source in sources.items()}
    again = dict(zip(CARRIED, _recalculated([files[name] for name in CARRIED], tmp)))
    return {"sources": sources, "files": files, "again": again}


@needs_libreoffice
def test_a_given_number_is_copied_to_the_next_sheet_unrounded(recalculated: dict[str, Any]) -> None:
    """A layer norm's ε = 0.00001 is a number the scenario gives, which the carried working never rounds:
    the sheet after training reads it as it is (rounded to 4 places it was 0 there)."""
    files, again = recalculated["files"], recalculated["again"]
    assert _formulas(files["transformer_block"])[("After training", "B80")] == "='Step 1'!B80"
    assert _values(again["transformer_block"])[("After training", "B80")] == 1e-05
