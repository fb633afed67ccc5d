"""The rule tables: every registered rule is whole and right, a rule missing a piece is refused, an
unknown name raises "choose from: …" wherever it is looked up, a new activation and a new loss written
in this module run through every output format in both rounding modes with gradients that agree with
finite differences, and no module outside nnworked/rules branches on a rule's name."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from typer.testing import CliRunner

from nnworked import gradcheck
from nnworked.cli import app
from nnworked.engine.losses import LossSpec
from nnworked.engine.network import solve
from nnworked.engine.optimizers import OptimizerSpec
from nnworked.engine.rounding import Precision
from nnworked.expr import Expr, Num, evaluate, num, op
from nnworked.render import FORMATS, Format
from nnworked.rules.activations import ACTIVATIONS, ActivationRule, ElementwiseActivation
from nnworked.rules.losses import LOSSES, LossRule
from nnworked.rules.optimizers import OPTIMIZERS, NumpyArithmetic, OptimizerRule, WorkedArithmetic
from nnworked.rules.layers import LAYERS, LayerRule
from nnworked.rules.registry import IncompleteRule, UnknownRule
from nnworked.scenario import Layer, Scenario, load
from nnworked.trace import ThroughActivation

PACKAGE = Path(__file__).resolve().parent.parent / "nnworked"
REGISTRIES = [(ACTIVATIONS, ActivationRule), (LOSSES, LossRule), (OPTIMIZERS, OptimizerRule), (LAYERS, LayerRule)]
PLAIN_FORMATS = [f.name for f in FORMATS.values() if not f.needs_blanks]  # a walkthrough without --exercise


# ---- a toy activation and a toy loss, each one rule --------------------------------------------------

class Softplus(ElementwiseActivation):
    name = "softplus"
    label = "Softplus"
    symbol = "softplus"
    formula = "softplus(z) = ln(1 + e^z)"
    derivative_formula = "softplus′(z) = 1 / (1 + e^(−z))"
    convention = None
    torch_module = "Softplus"

    def value(self, z: np.ndarray, slope: float) -> np.ndarray:
        return np.logaddexp(0.0, z)

    def derivative(self, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-z))

    def expand(self, z: float, slope: float, label: str) -> Expr:
        return op("ln", op("add", num(1, True), op("exp", num(z, label=label))))

    def derivative_expr(self, z: float, a: float, slope: float, label: str = "") -> tuple[Expr, str]:
        return op("div", num(1, True), op("add", num(1, True), op("exp", num(-z)))), "σ(z)"

    def derivation_lines(self, p: Any, slope: float) -> list[str]:
        return ["softplus′(z) = e^z / (1 + e^z) = 1 / (1 + e^(−z)) = σ(z)   (chain rule: ln, then 1 + e^z)"]

    def spreadsheet_element(self, z: str, slope: float, r: Any) -> str:
        exp = r(f"EXP({z})")
        return f"LN({r(f'1+{exp}')})"  # each stage rounded where carry rounds it: R(ln R(1 + R(e^z)))

    def spreadsheet_derivative(self, z: str, a: str, slope: float, r: Any) -> str:
        exp = r(f"EXP(-{z})")
        return r(f"1/{r(f'(1+{exp})')}")

    def torch_value(self, torch: Any, z: Any, slope: float) -> Any:
        return torch.nn.functional.softplus(z)


class MeanAbsoluteError(LossRule):
    name = "mae"
    label = "Mean Absolute Error"
    formula = "L = |ŷ − y|"
    gradient_formula = "∂L/∂ŷ = sign(ŷ − y)"
    torch_module = "L1Loss"
    output_activation = None
    shortcut = None
    exact_by_hand = True

    def element_losses(self, yhat: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return np.abs(yhat - y)

    def textbook_losses(self, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.abs(yhat - y)

    def gradient(self, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.sign(yhat - y)

    def term_expr(self, p: Num, t: float) -> Expr:
        return op("max", op("sub", p, num(t, True)), op("sub", num(t, True), p))  # |ŷ − y|

    def gradient_expr(self, p: Num, t: float) -> Expr:
        return num(float(np.sign(p.value - t)), True)

    def formula_core(self, spec: Any, units: int) -> str:
        return "|ŷ − y|" if units == 1 else f"(1/{units}) × Σₖ |ŷₖ − yₖ|"

    def symbolic(self, target: np.ndarray, yhat: str, y: str) -> str:
        return f"|{yhat} − {y}|" if target.size == 1 else ""

    def specialisation(self, targets: np.ndarray) -> str:
        return ""

    def convention(self, spec: Any) -> str:
        return "absolute error, whose derivative is the sign of ŷ − y"

    def derivation(self, trace: Any, w: Any, output: Any) -> list:
        from nnworked.render.blocks import Heading, Math

        return [Heading(3, "Where ∂L/∂ŷ = sign(ŷ − y) comes from"),
                Math(["|e| has slope 1 where e > 0 and −1 where e < 0, so ∂L/∂ŷ = sign(ŷ − y)"])]

    def spreadsheet_formula(self, p: str, y: str, r: Any) -> str:
        return f"ABS({r(f'{p}-{y}')})"  # max(R(ŷ − y), R(y − ŷ))

    def spreadsheet_gradient(self, p: str, y: str, r: Any) -> str:
        return f"SIGN({p}-{y})"

    def torch_loss(self, torch: Any, a: Any, y: Any) -> Any:
        return (a - y).abs()


TOY_SCENARIO = """\
title: Softplus and absolute error
inputs: [[0.5, -1.0]]
targets: [[2.0]]
layers:
  - weights: [[0.4, -0.3], [0.2, 0.6]]
    bias: [0.1, -0.2]
    activation: softplus
  - weights: [[0.7, -0.5]]
    bias: [0.3]
