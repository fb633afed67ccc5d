"""Grading: tolerances that follow the rounding, errors carried forward, the catalogue of likely mistakes."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnworked
from nnworked import sheets
from nnworked.answers import read as read_answers
from nnworked.grading import grade, parse, summary
from tests.helpers import trace_of


def marks_for(name: str, rule: str, changes: dict[str, float], **options: object) -> dict[str, object]:
    trace = trace_of(name, **options)
    keys = sheets.choose(trace, rule, 1)
    values = sheets.quantities(trace)
    answers = {k: round(values[k], trace.precision.decimals_for(values[k])) for k in keys}
    answers.update(changes)
    return {m.key: m for m in grade(trace, keys, answers)}


SPAM_RULE = "z1[0], dz2, dz1[0], dW1[0,0], da1[0]"


def test_answers_rounded_as_printed_are_right() -> None:
    marks = marks_for("spam", SPAM_RULE, {})
    assert all(m.status == "correct" for m in marks.values())
    marks = marks_for("spam", SPAM_RULE, {"dz2[0]": -0.381})  # a decimal fewer is still the same number
    assert marks["dz2[0]"].status == "correct"
    marks = marks_for("spam", SPAM_RULE, {"dz2[0]": -0.3816})
    assert marks["dz2[0]"].status == "wrong"


def test_errors_are_carried_forward() -> None:
    wrong = {"dz2[0]": 0.3806, "db2[0]": 0.3806, "da1[0]": 0.1903, "dz1[0]": 0.1903, "db1[0]": 0.1903,
             "dW1[0,0]": 0.0952}
    marks = marks_for("spam", SPAM_RULE, wrong)
    assert marks["dz2[0]"].status == "wrong"
    assert [marks[k].status for k in ("da1[0]", "dz1[0]", "dW1[0,0]", "db1[0]")] == ["carried"] * 4
    # a later value that is wrong even for the student's own earlier value earns nothing
    marks = marks_for("spam", SPAM_RULE, {**wrong, "dW1[0,0]": 0.0500})
    assert marks["dW1[0,0]"].status == "wrong"


@pytest.mark.parametrize("name, rule, key, answer, mistake, options", [
    ("spam", SPAM_RULE, "dz2[0]", 0.3806, "the sign is flipped", {}),
    ("spam", SPAM_RULE, "dz2[0]", -1.6145, "derivative forgotten", {}),
    ("spam", SPAM_RULE, "da1[0]", round(0.50799261 * -0.38060055, 4), "the updated weights used in backprop", {}),
    ("house_price", "dz2", "dz2[0]", 575, "the ½ convention confused", {}),
    ("xor_batch", "dW2", "dW2[0,0]", round(4 * 0.012607, 4), "the batch mean forgotten", {"steps": 1}),
])
def test_the_catalogue_of_mistakes(name: str, rule: str, key: str, answer: float, mistake: str,
                                   options: dict) -> None:
    marks = marks_for(name, rule, {key: answer}, **options)
    assert marks[key].status == "wrong"
    assert mistake in marks[key].note, marks[key].note


def test_a_class_from_csv_and_folders(tmp_path: Path) -> None:
    sheet = tmp_path / "class.csv"
    sheet.write_text("student,z1[0],dz2[0],da1[0]\nana,0.21,0.3806,0.1903\nben,0.21,−0.3806,−0.1903\n",
                     encoding="utf-8")
    students = read_answers(str(sheet))
    assert students["ana"]["dz2[0]"] == 0.3806 and students["ben"]["da1[0]"] == -0.1903
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "cy.yaml").write_text("z1[0]: 0.21\n")
    (tmp_path / "folder" / "di.csv").write_text("name,value\ndW1[0,0],-0.0952\n")  # a name with a comma, unquoted
    assert read_answers(str(tmp_path / "folder")) == {"cy": {"z1[0]": 0.21}, "di": {"dW1[0,0]": -0.0952}}
    result = subprocess.run([sys.executable, "-m", "nnworked", "grade", "spam", str(sheet), "--blanks",
                             "z1[0], dz2, da1[0]"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "ana: 2 of 8 (1 carried forward)" in result.stdout  # a1, da2, db2, dz1, db1 are blanks too
    assert "first wrong value: dz2[0] = 0.3806, expected −0.3806 — likely the sign is flipped" in result.stdout
    assert "class: 2 students" in result.stdout and "1 student: the sign is flipped" in result.stdout


def test_an_answer_may_be_named_as_the_sheet_shows_it_or_as_the_key_names_it() -> None:
    trace = trace_of("spam")
    keys = frozenset({"a1[0]", "a2[0]", "dW2[0,0]", "dW2[0,1]", "dz2[0]", "W1[1,0]"})
    values = sheets.quantities(trace)
    spelled = {"h[0]": values["a1[0]"], "ŷ": values["a2[0]"], "∂L/∂W₂[0]": values["dW2[0,0]"],
               "dW2[1]": values["dW2[0,1]"], "δ₂": values["dz2[0]"], "W1[1,0]": values["W1[1,0]"]}
    marks = grade(trace, keys, spelled)
    assert {m.key: m.status for m in marks} == {k: "correct" for k in keys}
    assert [m.status for m in grade(trace, keys, {"∂L/∂W2[0]": 0.5})].count("wrong") == 1


# ---- fair marks (issue 13): carried credit through every operation, slack from the student's own digits ----

def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# z1 = −1 for the first example; a batch of two; squared error without ½ (so ∂L/∂ŷ = 2(ŷ − y)/2 = ŷ − y)
BATCH = {"inputs": [[1, 2], [3, 1]], "targets": [[1], [0]],
         "layers": [{"weights": [[0.5, -0.75]], "bias": [0], "activation": "sigmoid"},
                    {"weights": [[2.0]], "bias": [0.5]}],
         "loss": "mse", "learning_rate": 0.1, "precision": 4}


def marked(source: object, rule: str, answers: dict[str, float], keep_key: bool = True) -> dict[str, object]:
    """Marks for a sheet of `rule` where every asked value not in `answers` is answered as the key prints it."""
    trace = nnworked.solve(source, keep=1)
    keys = sheets.choose(trace, rule, 1)
    values = sheets.quantities(trace)
    given = {k: round(values[k], trace.precision.decimals_for(values[k])) for k in keys} if keep_key else {}
    given.update(answers)
    return {m.key: m for m in grade(trace, keys, given)}


def test_a_wrong_final_value_is_never_marked_right() -> None:
    # spam, every value blank, every answer as printed but one updated weight: 0.1092 against 0.1095
    marks = marked("spam", "all", {"W1[0,0]": 0.1092})
    assert marks["W1[0,0]"].status == "wrong"
    assert [k for k, m in marks.items() if m.status != "correct"] == ["W1[0,0]"]
    # a decimal fewer is still the same number; the student's own rounded gradient moves it no further
    assert marked("spam", "all", {"W1[0,0]": 0.110})["W1[0,0]"].status == "correct"


def test_carried_through_an_activation() -> None:
    # z1 = −2 written for −1, then σ(−2) = 0.1192 worked right from it
    own = round(sigmoid(-2), 4)
    assert own == 0.1192
    marks = marked(BATCH, "z1[0,0]", {"z1[0,0]": -2, "a1[0,0]": own})
    assert (marks["z1[0,0]"].status, marks["a1[0,0]"].status) == ("wrong", "carried")
    assert marked(BATCH, "z1[0,0]", {"z1[0,0]": -2, "a1[0,0]": 0.1197})["a1[0,0]"].status == "wrong"


def test_carried_through_a_sum_over_the_batch() -> None:
    # ŷ of the second example wrong; ∂L/∂z₂ of that example is hidden (it follows from ŷ alone), so the
    # student works it from their own ŷ: dW2 = Σ (ŷ − y)·a1 with their ŷ for example 2, the key's for 1
    a1 = [sigmoid(-1), sigmoid(3 * 0.5 - 0.75)]
    yhat = [2 * a1[0] + 0.5, 2.5]  # 2.5 written for 1.8584
    own = round((yhat[0] - 1) * a1[0] + (yhat[1] - 0) * a1[1], 4)
    marks = marked(BATCH, "a2[0,1], dW2", {"a2[0,1]": 2.5, "z2[0,1]": 2.5, "dW2[0,0]": own})
    assert [marks[k].status for k in ("z2[0,1]", "a2[0,1]", "dW2[0,0]")] == ["wrong", "carried", "carried"]


def test_carried_through_the_loss_and_an_update() -> None:
    yhat = [2.0, 2 * sigmoid(0.75) + 0.5]  # 2.0 written for 1.0379
    own_loss = round(((yhat[0] - 1) ** 2 + (yhat[1] - 0) ** 2) / 2, 4)
    marks = marked(BATCH, "a2, L", {"a2[0,0]": 2.0, "z2[0,0]": 2.0, "L": own_loss})
    assert [marks[k].status for k in ("z2[0,0]", "a2[0,0]", "L")] == ["wrong", "carried", "carried"]
    # an update from the student's own gradient: W1 ← W1 − 0.1 × dW1
    marks = marked(BATCH, "dW1, W1", {"dW1[0,0]": 2.5, "W1[0,0]": round(0.5 - 0.1 * 2.5, 4)})
    assert marks["dW1[0,0]"].status == "wrong" and marks["W1[0,0]"].status == "carried"
    # momentum (iris): v = 0.9 × 0 + g, W ← W − 0.5 × v, from the student's own g
    marks = marked("iris_softmax", "dW2[0,0], W2[0,0]", {"dW2[0,0]": 0.1, "W2[0,0]": round(0.3 - 0.5 * 0.1, 4)})
    assert marks["dW2[0,0]"].status == "wrong" and marks["W2[0,0]"].status == "carried"


def test_carried_through_softmax() -> None:
    z = [0.5, 0.25, 0.112]  # z2[0] written 0.5 for −0.07
    own = round(math.exp(z[0]) / sum(math.exp(v) for v in z), 4)
    marks = marked("iris_softmax", "z2, a2", {"z2[0]": 0.5, "a2[0]": own})
    assert marks["z2[0]"].status == "wrong" and marks["a2[0]"].status == "carried"


def test_halved_gradients_carry_with_the_slack_of_the_students_own_rounding() -> None:
    # gradients_only: ½(ŷ − y)² summed over two outputs. A student who halves ∂L/∂ŷ (the ½ kept, the
    # square's 2 not brought down) writes the correctly rounded halves; dW2[0,1] = −0.7136 × 0.9047 would be
    # −0.6456 from the rounded digits, but their unrounded half gives the key's half, −0.6455: carried.
    trace = trace_of("gradients_only")
    values = sheets.quantities(trace)
    keys = sheets.choose(trace, "backward", 1)
    halves = {k: round(values[k] / 2, 4) for k in keys}
    assert halves["dW2[0,1]"] == -0.6455
    marks = {m.key: m for m in grade(trace, keys, halves)}
    assert marks["da2[0]"].status == "wrong" and "the ½ convention confused" in marks["da2[0]"].note
    assert "half the gradient" in marks["da2[0]"].note
    assert {m.status for k, m in marks.items() if not k.startswith("da2")} == {"carried"}
    # asked alone, the halves are diagnosed (not merely marked wrong)
    keys = sheets.choose(trace, "dW2", 1)
    marks = {m.key: m for m in grade(trace, keys, {k: halves[k] for k in keys})}
    assert all(m.status == "wrong" and "the ½ convention confused" in m.note for m in marks.values())


def test_the_batch_mean_forgotten_is_not_the_half_convention_on_a_loss_without_half() -> None:
    # squared error without ½, a batch of 2: twice the gradient is the sum over the batch, not a ½ mistake
    trace = nnworked.solve(BATCH, keep=1)
    right = sheets.quantities(trace)["dW2[0,0]"]
    marks = marked(BATCH, "dW2", {"dW2[0,0]": round(2 * right, 4)})
    assert marks["dW2[0,0]"].note == "the batch mean forgotten (the sum over the 2 examples, not the mean)"
    assert "½" in marked(BATCH, "dW2", {"dW2[0,0]": round(right / 2, 4)})["dW2[0,0]"].note
    # with ½ and a batch of 2 both mistakes give twice the gradient: both are named
    halved = {**BATCH, "loss": {"name": "mse", "scale": 0.5}}
    trace = nnworked.solve(halved, keep=1)
    note = marked(halved, "dW2", {"dW2[0,0]": round(2 * sheets.quantities(trace)["dW2[0,0]"], 4)})["dW2[0,0]"].note
    assert note == ("the ½ convention confused (the ½ of ½(ŷ − y)² left out: twice the gradient) or the batch mean "
                    "forgotten (the sum over the 2 examples, not the mean)")


def test_a_mistake_is_diagnosed_only_where_its_numbers_fit() -> None:
    # an answer off by a little is wrong, with no mistake named
    marks = marked("spam", SPAM_RULE, {"dz2[0]": -0.3906})
    assert marks["dz2[0]"].status == "wrong" and marks["dz2[0]"].note == ""
    # the sign flipped on a value computed from the student's own wrong value is named from that value
    marks = marked(BATCH, "z1[0,0]", {"z1[0,0]": -2, "a1[0,0]": -round(sigmoid(-2), 4)})
    assert marks["a1[0,0]"].note == "the sign is flipped"


def test_class_summaries_count_students_not_marks() -> None:
    trace = trace_of("spam")
    keys = sheets.choose(trace, SPAM_RULE, 1)
    values = sheets.quantities(trace)
    flipped = {k: -round(values[k], 4) for k in keys if parse(k)[0] in ("dz", "db", "da", "dW")}
    results = {name: grade(trace, keys, flipped) for name in ("ana", "ben")}
    # ∂L/∂ŷ and δ = ŷ − y (worked from ŷ, not from ∂L/∂ŷ) are both wrong, the rest carried: one student, once
    assert [m.key for m in results["ana"] if m.status == "wrong"] == ["da2[0]", "dz2[0]"]
    results["cy"] = grade(trace, keys, {**flipped, "dz2[0]": -0.3806})  # right δ, then flipped again
    assert summary(results)["mistakes"] == {"the sign is flipped (ŷ − y and y − ŷ confused)": 3}


def test_under_carry_the_student_rounds_as_the_key_does() -> None:
    # house_price carries 5 decimals: 15 − 0.0000001 × 21,850 = 15 − 0.00219 = 14.99781 (0.002185 carried)
    marks = marked("house_price", "dW2[0,1], W2[0,1]", {"W2[0,1]": 14.99782})
    assert marks["W2[0,1]"].status == "wrong"
    # from their own gradient, 20,000: 15 − 0.002 = 14.998, carried
    marks = marked("house_price", "dW2[0,1], W2[0,1]", {"dW2[0,1]": 20000, "W2[0,1]": 14.998})
    assert (marks["dW2[0,1]"].status, marks["W2[0,1]"].status) == ("wrong", "carried")
    marks = marked("house_price", "dW2[0,1], W2[0,1]", {"dW2[0,1]": 20000, "W2[0,1]": 14.99801})
    assert marks["W2[0,1]"].status == "wrong"


def test_an_answer_keeps_the_decimals_it_was_written_with(tmp_path: Path) -> None:
    # spam's updated W1[0,0] is 0.10952: 0.110 is it to a decimal fewer; 0.1100 claims four decimals, and
    # the fourth is wrong (a float alone would read both as 0.11)
    (tmp_path / "class.csv").write_text("student,W1[0,0]\nana,0.110\nben,0.1100\ncy,\"0,1095\"\n")
    students = read_answers(str(tmp_path / "class.csv"))
    trace = trace_of("spam")
    keys = frozenset({"W1[0,0]"})
    assert {name: grade(trace, keys, given)[0].status for name, given in students.items()} == {
        "ana": "correct", "ben": "wrong", "cy": "correct"}


def test_the_sheets_policy_says_which_values_the_student_worked_out() -> None:
    # z1 = 0.31 written for 0.21 (and its ReLU), then L = −ln σ(z2) from it. On a guided sheet ŷ stayed printed
    # (it follows from the shown a1[1] too), so L should follow from the printed ŷ; on an exam nothing computed
    # from a blank was printed, so the student's own L is carried.
    z2 = 0.5 * 0.31 + 0.6 * 0.47 + 0.1
    own = round(-math.log(sigmoid(z2)), 4)
    answers = {"z1[0]": 0.31, "a1[0]": 0.31, "L": own}
    trace = trace_of("spam")
    keys = sheets.choose(trace, "z1[0], L", 1)
    assert [m.status for m in grade(trace, keys, answers)] == ["wrong", "carried", "wrong"]
    assert [m.status for m in grade(trace, keys, answers, "none")] == ["wrong", "carried", "carried"]
    result = subprocess.run([sys.executable, "-m", "nnworked", "grade", "spam", "-", "--blanks", "z1[0], L",
                             "--reveal", "exam"], capture_output=True, text=True)
    assert result.returncode == 2


def _attention_by_hand(scores_row0: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """attention_three_tokens worked in plain numpy, with the first row of scores as a student wrote it:
    the weights (each row's softmax, rounded to the 4 decimals the sheet prints) and the outputs A·V."""
    x = np.array([[1, 0, 1, 0], [0, 2, 0, 2], [1, 1, 1, 1]], dtype=float)
    wq = np.array([[1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 1]], dtype=float)
    wk = np.array([[0, 1, 0, 1], [0, 1, 1, 1], [1, 0, 0, 0]], dtype=float)
    wv = np.array([[0, 0, 1, 1], [2, 3, 0, 1], [0, 0, 3, 0]], dtype=float)
    q, k, v = x @ wq.T, x @ wk.T, x @ wv.T
    scores = q @ k.T  # not scaled
    scores[0] = scores_row0
    weights = np.round(np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True), 4)
    return weights, weights @ v


