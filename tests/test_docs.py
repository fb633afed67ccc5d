"""docs/scenario-format.md, which the README points a newcomer to, documents every key the loader accepts.

Each key has its section, each name of the registries is mentioned, and each example is a valid scenario
(the full ones) or valid for its key (the snippets), so the page cannot fall behind the code unnoticed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nnworked import bundled, limits, scenario
from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.losses import LOSSES
from nnworked.engine.optimizers import OPTIMIZERS

OPTIMIZER_DEFAULTS = {name: dict(OPTIMIZERS[name].defaults) for name in OPTIMIZERS.names()}
from nnworked.rules.layers import LAYERS
from nnworked.yamlsource import load_text

REPOSITORY = Path(__file__).resolve().parent.parent
PAGE = (REPOSITORY / "docs" / "scenario-format.md").read_text(encoding="utf-8")
SECTIONS = dict(re.findall(r"^### (.+?)\n(.*?)(?=^##)", PAGE + "\n##", re.MULTILINE | re.DOTALL))
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def test_the_readme_points_to_the_page_and_the_schema() -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    assert "[docs/scenario-format.md](docs/scenario-format.md)" in readme
    assert "# yaml-language-server: $schema=scenario.schema.json" in readme
    assert "CONTRACT.md" not in readme


def test_every_key_has_its_section() -> None:
    documented = [key for heading in SECTIONS for key in re.findall(r"`(\w+)`", heading)]
    assert sorted(documented) == sorted(scenario.TOP_KEYS)


def test_every_key_is_in_the_table() -> None:
    table = re.findall(r"^\| `(\w+)` \|", PAGE.split("## The keys")[1].split("###")[0], re.MULTILINE)
    assert table == scenario.TOP_KEYS


def test_every_layer_key_loss_option_and_hyperparameter_is_described() -> None:
    layers = SECTIONS["`layers`"]
    assert [key for key in ["type", *LAYERS["dense"].keys] if f"- `{key}`" not in layers] == []
    loss = SECTIONS["`loss`"]
    assert [key for key in scenario.LOSS_KEYS if f"`{key}`" not in loss] == []
    optimizer = SECTIONS["`optimizer`"]
    for name, parameters in OPTIMIZER_DEFAULTS.items():
        row = next(line for line in optimizer.splitlines() if line.startswith(f"| `{name}` |"))
        assert [p for p in parameters if f"`{p}`" not in row] == [], name


def test_every_name_of_the_registries_is_on_the_page() -> None:
    names = [*ACTIVATIONS, *LOSSES, *OPTIMIZER_DEFAULTS, *scenario.ROUNDINGS, *scenario.LAYOUTS]
    assert [name for name in names if f"`{name}`" not in PAGE] == []


def test_the_limits_on_the_page_are_the_loaders() -> None:
    assert f"a whole number, {limits.MIN_PRECISION} to {limits.MAX_PRECISION}" in PAGE
    assert f"a whole number, 1 to {limits.MAX_STEPS}" in PAGE


def test_the_full_examples_are_valid_scenarios() -> None:
    full = [PAGE.split("## An example")[1], SECTIONS["`matmul`"]]
    for text in (YAML_BLOCK.search(part).group(1) for part in full):  # type: ignore[union-attr]
        scenario.from_document(load_text(text, "example.yaml"))


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_each_keys_example_is_valid_for_that_key(heading: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(bundled.SCHEMA.read_text(encoding="utf-8"))
    for key in ("if", "then", "else"):  # a snippet is one key, not a whole scenario
        schema.pop(key)
    examples = YAML_BLOCK.findall(SECTIONS[heading])
    assert examples, heading
    for text in examples:
        data = load_text(text, "snippet.yaml").data
        assert set(data) & set(re.findall(r"`(\w+)`", heading)), text
        assert [error.message for error in jsonschema.Draft7Validator(schema).iter_errors(data)] == []


# ---- the README's course week for teachers ---------------------------------------------------------------

README = (REPOSITORY / "README.md").read_text(encoding="utf-8")


def _course_week() -> list[tuple[str, list[str]]]:
    """Each `$ command` of the README's course week with the lines shown after it."""
    week = README[README.index("**A course week.**"):README.index("- **Templates.**")]
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```\n(.*?)```", week, re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
    return steps


def _shown(shown: list[str], printed: list[str]) -> bool:
    """Whether the printed lines are the shown ones, a line `...` standing for any run of lines."""
    if not shown:
        return not printed
    if shown[0] == "...":
        return any(_shown(shown[1:], printed[n:]) for n in range(len(printed) + 1))
    return bool(printed) and printed[0] == shown[0] and _shown(shown[1:], printed[1:])


def test_the_readmes_course_week_runs_as_shown(tmp_path: Path) -> None:
    import shlex
    import subprocess
    import sys

    from tests.test_cli import ENV

    steps = _course_week()
    assert [command.split()[:2] for command, _ in steps if command.startswith("nnworked")] == [
        ["nnworked", "generate"], ["nnworked", "generate"], ["nnworked", "generate"], ["nnworked", "grade"]]
    for command, shown in steps:
        words = shlex.split(command)
        if words[0] == "cat":  # a file the teacher has: written as shown
            (tmp_path / words[1]).write_text("\n".join(shown) + "\n", encoding="utf-8")
        elif words[0] == "head":
            lines = (tmp_path / words[2]).read_text(encoding="utf-8").splitlines()
            assert lines[:int(words[1][1:])] == shown, command
        else:
            assert words[0] == "nnworked", command
            result = subprocess.run([sys.executable, "-m", "nnworked", *words[1:]], capture_output=True, text=True,
                                    env=ENV, cwd=tmp_path)
            assert result.returncode == 0, (command, result.stderr)
            assert _shown(shown, result.stdout.splitlines()), (command, result.stdout)
    assert (tmp_path / "exam3" / "s003-sheet.html").exists()
    assert (tmp_path / "quiz3" / "questions.xml").exists() and (tmp_path / "marks" / "feedback-s003.html").exists()