loss: mae
learning_rate: 0.1
"""


@pytest.fixture
def toy_file(tmp_path: Path) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(TOY_SCENARIO)
    return path


def _reference_loss() -> tuple[float, np.ndarray]:
    """The toy scenario by hand, in numpy: the loss and a₁."""
    x = np.array([0.5, -1.0])
    a1 = np.logaddexp(0.0, np.array([[0.4, -0.3], [0.2, 0.6]]) @ x + np.array([0.1, -0.2]))
    yhat = float(np.array([0.7, -0.5]) @ a1 + 0.3)
    return abs(yhat - 2.0), a1


# ---- (1) every registered rule is whole and right ----------------------------------------------------

@pytest.mark.parametrize("registry,base", REGISTRIES, ids=["activations", "losses", "optimizers", "layers"])
def test_every_registered_rule_has_every_piece(registry: Any, base: type) -> None:
    pieces = sorted(base.__abstractmethods__)
    assert pieces, "the family declares its pieces"
    if base in (ActivationRule, LossRule):  # the spreadsheet (--format xlsx) takes each formula from its rule
        assert "spreadsheet_formula" in pieces
    for rule in registry.values():
        assert isinstance(rule, base)
        lacking = [p for p in pieces if getattr(getattr(type(rule), p), "__isabstractmethod__", False)]
        assert lacking == [], f"{rule.name} lacks {lacking}"
        assert registry[rule.name] is rule and rule.name in registry.names()
        for text in ("label", "formula", "gradient_formula", "derivative_formula"):
            if hasattr(rule, text):
                assert isinstance(getattr(rule, text), str) and getattr(rule, text), f"{rule.name}.{text}"


def _central(f: Any, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂ sum(f(x)) / ∂x by central differences."""
    out = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        out[index] = (np.sum(f(up)) - np.sum(f(down))) / (2 * h)
    return out


Z = np.array([[-1.3, -0.2, 0.4, 2.1], [0.7, -2.2, 1.5, -0.6]])


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_each_activation_agrees_with_itself_and_with_finite_differences(name: str) -> None:
    rule, slope = ACTIVATIONS[name], 0.1
    a = rule.value(Z, slope)
    weights = np.array([[0.3, -1.1, 0.8, 0.5], [1.2, 0.4, -0.7, 0.9]])  # a loss Σ w·a, so every output counts
    assert np.allclose(rule.vjp(Z, a, weights, slope), _central(lambda z: weights * rule.value(z, slope), Z))
    for n, i in np.ndindex(*Z.shape):
        worked = evaluate(rule.row_expr(Z[n], i, slope, [f"z[{u}]" for u in range(Z.shape[1])]))
        assert worked == pytest.approx(a[n, i], rel=1e-12), (name, n, i)
    if rule.elementwise:
        derivative = rule.derivative(Z, a, slope)
        for n, i in np.ndindex(*Z.shape):
            expr, reason = rule.derivative_expr(Z[n, i], a[n, i], slope)
            assert evaluate(expr) == pytest.approx(derivative[n, i], rel=1e-12) and reason