def test_carried_through_an_attention_rows_softmax() -> None:
    """One wrong score (S₁[0,1] = 5 for 2·4 + 0 + 0·… = 4), the weights of its row worked right from it (the
    softmax of [2, 5, 4]) and the output from those weights earn their marks; the other rows are the key's."""
    key_weights, key_outputs = _attention_by_hand([2, 4, 4])
    assert key_weights[0].tolist() == [0.0634, 0.4683, 0.4683]  # the source's own printout
    weights, outputs = _attention_by_hand([2, 5, 4])
    asked = "S1[0,0,1], A1[0,0,0], A1[0,0,1], A1[0,0,2], A1[0,2,1], a1[0,0,0]"
    answers = {"S1[0,0,1]": 5, **{f"A1[0,0,{j}]": weights[0, j] for j in range(3)}, "A1[0,2,1]": weights[2, 1],
               "a1[0,0,0]": round(outputs[0, 0], 4)}
    marks = marked("attention_three_tokens", asked, answers)
    assert {key: mark.status for key, mark in marks.items()} == {
        "S1[0,0,1]": "wrong", "A1[0,0,0]": "carried", "A1[0,0,1]": "carried", "A1[0,0,2]": "carried",
        "A1[0,2,1]": "correct", "a1[0,0,0]": "carried"}
    assert [marks[f"A1[0,0,{j}]"].correct for j in range(3)] == pytest.approx(key_weights[0].tolist(), abs=5e-5)
    # a weight that is wrong even for the student's own score (and is not the key's) earns nothing
    marks = marked("attention_three_tokens", asked, {**answers, "A1[0,0,1]": 0.7045})
    assert marks["A1[0,0,1]"].status == "wrong"


