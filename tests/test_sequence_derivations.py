"""`--detail full` derives backpropagation through time and the attention backward with the scenario's own
numbers: each worked number of the new derivations against the plain-numpy references of the tests
(tests/sequence_reference.py, tests/lstm_reference.py, tests/attention_reference.py: none imports
nnworked), the layer norm and skip derivations for a sequence (transformer_block), the independent equation
checker over the derivations, a sheet hiding a derivation's numbers that follow from a blank, and the
derivations exactly as printed (golden files: the terminal at 100 columns without colour, and Markdown)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

import nnworked
from nnworked.attention_records import Attend, AttentionGradient
from nnworked.render.settings import Settings
from tests import equations as eq
from tests import attention_reference, lstm_reference
from tests.helpers import markdown, numbers, terminal, to_float, trace_of
from tests.sequence_reference import layer_norm_back, rnn_then_dense

GOLDEN = Path(__file__).parent / "golden"
FULL = Settings(detail="full")


def derivations(text: str, heading: str) -> str:
    """The text of one derivation: from its heading to the next derivation's (or the document's end)."""
    start = text.index(heading)
    marks = ("\nBackpropagation through", "\nThe attention backward", "\nWhere ∂L/∂γ", "\nWhere the three terms",
             "\nWhy a skip", "\nWhy the dropout", "\n## ")
    ends = [text.find(mark, start + len(heading)) for mark in marks]
    return text[start:min([e for e in ends if e > 0], default=len(text))]


def value(text: str, start: str) -> float:
    """The result of the worked line that starts with `start` (after the indent): its last number, after its
    continuation lines, before a trailing note set off by three spaces."""
    lines = text.splitlines()
    i = next(i for i, l in enumerate(lines) if l.strip().startswith(start))
    j = i + 1
    while j < len(lines) and lines[j].startswith(" " * 8) and lines[j].strip().startswith(("=", "−", "+")):
        j += 1
    last = lines[j - 1].strip().split("   (")[0]
    return to_float(numbers(last)[-1])


# ---- rnn ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rnn() -> str:
    return derivations(terminal("rnn_three_steps", FULL), "Backpropagation through time, derived (layer 1)")


def test_the_rnn_derivation_works_both_paths_tanh_and_each_steps_share_against_the_reference(rnn: str) -> None:
    s = trace_of("rnn_three_steps").scenario
    layer, dense = s.layers
    _, g = rnn_then_dense(layer.input_weights, layer.recurrent_weights, np.zeros(2), layer.initial_state, "last",
                          dense.weights, np.zeros(1), s.inputs, s.targets)
    g = {key: 0.5 * v for key, v in g.items()}  # the scenario's ½(ŷ − y)²: the reference's mse has no ½
    dz = g["dz"][0]
    hs = np.zeros((3, 2))
    h = np.zeros(2)
    for t in range(3):
        h = np.tanh(layer.input_weights @ s.inputs[0, t] + layer.recurrent_weights @ h)
        hs[t] = h
    # the last step: the output path alone, Vᵀ·∂L/∂ŷ; the step before: Whᵀ·δ_2 alone (return: last)
    yhat = dense.weights[0] @ hs[2]
    assert value(rnn, "∂L/∂h[2,0] =") == pytest.approx(dense.weights[0, 0] * (yhat - s.targets[0, 0]), abs=5e-9)
    assert value(rnn, "∂L/∂h[1,0] =") == pytest.approx(layer.recurrent_weights[:, 0] @ dz[2], abs=5e-9)
    assert value(rnn, "tanh′(z₁[2,0]) =") == pytest.approx(1 - hs[2, 0] ** 2, abs=5e-9)
    assert value(rnn, "δ₁[2,0] =") == pytest.approx(dz[2, 0], abs=5e-9)
    for t in range(3):
        sub = "₀₁₂"[t]
        assert value(rnn, f"(∂L/∂Wx₁[0,0])ₜ₌{sub} =") == pytest.approx(dz[t, 0] * s.inputs[0, t, 0], abs=5e-9)
        previous = hs[t - 1, 0] if t else 0.0
        assert value(rnn, f"(∂L/∂Wh₁[0,0])ₜ₌{sub} =") == pytest.approx(dz[t, 0] * previous, abs=5e-9)
    assert value(rnn, "∂L/∂Wx₁[0,0] =") == pytest.approx(g["Wx"][0, 0], abs=5e-9)
    assert value(rnn, "∂L/∂Wh₁[0,0] =") == pytest.approx(g["Wh"][0, 0], abs=5e-9)
    assert "    ∂L/∂h[1,0] = (1 × (−0.00558808)) + (3 × (−0.00001481)) = −0.00558808 − 0.00004444\n" in rnn
    assert "h_(−1) is the initial state: zero here, so step 0 adds nothing to the gradient of Wh₁" in rnn.replace("\n",
                                                                                                                 " ")


def test_a_sheet_hides_the_derivations_numbers_that_follow_from_a_blank() -> None:
    sheet = nnworked.run("rnn_three_steps").render("terminal", detail="full", exercise=True, blanks="dz1[0,2,0]",
                                                   columns=100)
    text = derivations(sheet, "Backpropagation through time, derived (layer 1)")
    assert "    ∂L/∂h[1,0] = (1 × ?) + (3 × (−0.00001481)) = ?\n" in text  # δ₁[2,0] is the blank
    assert "    δ₁[2,0] (dz1[0,2,0]) = −2.00559116 × (1 − 0.99860590²) = ?\n" in text
    assert "    (∂L/∂Wx₁[0,0])ₜ₌₂ = ? × 0.4 = ?\n" in text
    assert "    (∂L/∂Wx₁[0,0])ₜ₌₁ = −0.00127309 × 0.3 = −0.00038193\n" in text  # as the walkthrough shows it


# ---- lstm -----------------------------------------------------------------------------------------------

def test_the_lstm_derivation_works_the_cells_two_paths_the_gates_and_a_summed_weight_against_the_reference() -> None:
    text = derivations(terminal("lstm_step", FULL), "Backpropagation through an LSTM, derived (layer 1)")
    s = trace_of("lstm_step").scenario
    layer = s.layers[0]
    cache = lstm_reference.lstm_forward(s.inputs, lstm_reference.join(layer.input_weights, layer.recurrent_weights),
                                        layer.bias.reshape(-1), layer.h0, layer.c0)
    dh_out = cache["h"] - s.targets  # ½(h − y)² summed, through a dense layer of weight 1: ∂L/∂h = h − y
    r = lstm_reference.lstm_backward(cache, dh_out)
    assert value(text, "∂L/∂c₁[0,1,0] =") == pytest.approx(r["dc"][0, 1, 0], abs=5e-6)
    assert value(text, "∂L/∂c₁[0,0,0] =") == pytest.approx(r["dc"][0, 0, 0], abs=5e-6)
    i, f, g, o = (gate[0, 0] for gate in cache["gates"][1])
    dc, dh, c, c_prev = r["dc"][0, 1, 0], r["dh"][0, 1, 0], cache["c"][0, 1, 0], cache["c"][0, 0, 0]
    expected = {"i": (dc * g, dc * g * i * (1 - i)), "f": (dc * c_prev, dc * c_prev * f * (1 - f)),
                "g": (dc * i, dc * i * (1 - g ** 2)), "o": (dh * np.tanh(c), dh * np.tanh(c) * o * (1 - o))}
    for gate, (d_gate, d_z) in expected.items():
        assert value(text, f"∂L/∂{gate}₁[0,1,0] =") == pytest.approx(d_gate, abs=5e-6), gate
        assert value(text, f"∂L/∂z₁.{gate}[0,1,0] =") == pytest.approx(d_z, abs=5e-6), gate
    assert value(text, "∂L/∂Wx₁.i[0,0] =") == pytest.approx(r["dW"][0, 0], abs=5e-6)  # row 0: gate i, unit 0
    assert "    ∂L/∂z₁.g[0,1,0] = −0.06977 × (1 − 0.84980²) = −0.06977 × (1 − 0.72217) = −0.06977 × 0.27783\n" in text
    assert "    o (output gate): ∂h_t/∂o = tanh(c_t),   o = σ(z_o), so ∂o/∂z_o = o(1 − o)\n" in text


# ---- self-attention -------------------------------------------------------------------------------------

def _records(name: str) -> tuple[Attend, AttentionGradient]:
    step = trace_of(name).steps[0]
    return (next(r for r in step.forward.operations if isinstance(r, Attend)),
            next(r for r in step.backward if isinstance(r, AttentionGradient)))


def _reference(f: Attend, g: AttentionGradient, i: int) -> dict:
    """Head 0 of example 0, from attention_reference's forward, worked here with the full Jacobian."""
    wo = f.output_weights
    _, saved = attention_reference.forward(f.inputs, f.query_weights, f.key_weights, f.value_weights, wo, f.heads,
                                           f.causal, f.scaled)
    d_k = f.query_weights.shape[0] // f.heads
    q, k, v = (saved[key][0, :, :d_k] for key in ("q", "k", "v"))
    a = saved["weights"][0, 0]
    d_out = (g.gradient[0] if wo is None else g.gradient[0] @ wo)[:, :d_k]
    d_a = d_out @ v.T
    jacobian = np.diag(a[i]) - np.outer(a[i], a[i])
    d_logits = np.array([np.diag(a[r]) - np.outer(a[r], a[r]) for r in range(len(a))]) @ d_a[:, :, None]
    d_logits = d_logits[:, :, 0]
    d_scores = d_logits / math.sqrt(d_k) if f.scaled else d_logits
    grads = attention_reference.backward(f.inputs, f.query_weights, f.key_weights, f.value_weights, wo, f.heads,
                                         f.causal, f.scaled, g.gradient)
    return dict(a=a, jacobian=jacobian, d_logits=d_logits, d_scores=d_scores, dv=a.T @ d_out, d_a=d_a,
                dq=d_scores @ k, dk=d_scores.T @ q, grads=grads, d_concat=None if wo is None else g.gradient[0] @ wo)


