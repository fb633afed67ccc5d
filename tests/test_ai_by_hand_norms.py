"""The AI by Hand layout of batch_norm, dropout, layer_norm and residual layers: one walkthrough exactly, at a
fixed width, its numbers re-derived here in plain numpy (the statistics beside the rows and below the
columns, the mask beside the values, the two branches and their sum, ∂L/∂γ and ∂L/∂β beside ∂L/∂a, S₁, S₂
and σ beside ∂L/∂x̂, the two paths of a skip's gradient); a sheet blanks the cells of its grids; an image
keeps the standard working under this layout's heading.

To accept a deliberate change in the golden file, run
`NNWORKED_UPDATE_GOLDEN=1 python -m pytest tests/test_ai_by_hand_norms.py` and read the diff."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import nnworked
from nnworked import sheets
from nnworked.render.numbers import Blanks
from nnworked.render.settings import Settings
from tests.helpers import numbers, terminal, to_float

GOLDEN = Path(__file__).parent / "golden" / "by_hand_norms.txt"

BLOCK = """title: A block with batch norm, dropout, layer norm and a skip connection
inputs: [[1, 2], [3, 6], [5, 4]]
targets: [[1], [0], [2]]
layers:
  - weights: [[1, 0], [0, 1], [1, -1]]
    name: block_in
  - type: batch_norm
    gamma: [1, 2, 0.5]
    beta: [0, 1, 0]
    epsilon: 0
  - type: dropout
    rate: 0.5
    mask: [[1, 1, 0], [0, 1, 1], [1, 0, 1]]
  - type: layer_norm
    epsilon: 0
  - type: residual
    from: block_in
  - weights: [[0.5, -1, 1]]
    bias: [0]
loss: mse
learning_rate: 0.01
"""

BY_HAND = Settings(layout="ai-by-hand")


@pytest.fixture(scope="module")
def block(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("scenario") / "block.yaml"
    path.write_text(BLOCK, encoding="utf-8")
    return str(path)


def test_the_layout_of_every_norm_dropout_and_residual_record_is_exactly_the_golden_file(block: str) -> None:
    text = terminal(block, BY_HAND)
    if os.environ.get("NNWORKED_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


# ---- the same numbers, from plain numpy: rows are features and columns examples, as the layout writes ----

def reference() -> dict[str, np.ndarray]:
    x = np.array([[1, 2], [3, 6], [5, 4]], float).T  # (features, examples)
    y = np.array([[1, 0, 2]], float)
    w1, w6 = np.array([[1, 0], [0, 1], [1, -1]], float), np.array([[0.5, -1, 1]])
    g2, b2 = np.array([[1], [2], [0.5]]), np.array([[0], [1], [0]])
    mask = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], float).T
    a1 = w1 @ x
    mu2, var2 = a1.mean(axis=1, keepdims=True), a1.var(axis=1, keepdims=True)  # along each row
    xhat2 = (a1 - mu2) / np.sqrt(var2)
    a2 = g2 * xhat2 + b2
    a3 = a2 * mask * 2
    mu4, var4 = a3.mean(axis=0, keepdims=True), a3.var(axis=0, keepdims=True)  # down each column
    xhat4 = (a3 - mu4) / np.sqrt(var4)
    a4 = xhat4
    a5 = a4 + a1
    yhat = w6 @ a5
    dy = 2 * (yhat - y) / 3
    da5 = w6.T @ dy
    da4 = da5
    dgamma4, dbeta4 = (da4 * xhat4).sum(axis=1), da4.sum(axis=1)
    # layer norm backward through x̂, σ² and μ separately (Ioffe & Szegedy's derivation, down each column)
    dxhat4 = da4
    dvar4 = (dxhat4 * (a3 - mu4) * -0.5 * var4 ** -1.5).sum(axis=0, keepdims=True)
    dmu4 = (-dxhat4 / np.sqrt(var4)).sum(axis=0, keepdims=True) + dvar4 * (-2 * (a3 - mu4)).mean(axis=0, keepdims=True)
    da3 = dxhat4 / np.sqrt(var4) + dvar4 * 2 * (a3 - mu4) / 3 + dmu4 / 3
    da2 = da3 * mask * 2
    dgamma2, dbeta2 = (da2 * xhat2).sum(axis=1), da2.sum(axis=1)
    dxhat2 = da2 * g2
    dvar2 = (dxhat2 * (a1 - mu2) * -0.5 * var2 ** -1.5).sum(axis=1, keepdims=True)
    dmu2 = (-dxhat2 / np.sqrt(var2)).sum(axis=1, keepdims=True) + dvar2 * (-2 * (a1 - mu2)).mean(axis=1, keepdims=True)
    main = dxhat2 / np.sqrt(var2) + dvar2 * 2 * (a1 - mu2) / 3 + dmu2 / 3
    return {"a1": a1, "mu2": mu2, "var2": var2, "a2": a2, "a3": a3, "mu4": mu4, "var4": var4, "a4": a4, "a5": a5,
            "da5": da5, "dgamma4": dgamma4, "dbeta4": dbeta4, "dxhat4": dxhat4, "da3": da3, "da2": da2,
            "dgamma2": dgamma2, "dbeta2": dbeta2, "dxhat2": dxhat2, "s1_2": dxhat2.sum(axis=1),
            "s2_2": (dxhat2 * xhat2).sum(axis=1), "main": main, "da1": main + da5, "xhat4": xhat4,
            "s1_4": dxhat4.sum(axis=0), "s2_4": (dxhat4 * xhat4).sum(axis=0)}


def grid_after(text: str, head: str, rows: int) -> np.ndarray:
    """The numbers of the grid `head | … |` (after the indent), row by row; a rule row has none."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip().startswith(head + " | "))
    found = [[to_float(v) for v in numbers(l.split(" = ")[-1] if i == 0 else l)]
             for i, l in enumerate(lines[start:start + rows])]
    return np.array([row for row in found if row])


