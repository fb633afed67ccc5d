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


# ---- files written by run -o and generate -o: all or nothing, never the scenario itself --------------------

def usage_error(result: subprocess.CompletedProcess) -> str:
    """The message of a command-line mistake (exit 2), as one line: typer draws it in a box at width 100."""
    boxed = [line.strip().strip("│").strip() for line in result.stderr.splitlines() if line.startswith("│")]
    return " ".join(boxed)


def scenario_file(tmp_path: Path, name: str = "X.yaml", steps: int = 1) -> Path:
    path = tmp_path / name
    path.write_text(GOOD_NETWORK + f"steps: {steps}\n", encoding="utf-8")
    return path


def test_run_refuses_to_write_over_the_scenario_it_reads(tmp_path: Path) -> None:
    path = scenario_file(tmp_path)
    for output in ("X.yaml", "./X.yaml", str(path)):
        result = run_cli("run", "X.yaml", "-o", output, cwd=tmp_path)
        assert result.returncode == 2
        assert usage_error(result) == (f"Invalid value for '--output': writing {output} would replace the scenario "
                                       "it reads, X.yaml: give another file name")
    (tmp_path / "link.yaml").hardlink_to(path)  # another name for the same file
    assert run_cli("run", "X.yaml", "-o", "link.yaml", cwd=tmp_path).returncode == 2
    assert path.read_text(encoding="utf-8") == GOOD_NETWORK + "steps: 1\n"
    # nor with the loss chart that a markdown document of several steps writes beside itself
    scenario_file(tmp_path, "notes.loss.svg", steps=3)
    result = run_cli("run", "notes.loss.svg", "-f", "markdown", "-o", "notes.md", cwd=tmp_path)
    assert result.returncode == 2
    assert usage_error(result) == ("Invalid value for '--output': writing notes.loss.svg (the loss chart, written "
                                   "beside notes.md) would replace the scenario it reads, notes.loss.svg: give "
                                   "another file name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.yaml", "link.yaml", "notes.loss.svg"]


def test_run_writes_the_document_and_its_chart_or_neither(tmp_path: Path) -> None:
    scenario_file(tmp_path, steps=3)
    (tmp_path / "X.loss.svg").mkdir()  # the chart cannot be written: so the document is not either
    result = run_cli("run", "X.yaml", "-f", "markdown", "-o", "X.md", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "X.loss.svg: cannot write the file: it is a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.loss.svg", "X.yaml"]
    result = run_cli("run", "X.yaml", "-f", "markdown", "-o", "missing/X.md", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, "missing/X.md: cannot write the file: No such file or directory\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.loss.svg", "X.yaml"]
    result = run_cli("run", "X.yaml", "-o", "X.loss.svg", cwd=tmp_path)
    assert result.returncode == 2
    assert usage_error(result) == "Invalid value for '--output': 'X.loss.svg' is a folder: give the name of a file"


