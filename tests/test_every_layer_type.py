"""Every registered layer type through the command line: each layout × each --detail level × each format of
nnworked.render's list, then --exercise, --answers and `grade` of an answer file. A combination exits 0
with a few exact lines, or, for a format that cannot hold a layer type yet, exits 1 with a message naming
the type; never a traceback. The text formats (terminal, Markdown, JSON, LaTeX, HTML) must hold every type.

It cannot go stale: a layer type added to LAYERS without a scenario here fails the first test, and the
layouts, levels and formats are read from the command line's own lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nnworked
from nnworked.choices import Detail, Layout
from nnworked.cli import app
from nnworked.render import FORMATS
from nnworked.rules.layers import LAYERS
from tests.test_ai_by_hand_norms import BLOCK

AVERAGE_FIRST = """title: Average pooling first
inputs:
  - [1, 2, 3, 0]
  - [4, 5, 6, 1]
  - [7, 8, 9, 0]
  - [2, 1, 0, 4]
targets: [[1]]
layers:
  - type: avg_pool
    size: 2
  - type: flatten
  - weights: [[0.1, 0.2, -0.1, 0.3]]
    bias: [0]
    activation: sigmoid
loss: binary_cross_entropy
learning_rate: 0.1
"""

TEXT = ("terminal", "markdown", "json", "latex", "html")  # every layer type must print in these

# scenario -> (its source, the lines every walkthrough of it holds whatever the layout and level (worked lines
# and results, each checked by hand or by a plain-numpy reference in the tests named), and the lines of each
# layout at each level)
BY_HAND = ("ai-by-hand", "brief"), ("ai-by-hand", "default"), ("ai-by-hand", "full")
SCENARIOS: dict[str, tuple[str, dict[tuple[str, str], tuple[str, ...]]]] = {
    # the windows' means 12/4, 10/4, 18/4 and 13/4, by hand; σ(1.325) = 0.7900 and δ = 0.79 − 1
    "average": (AVERAGE_FIRST, {
        ("standard", "brief"): ("a₂ = flatten(a₁) = [3, 2.5, 4.5, 3.25]", "δ₃ = ∂L/∂z₃ = −0.2100"),
        ("standard", "default"): ("a₁[0,0,0] = (1 + 2 + 4 + 5) / 4 = 12 / 4 = 3   (window rows 0–1, cols 0–1)",
                                  "ŷ = σ(1.325) = 1 / (1 + e^(−1.325)) = 1 / (1 + 0.2658) = 1 / 1.2658 = 0.7900"),
        **{key: ("a₁[0,1,1] = (9 + 0 + 0 + 4) / 4 = 13 / 4 = 3.25   (window rows 2–3, cols 2–3)",
                 "z₃ = [W₃ | b₃] · [a₂ ; 1]") for key in BY_HAND}}),
    # tests/test_cnn.py checks these numbers against the scenario's published source
    "cnn": ("cnn_edge", {
        ("standard", "brief"): ("a₃ = flatten(a₂) = [14, 14, 9, 9]", "ŷ = softmax(z₄) = [0.5915, 0.4085]"),
        ("standard", "default"): ("a₂[0,0,0] = max(0, 14, 0, 9) = 14   (window rows 0–1, cols 0–1: takes [0,0,1])",
                                  "a₂[0] = | 14  14 |"),
        **{key: ("a₂[0,0,0] = max(0, 14, 0, 9) = 14   (window rows 0–1, cols 0–1: takes [0,0,1])",
                 "∂L/∂a₃ = W₄ᵀ · ∂L/∂z₄   (the bias column takes no part)") for key in BY_HAND}}),
    # tests/test_ai_by_hand_norms.py checks these numbers against a plain-numpy reference
    "norms": (BLOCK, {
        ("standard", "brief"): ("a₂ = γ₂ × x̂₂ + β₂,   x̂₂ = (a₁ − μ₂) / √(σ²₂ + ε) = | −1.2247  −1.4495        0 |",
                                "a₅ = a₄ + a₁ = | 0.4767  1.1238   0.3995 |", "∂L/∂γ₂ = [1.7552, −1.1806, −0.4591]"),
        ("standard", "default"): ("μ₂[0] = (1 + 3 + 5) / 3 = 9 / 3 = 3", "a₃⁽²⁾[1] = 1 × 3.4495 × 2 = 6.8990",
                                  "∂L/∂a₄⁽²⁾[1] = 6.6908"),
        **{key: ("μ₂[0] = (1 + 3 + 5) / 3 = 9 / 3 = 3", "a₃[1,1] = 1 × 3.4495 × 2 = 6.8990",
                 "∂L/∂a₄[1,1] = 6.6908") for key in BY_HAND}}),
}
# tests/test_rnn.py checks h₃ and ŷ = 5.99720442 against the scenario's published source; the AI by Hand
# layout's sheets hold the standard layout's numbers (tests/test_ai_by_hand_sequences.py)
SCENARIOS["rnn"] = ("rnn_three_steps", {
    ("standard", "brief"): ("z₂ = W₂ · h = 5.99720442",),
    ("standard", "default"): ("h[2,0] = tanh(3.63397905) = 0.99860590",
                              "z₂ = (2 × 0.99860590) + (4 × 0.99999815) = 1.99721181 + 3.99999261 = 5.99720442"),
    **{key: ("h[0,2] = tanh(3.63397905) = 0.99860590", "z_t = [Wx₁ | Wh₁] · [x_t ; h_(t−1)]")
       for key in BY_HAND}})
SCENARIOS["rnn"][1][("standard", "full")] = SCENARIOS["rnn"][1][("standard", "default")]
# tests/test_lstm.py checks c and h against Aidan Gomez's worked example (0.78573: the post has 0.78572)
SCENARIOS["lstm"] = ("lstm_step", {
    ("standard", "brief"): ("h = h_t = o ⊙ tanh(c_t), c_t = f ⊙ c_{t−1} + i ⊙ g   (LSTM)",),
    ("standard", "default"): ("c₁[0,0,0] = (0.85195 × 0) + (0.96083 × 0.81775) = 0 + 0.78573 = 0.78573",),
    **{key: ("c₁[0,0] = (0.85195 × 0) + (0.96083 × 0.81775) = 0 + 0.78573 = 0.78573",
             "(rows: the gates i, f, g, o in PyTorch's order, 1 row each)") for key in BY_HAND}})
SCENARIOS["lstm"][1][("standard", "full")] = SCENARIOS["lstm"][1][("standard", "default")]
# tests/test_attention_scenarios.py checks these against Raimi Karim's illustrated self-attention
SCENARIOS["attention"] = ("attention_three_tokens", {
    ("standard", "brief"): ("h = self-attention(x) = | 1.9366  6.6831  1.5951 |",),
    ("standard", "default"): ("O₁[0,0] = (0.0634 × 1) + (0.4683 × 2) + (0.4683 × 2) = 0.0634 + 0.9366 + 0.9366 "
                              "= 1.9366",),
    **{key: ("Z₁[0,0] = (0.0634 × 1) + (0.4683 × 2) + (0.4683 × 2) = 0.0634 + 0.9366 + 0.9366 = 1.9366",
             "S₁ = K₁ᵀ · Q₁   (column i: query token i; row j: key token j)") for key in BY_HAND}})
SCENARIOS["attention"][1][("standard", "full")] = SCENARIOS["attention"][1][("standard", "default")]
SCENARIOS["average"][1][("standard", "full")] = SCENARIOS["average"][1][("standard", "default")]
SCENARIOS["cnn"][1][("standard", "full")] = SCENARIOS["cnn"][1][("standard", "default")]
SCENARIOS["norms"][1][("standard", "full")] = SCENARIOS["norms"][1][("standard", "default")]
for _layout in ("standard", "ai-by-hand"):  # --detail full derives the norms' backward rule (test_norm_derivations.py)
    SCENARIOS["norms"][1][(_layout, "full")] += (
        "∂L/∂xᵢ = ∂L/∂x̂ᵢ/σ − S₁/(M·σ) − x̂ᵢ·S₂/(M·σ) = (M·∂L/∂x̂ᵢ − S₁ − x̂ᵢ·S₂) / (M·σ)",)
LOSSES = {"average": "0.2357", "cnn": "0.5252", "norms": "34.4576", "rnn": "0.50279949", "lstm": "0.11491", "attention": "0.5390"}  # −ln 0.79; the others as their tests check


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each scenario as the command line takes it: a bundled name, or a file written here."""
    folder = tmp_path_factory.mktemp("scenarios")
    out = {}
    for name, (source, _) in SCENARIOS.items():
        if source.endswith("\n"):
            (folder / f"{name}.yaml").write_text(source, encoding="utf-8")
            source = str(folder / f"{name}.yaml")
        out[name] = source
    return out


