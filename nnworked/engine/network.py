"""`solve`: a Scenario in, a Trace out. Forward pass, loss, backward pass and update, step by step.

Under `rounding: exact` everything is vectorised numpy in float64. Under `rounding: carry` every shown
intermediate is rounded, exactly as a student with a calculator would and as `nnworked.worked` writes
each element; `nnworked.engine.carry` computes that over whole arrays too.
"""

from __future__ import annotations

import numpy as np

from collections.abc import Iterator

from nnworked import progress
from nnworked.engine import carry, optimizers
from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.losses import LossSpec, element_losses, fused_delta, grad_yhat, total_loss
from nnworked.engine.rounding import Precision
from nnworked.errors import NumericalError
from nnworked.engine.backend import Carried, Exact, rows
from nnworked.rules.layers import LAYERS
from nnworked.scenario import Scenario, parameters
from nnworked.trace import (Activate, BackwardStep, Forward, GradientSum, LossValue, MatmulResult, OutputDelta, Steps,
                            Trace, TrainingStep, Update)


def solve(scenario: Scenario, keep: int | None = None) -> Trace:
    """The trace; `keep` steps from the first hold their full records and the rest their loss alone (None:
    every step in full)."""
    precision = Precision(scenario.precision, scenario.rounding == "carry")
    if scenario.matmul is not None:
        return Trace(scenario, precision, matmul=_matmul(scenario, precision))
    with np.errstate(all="ignore"):  # overflow is caught by `_finite` and explained, not warned about
        return _Solver(scenario, precision).run(keep)


def training_steps(scenario: Scenario) -> Iterator[TrainingStep]:
    """Every training step in full, one at a time, none held after it is handed on."""
    solver = _Solver(scenario, Precision(scenario.precision, scenario.rounding == "carry"))
    steps = solver.each_step()
    while True:
        with np.errstate(all="ignore"):  # as in `solve`, but not across the yield: the consumer's code runs there
            step = next(steps, None)
        if step is None:
            return
        yield step


def _matmul(scenario: Scenario, precision: Precision) -> MatmulResult:
    a, b = scenario.matmul.a, scenario.matmul.b  # type: ignore[union-attr]
    with np.errstate(all="ignore"):  # overflow is caught by `_finite` and explained, not warned about
        c = carry.matmul(carry.Carrier(precision.places), a, b) if precision.carry else a @ b
    return MatmulResult(a, b, _finite(c, "the product C = A·B", precision.carry))


def _finite(array: np.ndarray, where: str, carry: bool = False) -> np.ndarray:
    if not np.all(np.isfinite(array)):
        hint = ("; with rounding: carry a small value can round to 0 first (ln 0 and x/0 are undefined): try "
                "a larger --precision or --rounding exact") if carry else \
            "; scale the inputs, weights or learning rate down"
        raise NumericalError(f"{where} overflowed or became undefined (a value beyond ±1.8e308, or 0/0){hint}")
    return array


