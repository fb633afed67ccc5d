"""What a user writes, checked before anything runs: scenario values that are wrong or too deep, command-line
options out of range, and files written all or nothing (exit 1 for bad data, 2 for a bad command line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nnworked import scenario
from tests.test_errors import GOOD_NETWORK, problems


def load(tmp_path: Path, text: str) -> scenario.Scenario:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return scenario.load(str(path))


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnworked", *args], capture_output=True, text=True, cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "100"})


# ---- the scenario file ----------------------------------------------------------------------------------

def test_layers_written_empty_is_a_problem_with_its_place(tmp_path: Path) -> None:
    text = GOOD_NETWORK.split("layers:")[0] + "layers: null\nloss: binary_cross_entropy\n"
    assert problems(tmp_path, text) == ["s.yaml:3:9: layers: layers must be a list with one entry per layer — "
                                        "expected - weights: [[…]], given nothing"]
    result = run_cli("validate", str(tmp_path / "s.yaml"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("1 problem found:\n")


def test_targets_and_inputs_one_level_too_deep_are_refused_at_validation(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD_NETWORK.replace("targets: [[1]]", "targets: [[[1]]]"))
    assert found == ["s.yaml:2:12: targets[0][0]: each row of targets must hold numbers, not lists — expected a "
                     "number, given a list of 1 in row 1\n"
                     "    hint: one pair of brackets per row: [[1], [0]], not [[[1]], [[0]]]"]
    found = problems(tmp_path, GOOD_NETWORK.replace("inputs: [[0.5, 0.3]]", "inputs: [[0.5, [0.3]]]"))
    assert found == ["s.yaml:1:16: inputs[0][1]: each row of inputs must hold numbers, not lists — expected a "
                     "number, given a list of 1 in row 1\n"
                     "    hint: one pair of brackets per row: [[1], [0]], not [[[1]], [[0]]]"]
    # so run refuses it too, in every format, with exit 1
    for fmt in ("terminal", "json"):
        result = run_cli("run", str(tmp_path / "s.yaml"), "--format", fmt)
        assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr


def test_a_flat_list_of_targets_for_several_examples_gets_a_hint(tmp_path: Path) -> None:
    text = GOOD_NETWORK.replace("inputs: [[0.5, 0.3]]", "inputs: [[0.5, 0.3], [0.1, 0.2]]").replace(
        "targets: [[1]]", "targets: [1, 0]")
    assert problems(tmp_path, text) == [
        "s.yaml:2:10: targets: there are not as many targets as examples — expected 2 rows (one per example in "
        "inputs), given 1 row\n    hint: a flat list is one example: write one row per example, such as [[1], [0]]"]