def test_every_grid_holds_the_numbers_of_a_plain_numpy_reference() -> None:
    text = terminal_text()
    r = reference()
    close = dict(atol=5e-5, rtol=0)
    stats2 = grid_after(text, "[a₁ | μ₂  σ²₂  σ₂] =", 3)  # the statistics beside each row
    np.testing.assert_allclose(stats2[:, :3], r["a1"], **close)
    np.testing.assert_allclose(stats2[:, 3:], np.hstack([r["mu2"], r["var2"], np.sqrt(r["var2"])]), **close)
    np.testing.assert_allclose(grid_after(text, "[a₂ | mask] =", 3)[:, 3:],
                               np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]]).T)  # the mask beside the values
    np.testing.assert_allclose(grid_after(text, "a₃ =", 3), r["a3"], **close)
    stats4 = grid_after(text, "[a₃ ; μ₄ ; σ²₄ ; σ₄] =", 7)  # the statistics below each column, after the rule
    np.testing.assert_allclose(stats4[:3], r["a3"], **close)
    np.testing.assert_allclose(stats4[3:], np.vstack([r["mu4"], r["var4"], np.sqrt(r["var4"])]), **close)
    np.testing.assert_allclose(grid_after(text, "a₄ (main branch) =", 3), r["a4"], **close)
    np.testing.assert_allclose(grid_after(text, "a₁ (shortcut) =", 3), r["a1"], **close)
    np.testing.assert_allclose(grid_after(text, "a₅ =", 3), r["a5"], **close)
    sums4 = grid_after(text, "[∂L/∂a₄ | ∂L/∂γ₄  ∂L/∂β₄] =", 3)
    np.testing.assert_allclose(sums4, np.hstack([r["da5"], r["dgamma4"][:, None], r["dbeta4"][:, None]]), **close)
    back4 = grid_after(text, "[∂L/∂x̂₄ ; S₁ ; S₂ ; σ₄] =", 7)
    np.testing.assert_allclose(back4, np.vstack([r["dxhat4"], r["s1_4"], r["s2_4"], np.sqrt(r["var4"])]), **close)
    np.testing.assert_allclose(grid_after(text, "∂L/∂a₃ =", 3), r["da3"], **close)
    np.testing.assert_allclose(grid_after(text, "[∂L/∂a₃ | mask] =", 3)[:, 3:], np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]]).T)
    np.testing.assert_allclose(grid_after(text, "∂L/∂a₂ =", 3), r["da2"], **close)
    sums2 = grid_after(text, "[∂L/∂a₂ | ∂L/∂γ₂  ∂L/∂β₂] =", 3)[:, 3:]
    np.testing.assert_allclose(sums2, np.stack([r["dgamma2"], r["dbeta2"]], axis=1), **close)
    back2 = grid_after(text, "[∂L/∂x̂₂ | S₁  S₂  σ₂] =", 3)
    np.testing.assert_allclose(back2, np.hstack([r["dxhat2"], r["s1_2"][:, None], r["s2_2"][:, None],
                                                 np.sqrt(r["var2"])]), **close)
    np.testing.assert_allclose(grid_after(text, "∂L/∂a₁ along the main path =", 3), r["main"], **close)
    np.testing.assert_allclose(grid_after(text, "∂L/∂a₅ back along the shortcut from layer 5 =", 3), r["da5"], **close)
    np.testing.assert_allclose(grid_after(text, "∂L/∂a₁ = main path + shortcut =", 3), r["da1"], **close)


