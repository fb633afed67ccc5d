"""How one element of each operation is worked by hand, as an expression tree.

Renderers print these; under `rounding: carry` the engine computes the same carried numbers over whole
arrays (`nnworked.engine.carry`), and tests/test_carry.py proves them equal to these workings.
"""

from __future__ import annotations

from typing import Callable, Sequence

from nnworked.engine.activations import ACTIVATIONS, derivative_expr
from nnworked.engine.losses import LossSpec, example_expr, grad_expr, scaled
from nnworked.engine.optimizers import OptimizerSpec
from nnworked.engine.rounding import Precision
from nnworked.expr import Expr, Num, chain, num, op


def _sum(terms: list[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else op("add", *terms)


Labels = Sequence[str] | None


def _label(labels: Labels, index: int) -> str:
    return labels[index] if labels else ""


def linear(weights: Sequence[float], inputs: Sequence[float], bias: float | None, weights_given: bool,
           inputs_given: bool, input_labels: Labels = None) -> Expr:
    """(w₀ × a₀) + (w₁ × a₁) + … + b for one neuron and one example."""
    terms: list[Expr] = [op("mul", num(w, weights_given), num(a, inputs_given, _label(input_labels, j)))
                         for j, (w, a) in enumerate(zip(weights, inputs))]
    if bias is not None:
        terms.append(num(bias, weights_given))
    return _sum(terms)


def activation(name: str, z: float, slope: float, label: str = "") -> Expr:
    expand = ACTIVATIONS[name].expand
    assert expand is not None, "softmax is worked over a whole row: see softmax_parts"
    return expand(z, slope, label)


SOFTMAX_SHIFT_ABOVE = 50.0  # e^50 is about 5 × 10²¹: beyond it, work with z − max(z)


def softmax_shift(z: Sequence[float]) -> float:
    """What is subtracted from every z before exponentiating: 0 unless e^z would be unreadably large or
    overflow. Softmax is unchanged by it, since the factor e^(−shift) cancels between top and bottom."""
    top = max(z)
    return float(top) if top > SOFTMAX_SHIFT_ABOVE else 0.0


def softmax_parts(z: Sequence[float], labels: Labels = None) -> tuple[list[Expr], Callable[..., Expr],
                                                                    Callable[..., Expr]]:
    """e^(zₖ − shift) for each k, their sum Σ, and ŷₖ = e^(zₖ − shift) / Σ."""
    shift = softmax_shift(z)
    exps = [op("exp", num(v - shift, label=_label(labels, k) if not shift else "")) for k, v in enumerate(z)]

    def total(values: list[float], names: Labels = None) -> Expr:
        return _sum([num(v, label=_label(names, k) + "|" if names else "") for k, v in enumerate(values)])

    def share(e: float, sigma: float, name: str = "", every: str = "") -> Expr:
        return op("div", num(e, label=name + "|" if name else ""), num(sigma, label=every + "|" if every else ""))

    return exps, total, share


def loss_example(spec: LossSpec, yhat: Sequence[float], y: Sequence[float], labels: Labels = None) -> Expr:
    return example_expr(spec, list(yhat), list(y), list(labels) if labels else None)


def loss_total(spec: LossSpec, per_example: Sequence[float], labels: Labels = None) -> Expr:
    """The batch reduction: (L⁽¹⁾ + … + L⁽ᴺ⁾) / N, or their sum."""
    body = _sum([num(v, label=_label(labels, n)) for n, v in enumerate(per_example)])
    return op("div", body, num(len(per_example), True)) if spec.batch == "mean" and len(per_example) > 1 else body


def loss_gradient(spec: LossSpec, yhat: float, y: float, examples: int, units: int, label: str = "") -> Expr:
    return grad_expr(spec, yhat, y, examples, units, label)


def derivative(name: str, z: float, a: float, slope: float, label: str = "") -> tuple[Expr, str]:
    return derivative_expr(name, z, a, slope, label)


def product(left: float, right: float, left_label: str = "", right_label: str = "") -> Expr:
    return op("mul", num(left, label=left_label), num(right, label=right_label))


def shortcut(spec: LossSpec, yhat: float, y: float, examples: int, units: int, label: str = "") -> Expr:
    return scaled(spec, op("sub", num(yhat, label=label), num(y, True)), examples, units)


def weight_gradient(deltas: Sequence[float], inputs: Sequence[float], given: bool, delta_labels: Labels = None,
                    input_labels: Labels = None) -> Expr:
    """Σₙ δ⁽ⁿ⁾ × a⁽ⁿ⁾ for one weight."""
    return _sum([op("mul", num(d, label=_label(delta_labels, n)), num(a, given, _label(input_labels, n)))
                 for n, (d, a) in enumerate(zip(deltas, inputs))])


def bias_gradient(deltas: Sequence[float], labels: Labels = None) -> Expr:
    return _sum([num(d, label=_label(labels, n)) for n, d in enumerate(deltas)])


def backprop(weights_column: Sequence[float], deltas: Sequence[float], given: bool, labels: Labels = None) -> Expr:
    """Σᵢ Wᵢⱼ × δᵢ: what unit j of the previous layer receives."""
    return _sum([op("mul", num(w, given), num(d, label=_label(labels, i)))
                 for i, (w, d) in enumerate(zip(weights_column, deltas))])


def parameter_count(layers: Sequence[tuple[int, int, bool]]) -> Expr:
    """units × (inputs + 1) per layer (no + 1 without a bias), summed: 4 × (3 + 1) + 2 × (4 + 1)."""
    terms: list[Expr] = []
    for units, inputs, bias in layers:
        per_neuron = op("add", num(inputs, True), num(1, True)) if bias else num(inputs, True)
        terms.append(op("mul", num(units, True), per_neuron))
    return _sum(terms)


def update_sgd(theta: float, learning_rate: float, grad: float, given: bool, grad_label: str = "") -> Expr:
    return op("sub", num(theta, given), op("mul", num(learning_rate, True), num(grad, label=grad_label)))


def optimizer_update(spec: OptimizerSpec, theta: float, grad: float, learning_rate: float,
                     state: dict[str, float], t: int, precision: Precision, given: bool,
                     grad_label: str = "") -> list[tuple[str, Expr, float]]:
    """One parameter's update as the lines a person writes: (name, working, value), in order. Each later
    line uses the earlier values as shown (carried under `rounding: carry`). Names: g (with weight decay),
    v, s, m, v, m_hat, v_hat, and "new" for the parameter after the update."""
    lines: list[tuple[str, Expr, float]] = []

    def add(name: str, expr: Expr) -> Num:
        result = value(expr, precision)
        lines.append((name, expr, result))
        return num(result)

    def complement(x: float) -> Num:  # 1 − β as the reader would write it (0.1, not 0.09999999999999998)
        return num(round(1 - x, 12), True)

    g: Expr = num(grad, label=grad_label)
    decay = spec.get("weight_decay")
    if decay:
        g = add("g", op("add", g, op("mul", num(decay, True), num(theta, given))))
    theta_num, lr = num(theta, given), num(learning_rate, True)
    if spec.name == "sgd":
        add("new", op("sub", theta_num, op("mul", lr, g)))
    elif spec.name == "momentum":
        v = add("v", op("add", op("mul", num(spec.get("momentum"), True), num(state.get("v", 0.0))), g))
        add("new", op("sub", theta_num, op("mul", lr, v)))
    elif spec.name == "rmsprop":
        rho, eps = spec.get("rho"), spec.get("epsilon")
        s = add("s", op("add", op("mul", num(rho, True), num(state.get("s", 0.0))),
                        op("mul", complement(rho), op("pow", g, num(2, True)))))
        add("new", op("sub", theta_num, op("div", op("mul", lr, g), op("add", op("sqrt", s), num(eps, True)))))
    else:
        b1, b2, eps = spec.get("beta1"), spec.get("beta2"), spec.get("epsilon")
        m = add("m", op("add", op("mul", num(b1, True), num(state.get("m", 0.0))), op("mul", complement(b1), g)))
        v = add("v", op("add", op("mul", num(b2, True), num(state.get("v", 0.0))),
                        op("mul", complement(b2), op("pow", g, num(2, True)))))
        m_hat = add("m_hat", op("div", m, op("sub", num(1, True), op("pow", num(b1, True), num(t, True)))))
        v_hat = add("v_hat", op("div", v, op("sub", num(1, True), op("pow", num(b2, True), num(t, True)))))
        add("new", op("sub", theta_num, op("div", op("mul", lr, m_hat), op("add", op("sqrt", v_hat), num(eps, True)))))
    return lines


# ---- computing with the working (rounding: carry) --------------------------------------------------

def value(expr: Expr, precision: Precision) -> float:
    """The last stage of the working, each stage rounded as shown when carrying."""
    last = chain(expr, precision.carried)[-1]
    assert isinstance(last, Num)
    return precision.carried(last.value)

