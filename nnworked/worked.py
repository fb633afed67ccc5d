"""How one element of each operation is worked by hand, as an expression tree.

Renderers print these; under `rounding: carry` the engine computes the same carried numbers over whole
arrays (`nnworked.engine.carry`), and tests/test_carry.py proves them equal to these workings.
"""

from __future__ import annotations

from typing import Sequence

from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.losses import LossSpec, example_expr, grad_expr, scaled
from nnworked.engine.optimizers import OptimizerSpec
from nnworked.engine.rounding import Precision
from nnworked.rules.optimizers import WorkedArithmetic
from nnworked.expr import Expr, Num, chain, num, op


def _sum(terms: list[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else op("add", *terms)


Labels = Sequence[str] | None


def _label(labels: Labels, index: int) -> str:
    return labels[index] if labels else ""


def linear(weights: Sequence[float], inputs: Sequence[float], bias: float | None, weights_given: bool,
           inputs_given: bool, input_labels: Labels = None, weight_labels: Labels = None,
           bias_label: str = "") -> Expr:
    """(w₀ × a₀) + (w₁ × a₁) + … + b for one neuron and one example. Weights after an update are
    quantities too (W1[0,1]), named by `weight_labels`."""
    terms: list[Expr] = [op("mul", num(w, weights_given, _label(weight_labels, j)),
                            num(a, inputs_given, _label(input_labels, j)))
                         for j, (w, a) in enumerate(zip(weights, inputs))]
    if bias is not None:
        terms.append(num(bias, weights_given, bias_label))
    return _sum(terms)


def activation(name: str, z: float, slope: float, label: str = "") -> Expr:
    """One element of an elementwise activation, worked (softmax works a whole row: its forward_lines)."""
    return ACTIVATIONS[name].expand(z, slope, label)  # type: ignore[attr-defined]


def loss_example(spec: LossSpec, yhat: Sequence[float], y: Sequence[float], labels: Labels = None) -> Expr:
    return example_expr(spec, list(yhat), list(y), list(labels) if labels else None)


def loss_total(spec: LossSpec, per_example: Sequence[float], labels: Labels = None) -> Expr:
    """The batch reduction: (L⁽¹⁾ + … + L⁽ᴺ⁾) / N, or their sum."""
    body = _sum([num(v, label=_label(labels, n)) for n, v in enumerate(per_example)])
    return op("div", body, num(len(per_example), True)) if spec.batch == "mean" and len(per_example) > 1 else body


def loss_gradient(spec: LossSpec, yhat: float, y: float, examples: int, units: int, label: str = "") -> Expr:
    return grad_expr(spec, yhat, y, examples, units, label)


def derivative(name: str, z: float, a: float, slope: float, label: str = "") -> tuple[Expr, str]:
    return ACTIVATIONS[name].derivative_expr(z, a, slope, label)  # type: ignore[attr-defined]


def product(left: float, right: float, left_label: str = "", right_label: str = "") -> Expr:
    return op("mul", num(left, label=left_label), num(right, label=right_label))


def softmax_delta(upstream: Sequence[float], outputs: Sequence[float], j: int, upstream_labels: Labels = None,
                  output_labels: Labels = None) -> Expr:
    """δⱼ = aⱼ × (gⱼ − Σₖ gₖ × aₖ): the softmax Jacobian applied to the upstream gradient g, for unit j."""
    weighted = _sum([op("mul", num(g, label=_label(upstream_labels, k)), num(a, label=_label(output_labels, k)))
                     for k, (g, a) in enumerate(zip(upstream, outputs))])
    return op("mul", num(outputs[j], label=_label(output_labels, j)),
              op("sub", num(upstream[j], label=_label(upstream_labels, j)), weighted))


def shortcut(spec: LossSpec, yhat: float, y: float, examples: int, units: int, label: str = "") -> Expr:
    return scaled(spec, op("sub", num(yhat, label=label), num(y, True)), examples, units)


def weight_gradient(deltas: Sequence[float], inputs: Sequence[float], given: bool, delta_labels: Labels = None,
                    input_labels: Labels = None) -> Expr:
    """Σₙ δ⁽ⁿ⁾ × a⁽ⁿ⁾ for one weight."""
    return _sum([op("mul", num(d, label=_label(delta_labels, n)), num(a, given, _label(input_labels, n)))
                 for n, (d, a) in enumerate(zip(deltas, inputs))])


def bias_gradient(deltas: Sequence[float], labels: Labels = None) -> Expr:
    return _sum([num(d, label=_label(labels, n)) for n, d in enumerate(deltas)])


def backprop(weights_column: Sequence[float], deltas: Sequence[float], given: bool, labels: Labels = None,
             weight_labels: Labels = None) -> Expr:
    """Σᵢ Wᵢⱼ × δᵢ: what unit j of the previous layer receives (the weights by name after step 1)."""
    return _sum([op("mul", num(w, given, _label(weight_labels, i)), num(d, label=_label(labels, i)))
                 for i, (w, d) in enumerate(zip(weights_column, deltas))])


def parameter_count(layers: Sequence[tuple[int, int, bool]]) -> Expr:
    """units × (inputs + 1) per layer (no + 1 without a bias), summed: 4 × (3 + 1) + 2 × (4 + 1)."""
    terms: list[Expr] = []
    for units, inputs, bias in layers:
        per_neuron = op("add", num(inputs, True), num(1, True)) if bias else num(inputs, True)
        terms.append(op("mul", num(units, True), per_neuron))
    return _sum(terms)


def optimizer_update(spec: OptimizerSpec, theta: float, grad: float, learning_rate: float,
                     state: dict[str, float], t: int, precision: Precision, given: bool,
                     grad_label: str = "", theta_label: str = "") -> list[tuple[str, Expr, float]]:
    """One parameter's update as the lines a person writes: (name, working, value), in order. Each later
    line uses the earlier values as shown (carried under `rounding: carry`). Names: g (with weight decay),
    v, s, m, v, m_hat, v_hat, and "new" for the parameter after the update."""
    arithmetic = WorkedArithmetic(state, precision)
    spec.rule.step(arithmetic, num(theta, given, theta_label), num(grad, label=grad_label), num(learning_rate, True), spec.get, t)
    return arithmetic.lines


# ---- computing with the working (rounding: carry) --------------------------------------------------

def value(expr: Expr, precision: Precision) -> float:
    """The last stage of the working, each stage rounded as shown when carrying."""
    last = chain(expr, precision.carried)[-1]
    assert isinstance(last, Num)
    return precision.carried(last.value)