def terminal_text() -> str:
    return GOLDEN.read_text(encoding="utf-8")


def test_the_worked_lines_say_what_the_grids_show() -> None:
    text = terminal_text()
    for worked in ("μ₂[0] = (1 + 3 + 5) / 3 = 9 / 3 = 3",  # row 0 of a₁ is 1, 3, 5: the first feature
                   "μ₄[·,2] = (2.4495 + 0 + 1.2247) / 3 = 3.6742 / 3 = 1.2247",  # column 2: example 3's features
                   "x̂₂[1,1] = (6 − 4) / √(2.6667 + 0) = 2 / √(2.6667) = 2 / 1.6330 = 1.2247",
                   "a₂[1,0] = (2 × (−1.2247)) + 1 = −2.4495 + 1 = −1.4495",  # γ₂[1] = 2, β₂[1] = 1: row 1's pair
                   "a₃[1,2] = 0 × 1 × 2 = 0",  # example 3 drops feature 1
                   "a₅[2,1] = −0.8714 − 3 = −3.8714",  # a₄ + a₁, cell for cell
                   "∂L/∂a₄[1,1] = 6.6908",  # passed on unchanged
                   "∂L/∂a₂[0,1] = 0 × 0.2129 × 2 = 0",
                   "S₁[·,0] = −0.4953 + 0.9907 − 0.9907 = −0.4953"):
        assert f"    {worked}\n" in text, worked


def test_a_sheet_blanks_the_cells_of_the_grids_and_what_follows_from_them(block: str) -> None:
    trace = nnworked.solve(block)
    keys = frozenset({"a3[1,1]"})  # a₃ of example 2, feature 1: one cell of layer norm's column 1
    settings = Settings(layout="ai-by-hand", blanks=Blanks(keys, False, sheets.variant(trace, keys)))
    text = terminal(block, settings)
    assert "    a₃[1,1] = 1 × 3.4495 × 2 = ?\n" in text
    assert "    μ₄[·,1] = (0 + ? − 1.2247) / 3 = ?\n" in text  # its column's statistics follow from it
    assert "    μ₄[·,0] = (−2.4495 − 2.8990 + 0) / 3 = −5.3485 / 3 = −1.7828\n" in text  # the other columns' do not
    # S₁ sums the ∂L/∂x̂ alone, none of which follows from the blank: it stays (S₂ uses x̂, from the blank)
    assert "    S₁[·,1] = −3.3454 + 6.6908 − 6.6908 = −3.3454\n" in text
    assert "    ∂L/∂a₃[0,1] = (((3 × (−3.3454)) + 3.3454) − (? × ?)) / (3 × ?)" in text
    stats = text.split("[a₃ ; μ₄ ; σ²₄ ; σ₄] = ")[1].split("\n\n")[0].splitlines()
    assert [row.split("|")[1].split() for row in stats] == [
        ["−2.4495", "0", "2.4495"], ["−2.8990", "?", "0"], ["0", "−1.2247", "1.2247"], ["-" * 24],
        ["−1.7828", "?", "1.2247"], ["1.6229", "?", "1"], ["1.2739", "?", "1"]]


IMAGES = """inputs: [[1, 2, 0], [0, 1, 3], [2, 1, 0]]
targets: [[1]]
layers:
  - type: conv2d
    kernels: [[[[1, -1], [0.5, 1]]]]
    name: c
  - type: dropout
    rate: 0.25
    mask: [[[[1, 0], [1, 1]]]]
  - type: residual
    from: c
  - type: flatten
  - weights: [[0.1, -0.2, 0.3, 0.1]]
    activation: sigmoid
loss: binary_cross_entropy
learning_rate: 0.1
"""


def test_dropout_and_a_residual_on_images_keep_the_standard_working_under_this_layouts_headings() -> None:
    text = nnworked.run(IMAGES).render("markdown", layout="ai-by-hand")
    assert "### Layer 2: dropout (rate 0.25)" in text
    assert "a₂[0,0,1] = 0 × 5.5 × 1.3333 = 0" in text  # the mask applied to one pixel of the image
    assert "### Layer 3: residual connection (a₂ + a₁)" in text
    assert "### Layer 2: ∂L/∂a₂ back through the residual connection" in text
    assert "### Layer 1: ∂L/∂a₁ back through the dropout" in text
