"""A long short-term memory layer, as PyTorch's nn.LSTM computes it: four gates in the order i, f, g, o, each
z_q = W_x,q·x_t + W_h,q·h_{t−1} + b_q; i, f, o = σ(z), g = tanh(z); the cell state c_t = f ⊙ c_{t−1} + i ⊙ g
and the hidden state h_t = o ⊙ tanh(c_t). It returns every h_t (`return: sequence`) or h_T (`last`).

Backward through time (`nnworked.lstm_records.LSTMBackward` writes the equations): from the last step to
the first, ∂L/∂h_t and ∂L/∂c_t each gather what the layers after it send and what the next step sends back
through the recurrence; each gate's ∂L/∂z follows; a shared weight's gradient is the sum of each step's
contribution. Every operation goes through the backend (`math`), so both rounding modes hold: in the
carried mode each intermediate is rounded as the worked line that shows it rounds it."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nnworked.lstm_records import GATES, LSTMBackToInput, LSTMBackward, LSTMForward
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers.base import Backward, Finite, LayerRule
from nnworked.rules.layers.sequence import SEQUENCES, parse_sequences

RETURNS = ["sequence", "last"]
GATE_NAMES = {"i": "input gate", "f": "forget gate", "g": "cell candidate", "o": "output gate"}
GATE_ACTIVATIONS = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid"}


class LSTMLayer(NamedTuple):
    input_weights: np.ndarray  # (4, hidden, inputs): gates i, f, g, o
    recurrent_weights: np.ndarray  # (4, hidden, hidden)
    bias: np.ndarray | None  # (4, hidden)
    h0: np.ndarray  # (hidden,)
    c0: np.ndarray  # (hidden,)
    returns: str = "sequence"
    name: str | None = None
    type: str = "lstm"
    activation: str = "linear"  # none of its own beyond the gates': what every layer says of itself
    slope: float = 0.01
    # no `bias` property needed: the field above holds the four biases


def parameter_name(role: str, k: int, gate: str) -> str:
    """"Wx2.i": the role (Wx, Wh, b), the layer, the gate, as CONTRACT.md names an LSTM's parameters."""
    return f"{role}{k}.{gate}"


def _sigmoid() -> Any:
    return ACTIVATIONS["sigmoid"]


def _tanh() -> Any:
    return ACTIVATIONS["tanh"]


