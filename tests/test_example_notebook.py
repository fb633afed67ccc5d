"""The example notebook a student would use (examples/nnworked-in-jupyter.ipynb), executed in a kernel as
Jupyter runs it: no cell fails, and each cell shows what the library gives for the same call (and the
numbers worked by hand in tests/test_check.py: spam's loss 0.4790, then 0.4493; ŷ = 0.6194)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import nnworked

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install '.[test]')")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install '.[test]')")
pytest.importorskip("torch", reason="PyTorch is not installed: the notebook's third part uses it (pip install torch)")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "nnworked-in-jupyter.ipynb"


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The executed notebook's code cells by their tag (run in a folder of their own)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path_factory.mktemp("notebook"))}})
    client.execute()
    out = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            (tag,) = cell.metadata["tags"]
            out[tag] = cell
    return out


def _result(cell: Any) -> dict[str, str]:
    (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    return result["data"]


def _printed(cell: Any) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def test_every_cell_runs_clean(cells: dict[str, Any]) -> None:
    assert list(cells) == ["run", "data", "check", "torch", "compare", "load", "magic"]
    for tag, cell in cells.items():
        assert [o.output_type for o in cell.outputs if o.output_type == "error"] == [], tag
        assert [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"] == [], tag


def test_the_walkthrough_shows_typeset(cells: dict[str, Any]) -> None:
    shown = _result(cells["run"])
    assert shown["text/html"] == nnworked.run("spam")._repr_html_()
    assert "0.4790" in shown["text/html"] and "<!DOCTYPE" not in shown["text/html"]
    assert _printed(cells["data"]) == "loss 0.4790, then 0.4493 after the update\n"


def test_the_students_numbers_are_marked(cells: dict[str, Any]) -> None:
    shown = _result(cells["check"])
    mine = {"z1[0]": 0.21, "z1[1]": 0.47, "ŷ": 0.6194, "dW2[0,0]": 0.0799}
    assert shown["text/markdown"] == nnworked.check("spam", mine)._repr_markdown_()
    assert shown["text/markdown"].startswith("**3 of 4 right** · Spam filter: one training step\n\nFirst wrong value: "
                                             "dW2[0,0] = 0.0799, expected −0.0799; likely the sign is flipped")


def test_the_pytorch_model_is_worked_and_agrees(cells: dict[str, Any]) -> None:
    assert "A PyTorch 2-2-1 network (BCELoss, SGD)" in _result(cells["torch"])["text/html"]
    printed = _printed(cells["compare"]).splitlines()
    assert printed[1] == "every gradient agrees to 1e-12: True"
    theirs, ours = printed[0].removeprefix("PyTorch's loss ").split(", nnworked's ")
    assert theirs == ours


def test_the_cell_magic_shows_its_scenario(cells: dict[str, Any]) -> None:
    line, yaml = cells["magic"].source.split("\n", 1)
    assert line == "%%nnworked --format markdown --detail brief --steps 3"
    expected = nnworked.run(yaml, steps=3).render("markdown", detail="brief")
    assert _result(cells["magic"])["text/markdown"] == expected
    assert "Two inputs, one neuron" in expected
