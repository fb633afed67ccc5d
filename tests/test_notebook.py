"""Jupyter: `%load_ext nnworked` and the %%nnworked cell magic (a scenario's YAML in the cell, the options
of `nnworked run` on its line), and what a notebook shows for it."""

from __future__ import annotations

from pathlib import Path

import pytest

import nnworked

IPython = pytest.importorskip("IPython", reason="IPython is not installed (pip install ipykernel)")
from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

YAML = Path(__file__).resolve().parents[1].joinpath("scenarios", "spam.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "nnworked")
    return shell


def _shown(shell: InteractiveShell, obj: object) -> dict[str, str]:
    data, _ = shell.display_formatter.format(obj)
    return data


def test_the_cell_is_a_scenario_and_the_line_takes_runs_options(shell: InteractiveShell) -> None:
    shown = shell.run_cell_magic("nnworked", "--format markdown --detail full --steps 2", YAML)
    expected = nnworked.run(YAML, steps=2).render("markdown", detail="full")
    data = _shown(shell, shown)
    assert sorted(data) == ["text/markdown", "text/plain"]
    assert data["text/markdown"] == expected
    assert data["text/plain"] == expected.rstrip("\n")  # IPython drops the last newline


def test_without_a_format_the_cell_shows_the_typeset_walkthrough(shell: InteractiveShell) -> None:
    shown = shell.run_cell_magic("nnworked", "", YAML)
    walkthrough = nnworked.run(YAML)
    data = _shown(shell, shown)
    assert sorted(data) == ["text/html", "text/plain"]
    assert data["text/html"] == walkthrough._repr_html_()
    assert data["text/plain"] == walkthrough.render("terminal").rstrip("\n")
    assert shown.walkthrough.data == walkthrough.data


def test_a_text_format_shows_as_text(shell: InteractiveShell) -> None:
    data = _shown(shell, shell.run_cell_magic("nnworked", "-f json", "spam"))  # one line: a bundled name
    assert sorted(data) == ["text/plain"] and data["text/plain"] == nnworked.run("spam").render("json").rstrip("\n")


def test_a_sheet_and_its_key(shell: InteractiveShell) -> None:
    shown = shell.run_cell_magic("nnworked", "--exercise --answers --blanks 'z1[0]' --format html", YAML)
    html = _shown(shell, shown)["text/html"]
    assert html.count("<section>") == 2 and '<span class="blank"></span>' in html and 'class="answer"' in html
    exam = shell.run_cell_magic("nnworked", "--exam --format markdown", YAML)
    assert exam.text == nnworked.run(YAML).render("markdown", exercise=True, reveal="none")


def test_the_output_option_writes_the_files(shell: InteractiveShell, tmp_path: Path) -> None:
    path = tmp_path / "spam.md"
    written = shell.run_cell_magic("nnworked", f"--format markdown --steps 3 --output {path}", YAML)
    assert repr(written) == f"wrote {path}, {tmp_path / 'spam.loss.svg'}, {tmp_path / 'spam-network.svg'}"
    assert path.read_text(encoding="utf-8") == nnworked.run(YAML, steps=3).files("markdown", str(path))[str(path)]


@pytest.mark.parametrize("line,cell,message", [
    ("--format docx", YAML, "Invalid value for '--format' / '-f': 'docx' is not one of 'terminal', 'markdown'"),
    ("--steps 0", YAML, "Invalid value for '--steps': 0 is not in the range 1<=x<="),
    ("--colour", YAML, "No such option: --colour"),
    ("", "   \n", "the cell holds no scenario: write its YAML below %%nnworked (or a bundled name, such as spam)"),
    ("", "inputs: [[1, 2]]\nlayers: []\n", "1 problem found:\n<text>:2:9: layers: "),
    ("--blanks z1", YAML, "blanks and reveal are for an exercise sheet"),
    ("--exam --reveal guided", YAML, "an exam reveals nothing computed from a blank: leave out --reveal guided"),
])
def test_a_mistake_is_a_message_never_a_traceback(shell: InteractiveShell, line: str, cell: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        shell.run_cell_magic("nnworked", line, cell)
    assert str(raised.value).startswith(message), str(raised.value)


def test_a_magic_cell_runs_in_the_shell_as_a_student_types_it(shell: InteractiveShell) -> None:
    result = shell.run_cell(f"%%nnworked --format markdown\n{YAML}", store_history=False)
    assert result.success and result.result.text == nnworked.run(YAML).render("markdown")
    failed = shell.run_cell("%%nnworked --steps 0\nspam", store_history=False)
    assert not failed.success and isinstance(failed.error_in_exec, UsageError)