class LSTM(LayerRule):
    name = "lstm"
    label = "LSTM"
    output = False  # the loss's gradient starts from a dense layer's activation: a dense layer reads h
    asks = "a"  # its output: its pre-activations are four gates'
    sheets = True  # its gates, states and gradients through time are quantities (lstm_records: intermediates)
    by_hand = True
    torch_module = "LSTM"
    in_sequential = False  # nn.LSTM returns (output, (h_n, c_n)): a script wraps it, from_torch reads it wrapped
    keys = ("input_weights", "recurrent_weights", "bias", "initial_state", "return", "name")

    def parse_inputs(self, check: Any, value: Any) -> np.ndarray | None:
        return parse_sequences(check, value)

    # -- reading a layer --

    def parse(self, check, spec, path, k, shape, previous):  # noqa: ANN001, ANN201
        for key in ("input_weights", "recurrent_weights"):
            if key not in spec:
                check.add(path, f"layer {k} (lstm) has no {key}",
                          f"{key}: {{i: [[…]], f: [[…]], g: [[…]], o: [[…]]}}", "none")
                return None
        wx = self._gates(check, spec["input_weights"], path + ("input_weights",), k, "the input weights", 2,
                         "[hidden][input]")
        wh = self._gates(check, spec["recurrent_weights"], path + ("recurrent_weights",), k, "the recurrent weights",
                         2, "[hidden][hidden]")
        if wx is None or wh is None:
            return None
        hidden = wx.shape[1]
        if wh.shape[1:] != (hidden, hidden):
            check.add(path + ("recurrent_weights",), f"the recurrent weights of layer {k} do not fit its hidden size",
                      f"{hidden}×{hidden} per gate (one row per hidden unit, one column per hidden unit)",
                      "×".join(map(str, wh.shape[1:])))
            return None
        bias = None
        if "bias" in spec:
            bias = self._gates(check, spec["bias"], path + ("bias",), k, "the bias", 1, "[hidden]")
            if bias is None:
                return None
            if bias.shape[1] != hidden:
                check.add(path + ("bias",), f"the bias of layer {k} does not fit its weights",
                          f"{hidden} numbers per gate (one per hidden unit)", f"{bias.shape[1]}")
                return None
        state = self._initial_state(check, spec.get("initial_state"), path + ("initial_state",), k, hidden)
        if state is None:
            return None
        returns = check.choice(spec.get("return", "sequence"), RETURNS, path + ("return",), "return")
        if returns is None:
            return None
        layer = LSTMLayer(wx, wh, bias, state[0], state[1], returns, check.layer_name(spec.get("name"), path + ("name",)))
        if shape is None:
            return layer, None
        inputs = wx.shape[2]
        if len(shape) != 2:
            what = "×".join(map(str, shape)) + " per example" if shape else "unknown"
            check.add(path, f"layer {k} (lstm) takes sequences from {previous}", f"{SEQUENCES} ({inputs} features)",
                      what, "an lstm layer comes first (its inputs are sequences) or after another sequence layer")
            return None
        positions, features = shape
        if features != inputs:
            check.add(path + ("input_weights",), f"the input weights of layer {k} do not fit {previous}",
                      f"{features} column{'s' if features != 1 else ''} per gate (one per feature)", f"{inputs}",
                      f"layer {k} receives {positions}×{features} per example from {previous}")
            return None
        return layer, ((positions, hidden) if returns == "sequence" else (hidden,))

    @staticmethod
    def _gates(check, value, path, k, what, rank, levels):  # noqa: ANN001, ANN205
        """A mapping of the four gates (i, f, g, o) to arrays of the same shape, stacked in that order."""
        if not isinstance(value, dict) or set(value) != set(GATES):
            from nnworked.values import describe

            given = ", ".join(map(str, value)) if isinstance(value, dict) else describe(value)
            check.add(path, f"{what} of layer {k} must give each gate", "a mapping with the keys i, f, g, o "
                      f"(PyTorch's order), each {levels}", given)
            return None
        arrays = []
        for gate in GATES:
            if rank == 1:
                array = check.vector(value[gate], path + (gate,), f"{what} of gate {gate}")
            else:
                array = check.tensor(value[gate], path + (gate,), f"{what} of gate {gate}", rank, levels)
            if array is None:
                return None
            arrays.append(array)
        if len({a.shape for a in arrays}) > 1:
            check.add(path, f"the gates of {what} of layer {k} have different shapes", "the same shape for i, f, g and o",
                      ", ".join("×".join(map(str, a.shape)) for a in arrays))
            return None
        return np.stack(arrays)

    @staticmethod
    def _initial_state(check, value, path, k, hidden):  # noqa: ANN001, ANN205
        zeros = np.zeros(hidden)
        if value is None:
            return zeros, zeros.copy()
        if not isinstance(value, dict):
            from nnworked.values import describe

            check.add(path, f"the initial state of layer {k} must be a mapping", "{h: [...], c: [...]}",
                      describe(value))
            return None
        check.keys(value, ["h", "c"], path, "an initial state")
        out = []
        for key in ("h", "c"):
            if key not in value:
                out.append(zeros.copy())
                continue
            vector = check.sized_vector(value[key], path + (key,), f"the initial {key} of layer {k}", hidden,
                                        "its hidden size", "one per hidden unit")
            if vector is None:
                return None
            out.append(vector)
        return tuple(out)

    # -- in words --

    def describe(self, layer: Any) -> str:
        hidden, inputs = layer.input_weights.shape[1:]
        returns = "every hidden state" if layer.returns == "sequence" else "the last hidden state"
        return (f"an LSTM of {hidden} hidden unit{'s' if hidden != 1 else ''} over {inputs} input feature"
                f"{'s' if inputs != 1 else ''} (gates i, f, g, o in PyTorch's order), returning {returns}"
                + ("" if layer.bias is not None else ", no bias"))

    def summary(self, layer: Any) -> str:
        return f"lstm {layer.input_weights.shape[1]}"

    def observe(self, forward: tuple[Any, ...], backward: tuple[Any, ...], n: Any, p: Any) -> list[str]:
        """The gradient along the cell state, step by step back in time, and the forget gates that scale it."""
        from nnworked.render.lstmnotes import memory

        return memory(forward, backward, n, p)

    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        out = {}
        for role, arrays in (("Wx", layer.input_weights), ("Wh", layer.recurrent_weights), ("b", layer.bias)):
            if arrays is None:
                continue
            for q, gate in enumerate(GATES):
                out[parameter_name(role, k, gate)] = arrays[q]
        return out

    @staticmethod
    def _stacked(params: dict[str, np.ndarray], role: str, k: int) -> np.ndarray | None:
        if parameter_name(role, k, GATES[0]) not in params:
            return None
        return np.stack([params[parameter_name(role, k, gate)] for gate in GATES])

    # -- forward --

    def forward(self, math, k, layer, params, inputs, given, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        wx, wh, bias = self._stacked(params, "Wx", k), self._stacked(params, "Wh", k), self._stacked(params, "b", k)
        examples, positions, _ = inputs.shape
        hidden = wx.shape[1]
        z = np.zeros((4, examples, positions, hidden))
        gates = np.zeros_like(z)
        c, tanh_c, h = (np.zeros((examples, positions, hidden)) for _ in range(3))
        h_prev = np.broadcast_to(layer.h0, (examples, hidden))
        c_prev = np.broadcast_to(layer.c0, (examples, hidden))
        for t in range(positions):
            joined = np.concatenate([inputs[:, t], h_prev], axis=1)  # [x_t | h_{t−1}]
            for q, gate in enumerate(GATES):
                weights = np.concatenate([wx[q], wh[q]], axis=1)  # [W_x,q | W_h,q]
                z[q, :, t] = finite(math.linear(weights, joined, None if bias is None else bias[q]),
                                    f"z_{gate} of layer {k} at position {t}")
                gates[q, :, t] = math.activate(ACTIVATIONS[GATE_ACTIVATIONS[gate]], z[q, :, t], 0.0)
            i, f, g, o = gates[:, :, t]
            c[:, t] = finite(math.elementwise("add", math.elementwise("mul", f, c_prev), math.elementwise("mul", i, g)),
                             f"the cell state of layer {k} at position {t}")
            tanh_c[:, t] = math.activate(_tanh(), c[:, t], 0.0)
            h[:, t] = math.elementwise("mul", o, tanh_c[:, t])
            h_prev, c_prev = h[:, t], c[:, t]
        return (LSTMForward(k, wx, wh, bias, inputs, layer.h0, layer.c0, z, gates, c, tanh_c, h, layer.returns, given),)

    # -- backward through time --

    def backward(self, math, k, layer, params, records, upstream, delta, finite: Finite) -> Backward:  # noqa: ANN001
        (fwd,) = records
        examples, positions, hidden = fwd.h.shape
        h_prev, c_prev = fwd.previous_h(), fwd.previous_c()
        dh, dc = np.zeros_like(fwd.h), np.zeros_like(fwd.c)
        dgates, dz = np.zeros_like(fwd.gates), np.zeros_like(fwd.z)
        recurrent = fwd.recurrent_weights.reshape(4 * hidden, hidden)  # the four W_h stacked: rows i…, f…, g…, o…
        for t in range(positions - 1, -1, -1):
            sent = self._sent(fwd, upstream, t)  # what the layers after it send to h_t (None: nothing)
            if t == positions - 1:
                dh[:, t] = sent
            else:
                back = math.backprop(recurrent, dz[:, :, t + 1].transpose(1, 0, 2).reshape(examples, 4 * hidden))
                dh[:, t] = back if sent is None else math.add_paths([sent, back])
            i, f, g, o = fwd.gates[:, :, t]
            dtanh = math.elementwise("sub", 1.0, math.elementwise("pow", fwd.tanh_c[:, t], 2.0))
            through = math.elementwise("mul", math.elementwise("mul", dh[:, t], o), dtanh)
            if t == positions - 1:
                dc[:, t] = through
            else:
                ahead = math.elementwise("mul", dc[:, t + 1], fwd.gates[1, :, t + 1])
                dc[:, t] = math.add_paths([through, ahead])
            dc[:, t] = finite(dc[:, t], f"∂L/∂c of layer {k} at position {t}")
            dgates[0, :, t] = math.elementwise("mul", dc[:, t], g)
            dgates[1, :, t] = math.elementwise("mul", dc[:, t], c_prev[:, t])
            dgates[2, :, t] = math.elementwise("mul", dc[:, t], i)
            dgates[3, :, t] = math.elementwise("mul", dh[:, t], fwd.tanh_c[:, t])
            for q, gate in enumerate(GATES):
                _, dz[q, :, t] = math.through(ACTIVATIONS[GATE_ACTIVATIONS[gate]], fwd.z[q, :, t], fwd.gates[q, :, t],
                                              dgates[q, :, t], 0.0)
        input_steps = np.stack([[math.weight_gradient(dz[q, :, t], fwd.inputs[:, t]) for t in range(positions)]
                                for q in range(4)])
        recurrent_steps = np.stack([[math.weight_gradient(dz[q, :, t], h_prev[:, t]) for t in range(positions)]
                                    for q in range(4)])
        bias_steps = None if fwd.bias is None else \
            np.stack([[math.bias_gradient(dz[q, :, t]) for t in range(positions)] for q in range(4)])

        def total(steps: np.ndarray) -> np.ndarray:
            return np.stack([math.add_paths(list(steps[q])) for q in range(4)])

        input_grad = finite(total(input_steps), f"∂L/∂Wx{k}")
        recurrent_grad = finite(total(recurrent_steps), f"∂L/∂Wh{k}")
        bias_grad = None if bias_steps is None else finite(total(bias_steps), f"∂L/∂b{k}")
        record = LSTMBackward(k, upstream, dh, dc, dgates, dz, input_steps, recurrent_steps, bias_steps, input_grad,
                              recurrent_grad, bias_grad)
        gradients = record.produces()
        if k == 1:
            return Backward((record,), gradients, None)
        weights = fwd.input_weights.reshape(4 * hidden, -1)
        dx = np.stack([math.backprop(weights, dz[:, :, t].transpose(1, 0, 2).reshape(examples, 4 * hidden))
                       for t in range(positions)], axis=1)
        dx = finite(dx, f"∂L/∂a{k - 1}")
        return Backward((record, LSTMBackToInput(k, fwd.input_weights, dz, dx)), gradients, dx)

    @staticmethod
    def _sent(fwd: LSTMForward, upstream: np.ndarray, t: int) -> np.ndarray | None:
        """∂L/∂h_t as the layers after this one send it: every position's (sequence), the last's alone (last)."""
        if fwd.returns == "sequence":
            return upstream[:, t]
        return upstream if t == fwd.h.shape[1] - 1 else None

    # -- PyTorch --

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        """nn.LSTM with these weights: its weight_ih is the four W_x stacked (i, f, g, o), weight_hh the four W_h,
        bias_ih the four b and bias_hh zeros (nn.LSTM adds two biases; one is enough)."""
        hidden, features = layer.input_weights.shape[1:]
        module = torch.nn.LSTM(features, hidden, batch_first=True, bias=layer.bias is not None).double()
        weights = {"weight_ih_l0": torch.cat([params[parameter_name("Wx", k, g)] for g in GATES]),
                   "weight_hh_l0": torch.cat([params[parameter_name("Wh", k, g)] for g in GATES])}
        if layer.bias is not None:
            weights["bias_ih_l0"] = torch.cat([params[parameter_name("b", k, g)] for g in GATES])
            weights["bias_hh_l0"] = torch.zeros(4 * hidden, dtype=torch.float64)
        examples = inputs.shape[0]
        state = (torch.tensor(layer.h0, dtype=torch.float64).expand(1, examples, hidden).contiguous(),
                 torch.tensor(layer.c0, dtype=torch.float64).expand(1, examples, hidden).contiguous())
        out, _ = torch.func.functional_call(module, weights, (inputs, state))
        return out if layer.returns == "sequence" else out[:, -1]

    def torch_names(self, k: int) -> dict[str, str]:
        """Each gate's weights are a block of rows of nn.LSTM's stacked tensors (torch_rows says which)."""
        return {parameter_name(role, k, gate): attribute for role, attribute in
                (("Wx", "weight_ih_l0"), ("Wh", "weight_hh_l0"), ("b", "bias_ih_l0")) for gate in GATES}

    def torch_rows(self, k: int, layer: Any) -> dict[str, tuple[int, int]]:
        hidden = layer.input_weights.shape[1]
        return {parameter_name(role, k, gate): (q * hidden, (q + 1) * hidden) for role in ("Wx", "Wh", "b")
                for q, gate in enumerate(GATES)}

    def torch_script(self, k: int, layer: Any) -> str:
        from nnworked.render.numbers import literal

        hidden, features = layer.input_weights.shape[1:]
        state = "".join(f", {key}={literal(value)}" for key, value in (("h0", layer.h0), ("c0", layer.c0))
                        if np.any(value))
        return (f"SequenceLSTM({features}, {hidden}, batch_first=True" + ("" if layer.bias is not None else ", bias=False")
                + (", last=True" if layer.returns == "last" else "") + state + ")")

    def torch_helper(self, layer: Any) -> str:
        from nnworked.rules.layers.sequence_torch import SEQUENCE_LSTM

        return SEQUENCE_LSTM

    def torch_readings(self, torch: Any, module: Any) -> tuple[Any, list[tuple[dict[str, Any], Any]]]:
        from nnworked.rules.layers.sequence_torch import recurrent_readings

        return recurrent_readings(torch, module)

    def torch_references(self, layer: Any) -> tuple[str, ...]:
        return ("nn.LSTM",)

    def from_torch(self, module: Any) -> dict[str, Any]:
        if module.num_layers != 1 or module.bidirectional or not module.batch_first or module.proj_size:
            raise ValueError(f"num_layers={module.num_layers}, bidirectional={module.bidirectional}, batch_first="
                             f"{module.batch_first}, proj_size={module.proj_size}: nnworked reads nn.LSTM with one "
                             "layer, one direction, batch_first=True and no projection (stack two lstm layers in "
                             "the scenario for two)")
        hidden = module.hidden_size

        def by_gate(array: np.ndarray) -> dict[str, np.ndarray]:
            return {gate: array[q * hidden:(q + 1) * hidden] for q, gate in enumerate(GATES)}

        def numpy(tensor: Any) -> np.ndarray:
            return tensor.detach().cpu().double().numpy()

        layer: dict[str, Any] = {"type": self.name, "input_weights": by_gate(numpy(module.weight_ih_l0)),
                                 "recurrent_weights": by_gate(numpy(module.weight_hh_l0))}
        if module.bias:  # nn.LSTM adds b_ih and b_hh: one bias, their sum
            layer["bias"] = by_gate(numpy(module.bias_ih_l0) + numpy(module.bias_hh_l0))
        return layer