def test_the_attention_derivation_works_one_rows_jacobian_and_every_gradient_against_the_reference() -> None:
    text = derivations(terminal("attention_three_tokens", FULL), "The attention backward, derived (layer 1)")
    f, g = _records("attention_three_tokens")
    r = _reference(f, g, 0)
    for j in range(3):
        for m in range(3):
            assert value(text, f"J[{j},{m}] =") == pytest.approx(r["jacobian"][j, m], abs=5e-5), (j, m)
    assert value(text, "∂L/∂S₁[0,0] = Σⱼ") == pytest.approx(r["d_logits"][0, 0], abs=5e-5)  # J applied
    assert value(text, "∂L/∂S₁[0,0] = a_0") == pytest.approx(r["d_logits"][0, 0], abs=5e-5)  # a ⊙ (g − a·g)
    assert value(text, "∂L/∂V₁[0,0] =") == pytest.approx(r["dv"][0, 0], abs=5e-5)
    assert value(text, "∂L/∂A₁[0,0] =") == pytest.approx(r["d_a"][0, 0], abs=5e-5)
    assert value(text, "∂L/∂Q₁[0,0] =") == pytest.approx(r["dq"][0, 0], abs=5e-5)
    assert value(text, "∂L/∂K₁[0,0] =") == pytest.approx(r["dk"][0, 0], abs=5e-5)
    for role in ("Q", "K", "V"):
        assert value(text, f"∂L/∂W{role}₁[0,0] =") == pytest.approx(r["grads"][f"W{role}"][0, 0], abs=5e-5), role
    assert "    a = A₁[0] = [0.0634, 0.4683, 0.4683]\n" in text
    assert "No 1/√d_k here (scaled: false)" in text and "No causal mask here (causal: false)" in text
    assert "One head here (heads: 1)" in text


