"""A simple (Elman) recurrent layer, as PyTorch's nn.RNN computes it: h_t = f(W_x·x_t + W_h·h_{t−1} + b),
f = tanh unless the layer says otherwise, h_{−1} = the initial state (zeros unless given). It returns
every h_t (return: sequence) or the last (return: last).

Backward is backpropagation through time, from the last step to the first: ∂L/∂h_t is what the layers
after it send (at every step, or at the last only) plus what h_{t+1} sends back, W_hᵀ·δ_{t+1}; δ_t =
∂L/∂h_t ⊙ f′(z_t); every step contributes δ_t ⊗ x_t, δ_t ⊗ h_{t−1} and δ_t to the gradients of the weights
all steps share, which are the sums of those contributions; ∂L/∂x_t = W_xᵀ·δ_t.

Each step's z_t is one linear combination of x_t and h_{t−1} together ([W_x | W_h]·[x_t; h_{t−1}] + b),
so both rounding modes compute it exactly as it is worked by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers.base import Backward, Finite, LayerRule
from nnworked.rules.layers.sequence import SEQUENCES, is_sequence, parse_sequences
from nnworked.rnn_records import Recurrence, RnnBackToInput, RnnLayer, ThroughTime

RETURNS = ["sequence", "last"]


class Rnn(LayerRule):
    name = "rnn"
    keys = ("input_weights", "recurrent_weights", "bias", "activation", "initial_state", "return", "name")
    output = False  # the loss's gradient must reach h_t through a layer after it (BPTT adds the recurrence)
    asks = "z"
    by_hand = True  # each step one stacked product (render/byhandrecurrent.py)
    in_sequential = False  # nn.RNN returns (output, h_n): a script wraps it, from_torch reads it wrapped
    torch_module = "RNN"

    def parse_inputs(self, check: Any, value: Any) -> np.ndarray | None:
        return parse_sequences(check, value)

    def parse(self, check, spec, path, k, shape, previous):  # noqa: ANN001, ANN201
        missing = [key for key in ("input_weights", "recurrent_weights") if key not in spec]
        if missing:
            check.add(path, f"layer {k} (rnn) has no {' and '.join(missing)}",
                      "input_weights: [hidden][input] and recurrent_weights: [hidden][hidden]", "none")
            return None
        wx = check.matrix(spec["input_weights"], path + ("input_weights",), f"the input weights of layer {k}")
        wh = check.matrix(spec["recurrent_weights"], path + ("recurrent_weights",),
                          f"the recurrent weights of layer {k}")
        if wx is None or wh is None:
            return None
        units = wx.shape[0]
        ok = True
        if wh.shape != (units, units):
            check.add(path + ("recurrent_weights",), f"the recurrent weights of layer {k} are not {units}×{units}",
                      f"{units}×{units} (one row and one column per hidden unit, as input_weights has {units} rows)",
                      "×".join(map(str, wh.shape)))
            ok = False
        bias = check.sized_vector(spec["bias"], path + ("bias",), f"the bias of layer {k}", units, "its weights",
                                  "one per hidden unit") if "bias" in spec else None
        initial = check.sized_vector(spec["initial_state"], path + ("initial_state",), f"the initial state of layer {k}",
                                     units, "its weights", "one per hidden unit") if "initial_state" in spec \
            else np.zeros(units)
        ok = ok and (bias is not None or "bias" not in spec) and initial is not None  # what does not fit is reported
        returns = check.choice(spec.get("return", "sequence"), RETURNS, path + ("return",), "return")
        activation, slope = check.activation(spec.get("activation", "tanh"), path + ("activation",))
        name = check.layer_name(spec.get("name"), path + ("name",))
        if shape is None or not ok or returns is None or activation is None:
            return None
        if not is_sequence(shape):
            check.add(path, f"layer {k} (rnn) takes a sequence per example from {previous}", SEQUENCES,
                      "×".join(map(str, shape)) + " per example",
                      "an rnn layer comes first (its inputs are sequences) or after another sequence layer")
            return None
        positions, width = shape
        if wx.shape[1] != width:
            hint = ("it looks transposed: write one row per hidden unit, one column per input"
                    if wx.shape[0] == width else f"layer {k} takes {width} inputs at each position from {previous}")
            check.add(path + ("input_weights",), f"the input weights of layer {k} do not fit {previous}",
                      f"{width} columns (one per input)", f"{wx.shape[1]} columns ({wx.shape[0]}×{wx.shape[1]})", hint)
            return None
        layer = RnnLayer(wx, wh, bias, initial, returns, activation, slope, name)
        return layer, ((positions, units) if returns == "sequence" else (units,))

    def describe(self, layer: Any) -> str:
        units = layer.units
        act = ACTIVATIONS[layer.activation]
        given = "" if not np.any(layer.initial_state) else ", a given initial state h₀"
        return (f"a recurrent layer of {units} unit{'s' if units != 1 else ''} with **{act.label}** activation, "
                f"h_t = {act.symbol or 'f'}(W_x·x_t + W_h·h_(t−1)" + (" + b" if layer.bias is not None else "") +
                f"){given}, returning {'every h_t' if layer.returns == 'sequence' else 'the last h_t only'}")

    def summary(self, layer: Any) -> str:
        return f"rnn {layer.units}" + ("" if layer.returns == "sequence" else ", last")

    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        params = {f"Wx{k}": layer.input_weights, f"Wh{k}": layer.recurrent_weights}
        if layer.bias is not None:
            params[f"b{k}"] = layer.bias
        return params

    def forward(self, math, k, layer, params, inputs, given, finite: Finite,  # noqa: ANN001
                nudge: np.ndarray | None = None) -> tuple[Any, ...]:
        """`nudge` is added to each z_t before its h_t (verify's finite differences of ∂L/∂z)."""
        wx, wh, bias = params[f"Wx{k}"], params[f"Wh{k}"], params.get(f"b{k}")
        rule = ACTIVATIONS[layer.activation]
        joined = np.concatenate([wx, wh], axis=1)  # [W_x | W_h]: one linear combination per step
        examples, positions, _ = inputs.shape
        z = np.empty((examples, positions, layer.units))
        h = np.empty_like(z)
        previous = np.broadcast_to(layer.initial_state, (examples, layer.units))
        for t in range(positions):
            z[:, t] = finite(math.linear(joined, np.concatenate([inputs[:, t], previous], axis=1), bias), f"z{k}")
            if nudge is not None:
                z[:, t] += nudge[:, t]
            h[:, t] = finite(math.activate(rule, z[:, t], layer.slope), f"a{k}")
            previous = h[:, t]
        return (Recurrence(k, layer.activation, layer.slope, wx, wh, bias, layer.initial_state, inputs, z, h,
                           layer.returns, given),)

    def from_z(self, math, k, layer, params, inputs, z, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        """z_t also decides h_t and so z_{t+1}: run the recurrence again with the change made to z."""
        (plain,) = self.forward(math, k, layer, params, inputs, False, finite)
        return self.forward(math, k, layer, params, inputs, False, finite, nudge=z - plain.z)

    def backward(self, math, k, layer, params, records, upstream, delta, finite: Finite) -> Backward:  # noqa: ANN001
        (rec,) = records
        rule = ACTIVATIONS[rec.activation]
        examples, positions, units = rec.z.shape
        recurrent, total, deltas = np.zeros(rec.z.shape), np.zeros(rec.z.shape), np.zeros(rec.z.shape)
        derivative = np.zeros(rec.z.shape) if rule.elementwise else None
        for t in range(positions - 1, -1, -1):
            paths = []
            if rec.returns == "sequence":
                paths.append(upstream[:, t])
            elif t == positions - 1:
                paths.append(upstream)
            if t < positions - 1:  # h_t also fed h_{t+1}: its gradient comes back through W_h
                recurrent[:, t] = finite(math.backprop(rec.recurrent_weights, deltas[:, t + 1]), f"∂L/∂h{k}")
                paths.append(recurrent[:, t])
            total[:, t] = paths[0] if len(paths) == 1 else finite(math.add_paths(paths), f"∂L/∂h{k}")
            slope, deltas[:, t] = math.through(rule, rec.z[:, t], rec.h[:, t], total[:, t], rec.slope)
            if derivative is not None:
                derivative[:, t] = slope
            deltas[:, t] = finite(deltas[:, t], f"∂L/∂z{k}")
        previous = rec.previous()
        shares = {f"Wx{k}": [math.weight_gradient(deltas[:, t], rec.inputs[:, t]) for t in range(positions)],
                  f"Wh{k}": [math.weight_gradient(deltas[:, t], previous[:, t]) for t in range(positions)]}
        if rec.bias is not None:
            shares[f"b{k}"] = [math.bias_gradient(deltas[:, t]) for t in range(positions)]
        contributions = {name: np.stack(parts) for name, parts in shares.items()}
        gradients = {name: finite(math.add_paths(parts), f"∂L/∂{name}") for name, parts in shares.items()}
        out: list[Any] = [ThroughTime(k, rec.activation, rec.slope, rec.returns, upstream, recurrent, total, derivative,
                                      deltas, contributions, gradients)]
        if k == 1:
            return Backward(tuple(out), gradients, None)
        downstream = finite(math.backprop(rec.input_weights, deltas), f"∂L/∂a{k - 1}")
        out.append(RnnBackToInput(k, rec.input_weights, deltas, downstream))
        return Backward(tuple(out), gradients, downstream)

    # -- PyTorch --

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        """nn.RNN itself (tanh or ReLU, batch first) with these weights; b is its bias_ih, bias_hh is 0."""
        wx, wh = params[f"Wx{k}"], params[f"Wh{k}"]
        bias = params.get(f"b{k}")
        h0 = torch.tensor(layer.initial_state, dtype=torch.float64).reshape(1, 1, -1).expand(1, inputs.shape[0], -1)
        if layer.activation in ("tanh", "relu"):
            module = torch.nn.RNN(wx.shape[1], wx.shape[0], nonlinearity=layer.activation, batch_first=True,
                                  bias=bias is not None).double()
            weights = {"weight_ih_l0": wx, "weight_hh_l0": wh}
            if bias is not None:
                weights.update({"bias_ih_l0": bias, "bias_hh_l0": torch.zeros_like(bias)})
            output, last = torch.func.functional_call(module, weights, (inputs, h0.contiguous()))
            return output if layer.returns == "sequence" else last[0]
        rule, h, steps = ACTIVATIONS[layer.activation], h0[0], []  # nn.RNN has no other f: the same loop by hand
        for t in range(inputs.shape[1]):
            z = inputs[:, t] @ wx.T + h @ wh.T + (bias if bias is not None else 0.0)
            h = rule.torch_value(torch, z, layer.slope)
            steps.append(h)
        return torch.stack(steps, dim=1) if layer.returns == "sequence" else h

    def torch_script(self, k: int, layer: Any) -> str:
        from nnworked.errors import NnworkedError
        from nnworked.render.numbers import literal

        if layer.activation not in ("tanh", "relu"):
            raise NnworkedError(f"nn.RNN computes tanh or ReLU only: a {ACTIVATIONS[layer.activation].label} rnn "
                                "layer cannot be written with it (`nnworked verify` compares it with PyTorch by hand)")
        return (f"SequenceRNN({layer.input_weights.shape[1]}, {layer.units}, nonlinearity={layer.activation!r}, "
                f"batch_first=True" + ("" if layer.bias is not None else ", bias=False")
                + (", last=True" if layer.returns == "last" else "")
                + (f", h0={literal(layer.initial_state)}" if np.any(layer.initial_state) else "") + ")")

    def torch_helper(self, layer: Any) -> str:
        from nnworked.rules.layers.sequence_torch import SEQUENCE_RNN

        return SEQUENCE_RNN

    def torch_outputs(self, k: int) -> dict[str, str]:
        return {f"z{k}": "pre_activations"}

    def torch_readings(self, torch: Any, module: Any) -> tuple[Any, list[tuple[dict[str, Any], Any]]]:
        from nnworked.rules.layers.sequence_torch import recurrent_readings

        return recurrent_readings(torch, module)

    def torch_references(self, layer: Any) -> tuple[str, ...]:
        return ("nn.RNN",) if layer.activation in ("tanh", "relu") else ()

    def torch_names(self, k: int) -> dict[str, str]:
        return {f"Wx{k}": "weight_ih_l0", f"Wh{k}": "weight_hh_l0", f"b{k}": "bias_ih_l0"}

    def from_torch(self, module: Any) -> dict[str, Any]:
        if module.num_layers != 1 or module.bidirectional or not module.batch_first:
            raise ValueError(f"num_layers={module.num_layers}, bidirectional={module.bidirectional}, batch_first="
                             f"{module.batch_first}: nnworked reads nn.RNN with one layer, one direction and "
                             "batch_first=True (stack two rnn layers in the scenario for two)")
        layer: dict[str, Any] = {"type": self.name, "activation": module.nonlinearity,
                                 "input_weights": module.weight_ih_l0.detach().cpu().double().numpy(),
                                 "recurrent_weights": module.weight_hh_l0.detach().cpu().double().numpy()}
        if module.bias:  # PyTorch adds two biases: their sum is the one b
            layer["bias"] = (module.bias_ih_l0 + module.bias_hh_l0).detach().cpu().double().numpy()
        return layer
