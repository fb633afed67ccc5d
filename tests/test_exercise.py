"""Exercise sheets and answer keys: chosen blanks, never given away, the same sheet for the same seed."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from nnworked import sheets
from nnworked.errors import NnworkedError
from nnworked.render.numbers import Blanks
from nnworked.render.settings import Settings
from nnworked.render.numbers import subscript
from tests.helpers import markdown, trace_of

AI = "ai-by-hand/"
G = "____"  # a blank in Markdown (the terminal prints ?)


def sheet(name: str, rule: str = "one-per-layer", seed: int = 1, answers: bool = False, **settings: object) -> str:
    trace = trace_of(name)
    keys = sheets.choose(trace, rule, seed)
    blanks = Blanks(keys, answers, sheets.variant(trace, keys))
    return markdown(name, Settings(blanks=blanks, **settings))  # type: ignore[arg-type]


def display(key: str) -> str:
    """z1[1,0] as the AI-by-Hand layout writes it: z₁[1,0]; dW2[0,1] as ∂L/∂W₂[0,1]."""
    kind, layer, index = re.match(r"^([a-zA-Z]+?)(\d*)(\[.*\])$", key).groups()
    symbol = (kind[1:] if kind.startswith("d") else kind) + subscript(layer)
    return ("∂L/∂" if kind.startswith("d") else "") + symbol + index


def test_one_per_layer_blanks_one_value_in_each_layer_and_its_activation() -> None:
    keys = sheets.choose(trace_of(AI + "6-seven-layers"), "one-per-layer", 3)
    assert sorted(k for k in keys if k.startswith("z")) == \
        ["z1[1,1]", "z2[0,1]", "z3[1,0]", "z4[1,1]", "z5[0,0]", "z6[0,0]", "z7[0,1]"]
    assert {k.replace("z", "a", 1) for k in keys if k.startswith("z")} == {k for k in keys if k.startswith("a")}


def test_the_same_seed_gives_the_same_sheet_and_the_key_shares_its_variant() -> None:
    first, again = sheet(AI + "6-seven-layers", seed=3), sheet(AI + "6-seven-layers", seed=3)
    assert first == again
    key = sheet(AI + "6-seven-layers", seed=3, answers=True)
    variant = re.search(r"variant (v-[0-9a-f]{6})", first).group(1)
    assert f"variant {variant}" in key.splitlines()[0]
    assert sheet(AI + "6-seven-layers", seed=4) != first


@pytest.mark.parametrize("name, rule, seed", [
    (AI + "6-seven-layers", "one-per-layer", 3), (AI + "7-backpropagation", "one-per-layer", 2),
    (AI + "7-backpropagation", "backward", 1), (AI + "5-batch", "forward", 1), ("spam", "one-per-layer", 5),
])
def test_every_blank_is_asked_on_the_sheet_and_answered_in_the_key(name: str, rule: str, seed: int) -> None:
    trace = trace_of(name)
    keys = sheets.choose(trace, rule, seed)
    # the pass after the update computes new values under the same names: it is not part of the exercise
    text = sheet(name, rule, seed, layout="ai-by-hand").split("## Next Forward Pass")[0]
    answered = sheet(name, rule, seed, answers=True, layout="ai-by-hand")
    values = sheets.quantities(trace)
    for key in keys:
        lhs = display(key) + " = "
        asked = [l for l in text.splitlines() if l.startswith(lhs)]
        for line in asked:
            crossing = line.endswith(f" = {G} → 0")  # ReLU crossing a blank out: still not answered
            assert line.endswith(f"= {G}") or crossing, line  # the sheet asks, and never answers
        if asked:
            marked = [l for l in answered.split("## Next Forward Pass")[0].splitlines()
                      if l.startswith(lhs) and "→" not in l]
            assert all(l.endswith("← answer") for l in marked), marked
    answers = answered.split("## Answers")[1]
    for key in keys:
        assert re.search(rf"\| {re.escape(key)} \| [^|]+ \|", answers), key
    assert text.count(G) >= len([k for k in keys if not k.startswith("a")])
    assert "← answer" not in text and "## Answers" not in text
    assert {k: values[k] for k in keys}  # every blank is a real value of the trace


def test_a_value_worked_from_a_blank_is_not_shown_either() -> None:
    text = sheet(AI + "7-backpropagation", seed=2, layout="ai-by-hand")
    # a₂[0] = 2 is blank: 1 × ? must not reappear as 2 in the next stage, nor be read back from the value
    # the line ends in (? + 4 − 7 = −1 gave it away until the line rule: such a line ends in a blank)
    assert "z₃[2] = (1 × ?) + (1 × 4) + (−7 × 1) = ? + 4 − 7 = ?".replace("?", G) in text
    assert "e^(z₃[0]) = e^(?) = ?".replace("?", G) in text and "Σ = ? + 20.1 + 0.4 = ?".replace("?", G) in text
    assert "**Result:** `ŷ = [?, 0.5, 0]`".replace("?", G) in text


def test_named_blanks() -> None:
    trace = trace_of("spam")
    keys = sheets.choose(trace, "z1[0], dW2", 1)
    assert keys == {"z1[0]", "a1[0]", "dW2[0,0]", "dW2[0,1]"}
    assert sheets.choose(trace, "W2[1]", 1) == {"W2[0,1]"}  # a one-row matrix may drop its row
    batch = trace_of(AI + "5-batch")
    assert sheets.choose(batch, "z1[0,1], z2[1,2]", 1) == {"z1[0,1]", "a1[0,1]", "z2[1,2]", "a2[1,2]"}
    with pytest.raises(NnworkedError, match=r"there is no value 'dW3' in this scenario\. Did you mean 'dW2'\?"):
        sheets.choose(trace, "dW3", 1)
    with pytest.raises(NnworkedError, match="leaves nothing blank"):
        sheets.choose(trace_of("forward_only"), "backward", 1)


def test_the_cli_prints_sheet_and_key_and_json_gives_nothing_away() -> None:
    def run(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "nnworked", "run", AI + "6-seven-layers", *args],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout

    sheet_text, key_text = run("--exercise", "--seed", "3"), run("--answers", "--seed", "3")
    assert sheet_text.splitlines()[0].startswith("Exercise · variant v-")
    assert key_text.splitlines()[0].startswith("Answer key · variant v-")
    data = json.loads(run("--exercise", "--seed", "3", "--format", "json"))
    assert set(data) == {"title", "exercise"} and "answers" not in data["exercise"]
    keyed = json.loads(run("--answers", "--seed", "3", "--format", "json"))
    assert keyed["exercise"]["variant"] == data["exercise"]["variant"]
    assert keyed["exercise"]["answers"]["z1[1,1]"] == 4 and keyed["exercise"]["answers"]["z7[0,1]"] == -18


def _wide_scenario(tmp_path, units: int) -> str:  # noqa: ANN001
    """Two inputs, `units` hidden ReLU units, one sigmoid output: every weight and bias written out."""
    weights = ", ".join(f"[{(i % 7 - 3) / 10}, {(i % 5 - 2) / 10}]" for i in range(units))
    bias = ", ".join(f"{(i % 3) / 10}" for i in range(units))
    out = ", ".join(f"{(i % 4 - 1) / 10}" for i in range(units))
    path = tmp_path / "wide.yaml"
    path.write_text(f"inputs: [[0.5, 0.3]]\ntargets: [[1]]\nlayers:\n  - weights: [{weights}]\n    bias: [{bias}]\n"
                    f"    activation: relu\n  - weights: [[{out}]]\n    activation: sigmoid\n"
                    "loss: binary_cross_entropy\nlearning_rate: 0.1\n", encoding="utf-8")
    return str(path)


def test_a_key_worked_in_full_lists_a_long_vector_element_by_element_in_the_summary(tmp_path) -> None:  # noqa: ANN001
    # one cell holding all of b₁ used to widen every row of the table to its length: output (and time)
    # grew with the square of the units
    path = _wide_scenario(tmp_path, 40)
    done = subprocess.run([sys.executable, "-m", "nnworked", "run", path, "--answers", "--blanks", "all",
                           "--format", "markdown"], capture_output=True, text=True, check=True)
    summary = done.stdout.split("### Summary of Updates")[1].split("\n\n")[1].splitlines()
    assert summary[:2] == ["| Parameter | Before | After |", "| --- | ---: | ---: |"]
    assert "| b₁[0] | 0 | 0 |" in summary
    assert summary[-1] == "| W₂[39] | 0.2 | 0.2049 |"
    assert "| b₁[39] | 0 | 0.00886 |" in summary
    assert len(summary) == 2 + 40 * 2 + 40 + 40
    assert max(len(line) for line in done.stdout.splitlines()) < 2000


def test_a_brief_sheet_blanks_the_gradients_it_asks_for() -> None:
    result = subprocess.run([sys.executable, "-m", "nnworked", "run", "spam", "--exercise", "--detail", "brief"],
                            capture_output=True, text=True, env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "∂L/∂W₂ = [?, −0.1789]" in lines  # dW2[0,0] is asked; dW2[0,1] is not
    assert "| ?  ? |" in lines and "−0.0799" not in result.stdout and "−0.1142" not in result.stdout
