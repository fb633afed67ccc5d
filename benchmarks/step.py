"""One traced training step, in-process: nnworked against plain numpy and micrograd. Ratios of medians of
interleaved rounds, never absolute timings (the style of bench.py).

    python benchmarks/step.py            # 7 interleaved rounds (after one warm-up round)
    python benchmarks/step.py --quick    # 3 rounds

The network: 2-16-16-1, ReLU, ReLU, linear output, mean squared error, a batch of 32, plain SGD with
learning rate 0.1, weights and inputs with two decimals (a fixed seed). "One traced step" is
`nnworked.engine.network.solve` of that scenario with `steps: 1`: the forward pass, the loss, the backward
pass and the update, each recorded in the trace, and the forward pass and loss after the update (the trace
always ends with them). The plain numpy step does exactly that arithmetic and nothing else; micrograd
(`pip install micrograd`; Karpathy's scalar autograd, MIT) builds the same network from its Values and
does the same step.

1. nnworked (rounding: exact) / plain numpy                   target <= 5
2. nnworked (rounding: carry, 4 decimals) / plain numpy       target <= 30
3. micrograd / nnworked (rounding: exact)                      target >= 1000

Each timed sample runs its step enough times in a row to take a few milliseconds; a round takes one sample
of each, starting with a different one every round; each ratio is the median over rounds of that round's
ratio. PASS/FAIL against the targets is printed, never asserted. The exit status is 1 only when the
results disagree (nnworked's exact step against numpy's and micrograd's), never because of a timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nnworked.engine.losses import LossSpec  # noqa: E402
from nnworked.engine.network import solve  # noqa: E402
from nnworked.scenario import Layer, Scenario  # noqa: E402

SIZES = (2, 16, 16, 1)
BATCH = 32
LEARNING_RATE = 0.1
SEED = 2161601


def network(rounding: str = "exact") -> Scenario:
    rng = np.random.default_rng(SEED)
    layers = []
    for k, (inputs, units) in enumerate(zip(SIZES, SIZES[1:])):
        activation = "relu" if k < len(SIZES) - 2 else "linear"
        weights = np.round(rng.normal(0, (2 / inputs) ** 0.5, (units, inputs)), 2)
        layers.append(Layer(weights, np.round(rng.normal(0, 0.1, units), 2), activation))
    x = np.round(rng.uniform(-1, 1, (BATCH, SIZES[0])), 2)
    y = np.round(x[:, :1] * x[:, 1:] + 0.5, 2)
    return Scenario(title="2-16-16-1", source="benchmarks/step.py", inputs=x, targets=y, layers=tuple(layers),
                    loss=LossSpec("mse"), learning_rate=LEARNING_RATE, steps=1, precision=4, rounding=rounding)


# ---- the same step in plain numpy --------------------------------------------------------------------

def numpy_step(x: np.ndarray, y: np.ndarray, params: list[tuple[np.ndarray, np.ndarray]],
               lr: float) -> tuple[float, list[tuple[np.ndarray, np.ndarray]], float]:
    """Forward, MSE loss, backward, SGD update, then the forward pass and loss after it."""

    def forward(params: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        activations = [x]
        for k, (W, b) in enumerate(params):
            z = activations[-1] @ W.T + b
            activations.append(np.maximum(z, 0.0) if k < len(params) - 1 else z)
        return activations

    acts = forward(params)
    loss = float(np.mean((acts[-1] - y) ** 2))
    delta = 2.0 * (acts[-1] - y) / y.size
    new = []
    for k in range(len(params) - 1, -1, -1):
        W, b = params[k]
        dW, db = delta.T @ acts[k], delta.sum(axis=0)
        if k:
            delta = (delta @ W) * (acts[k] > 0)
        new.append((W - lr * dW, b - lr * db))
    new.reverse()
    after = float(np.mean((forward(new)[-1] - y) ** 2))
    return loss, new, after


# ---- the same step in micrograd ----------------------------------------------------------------------

def micrograd_step(s: Scenario) -> tuple[float, list[float], float]:
    from micrograd.engine import Value
    from micrograd.nn import MLP

    model = MLP(SIZES[0], list(SIZES[1:]))
    for layer, mine in zip(model.layers, s.layers):
        for neuron, w_row, b in zip(layer.neurons, mine.weights, mine.bias):
            for w, value in zip(neuron.w, w_row):
                w.data = float(value)
            neuron.b.data = float(b)

    def loss_of() -> Value:
        total = Value(0.0)
        for row, target in zip(s.inputs.tolist(), s.targets.tolist()):
            total = total + (model([Value(v) for v in row]) - target[0]) ** 2
        return total * (1.0 / BATCH)

    loss = loss_of()
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= LEARNING_RATE * p.grad
    return loss.data, [p.data for p in model.parameters()], loss_of().data


# ---- timing ------------------------------------------------------------------------------------------

def per_call(step: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls


def calls_for(step: Callable[[], object], seconds: float = 0.02) -> int:
    """How many calls in a row make one sample of about `seconds`."""
    once = per_call(step, 1)
    return max(1, int(seconds / max(once, 1e-7)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    parser.add_argument("--rounds", type=int, default=None)
    options = parser.parse_args()
    rounds = options.rounds or (3 if options.quick else 7)

    exact, carried = network("exact"), network("carry")
    params = [(layer.weights, layer.bias) for layer in exact.layers]
    steps: dict[str, Callable[[], object]] = {
        "numpy": lambda: numpy_step(exact.inputs, exact.targets, params, LEARNING_RATE),
        "nnworked exact": lambda: solve(exact),
        "nnworked carry": lambda: solve(carried),
    }
    try:
        import micrograd  # noqa: F401
        steps["micrograd"] = lambda: micrograd_step(exact)
    except ImportError:
        print("micrograd is not installed (pip install micrograd): its row is left out", file=sys.stderr)

    failures = check(exact, params, "micrograd" in steps)
    calls = {name: calls_for(step) for name, step in steps.items()}
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(per_call(steps[name], calls[name]))
        print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)

    def ratio(name: str, reference: str) -> tuple[float, float, float]:
        per_round = [a / b for a, b in zip(times[name], times[reference])]
        return statistics.median(per_round), min(per_round), max(per_round)

    rows = [("nnworked exact / numpy", ratio("nnworked exact", "numpy"), "<=", 5.0),
            ("nnworked carry / numpy", ratio("nnworked carry", "numpy"), "<=", 30.0)]
    if "micrograd" in steps:
        rows.append(("micrograd / nnworked exact", ratio("micrograd", "nnworked exact"), ">=", 1000.0))
    print(f"\none traced training step, {'-'.join(map(str, SIZES))}, batch {BATCH}, SGD: {rounds} interleaved "
          "rounds; median and range of the per-round ratios\n")
    print(f"{'check':<28}  {'median':>9}  {'range':>17}  {'target':>8}  result")
    for what, (median, low, high), sense, target in rows:
        ok = median <= target if sense == "<=" else median >= target
        print(f"{what:<28}  {median:8.1f}x  {low:7.1f}-{high:<8.1f}  {sense} {target:<5g}  {'PASS' if ok else 'FAIL'}")
    print("\nmedian time per step (for orientation only; compare ratios): " +
          ", ".join(f"{name} {statistics.median(ts) * 1e6:,.0f} µs" for name, ts in times.items()))
    for failure in failures:
        print(f"\nERROR: {failure}", file=sys.stderr)
    return 1 if failures else 0


def check(exact: Scenario, params: list[tuple[np.ndarray, np.ndarray]], with_micrograd: bool) -> list[str]:
    """The three compute the same step (to float rounding), so the ratios compare like with like."""
    failures = []
    trace = solve(exact)
    loss, new, after = numpy_step(exact.inputs, exact.targets, params, LEARNING_RATE)
    mine = [update.new for update in trace.steps[0].updates]
    theirs = [array for pair in new for array in pair]
    if not (np.isclose(trace.losses[0], loss) and np.isclose(trace.losses[1], after)
            and all(np.allclose(a, b) for a, b in zip(mine, theirs))):
        failures.append("nnworked's step and the numpy step disagree")
    if with_micrograd:
        m_loss, m_params, m_after = micrograd_step(exact)
        flat = np.concatenate([np.column_stack([W, b]).ravel() for W, b in new])
        if not (np.isclose(m_loss, loss) and np.isclose(m_after, after) and np.allclose(m_params, flat)):
            failures.append("micrograd's step and the numpy step disagree")
    return failures


if __name__ == "__main__":
    sys.exit(main())