def test_write_all_removes_every_temporary_and_every_file_it_placed_when_one_fails(tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from nnworked import files
    from nnworked.errors import NnworkedError

    (tmp_path / "c.md").write_text("before")
    renamed = []

    def replace(source: str, target: str) -> None:
        if len(renamed) == 2:
            raise OSError(28, "No space left on device")
        os.rename(source, target)
        renamed.append(target)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(NnworkedError, match=r"c\.md: cannot write the file: No space left on device$"):
        files.write_all({str(tmp_path / name): name for name in ("a.md", "b.md", "c.md", "d.md")})
    assert len(renamed) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.md"]  # only what was there before
    assert (tmp_path / "c.md").read_text() == "before"


def test_generate_output_dir_that_is_a_file_or_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("mine")
    result = run_cli("generate", "spam", "-n", "2", "-o", "afile", cwd=tmp_path)
    assert result.returncode == 2
    assert usage_error(result) == ("Invalid value for '--output-dir': 'afile' is a file: give a folder (it is made "
                                   "if it does not exist)")
    result = run_cli("generate", "spam", "-n", "2", "-o", "afile/week3", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, "afile/week3: cannot make the folder: Not a directory\n")
    assert [p.name for p in tmp_path.iterdir()] == ["afile"] and (tmp_path / "afile").read_text() == "mine"


def test_a_failed_generate_leaves_no_file_and_no_folder_it_made(tmp_path: Path) -> None:
    week = tmp_path / "week3"
    (week / "v-0008c2-key.md").mkdir(parents=True)  # the last file of the second variant cannot be written
    result = run_cli("generate", "spam", "-n", "2", "-o", "week3", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, "week3/v-0008c2-key.md: cannot write the file: it is a folder\n")
    assert [p.name for p in week.iterdir()] == ["v-0008c2-key.md"]


def test_a_failed_rename_in_generate_removes_the_folders_it_made(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from typer.testing import CliRunner

    from nnworked import files
    from nnworked.cli import app

    calls = []

    def replace(source: str, target: str) -> None:
        calls.append(target)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        os.rename(source, target)

    monkeypatch.setattr(files.os, "replace", replace)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["generate", "spam", "-n", "2", "-o", "new/week3"])
    assert result.exit_code == 1
    assert len(calls) == 5 and list(tmp_path.iterdir()) == []


def test_generate_refuses_to_write_over_its_template(tmp_path: Path) -> None:
    # a template may have any name; here it is the name of the combined sheets generate writes
    template = tmp_path / "sheets.md"
    template.write_text(GOOD_NETWORK, encoding="utf-8")
    result = run_cli("generate", "sheets.md", "-n", "1", "--combined", "-o", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert usage_error(result) == ("Invalid value for '--output-dir': writing ./sheets.md would replace the "
                                   "scenario it reads, sheets.md: give another file name")
    assert [p.name for p in tmp_path.iterdir()] == ["sheets.md"] and template.read_text() == GOOD_NETWORK


# ---- command-line options: a mistake exits 2 with what is wrong, before any work -------------------------

SPAM_VALUES = "L, W1, W2, a1, a2, b1, b2, dW1, dW2, da1, da2, db1, db2, dz1, dz2, z1, z2"


def test_blanks_needs_a_sheet() -> None:
    result = run_cli("run", "spam", "--blanks", "forward")
    assert (result.returncode, result.stdout) == (2, "")
    assert usage_error(result) == ("Invalid value for '--blanks': it needs --exercise or --answers (it chooses "
                                   "which values a sheet leaves blank)")


def test_an_unknown_blank_is_a_command_line_mistake_with_the_values_there_are(tmp_path: Path) -> None:
    expected = ("Invalid value for '--blanks': there is no value 'dW3' in this scenario. Did you mean 'dW2'? Its "
                f"values are {SPAM_VALUES}, each alone (every cell) or with an index such as [0] or [0,1]; or give "
                "a rule: one-per-layer, forward, backward, all.")
    result = run_cli("run", "spam", "--exercise", "--blanks", "dW3", "-o", str(tmp_path / "sheet.txt"))
    assert result.returncode == 2 and usage_error(result) == expected
    assert list(tmp_path.iterdir()) == []
    result = run_cli("generate", "spam", "-n", "1", "--blanks", "dW3")  # checked also when nothing is written
    assert result.returncode == 2 and usage_error(result) == expected
    result = run_cli("run", "forward_only", "--exercise", "--blanks", "backward")
    assert result.returncode == 2 and usage_error(result) == (
        "Invalid value for '--blanks': the rule 'backward' leaves nothing blank in this scenario (a forward-only "
        "scenario has no gradients to ask for)")


def test_an_unknown_blank_recorded_in_a_file_is_the_files_mistake(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(GOOD_NETWORK + "exercise: {variant: v-000000, blanks: [dW3]}\n", encoding="utf-8")
    result = run_cli("run", str(path), "--exercise")
    assert result.returncode == 1
    assert result.stderr == (f"{path}: exercise.blanks: there is no value 'dW3' in this scenario. Did you mean "
                             f"'dW2'? Its values are {SPAM_VALUES}, each alone (every cell) or with an index such "
                             "as [0] or [0,1]; or give a rule: one-per-layer, forward, backward, all.\n")


@pytest.mark.parametrize("args, message", [
    (["generate", "spam", "--format", "bogus"],
     "Invalid value for '--format' / '-f': 'bogus' is not one of 'markdown', 'latex', 'html', 'moodle', 'qti'"),
    (["generate", "spam", "--within", "nan"], "Invalid value for '--within': expected a finite number above 0, given nan"),
    (["generate", "spam", "--within", "-1"], "Invalid value for '--within': expected a finite number above 0, given -1"),
    (["generate", "spam", "--within", "0"], "Invalid value for '--within': expected a finite number above 0, given 0"),
    (["generate", "spam", "--min-error", "nan"],
     "Invalid value for '--min-error': expected a finite number at least 0, given nan"),
    (["generate", "spam", "--min-error", "-0.1"],
     "Invalid value for '--min-error': expected a finite number at least 0, given -0.1"),
    (["generate", "spam", "--combined"], "Invalid value for '--combined': it needs --output-dir (it writes all the "
     "sheets into one document and all the keys into another)"),
    (["run", "spam", "--format", "moodle"], "Invalid value for '--format' / '-f': a Moodle question needs blanks: "
     "add --exercise (and --blanks to choose them)"),
    # a negative seed would give the sheet of its positive twin (Python seeds with |n|): refused instead
    (["generate", "spam", "--seed", "-5"], "Invalid value for '--seed': -5 is not in the range x>=0."),
    (["run", "spam", "--exercise", "--seed", "-5"], "Invalid value for '--seed': -5 is not in the range x>=0."),
    # the command line allows what a file allows, no more
    (["run", "spam", "--steps", "100001"], "Invalid value for '--steps': 100001 is not in the range 1<=x<=100000."),
    (["run", "spam", "--precision", "13"], "Invalid value for '--precision': 13 is not in the range 1<=x<=12."),
])
def test_options_out_of_range_exit_2_before_any_work(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert (result.returncode, result.stdout) == (2, "")
    assert usage_error(result) == message


def test_the_command_line_and_the_file_share_their_limits(tmp_path: Path) -> None:
    from nnworked import limits

    assert (limits.MIN_PRECISION, limits.MAX_STEPS, limits.MAX_PRECISION) == (1, 100_000, 12)
    assert problems(tmp_path, GOOD_NETWORK + "steps: 100001\n") == [
        "s.yaml:12:8: steps: steps must be a whole number from 1 to 100000 — expected 1 to 100000, given 100001"]
    assert run_cli("run", "spam", "--steps", "2", "--precision", "12", "-f", "json").returncode == 0


def test_zero_seed_and_zero_min_error_are_allowed() -> None:
    assert run_cli("generate", "spam", "-n", "1", "--seed", "0", "--min-error", "0").returncode == 0
    assert run_cli("run", "spam", "--exercise", "--seed", "0").returncode == 0


def test_generate_draws_new_matrices_for_a_matrix_product() -> None:
    from nnworked import bundled
    from nnworked.variants import Constraints, generate
    from nnworked.yamlsource import load_file

    report = generate(load_file(bundled.resolve("ai-by-hand/1-matrix-multiplication")), 5, seed=1,
                      style="integers", constraints=Constraints())
    assert len(report.variants) == 5
    products = {(str(v.scenario.matmul.a.tolist()), str(v.scenario.matmul.b.tolist())) for v in report.variants}
    assert len(products) == 5 and ("[[1.0, 1.0], [-1.0, 1.0]]", "[[1.0, 5.0, 2.0], [2.0, 4.0, 2.0]]") not in products
    for v in report.variants:  # the shapes stay; every number is a whole number from −3 to 3, none 0
        a, b = v.scenario.matmul.a, v.scenario.matmul.b
        assert a.shape == (2, 2) and b.shape == (2, 3)
        assert all(x == int(x) and 1 <= abs(x) <= 3 for x in [*a.ravel(), *b.ravel()])