def test_every_registered_layer_type_has_a_scenario_here() -> None:
    used = {layer.type for source, _ in SCENARIOS.values() for layer in nnworked.load(source).layers}
    assert sorted(set(LAYERS) - used) == []  # a new layer type: add a scenario that uses it above


def invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"nnworked {' '.join(args)} raised {result.exception!r}") from result.exception
    return result.exit_code, result.output


def refused(code: int, output: str, source: str) -> bool:
    """A format that cannot hold one of this scenario's layer types says so by name, and exits 1."""
    types = {layer.type for layer in nnworked.load(source).layers}
    return code == 1 and "Traceback" not in output and any(t in output for t in types)


@pytest.mark.parametrize("detail", [d.value for d in Detail])
@pytest.mark.parametrize("layout", [l.value for l in Layout])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_layout_detail_and_format(name: str, layout: str, detail: str, files: dict[str, str],
                                        tmp_path: Path) -> None:
    source, expected = files[name], SCENARIOS[name][1][(layout, detail)]
    for fmt, record in FORMATS.items():
        args = ["run", source, "--layout", layout, "--detail", detail, "--format", fmt, "--width", "100"]
        if record.needs_blanks:
            args.append("--exercise")
        if record.binary:
            args += ["--output", str(tmp_path / f"{name}.{record.extension}")]
        code, output = invoke(args)
        if code != 0:
            assert fmt not in TEXT and refused(code, output, source), (fmt, code, output)
            continue
        if fmt in ("terminal", "markdown"):
            lines = {line.strip() for line in output.splitlines()}
            assert [line for line in expected if line not in lines] == [], fmt
            assert "?" not in output  # no blank on a walkthrough
        elif fmt == "json":
            assert json.loads(output)["steps"][0]["loss"] == pytest.approx(float(LOSSES[name]), abs=5e-5)
        elif fmt in ("latex", "html"):
            assert LOSSES[name] in output, fmt
        elif record.binary:
            assert (tmp_path / f"{name}.{record.extension}").stat().st_size > 0
        elif fmt == "moodle":
            assert "{1:NUMERICAL:" in output
        else:
            assert output.strip(), fmt


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_exercise_answers_and_grade(name: str, files: dict[str, str], tmp_path: Path) -> None:
    source = files[name]
    sheet = nnworked.exercise(source, seed=2)
    for fmt, record in FORMATS.items():
        if not record.sheets:
            continue
        for mode in (["--exercise"], ["--answers"], ["--exercise", "--answers"]):
            for layout in ([l.value for l in Layout] if fmt in ("terminal", "markdown") else ["standard"]):
                args = ["run", source, "--seed", "2", "--layout", layout, "--format", fmt, *mode]
                if record.binary:
                    args += ["--output", str(tmp_path / f"{name}.{record.extension}")]
                code, output = invoke(args)
                if code != 0:
                    assert fmt not in TEXT and refused(code, output, source), (fmt, mode, code, output)
                    continue
                assert "from ? to" not in output  # a sentence holds no blank (the first loss may be one)
                if fmt == "terminal" and mode == ["--exercise"]:
                    assert output.startswith(f"Exercise · variant {sheet.variant} · fill in each ?")
    answers = tmp_path / "answers.yaml"
    answers.write_text("".join(f"{key}: {value!r}\n" for key, value in sheet.answers.items()), encoding="utf-8")
    code, output = invoke(["grade", source, str(answers), "--seed", "2"])
    count = len(sheet.answers)
    assert code == 0 and f"answers: {count} of {count}" in output, output
    first = sheet.blanks[0]
    answers.write_text(f"{first}: {sheet.answers[first] + 1!r}\n", encoding="utf-8")
    code, output = invoke(["grade", source, str(answers), "--seed", "2"])
    assert code == 0 and f"first wrong value: {first} = " in output, output