@pytest.mark.parametrize("name", LOSSES.names())
def test_each_loss_gradient_agrees_with_finite_differences_and_its_worked_terms(name: str) -> None:
    rule = LOSSES[name]
    output = ACTIVATIONS[rule.output_activation or "linear"]
    z = np.array([[0.4, -0.9, 1.3], [-0.2, 0.8, 0.1]]) if rule.output_activation != "sigmoid" else \
        np.array([[0.4], [-0.9]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]) if z.shape[1] == 3 else np.array([[1.0], [0.0]])
    yhat = output.value(z, 0.0)
    through = output.vjp(z, yhat, rule.gradient(yhat, y), 0.0)  # ∂L/∂z by the rule's own chain
    numeric = _central(lambda v: rule.element_losses(output.value(v, 0.0), y, v), z)
    assert np.allclose(through, numeric, atol=1e-6)
    for n, i in np.ndindex(*yhat.shape):
        term = rule.term_expr(num(yhat[n, i]), y[n, i])
        assert (evaluate(term) if term is not None else 0.0) == pytest.approx(
            rule.element_losses(yhat, y, z)[n, i], rel=1e-9, abs=1e-12)
        core = rule.gradient_expr(num(yhat[n, i]), y[n, i])
        assert (evaluate(core) if core is not None else 0.0) == pytest.approx(rule.gradient(yhat, y)[n, i])


@pytest.mark.parametrize("name", OPTIMIZERS.names())
@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_each_optimizer_has_one_update_for_arrays_and_for_worked_lines(name: str, decay: float) -> None:
    """Three steps of the numpy update and of the worked lines (not carried) give the same numbers."""
    rule = OPTIMIZERS[name]
    spec = OptimizerSpec(name, {"weight_decay": decay} if decay else {})
    theta, state = np.array([0.5, -0.25, 2.0]), {}
    worked_theta, worked_state = theta.copy(), [{}, {}, {}]
    for t, grad in enumerate([np.array([0.1, -0.3, 0.02]), np.array([-0.2, 0.05, 0.4]),
                              np.array([0.3, 0.3, -0.1])], start=1):
        arrays = NumpyArithmetic(theta, state)
        rule.step(arrays, theta, grad, 0.05, spec.get, t)
        theta = arrays.defined["new"]
        state = {k: v for k, v in arrays.defined.items() if k not in ("g", "new")}
        for j in range(3):
            lines = WorkedArithmetic(worked_state[j], Precision(12))
            rule.step(lines, num(worked_theta[j]), num(grad[j]), num(0.05, True), spec.get, t)
            values = {line_name: value for line_name, _, value in lines.lines}
            worked_theta[j] = values.pop("new")
            values.pop("g", None)
            worked_state[j] = values
        assert np.allclose(worked_theta, theta, rtol=1e-12, atol=0)
    assert rule.rule_lines and set(rule.defaults) >= {"weight_decay"}


# ---- a rule missing a piece cannot be registered -----------------------------------------------------

def _without(rule: type, piece: str, base: type) -> type:
    """The rule's class written again on its family's base, leaving out one piece."""
    members = {k: v for k, v in vars(rule).items() if k not in (piece, "__dict__", "__weakref__")}
    return type(f"{rule.__name__}Without_{piece}", (base,), members)


@pytest.mark.parametrize("rule,base,piece", [
    (Softplus, ElementwiseActivation, "derivative_expr"), (Softplus, ElementwiseActivation, "convention"),
    (MeanAbsoluteError, LossRule, "torch_loss"), (MeanAbsoluteError, LossRule, "derivation"),
    (Softplus, ElementwiseActivation, "spreadsheet_element"), (MeanAbsoluteError, LossRule, "spreadsheet_formula"),
    (MeanAbsoluteError, LossRule, "spreadsheet_gradient"),
    (type(OPTIMIZERS["momentum"]), OptimizerRule, "has_state"), (type(OPTIMIZERS["adam"]), OptimizerRule, "update"),
    (type(LAYERS["dense"]), LayerRule, "backward"), (type(LAYERS["dense"]), LayerRule, "parse"),
])
def test_a_rule_missing_one_piece_cannot_be_registered_and_says_which(rule: type, base: type, piece: str) -> None:
    registry = next(r for r, family_base in REGISTRIES if issubclass(base, family_base))
    incomplete = _without(rule, piece, base)
    with pytest.raises(IncompleteRule) as error:
        registry.register(incomplete)
    assert str(error.value) == (f"the {registry.family} rule {incomplete.__name__} cannot be registered: it lacks "
                                f"{piece}")
    with pytest.raises(TypeError):
        incomplete()  # nor can it be made at all
    assert len(registry) == len(registry.names())