def test_carried_through_the_scaling_and_softmax_of_one_head_with_a_causal_mask() -> None:
    """transformer_block (two heads of d_k = 2, causal, scaled): head 1's score S₁[2,0] written 1 too high; its
    scaled score, the weights of its row (over positions 0 … 2 only) and that head's output worked right from
    it earn their marks; a masked pair is no quantity at all."""
    x = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0]], dtype=float)
    wq = np.array([[0.6, -0.1, -0.4, -0.4], [-0.5, -0.1, 0.0, 0.1]])  # head 1: rows 2 and 3 of W_Q, W_K, W_V
    wk = np.array([[-0.9, 0.0, -0.1, 0.8], [0.3, 0.0, 0.0, -0.5]])
    wv = np.array([[-0.5, 0.8, 0.0, 0.7], [0.3, 0.5, -0.8, 0.1]])
    q, k, v = x @ wq.T, x @ wk.T, x @ wv.T
    score = round(q[2] @ k[0], 4) + 1
    scaled = np.round(q[2] @ k.T / np.sqrt(2), 4)  # the row as printed …
    scaled[0] = round(score / np.sqrt(2), 4)  # … but the student's own first one
    weights = np.round(np.exp(scaled) / np.exp(scaled).sum(), 4)
    output = round(float(weights @ v[:, 0]), 4)
    answers = {"S1[0,1,2,0]": score, "Sc1[0,1,2,0]": scaled[0], "O1[0,2,2]": output,
               **{f"A1[0,1,2,{j}]": weights[j] for j in range(3)}}
    marks = marked("transformer_block", ", ".join(answers), answers)
    assert {key: mark.status for key, mark in marks.items()} == {
        "S1[0,1,2,0]": "wrong", "Sc1[0,1,2,0]": "carried", "A1[0,1,2,0]": "carried", "A1[0,1,2,1]": "carried",
        "A1[0,1,2,2]": "carried", "O1[0,2,2]": "carried"}
    values = sheets.quantities(nnworked.solve("transformer_block"))
    assert "S1[0,1,0,1]" not in values and "A1[0,1,0,1]" not in values  # position 0 attends to itself alone
    assert values["A1[0,1,0,0]"] == 1.0


