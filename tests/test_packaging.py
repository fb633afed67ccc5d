"""The bundled scenarios live in the top-level folder scenarios/ and are installed inside the package.

Building a wheel needs the network for its build environment, so these tests check what the wheel is built
from: pyproject.toml lists every package and maps `nnworked.scenarios` to scenarios/, whose every file its
package-data patterns take. (A wheel built from this tree was installed into a fresh virtual environment
and `nnworked run spam` and `nnworked list` run from /tmp when the folder moved.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nnworked import bundled

REPOSITORY = Path(__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the check is the same on every version
SETUPTOOLS = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_a_source_checkout_finds_the_scenarios_in_the_top_level_folder() -> None:
    assert bundled.ROOT == REPOSITORY / "scenarios"
    assert not (REPOSITORY / "nnworked" / "scenarios").exists()
    assert "spam" in bundled.names()


def test_the_scenarios_folder_is_installed_as_the_package_nnworked_scenarios() -> None:
    assert SETUPTOOLS["package-dir"] == {"nnworked.scenarios": "scenarios"}
    assert "nnworked.scenarios" in SETUPTOOLS["packages"]


def test_every_package_of_the_source_is_listed_for_the_wheel() -> None:
    # the list is explicit (a find would not see the mapped folder): a new subpackage must be added to it
    found = {".".join(p.parent.relative_to(REPOSITORY).parts) for p in (REPOSITORY / "nnworked").rglob("__init__.py")}
    assert set(SETUPTOOLS["packages"]) == found | {"nnworked.scenarios"}


def test_every_file_in_the_scenarios_folder_is_package_data() -> None:
    shipped = {p for pattern in SETUPTOOLS["package-data"]["nnworked.scenarios"] for p in bundled.ROOT.glob(pattern)}
    present = {p for p in bundled.ROOT.rglob("*") if p.is_file()}
    assert shipped == present
    assert bundled.SCHEMA in shipped
