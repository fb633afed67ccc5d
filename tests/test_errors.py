"""Bad input: every problem at once, each with file:line:col, what was expected, what was given, a hint;
exit 1 and nothing else (no traceback, no half-written output)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nnworked import scenario
from nnworked.errors import ScenarioError


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        scenario.load(str(path))
    return [str(issue).replace(str(path), "s.yaml") for issue in caught.value.issues]


GOOD_NETWORK = """\
inputs: [[0.5, 0.3]]
targets: [[1]]
layers:
  - weights: [[0.1, 0.2], [0.3, 0.4]]
    bias: [0.1, 0.2]
    activation: relu
  - weights: [[0.5, 0.6]]
    bias: [0.1]
    activation: sigmoid
loss: binary_cross_entropy
learning_rate: 0.1
"""


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD_NETWORK)
    assert scenario.load(str(path)).trains


def test_every_problem_is_reported_at_once_with_its_place(tmp_path: Path) -> None:
    text = GOOD_NETWORK.replace("activation: relu", "activation: rleu").replace(
        "learning_rate: 0.1", "learning_rate: -0.1\nstepz: 3").replace("bias: [0.1, 0.2]", "bias: [0.1]")
    assert problems(tmp_path, text) == [
        "s.yaml:5:11: layers[0].bias: the bias of layer 1 does not fit its weights — expected 2 numbers "
        "(one per neuron), given 1",
        "s.yaml:6:17: layers[0].activation: unknown activation — expected one of linear, relu, leaky_relu, "
        "sigmoid, tanh, softmax, given the text 'rleu'\n    hint: did you mean 'relu'?",
        "s.yaml:11:16: learning_rate: the learning rate must be positive — expected a number above 0, given -0.1",
        "s.yaml:12:1: stepz: unknown key 'stepz' — expected one of title, description, input_names, inputs, "
        "targets, layers, loss, learning_rate, optimizer, steps, freeze, precision, rounding, layout, exercise, "
        "matmul, "
        "given 'stepz'\n    hint: did you mean 'steps'?",
    ]


def test_transposed_weights_get_a_hint(tmp_path: Path) -> None:
    text = GOOD_NETWORK.replace("[[0.1, 0.2], [0.3, 0.4]]", "[[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]").replace(
        "bias: [0.1, 0.2]", "bias: [0.1, 0.2]")
    found = problems(tmp_path, text)
    assert found[0] == ("s.yaml:4:14: layers[0].weights: the weights of layer 1 do not fit the inputs — "
                        "expected 2 columns (one per input), given 3 columns (2×3)\n"
                        "    hint: it looks transposed: write one row per neuron, one column per input")


def test_shapes_are_checked_against_each_other(tmp_path: Path) -> None:
    text = GOOD_NETWORK.replace("weights: [[0.5, 0.6]]", "weights: [[0.5, 0.6, 0.7]]").replace(
        "targets: [[1]]", "targets: [[1], [0]]")
    found = problems(tmp_path, text)
    assert found == ["s.yaml:2:10: targets: there are not as many targets as examples — expected 1 row (one "
                     "per example in inputs), given 2 rows",
                     "s.yaml:7:14: layers[1].weights: the weights of layer 2 do not fit layer 1 — expected 2 "
                     "columns (one per input), given 3 columns (1×3)\n    hint: layer 2 takes 2 inputs from layer 1"]
    found = problems(tmp_path, GOOD_NETWORK.replace("targets: [[1]]", "targets: [[1], [0]]"))
    assert found == ["s.yaml:2:10: targets: there are not as many targets as examples — expected 1 row (one "
                     "per example in inputs), given 2 rows"]
    found = problems(tmp_path, GOOD_NETWORK.replace("targets: [[1]]", "targets: [[1, 0]]"))
    assert found == ["s.yaml:2:10: targets: the targets do not fit the output layer — expected 1 number per row "
                     "(one per output), given 2 per row"]


def test_yaml_1_2_numbers_and_text(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD_NETWORK.replace("learning_rate: 0.1", "learning_rate: 1e-7"))
    assert scenario.load(str(path)).learning_rate == 1e-7
    found = problems(tmp_path, GOOD_NETWORK.replace("learning_rate: 0.1", "learning_rate: no"))
    assert found == ["s.yaml:11:16: learning_rate: the learning rate must be a number — expected a finite "
                     "number, given the text 'no'\n    hint: write numbers plainly, such as 0.1 or 1e-7"]


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD_NETWORK + "learning_rate: 0.2\n")
    assert found == ["s.yaml:12:1: learning_rate: the key 'learning_rate' appears twice — expected each key once, "
                     "given a second 'learning_rate'\n    hint: the first is on line 11; keep one"]


def test_tags_and_aliases_are_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD_NETWORK.replace("learning_rate: 0.1", "learning_rate: !!python/object:os.system 1"))
    assert found[0].startswith("s.yaml:11:16: learning_rate: tags are not allowed — expected a plain value, "
                               "given the tag tag:yaml.org,2002:python/object:os.system")
    bomb = "a: &a [1, 1]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"
    found = problems(tmp_path, bomb)
    assert all("anchors and aliases are not allowed" in f for f in found) and len(found) == 6


def test_deep_nesting_is_refused_before_the_parser_sees_it(tmp_path: Path) -> None:
    found = problems(tmp_path, "inputs: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert found == ["s.yaml:1:40: the nesting is too deep — expected at most 32 levels, given more than 32"]


def test_broken_yaml_says_where(tmp_path: Path) -> None:
    found = problems(tmp_path, "inputs: [[0.5, 0.3]\nlayers: []\n")
    assert found == ["s.yaml:2:1: this is not valid YAML: did not find expected ',' or ']' (while parsing a flow "
                     "sequence that starts at line 1, column 9)\n"
                     "    hint: check the indentation and the brackets just before this point"]


def test_non_numbers_and_ragged_rows(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD_NETWORK.replace("[[0.5, 0.6]]", '[[0.5, "x"]]'))
    assert found == ["s.yaml:7:21: layers[1].weights[0][1]: every entry of the weights of layer 2 must be a "
                     "number — expected a finite number, given the text 'x'"]
    found = problems(tmp_path, GOOD_NETWORK.replace("[[0.1, 0.2], [0.3, 0.4]]", "[[0.1, 0.2], [0.3]]"))
    assert found == ["s.yaml:4:27: layers[0].weights[1]: the rows of the weights of layer 1 have different "
                     "lengths — expected 2 numbers in every row, given 1 in row 2\n"
                     "    hint: every row needs one number per column"]


def test_loss_and_output_activation_must_fit(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD_NETWORK.replace("activation: sigmoid", "activation: linear"))
    assert found == ["s.yaml:9:17: layers[1].activation: binary_cross_entropy needs a sigmoid output layer — "
                     "expected sigmoid, given linear\n    hint: set the last layer's activation to sigmoid"]


def test_targets_without_loss_get_a_suggestion(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD_NETWORK.replace("loss: binary_cross_entropy\n", ""))
    assert found == ["s.yaml:1:1: targets are given but no loss — expected a loss: key, given none\n"
                     "    hint: for a sigmoid output, 'loss: binary_cross_entropy' is usual"]


def test_freeze_names_must_exist(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD_NETWORK + "freeze: [b1, W3]\n")
    assert found == ["s.yaml:12:14: freeze[1]: there is no parameter 'W3' — expected one of W1, b1, W2, b2, "
                     "given the text 'W3'\n    hint: parameters are named by layer, counting from 1: W1, b1, W2, …"]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnworked", *args], capture_output=True, text=True, cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "100"})


def test_the_cli_exits_1_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD_NETWORK.replace("activation: relu", "activation: rleu"))
    out = tmp_path / "out.md"
    result = run_cli("run", str(path), "--format", "markdown", "--output", str(out))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("1 problem found:\n" + f"{path}:6:17: layers[0].activation: unknown activation")
    assert "Traceback" not in result.stderr
    assert not out.exists() and not Path(f"{out}.partial").exists()


def test_overflow_is_explained_not_printed_as_inf(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("inputs: [[1000]]\nlayers:\n  - weights: [[1e300]]\n  - weights: [[1e300]]\n")
    result = run_cli("run", str(path))
    assert result.returncode == 1
    assert "the forward pass of step 1, at z2 overflowed" in result.stderr
    assert "inf" not in result.stdout + result.stderr.replace("undefined", "")
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr


def test_unknown_scenario_name_suggests_one() -> None:
    result = run_cli("run", "spm")
    assert result.returncode == 1
    assert result.stderr.strip() == "spm: no such file, and no bundled scenario of that name. Did you mean 'spam'?"


def test_a_wrong_command_line_exits_2() -> None:
    result = run_cli("run", "spam", "--format", "xml")
    assert result.returncode == 2
    assert "'xml' is not one of" in result.stderr


@pytest.mark.parametrize("digits", [309, 5000])
def test_an_integer_too_large_for_a_float_is_a_scenario_problem(tmp_path: Path, digits: int) -> None:
    # 309 digits overflow a float (OverflowError); over 4,300 Python refuses to read at all (ValueError)
    text = GOOD_NETWORK.replace("targets: [[1]]", "targets: [[" + "9" * digits + "]]")
    assert problems(tmp_path, text) == [
        f"s.yaml:2:12: targets[0][0]: this integer is too large to compute with — expected a number below about "
        f"1.8e308, given an integer of {digits} digits\n    hint: write it in scientific notation (e.g. 1.5e30); "
        "the largest usable number is about 1.8e308",
    ]


def test_precision_0_is_refused_by_the_file_and_the_command_line_alike(tmp_path: Path) -> None:
    # at 0 decimals 1.6145 prints as 2, and the sigmoid line would read 1 / 2 = 0.6
    assert problems(tmp_path, GOOD_NETWORK + "precision: 0\n") == [
        "s.yaml:12:12: precision: precision must be a whole number from 1 to 12 — expected 1 to 12, given 0",
    ]
    result = subprocess.run([sys.executable, "-m", "nnworked", "run", "spam", "--precision", "0"],
                            capture_output=True, text=True, env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and "Invalid value for '--precision': 0 is not in the range 1<=x<=12." in result.stderr