def test_a_sheet_that_hides_the_first_loss_asks_for_the_comparison_in_words() -> None:
    text = nnworked.run("cnn_edge").render("terminal", exercise=True, seed=2, columns=100)
    assert "    L = −ln(ŷ[0]) = −ln(?) = ?\n" in text  # ŷ[0] is a blank: the loss follows from it alone
    assert text.endswith("Work out the new loss too, and compare it with the L you worked out: did the step lower "
                         "it?\n")  # the next pass hides the new loss as the first step hides L
    assert "Loss decreased from 0.5252 to 0.3638!" in nnworked.run("cnn_edge").render("terminal", columns=100)


def test_why_matrices_takes_the_dense_layers_wherever_they_stand(files: dict[str, str]) -> None:
    norms = nnworked.run(files["norms"]).render("terminal", why_matrices=True, columns=100)
    section = norms.split("Why We Use Matrices")[1]
    assert "    W₁ (3×2) · x (2×1) → z₁ (3×1)   inner: 2 = 2 ✓\n" in section
    assert "    W₆ (1×3) · a₅ (3×1) → z₆ (1×1)   inner: 3 = 3 ✓\n" in section  # the norms between them: no product
    average = nnworked.run(files["average"]).render("terminal", why_matrices=True, columns=100)
    assert "    W₃ (1×4) · a₂ (4×1) → z₃ (1×1)   inner: 4 = 4 ✓\n" in average  # pooling first: no convolution
    assert "1 matrices and their biases" in average  # W₃ and b₃: pooling and flatten have no parameters


def test_a_hidden_gradient_passed_on_unchanged_reads_lhs_equals_blank(files: dict[str, str]) -> None:
    # ∂L/∂a₅ is blank, so ∂L/∂a₄ = ∂L/∂a₅ (the residual connection passes it on) is hidden with it
    text = nnworked.run(files["norms"]).render("terminal", exercise=True, blanks="da5[1,1]", columns=100)
    assert "    ∂L/∂a₄⁽²⁾[1] = ?\n" in text and "∂L/∂a₄⁽²⁾[1] = ? = ?" not in text