def test_a_name_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="^a activation named relu is already registered$"):
        ACTIVATIONS.register(type(ACTIVATIONS["relu"]))


# ---- (2) an unknown name raises at once, saying what exists ------------------------------------------

def _hand_built(**changes: Any) -> Scenario:
    base = Scenario("hand-built", "test", inputs=np.array([[1.0, 2.0]]), targets=np.array([[0.5]]),
                    layers=(Layer(np.array([[0.1, 0.2]]), np.array([0.0])),), loss=LossSpec("mse"),
                    learning_rate=0.1)
    return base._replace(**changes)


@pytest.mark.parametrize("changes,message", [
    ({"layers": (Layer(np.array([[0.1, 0.2]]), np.array([0.0]), "softplus"),)},
     "unknown activation 'softplus': choose from: linear, relu, leaky_relu, sigmoid, tanh, softmax"),
    ({"loss": LossSpec("mae")}, "unknown loss 'mae': choose from: mse, binary_cross_entropy, cross_entropy"),
    ({"optimizer": OptimizerSpec("adagrad")}, "unknown optimizer 'adagrad': choose from: sgd, momentum, rmsprop, adam"),
    ({"layers": (Layer(np.array([[0.1, 0.2]]), np.array([0.0]), type="conv9d"),)},
     "unknown layer type 'conv9d': choose from: dense, conv2d, max_pool, avg_pool, flatten, dropout, "
     "batch_norm, layer_norm, residual"
     ", rnn, lstm, self_attention"),
])
@pytest.mark.parametrize("rounding", ["exact", "carry"])
def test_solve_raises_on_an_unknown_name_instead_of_falling_through(changes: dict, message: str,
                                                                    rounding: str) -> None:
    with pytest.raises(UnknownRule) as error:
        solve(_hand_built(rounding=rounding, **changes))
    assert str(error.value) == message


def test_every_lookup_of_an_unknown_name_says_what_exists() -> None:
    for registry, family in ((ACTIVATIONS, "activation"), (LOSSES, "loss"), (OPTIMIZERS, "optimizer"),
                             (LAYERS, "layer type")):
        with pytest.raises(UnknownRule, match=f"^unknown {family} 'nope': choose from: "):
            registry.lookup("nope")
        with pytest.raises(UnknownRule, match="choose from: "):
            registry["nope"]
        assert registry.get("nope") is None and "nope" not in registry
    with pytest.raises(UnknownRule, match="^unknown loss 'mae': choose from: "):
        LossSpec("mae").factor(1, 1)
    with pytest.raises(UnknownRule, match="^unknown optimizer 'adagrad': choose from: "):
        OptimizerSpec("adagrad").get("weight_decay")


def test_a_scenario_file_lists_the_registered_names(toy_rules: None, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(TOY_SCENARIO.replace("activation: softplus", "activation: softsign"))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        f"{path}:7:17: layers[0].activation: unknown activation — expected one of linear, relu, leaky_relu, "
        "sigmoid, tanh, softmax, softplus, given the text 'softsign'", "    hint: did you mean 'softplus'?"]


# ---- (3) a toy activation and a toy loss through every format, both roundings -------------------------

def _run(args: list[str], fmt: str, folder: Path) -> Any:
    """`nnworked run` in a format; a binary format (a spreadsheet) is written to a file and read back as
    text: each cell's text, its formula, and its number to four decimals."""
    if not FORMATS[fmt].binary:
        return CliRunner().invoke(app, ["run", *args, "--format", fmt])
    path = folder / f"out.{FORMATS[fmt].extension}"
    result = CliRunner().invoke(app, ["run", *args, "--format", fmt, "--output", str(path)])
    if result.exit_code != 0:
        return result
    if FORMATS[fmt].extension == "zip":  # a package: the text of every file in it
        import zipfile

        with zipfile.ZipFile(path) as package:
            texts = [package.read(member).decode("utf-8") for member in package.namelist()]
        return type("Result", (), {"exit_code": 0, "output": "\n".join(texts)})()
    import openpyxl

    texts = []
    for data_only in (False, True):
        for sheet in openpyxl.load_workbook(path, data_only=data_only).worksheets:
            for row in sheet.iter_rows():
                texts += [f"{c.value:.4f}" if isinstance(c.value, float) else str(c.value) for c in row
                          if c.value is not None]
    return type("Result", (), {"exit_code": 0, "output": "\n".join(texts)})()


