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


def test_a_leaky_relu_slope_of_0_is_kept_and_gives_relu(tmp_path: Path) -> None:
    # CONTRACT: leaky_relu has slope 0.01 "unless the layer says otherwise"; 0 is the layer saying so
    from nnworked.engine.network import solve

    text = GOOD_NETWORK.replace("inputs: [[0.5, 0.3]]", "inputs: [[-0.5, -0.3]]")
    leaky = load(tmp_path, text.replace("activation: relu", "activation: {name: leaky_relu, slope: 0}"))
    assert leaky.layers[0].slope == 0.0
    relu = load(tmp_path, text)
    leaky_step, relu_step = solve(leaky).steps[0], solve(relu).steps[0]
    assert leaky_step.loss.value == relu_step.loss.value
    assert [u.new.tolist() for u in leaky_step.updates] == [u.new.tolist() for u in relu_step.updates]


def test_optimizer_settings_of_0_are_settings_and_each_has_its_range(tmp_path: Path) -> None:
    def with_optimizer(spec: str) -> str:
        return GOOD_NETWORK + f"optimizer: {spec}\n"

    assert load(tmp_path, with_optimizer("{name: momentum, momentum: 0}")).optimizer.get("momentum") == 0.0
    assert load(tmp_path, with_optimizer("{name: sgd, weight_decay: 0}")).optimizer.get("weight_decay") == 0.0
    assert load(tmp_path, with_optimizer("{name: adam, beta1: 0, beta2: 0}")).optimizer.params == \
        {"beta1": 0.0, "beta2": 0.0}
    assert problems(tmp_path, with_optimizer("{name: adam, beta1: 1, epsilon: 0}")) == [
        "s.yaml:12:32: optimizer.beta1: beta1 is out of range — expected 0 ≤ beta1 < 1, given 1\n"
        "    hint: the default is 0.9",
        "s.yaml:12:44: optimizer.epsilon: epsilon is out of range — expected epsilon > 0, given 0\n"
        "    hint: the default is 1e-08"]
    assert problems(tmp_path, with_optimizer("{name: sgd, weight_decay: -0.1}")) == [
        "s.yaml:12:38: optimizer.weight_decay: weight_decay is out of range — expected weight_decay ≥ 0, given -0.1\n"
        "    hint: the default is 0"]


def test_momentum_0_is_plain_sgd(tmp_path: Path) -> None:
    from nnworked.engine.network import solve

    sgd = solve(load(tmp_path, GOOD_NETWORK + "steps: 3\n"))
    momentum = solve(load(tmp_path, GOOD_NETWORK + "steps: 3\noptimizer: {name: momentum, momentum: 0}\n"))
    assert momentum.losses == sgd.losses


def test_a_description_that_is_not_text_is_a_problem_even_when_it_is_0(tmp_path: Path) -> None:
    assert problems(tmp_path, "description: 0\n" + GOOD_NETWORK) == [
        "s.yaml:1:14: description: the description must be text — expected text, given 0"]
    assert load(tmp_path, "description:\n" + GOOD_NETWORK).description == ""
