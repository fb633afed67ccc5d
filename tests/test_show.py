"""`nnworked show NAME`: a bundled scenario's YAML exactly as it ships, to copy and change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnworked import bundled

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "100"}


def nnworked(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnworked", *args], capture_output=True, env=ENV, cwd=cwd)


@pytest.mark.parametrize("name", ["spam", "ai-by-hand/5-batch"])
def test_show_prints_the_file_byte_for_byte(name: str) -> None:
    result = nnworked("show", name)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == (bundled.ROOT / f"{name}.yaml").read_bytes()


def test_what_show_prints_is_a_scenario_to_change(tmp_path: Path) -> None:
    copy = tmp_path / "mine.yaml"
    copy.write_bytes(nnworked("show", "house_price").stdout)
    result = nnworked("validate", str(copy))
    assert result.returncode == 0
    assert result.stdout.decode() == f"{copy}: OK — a 2-2-1 network, 1 example, trains 1 step\n"


def test_a_mistyped_name_gets_the_closest_bundled_name() -> None:
    result = nnworked("show", "spamm")
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr.decode() == "spamm: no bundled scenario of that name. Did you mean 'spam'?\n"


def test_a_name_like_none_points_to_the_list() -> None:
    result = nnworked("show", "perceptron")
    assert result.returncode == 1
    assert result.stderr.decode() == \
        "perceptron: no bundled scenario of that name. `nnworked list` shows the bundled scenarios.\n"


def test_show_takes_only_bundled_names_not_paths(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("inputs: [[1]]\nlayers: [{weights: [[1]]}]\n", encoding="utf-8")
    result = nnworked("show", "mine", cwd=str(tmp_path))
    assert result.returncode == 1 and result.stdout == b""
    assert nnworked("show", "../pyproject").returncode == 1


def test_show_without_a_name_is_a_command_line_error() -> None:
    result = nnworked("show")
    assert result.returncode == 2
    assert "Missing argument 'NAME'" in result.stderr.decode()


def test_show_does_not_import_numpy() -> None:
    code = ("import sys, runpy; sys.argv = ['nnworked', 'show', 'spam'];\n"
            "try: runpy.run_module('nnworked', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print('NUMPY' if 'numpy' in sys.modules else 'CLEAN', file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert result.stderr == "CLEAN\n"


def test_show_has_help_with_an_example() -> None:
    result = nnworked("show", "--help")
    assert result.returncode == 0
    assert "nnworked show spam > my_network.yaml" in result.stdout.decode()