def test_a_causal_two_head_block_derives_the_scaling_the_head_split_and_the_masks_zeros() -> None:
    full = terminal("transformer_block", FULL)
    text = derivations(full, "The attention backward, derived (layer 1)")
    f, g = _records("transformer_block")
    r = _reference(f, g, 1)  # row 0 of a causal layer attends to itself alone: the derivation works row 1
    assert "The numbers below are for head 0, row 1." in text.replace("\n", " ")
    for j in range(2):
        for m in range(2):
            assert value(text, f"J[{j},{m}] =") == pytest.approx(r["jacobian"][j, m], abs=5e-5), (j, m)
    assert value(text, "∂L/∂Ŝ₁,₀[1,0] = Σⱼ") == pytest.approx(r["d_logits"][1, 0], abs=5e-5)
    assert value(text, "∂L/∂S₁,₀[1,0] =") == pytest.approx(r["d_scores"][1, 0], abs=5e-5)  # ÷ √2
    assert value(text, "∂L/∂Q₁,₀[1,0] =") == pytest.approx(r["dq"][1, 0], abs=5e-5)
    assert value(text, "∂L/∂K₁,₀[0,0] =") == pytest.approx(r["dk"][0, 0], abs=5e-5)
    assert value(text, "∂L/∂concat[0,2] =") == pytest.approx(r["d_concat"][0, 2], abs=5e-5)  # head 1's first
    for role in ("Q", "K", "V", "O"):
        assert value(text, f"∂L/∂W{role}₁[0,0] =") == pytest.approx(r["grads"][f"W{role}"][0, 0], abs=5e-5), role
    for i, j in ((0, 1), (0, 2), (1, 2)):  # above the diagonal: weight 0 and gradient 0, from the trace
        assert f"    A₁,₀[{i},{j}] = 0,   ∂L/∂S₁,₀[{i},{j}] = 0   (j = {j} > i = {i})\n" in text
        assert g.scores_grad[0, 0, i, j] == 0 and r["d_scores"][i, j] == 0


