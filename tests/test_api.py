"""The front door: `import nnworked` gives a notebook user the command line's results, exactly."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nnworked
from nnworked import bundled
from nnworked.cli import app

SPAM = (bundled.ROOT / "spam.yaml").read_text(encoding="utf-8")


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_front_door_names_what_it_offers() -> None:
    assert nnworked.__all__ == [
        "Checked", "ClassMarks", "Exercise", "Generated", "Marks", "NnworkedError", "ScenarioError", "Verification",
        "Walkthrough", "check", "exercise", "from_torch", "generate", "generate_roster", "grade", "grade_class",
        "load", "render", "run", "solve", "verify"]
    importlib.import_module("nnworked.sheets")  # an internal module named like a function would shadow it

    assert callable(nnworked.exercise) and callable(nnworked.verify) and callable(nnworked.generate)
    assert set(nnworked.__all__) <= set(dir(nnworked))


def test_importing_nnworked_stays_light() -> None:
    code = "import sys, nnworked; print(sorted(m for m in ('numpy', 'yaml', 'rich') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout == "[]\n"


def test_load_takes_a_name_a_path_yaml_text_or_a_dict(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(SPAM, encoding="utf-8")
    import yaml

    as_dict = yaml.safe_load(SPAM)
    loaded = [nnworked.load("spam"), nnworked.load(str(path)), nnworked.load(path), nnworked.load(SPAM),
              nnworked.load(as_dict)]
    titles = {s.title for s in loaded}
    assert titles == {"Spam filter: one training step"}
    weights = {json.dumps([l.weights.tolist() for l in s.layers]) for s in loaded}
    assert len(weights) == 1


def test_load_overrides_the_files_settings() -> None:
    scenario = nnworked.load("spam", steps=3, rounding="carry")
    assert (scenario.steps, scenario.rounding, scenario.precision) == (3, "carry", 4)
    with pytest.raises(TypeError, match="unknown options colour"):
        nnworked.load("spam", colour=True)


def test_a_scenario_error_carries_each_problem_with_its_place() -> None:
    text = SPAM.replace("activation: relu", "activation: rleu").replace("learning_rate: 0.1", "learning_rate: -1")
    with pytest.raises(nnworked.ScenarioError) as caught:
        nnworked.load(text)
    problems = [(p.path, p.line, p.column, p.message, p.hint) for p in caught.value.problems]
    assert [p[:3] for p in problems] == [("layers[0].activation", 14, 17), ("learning_rate", 21, 16)]
    assert problems[0][4] == "did you mean 'relu'?"


@pytest.mark.parametrize("name", ["spam", "house_price", "iris_softmax", "ai-by-hand/1-matrix-multiplication"])
@pytest.mark.parametrize("fmt", ["terminal", "markdown", "json", "latex", "html"])
def test_render_is_exactly_what_the_command_line_prints(name: str, fmt: str) -> None:
    walkthrough = nnworked.run(name, steps=2)
    assert walkthrough.render(fmt, detail="full") == cli("run", name, "--steps", "2", "--format", fmt,
                                                         "--detail", "full")


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
def test_a_sheet_and_its_key_are_what_the_command_line_prints(fmt: str) -> None:
    walkthrough = nnworked.run("ai-by-hand/6-seven-layers")
    options = dict(exercise=True, answers=True, seed=3, layout="ai-by-hand")
    assert walkthrough.render(fmt, **options) == cli("run", "ai-by-hand/6-seven-layers", "--exercise", "--answers",
                                                     "--seed", "3", "--layout", "ai-by-hand", "--format", fmt)


def test_data_is_the_json_object_and_jupyter_sees_markdown_and_html() -> None:
    walkthrough = nnworked.run("spam")
    assert walkthrough.data == json.loads(cli("run", "spam", "--format", "json"))
    assert walkthrough.data["steps"][0]["loss"] == pytest.approx(0.479005, abs=1e-6)
    assert walkthrough._repr_markdown_() == cli("run", "spam", "--format", "markdown")
    page = cli("run", "spam", "--format", "html")
    body = page.split('<section class="part">\n')[1].split("\n</section>")[0]
    shown = walkthrough._repr_html_()  # in a notebook: the page's body, styled inside its own <div>
    assert shown.startswith('<div class="nnworked-walkthrough">\n<style>') and f"<section>\n{body}\n</section>" in shown
    assert "<body" not in shown and "body {" not in shown and "<!DOCTYPE" not in shown
    assert repr(walkthrough) == "<Walkthrough 'Spam filter: one training step': 1 step(s)>"


def test_an_unknown_format_or_blanks_without_a_sheet_is_refused() -> None:
    walkthrough = nnworked.run("spam")
    with pytest.raises(nnworked.NnworkedError, match="unknown format 'docx'; choose from: terminal, markdown"):
        walkthrough.render("docx")
    with pytest.raises(nnworked.NnworkedError, match="exercise=True or answers=True"):
        walkthrough.render("markdown", blanks="all")


def test_exercise_gives_the_blanks_their_answers_and_both_documents() -> None:
    sheet = nnworked.exercise("ai-by-hand/6-seven-layers", seed=3)
    assert len(sheet.blanks) == 14 and sheet.variant.startswith("v-")
    assert sheet.answers["z1[1,1]"] == 4
    assert sheet.sheet("markdown") == cli("run", "ai-by-hand/6-seven-layers", "--exercise", "--seed", "3",
                                          "--format", "markdown")
    assert sheet.key() == cli("run", "ai-by-hand/6-seven-layers", "--answers", "--seed", "3")


def test_verify_and_grade_return_what_their_commands_print(tmp_path: Path) -> None:
    verification = nnworked.verify("spam")
    assert verification.ok and {c.name for c in verification.checks} >= {"W1", "b1", "W2", "b2"}
    assert verification.text() == CliRunner().invoke(app, ["verify", "spam"], env={"COLUMNS": "100"}).stdout
    marks = nnworked.grade("spam", {"ana": {"z1[0]": 0.21}, "ben": {"z1[0]": 0.3}}, blanks="z1[0]")
    assert [m.status for m in marks.results["ana"]] == ["correct", "missing"]
    assert marks.summary is not None and marks.summary["students"] == 2
    answers = tmp_path / "class.csv"
    answers.write_text("student,z1[0]\nana,0.21\nben,0.3\n", encoding="utf-8")
    assert marks.text() == cli("grade", "spam", str(answers), "--blanks", "z1[0]")


def test_generate_makes_variants_and_their_files() -> None:
    made = nnworked.generate("ai-by-hand/4-hidden-layer", count=2, seed=7, max_decimals=0)
    assert len(made.variants) == 2 and len({v.id for v in made.variants}) == 2
    files = made.files(format="markdown")
    assert sorted(files) == sorted(f"{v.id}{suffix}" for v in made.variants
                                   for suffix in (".yaml", ".marking-key.json", "-sheet.md", "-key.md"))
    assert made.listing() == cli("generate", "ai-by-hand/4-hidden-layer", "-n", "2", "--seed", "7",
                                 "--max-decimals", "0").replace("(--output-dir writes each variant's scenario, "
                                                                "sheet and key)\n", "")
    with pytest.raises(nnworked.NnworkedError, match="variants"):
        nnworked.generate("spam", count=5, attempts=1)


@pytest.mark.parametrize("fmt", ["terminal", "markdown", "json", "latex", "html"])
@pytest.mark.parametrize("layout", ["standard", "ai-by-hand"])
def test_a_run_that_keeps_only_step_1_in_full_renders_the_same_text(fmt: str, layout: str) -> None:
    full, light = nnworked.run("xor_batch", steps=6), nnworked.run("xor_batch", keep=1, steps=6)
    assert light.render(fmt, layout=layout) == full.render(fmt, layout=layout)
    assert light.render(fmt, exercise=True, answers=True) == full.render(fmt, exercise=True, answers=True)
    assert light.trace.losses == full.trace.losses


def test_the_steps_past_those_kept_hold_their_loss_alone() -> None:
    full, light = nnworked.solve("xor_batch", steps=6), nnworked.solve("xor_batch", keep=2, steps=6)
    assert isinstance(full.steps, tuple) and len(light.steps) == 6
    assert light.steps[1] is light.steps.kept[1]
    assert [len(s.backward) for s in light.steps] == [5, 5, 0, 0, 0, 0]
    assert [s.number for s in light.steps] == [1, 2, 3, 4, 5, 6]
    assert light.steps[-1].loss.value == full.steps[-1].loss.value
    assert light.steps[4].loss.yhat is None and light.steps[4].forward.linear == ()
    assert [s.number for s in light.steps[1:3]] == [2, 3]
    with pytest.raises(IndexError):
        light.steps[6]
    every = list(light.every_step())  # solved again, in full, for a consumer of every step (the JSON)
    assert [s.loss.value for s in every] == [s.loss.value for s in full.steps]
    assert all((a.new == b.new).all() for s, t in zip(every, full.steps) for a, b in zip(s.updates, t.updates))


def test_run_from_the_command_line_keeps_step_1_in_full_unless_all_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    real = nnworked.api.solve
    monkeypatch.setattr(nnworked.api, "solve", lambda *a, **k: seen.append(a[1]) or real(*a, **k))
    cli("run", "xor_batch", "--steps", "3")
    cli("run", "xor_batch", "--steps", "3", "--all-steps")
    assert seen == [1, None]


def test_every_step_is_rendered_only_from_a_trace_that_holds_every_step() -> None:
    with pytest.raises(nnworked.NnworkedError, match=r"^this trace holds only its first 1 step\(s\) in full: solve "
                       "with keep=None to render every step$"):
        nnworked.run("xor_batch", keep=1, steps=3).render("markdown", all_steps=True)