class _Solver:
    def __init__(self, scenario: Scenario, precision: Precision):
        self.scenario, self.precision, self.carry = scenario, precision, precision.carry
        self.params: dict[str, np.ndarray] = parameters(scenario.layers)
        self.state: dict[str, dict[str, np.ndarray]] = {name: {} for name in self.params}
        self.carried = carry.Carrier(precision.places)
        self.math = Carried(self.carried) if self.carry else Exact()
        self.rules = [LAYERS[layer.type] for layer in scenario.layers]

    def run(self, keep: int | None) -> Trace:
        s = self.scenario
        kept, losses = [], []
        count = s.steps if s.trains else 1
        for step in progress.track(self.each_step(), count, "Solving the training steps"):
            if keep is None or step.number <= keep:
                kept.append(step)
            losses.append(step.loss.value if step.loss is not None else None)
        steps = tuple(kept) if len(kept) == len(losses) else Steps(tuple(kept), losses, s.loss)  # type: ignore[arg-type]
        final = None
        if s.trains:
            forward = self.forward(given=False, label="the forward pass after training")
            final = (forward, self.loss(forward, "the loss after training"))
        return Trace(s, self.precision, steps, final)

    def each_step(self) -> Iterator[TrainingStep]:
        s = self.scenario
        count = s.steps if s.trains else 1
        for t in range(1, count + 1):
            forward = self.forward(given=t == 1, label=f"the forward pass of step {t}")
            loss = self.loss(forward, f"the loss of step {t}") if s.targets is not None else None
            backward: tuple[BackwardStep, ...] = ()
            updates: tuple[Update, ...] = ()
            if loss is not None:
                backward, grads = self.backward(forward, loss)
                if s.trains:
                    updates = self.update(grads, t)
            yield TrainingStep(t, forward, loss, backward, updates)

    # -- forward --

    def forward(self, given: bool, label: str) -> Forward:
        """Each layer's rule in turn, each taking the output of the one before."""
        operations: list = []
        a = self.scenario.inputs
        outputs = [a]  # by layer: what a residual connection reads
        finite = lambda array, where: _finite(array, f"{label}, at {where}")  # noqa: E731
        for k, (rule, layer) in enumerate(zip(self.rules, self.scenario.layers), start=1):
            source = rule.source(layer)
            inputs = a if source is None else (a, outputs[source])
            records = rule.forward(self.math, k, layer, self.params, inputs, given, finite)
            operations += records
            a = records[-1].output
            outputs.append(a)
        return Forward(tuple(operations))

    # -- loss --

    def loss(self, forward: Forward, label: str) -> LossValue:
        spec: LossSpec = self.scenario.loss  # type: ignore[assignment]
        y3, yhat3 = self.scenario.targets, forward.output
        assert y3 is not None
        # a sequence's loss is taken at every position as at every example: one row each (examples, then
        # positions), so a mean is over both together; per_example keeps the (example, position) shape
        y, yhat = rows(y3), rows(yhat3)
        if self.carry:
            per_example = carry.per_example_loss(self.carried, spec, yhat, y)
            value = carry.loss_total(self.carried, spec, per_example)
        else:
            per_example, value = total_loss(spec, element_losses(spec, yhat, y, rows(forward.linear[-1].z)))
        _finite(np.array([value]), label, self.carry)
        return LossValue(spec, yhat3, y3, per_example.reshape(yhat3.shape[:-1]), value)

    # -- backward --

    def backward(self, forward: Forward, loss: LossValue) -> tuple[tuple[BackwardStep, ...], dict[str, np.ndarray]]:
        """The loss's gradient fused with the output activation, then each layer's rule from the last to
        the first, each passing ∂L/∂(its input) to the one before; and every parameter's gradient."""
        steps: list = []
        delta = self.output_delta(forward, loss, steps)
        upstream, grads = None, {}
        by_layer: dict[int, list] = {}
        for operation in forward.operations:
            by_layer.setdefault(operation.layer, []).append(operation)
        skips: dict[int, list] = {}  # by layer j: (residual layer, ∂L/∂a_j along its skip)
        for k in range(len(self.rules), 0, -1):
            layer = self.scenario.layers[k - 1]
            done = self.rules[k - 1].backward(self.math, k, layer, self.params, tuple(by_layer[k]), upstream, delta,
                                              _finite)
            records = list(done.records)
            upstream, delta = done.downstream, None
            for j, gradient in done.skips:
                skips.setdefault(j, []).append((k, gradient))
            if upstream is not None and k - 1 in skips:  # a_{k−1}'s gradient is the sum of its paths
                joined = skips.pop(k - 1)
                total = _finite(self.math.add_paths([upstream, *(g for _, g in joined)]), f"∂L/∂a{k - 1}")
                main = next(i for i, r in enumerate(records) if f"a{k - 1}" in r.produces())
                records[main] = records[main]._replace(upstream=total)
                records.append(GradientSum(k - 1, upstream, tuple(s for s, _ in joined), tuple(g for _, g in joined),
                                           total))
                upstream = total
            steps += records
            grads.update(done.gradients)
        return tuple(steps), grads

    def through(self, act: Activate, upstream: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        return self.math.through(ACTIVATIONS[act.activation], act.z, act.a, upstream, act.slope)

    def output_delta(self, forward: Forward, loss: LossValue, steps: list) -> np.ndarray:
        spec, y, yhat = loss.spec, rows(loss.y), rows(loss.yhat)  # a sequence's positions as rows, as in `loss`
        shape = loss.yhat.shape
        last = forward.activate[-1]
        fused = spec.rule.output_activation == last.activation
        if self.carry:
            dl = carry.loss_gradient(self.carried, spec, yhat, y)
        else:
            dl = grad_yhat(spec, yhat, y)
        dl = dl.reshape(shape)
        dz, product = self.through(last, dl)  # may hold inf where ŷ saturates; the shortcut is used then
        shortcut = None
        if fused:
            shortcut = carry.shortcut(self.carried, spec, yhat, y) if self.carry else fused_delta(spec, yhat, y)
            shortcut = shortcut.reshape(shape)
        delta = shortcut if shortcut is not None else _finite(product, "∂L/∂z at the output")
        steps.append(OutputDelta(last.layer, last.activation, dl, dz, product, shortcut, delta))
        return delta

    # -- update --

    def update(self, grads: dict[str, np.ndarray], t: int) -> tuple[Update, ...]:
        s = self.scenario
        lr = s.learning_rate
        assert lr is not None
        updates = []
        for name in self.params:
            old, grad = self.params[name], grads[name]
            if name in s.freeze:
                updates.append(Update(name, old, grad, old, True, {}))
                continue
            if self.carry:  # each shown intermediate rounded, as the walkthrough writes it
                new, state = carry.update(self.carried, s.optimizer, old, grad, lr, self.state[name], t)
            else:
                new, state = optimizers.step(s.optimizer, old, grad, lr, self.state[name], t)
            self.state[name] = state
            self.params[name] = _finite(new, f"the update of {name} in step {t}", self.carry)
            updates.append(Update(name, old, grad, new, False, state))
        return tuple(updates)