def _lstm_by_hand(forget_1: float | None = None) -> tuple[float, float, float]:
    """lstm_step in plain numpy (Aidan Gomez's weights, rows i, f, g, o of [W_x | W_h], h₀ = c₀ = 0); then step 1's
    cell state and hidden state as a student works them from the numbers the sheet prints (5 decimals) and
    their own forget gate: that step's f, c and h."""
    weights = np.array([[0.95, 0.8, 0.8], [0.7, 0.45, 0.1], [0.45, 0.25, 0.15], [0.6, 0.4, 0.25]])
    bias = np.array([0.65, 0.15, 0.2, 0.1])
    h = c = 0.0
    printed = []
    for x in ([1, 2], [0.5, 3]):
        z = weights @ np.array([*x, h]) + bias
        i, f, o = (1 / (1 + np.exp(-z[q])) for q in (0, 1, 3))
        g = np.tanh(z[2])
        c_before, c = c, f * c + i * g
        h = o * np.tanh(c)
        printed.append([round(float(v), 5) for v in (i, f, g, o, c_before)])
    i, f, g, o, c_before = printed[1]
    f = f if forget_1 is None else forget_1
    c = round(f * c_before + i * g, 5)
    return f, c, round(o * float(np.tanh(c)), 5)


def test_carried_through_an_lstm_cell_state() -> None:
    """A wrong forget gate at step 1 (0.9 for σ(1.90363) = 0.87030), the cell state and hidden state worked right
    from it earn their marks; the input gate beside it is the key's."""
    assert _lstm_by_hand() == (0.8703, 1.51763, 0.77198)  # the key (and the source's c₁ = 1.5176, h₁ = 0.77197)
    _, c, h = _lstm_by_hand(0.9)
    asked = "f1[0,1,0], c1[0,1,0], a1[0,1,0], i1[0,1,0]"
    marks = marked("lstm_step", asked, {"f1[0,1,0]": 0.9, "c1[0,1,0]": c, "a1[0,1,0]": h})
    assert {key: mark.status for key, mark in marks.items()} == {
        "f1[0,1,0]": "wrong", "c1[0,1,0]": "carried", "a1[0,1,0]": "carried", "i1[0,1,0]": "correct"}
    assert (c, h) == (1.54096, 0.77538) and marks["c1[0,1,0]"].correct == pytest.approx(1.51763, abs=5e-6)
    # a cell state that is wrong even for the student's own forget gate (and is not the key's) earns nothing
    marks = marked("lstm_step", asked, {"f1[0,1,0]": 0.9, "c1[0,1,0]": 1.6, "a1[0,1,0]": h})
    assert marks["c1[0,1,0]"].status == "wrong" and marks["a1[0,1,0]"].status == "wrong"