@pytest.mark.parametrize("rounding", ["exact", "carry"])
@pytest.mark.parametrize("fmt", PLAIN_FORMATS)
def test_a_toy_activation_and_loss_run_through_every_format(toy_rules: None, toy_file: Path, fmt: str,
                                                           rounding: str, tmp_path: Path) -> None:
    result = _run([str(toy_file), "--rounding", rounding, "--detail", "full"], fmt, tmp_path)
    assert result.exit_code == 0, result.output
    loss, _ = _reference_loss()
    if fmt == "json":
        data = json.loads(result.output)
        assert data["steps"][0]["loss"] == pytest.approx(loss, abs=2e-4 if rounding == "carry" else 1e-12)
        return
    text = result.output
    assert "Softplus" in text and "Mean Absolute Error" in text
    if fmt == "html":  # the rule's own formula, read into MathML
        assert '<mi mathvariant="normal">softplus</mi>' in text and "<msup><mi>e</mi><mrow><mi>z</mi></mrow></msup>" in text
        assert '<mi mathvariant="normal">sign</mi>' in text
    elif fmt != "latex":  # LaTeX writes the symbols as commands
        assert "softplus(z) = ln(1 + e^z)" in text and "sign(ŷ − y)" in text
    if FORMATS[fmt].binary:  # a spreadsheet's formulas are the rules' own (under carry, rounded at each stage)
        assert ("LN(1+EXP(" if rounding == "exact" else "LN(ROUND(1+ROUND(EXP(") in text
        assert "ABS(" in text and "SIGN(" in text
    shown = solve(load(str(toy_file))._replace(rounding=rounding)).steps[0].loss.value
    assert shown == pytest.approx(loss, abs=2e-4)
    assert f"{shown:.4f}" in text


@pytest.mark.parametrize("rounding", ["exact", "carry"])
def test_a_toy_rule_makes_an_exercise_sheet_and_key_in_every_format(toy_rules: None, toy_file: Path,
                                                                   rounding: str, tmp_path: Path) -> None:
    for fmt in FORMATS.names():
        result = _run([str(toy_file), "--rounding", rounding, "--exercise", "--answers"], fmt, tmp_path)
        assert result.exit_code == 0, (fmt, result.output)
        assert result.output.strip(), fmt


@pytest.mark.parametrize("rounding", ["exact", "carry"])
def test_a_toy_activation_gets_its_own_derivative_in_carry_mode(toy_rules: None, toy_file: Path,
                                                               rounding: str) -> None:
    """The first version gave an activation it did not know a derivative of 1 under rounding: carry."""
    trace = solve(load(str(toy_file))._replace(rounding=rounding))
    through = next(s for s in trace.steps[0].backward if isinstance(s, ThroughActivation))
    sigma = 1 / (1 + np.exp(-through.z))
    assert np.allclose(through.derivative, sigma, atol=1e-4)
    assert not np.allclose(through.derivative, 1.0, atol=0.1)
    loss, a1 = _reference_loss()
    assert trace.steps[0].loss.value == pytest.approx(loss, abs=2e-4)
    assert np.allclose(trace.steps[0].forward.activate[0].a, a1, atol=1e-4)


def test_toy_gradients_agree_with_finite_differences(toy_rules: None, toy_file: Path) -> None:
    checks = gradcheck.finite_differences(load(str(toy_file)))
    assert {c.name for c in checks} >= {"W1", "b1", "W2", "b2"}
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]


def test_the_fixture_registers_the_toy_rules(toy_rules: None) -> None:
    assert "softplus" in ACTIVATIONS and "mae" in LOSSES


def test_the_toy_rules_are_gone_after_their_test() -> None:
    assert "softplus" not in ACTIVATIONS and "mae" not in LOSSES


# ---- (4) nothing outside nnworked/rules branches on a rule's name -------------------------------------

KNOWN = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "linear", "mse", "binary_cross_entropy",
         "cross_entropy", "sgd", "momentum", "rmsprop", "adam", "dense", "conv2d", "max_pool", "avg_pool", "flatten"]


def test_no_module_outside_the_rules_branches_on_a_rule_name() -> None:
    names = sorted(set(KNOWN) | {n for registry, _ in REGISTRIES for n in registry.names()}, key=len, reverse=True)
    quoted = "|".join(map(re.escape, names))
    branch = re.compile(rf"""(==|!=|\bin)\s*\(?\s*["']({quoted})["']|["']({quoted})["']\s*(==|!=)|"""
                        rf"""\{{\s*["']({quoted})["']\s*:""")  # a comparison, a membership, a name-keyed dict
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "rules") in path.parents:
            continue
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if branch.search(text):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {text.strip()}")
    assert found == []