def test_the_layer_norm_and_skip_derivations_work_a_sequences_first_position() -> None:
    full = terminal("transformer_block", FULL)
    text = derivations(full, "Where the three terms of ∂L/∂a₂ come from (layer normalisation, layer 3)")
    step = trace_of("transformer_block").steps[0]
    norm = next(r for r in step.forward.operations if type(r).__name__ == "Normalise")
    back = next(r for r in step.backward if type(r).__name__ == "NormBack")
    x, dy, gamma, eps = norm.inputs[0, 0], back.gradient[0, 0], norm.gamma, norm.epsilon
    m, mu = x.size, x.mean()
    sigma = math.sqrt(((x - mu) ** 2).mean() + eps)
    xhat, dxhat = (x - mu) / sigma, dy * gamma
    paths = [dxhat[0] / sigma, dxhat.sum() / (m * sigma), xhat[0] * (dxhat * xhat).sum() / (m * sigma)]
    found = [value(text, start) for start in ("through x̂:", "through μ:", "through σ²:")]
    np.testing.assert_allclose(found, paths, atol=5e-5)
    assert value(text, "∂L/∂a₂[0,0] from layer 3") == pytest.approx(layer_norm_back(x, gamma, eps, dy)[0], abs=5e-5)
    assert "an example's features at one position" in text
    scale = derivations(full, "Where ∂L/∂γ₃ and ∂L/∂β₃ come from (layer 3)")
    assert "    ∂L/∂γ₃[j] = Σₙ,ₜ ∂L/∂a₃[n,t,j] × x̂₃[n,t,j]\n" in scale
    assert value(scale, "∂L/∂γ₃[0] =") == pytest.approx((back.gradient[0, :, 0] * back.xhat[0, :, 0]).sum(), abs=5e-5)
    assert "Why a skip connection's gradient is the sum of its two paths (layer 2)" in full


# ---- every line checked, and the text exactly -------------------------------------------------------------

@pytest.mark.parametrize("name, heading", [("rnn_three_steps", "### Backpropagation through time, derived"),
                                           ("lstm_step", "### Backpropagation through an LSTM, derived"),
                                           ("attention_three_tokens", "### The attention backward, derived"),
                                           ("transformer_block", "### The attention backward, derived")])
def test_the_independent_checker_rechecks_every_equation_of_the_derivations(name: str, heading: str) -> None:
    document = markdown(name, FULL)
    places = eq.check_markdown(document).places
    section = document[document.index(heading):].split("\n## ")[0]
    report = eq.check_markdown(section, places=places)
    assert places is not None and report.equations >= 8, report.equations
    assert not report.failures, report.describe_failures()
    tampered = section.replace(" = −0.", " = −0.1", 1)  # one wrong result is caught
    assert eq.check_markdown(tampered, places=places).failures


GOLDEN_CASES = {
    "rnn_three_steps_derivations.txt": lambda: terminal("rnn_three_steps", FULL),
    "rnn_three_steps_derivations.md": lambda: markdown("rnn_three_steps", FULL),
    "lstm_step_derivations.txt": lambda: terminal("lstm_step", FULL),
    "lstm_step_derivations.md": lambda: markdown("lstm_step", FULL),
    "attention_three_tokens_derivations.txt": lambda: terminal("attention_three_tokens", FULL),
    "attention_three_tokens_derivations.md": lambda: markdown("attention_three_tokens", FULL),
}


def _derivations_section(text: str) -> str:
    """--detail full's own part: from the Derivations heading to the Key Takeaways (Markdown) or the end."""
    start = text.index("## Derivations") if "## Derivations" in text else text.index("Derivations ─")
    end = text.find("## Key Takeaways", start)
    return text[start:end if end > 0 else len(text)]


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_the_derivations_are_exactly_the_golden_file(name: str) -> None:
    """To accept a deliberate change: NNWORKED_UPDATE_GOLDEN=1 python -m pytest tests/test_sequence_derivations.py,
    then read the diff before committing it."""
    text = _derivations_section(GOLDEN_CASES[name]())
    path = GOLDEN / name
    if os.environ.get("NNWORKED_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_the_rest_of_the_document_is_the_default_walkthrough() -> None:
    """--detail full adds its derivations and changes nothing before them."""
    for name in ("rnn_three_steps", "lstm_step", "attention_three_tokens"):
        full, default = terminal(name, FULL), terminal(name)
        assert full[:full.index("Derivations ─")].rstrip() == default.rstrip(), name