def test_carried_through_the_attention_backward_to_the_query_weights() -> None:
    """attention_three_tokens (one head, not scaled, no output weights): ∂L/∂A₁[0,1] written 0.1 too high; row
    0 of ∂L/∂S₁ worked right from it through the softmax Jacobian, ∂L/∂Q₁[0,·] from those, and ∂L/∂WQ₁[·,0]
    from those earn their marks (computed here in plain numpy from the numbers the sheet prints); a score
    gradient of another row is the key's."""
    x = np.array([[1, 0, 1, 0], [0, 2, 0, 2], [1, 1, 1, 1]], dtype=float)
    wq = np.array([[1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 1]], dtype=float)
    wk = np.array([[0, 1, 0, 1], [0, 1, 1, 1], [1, 0, 0, 0]], dtype=float)
    wv = np.array([[0, 0, 1, 1], [2, 3, 0, 1], [0, 0, 3, 0]], dtype=float)
    q, k, v = x @ wq.T, x @ wk.T, x @ wv.T
    weights = np.exp(q @ k.T) / np.exp(q @ k.T).sum(axis=1, keepdims=True)  # not scaled
    values = sheets.quantities(nnworked.solve("attention_three_tokens"))
    upstream = np.array([[values[f"da1[0,{t},{d}]"] for d in range(3)] for t in range(3)])  # ∂L/∂a₁, given
    d_weights = upstream @ v.T

    def queries(row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row 0 of ∂L/∂S = a ⊙ (g − a·g) and of ∂L/∂Q = ∂L/∂S · K, each rounded to 4 decimals as written."""
        a = np.round(weights[0], 4)
        scores = np.round(a * (row - a @ row), 4)
        return scores, np.round(scores @ k, 4)

    assert queries(np.round(d_weights[0], 4))[0].tolist() == [-0.0142, 0.058, -0.0438]  # as the sheet prints them
    own = np.round(d_weights[0], 4) + [0, 0.1, 0]
    scores, dq = queries(own)
    dq_later = np.array([values[f"dq1[0,{t},0]"] for t in (1, 2)])  # the sheet prints rows 1 and 2 of ∂L/∂Q₁
    dwq = round(float(dq[0] * x[0, 0] + dq_later @ x[1:, 0]), 4)
    answers = {"dA1[0,0,1]": own[1], **{f"dS1[0,0,{j}]": scores[j] for j in range(3)}, "dq1[0,0,0]": dq[0],
               "dWQ1[0,0]": dwq}
    marks = marked("attention_three_tokens", ", ".join([*answers, "dS1[0,1,0]"]), answers)
    assert {key: mark.status for key, mark in marks.items()} == {
        "dA1[0,0,1]": "wrong", "dS1[0,0,0]": "carried", "dS1[0,0,1]": "carried", "dS1[0,0,2]": "carried",
        "dq1[0,0,0]": "carried", "dWQ1[0,0]": "carried", "dS1[0,1,0]": "correct"}
    # a query gradient worked from the key's scores' gradients, though the student's own were different, is
    # the key's and so right; one that is neither is wrong
    assert marked("attention_three_tokens", ", ".join(answers), {**answers, "dq1[0,0,0]": dq[0] + 0.01}
                  )["dq1[0,0,0]"].status == "wrong"