def test_the_name_scan_would_find_a_branch() -> None:
    """The scan above is not vacuous: it finds the kinds of line the first version had."""
    names = "|".join(KNOWN)
    branch = re.compile(rf"""(==|!=|\bin)\s*\(?\s*["']({names})["']|["']({names})["']\s*(==|!=)|"""
                        rf"""\{{\s*["']({names})["']\s*:""")
    for line in ['if spec.name == "mse":', "if act.activation in ('relu', 'leaky_relu'):",
                 '{"sigmoid": "binary_cross_entropy"}.get(output)', 'if "sgd" != name:']:
        assert branch.search(line), line


# ---- output formats: one record each, and a toy format from this module ------------------------------

def render(trace: Any, settings: Any) -> str:
    """The toy format's printer: plain text, one block per paragraph."""
    from nnworked.render.blocks import Bullets, Heading, Math, Para, Table
    from nnworked.render.walkthrough import build

    out = []
    for block in build(trace, settings):
        if isinstance(block, Heading):
            out.append(block.text.upper())
        elif isinstance(block, Para):
            out.append(block.text)
        elif isinstance(block, Math):
            out.append("\n".join(block.lines))
        elif isinstance(block, Bullets):
            out.append("\n".join(f"* {item}" for item in block.items))
        elif isinstance(block, Table):
            out.append("\n".join(" | ".join(row) for row in [block.headers, *block.rows]))
    return "\n\n".join(out) + "\n"


def render_parts(trace: Any, parts: list) -> str:
    return "\n==== THE KEY ====\n\n".join(render(trace, settings) for settings in parts)


TOY_FORMAT = Format("plain", __name__, "txt", "?", "parts", "plain (text without markup)", exercises="documents",
                    part="render", join=lambda title, parts: f"{title}\n\n" + "\n==== NEXT ====\n\n".join(parts))


@pytest.fixture
def toy_format() -> Iterator[None]:
    FORMATS.register(TOY_FORMAT)
    try:
        yield
    finally:
        FORMATS.unregister("plain")


def test_a_toy_format_gets_the_sheet_and_then_the_key_from_run(toy_format: None) -> None:
    result = CliRunner().invoke(app, ["run", "spam", "--format", "plain", "--exercise", "--answers"])
    assert result.exit_code == 0, result.output
    sheet, key = result.output.split("\n==== THE KEY ====\n\n")
    assert "= ?" in sheet and "← answer" not in sheet
    assert "← answer" in key and "= ?" not in key
    alone = CliRunner().invoke(app, ["run", "spam", "--format", "plain", "--exercise"])
    assert alone.output == sheet


def test_a_toy_format_writes_generated_sheets_and_keys(toy_format: None, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate", "ai-by-hand/3-four-neurons", "-n", "2", "--max-decimals", "0",
                                      "--allow-dead-relu", "-f", "plain", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len([n for n in names if n.endswith("-sheet.txt")]) == 2
    assert len([n for n in names if n.endswith("-key.txt")]) == 2


def test_an_unknown_format_lists_the_registered_ones(toy_format: None) -> None:
    result = CliRunner().invoke(app, ["run", "spam", "--format", "rst"])
    assert result.exit_code == 2
    assert ("'rst' is not one of 'terminal', 'markdown', 'json', 'latex', 'html', 'moodle', 'qti', 'xlsx', "
            "'pytorch', 'plain'."
            in " ".join(result.output.replace("│", " ").split()))


@pytest.mark.parametrize("name", FORMATS.names())
def test_every_format_sheet_shows_its_own_blank(name: str, tmp_path: Path) -> None:
    record = FORMATS[name]
    result = _run(["spam", "--exercise"], name, tmp_path)
    if not record.sheets:  # a script that computes every value is a key, never a sheet
        assert result.exit_code == 2 and "cannot be an exercise sheet" in result.output
        return
    assert result.exit_code == 0, result.output
    if record.blank:
        assert record.blank in result.output
    if record.extension == "xlsx":  # a spreadsheet's blank is an empty cell with its status beside it
        assert "NOT DONE" in result.output
    if record.extension == "zip":  # a QTI package asks each blank as a question of its own
        assert result.output.count("<response_str") == 6  # spam's six one-per-layer blanks, one question each
    assert record.extension and record.description.startswith(name)
