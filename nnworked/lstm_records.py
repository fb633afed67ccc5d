"""The records of an LSTM layer, forward and backward through time: data only, each naming what it produces,
as `nnworked.layer_records` does for the other layers. Every array is over time: (examples, positions, …),
and the four gates are stacked on a first axis in PyTorch's order i, f, g, o (`GATES`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

GATES = ("i", "f", "g", "o")  # input, forget, cell candidate, output: nn.LSTM's order of its weight rows


class LSTMForward(NamedTuple):
    """Per time step t: z_q = W_x,q·x_t + W_h,q·h_{t−1} + b_q for each gate q; i, f, o = σ(z), g = tanh(z);
    c_t = f ⊙ c_{t−1} + i ⊙ g; h_t = o ⊙ tanh(c_t). The layer's output is every h_t, or h_T alone."""

    layer: int
    input_weights: np.ndarray  # (4, hidden, inputs): W_x of gates i, f, g, o
    recurrent_weights: np.ndarray  # (4, hidden, hidden): W_h
    bias: np.ndarray | None  # (4, hidden)
    inputs: np.ndarray  # (examples, positions, inputs)
    h0: np.ndarray  # (hidden,): the initial hidden state
    c0: np.ndarray  # (hidden,): the initial cell state
    z: np.ndarray  # (4, examples, positions, hidden): each gate's pre-activation
    gates: np.ndarray  # (4, examples, positions, hidden): i, f, g, o
    c: np.ndarray  # (examples, positions, hidden): the cell state c_t
    tanh_c: np.ndarray  # tanh(c_t), as h_t used it
    h: np.ndarray  # (examples, positions, hidden): the hidden state h_t
    returns: str  # sequence (every h_t) or last (h_T)
    given: bool  # the weights are the numbers the user wrote (the first forward pass)

    @property
    def a(self) -> np.ndarray:
        return self.h if self.returns == "sequence" else self.h[:, -1]

    @property
    def output(self) -> np.ndarray:
        return self.a

    def previous_h(self) -> np.ndarray:
        """h_{t−1} at every step t: the initial state, then each h before the last (examples, positions, hidden)."""
        start = np.broadcast_to(self.h0, (self.h.shape[0], 1, self.h.shape[2]))
        return np.concatenate([start, self.h[:, :-1]], axis=1)

    def previous_c(self) -> np.ndarray:
        start = np.broadcast_to(self.c0, (self.c.shape[0], 1, self.c.shape[2]))
        return np.concatenate([start, self.c[:, :-1]], axis=1)

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer}": self.a}

    def intermediates(self) -> dict[str, np.ndarray]:
        """The values of every step a sheet can ask, by kind, each indexed [example, position, unit] as its name
        is (`nnworked.quantities.LSTM_FORWARD`): each gate's pre-activation zi, zf, zg, zo and value i, f, g, o,
        the cell state c; with return: last, the hidden states h before the last (the others are the output a).
        tanh(c) is none: no line works it alone (h_t's line works o × tanh(c) in one), so a sheet could not ask it;
        where it is an operand it is named by the c it is computed from."""
        out = {f"z{gate}": self.z[q] for q, gate in enumerate(GATES)}
        out.update({gate: self.gates[q] for q, gate in enumerate(GATES)})
        out["c"] = self.c
        if self.returns == "last" and self.h.shape[1] > 1:
            out["h"] = self.h[:, :-1]
        return out


class LSTMBackward(NamedTuple):
    """Backpropagation through time, from the last step to the first. At step t:
    ∂L/∂h_t = ∂L/∂a at t (what the layers after it send) + Σ_q W_h,qᵀ·∂L/∂z_q,t+1 (through the recurrence);
    ∂L/∂c_t = ∂L/∂h_t ⊙ o_t ⊙ (1 − tanh²(c_t)) + ∂L/∂c_{t+1} ⊙ f_{t+1};
    ∂L/∂o = ∂L/∂h_t ⊙ tanh(c_t), ∂L/∂i = ∂L/∂c_t ⊙ g, ∂L/∂g = ∂L/∂c_t ⊙ i, ∂L/∂f = ∂L/∂c_t ⊙ c_{t−1};
    ∂L/∂z_q = ∂L/∂q ⊙ σ′ (i, f, o: q(1 − q)) or tanh′ (g: 1 − g²).
    Each shared weight's gradient is the sum of every step's contribution: Σ_t ∂L/∂z_q,tᵀ·x_t (W_x),
    Σ_t ∂L/∂z_q,tᵀ·h_{t−1} (W_h), Σ_t ∂L/∂z_q,t (b), each step's summed over the examples."""

    layer: int
    upstream: np.ndarray  # ∂L/∂a_k as the layers after it see it: (examples, positions, hidden), or (examples, hidden)
    dh: np.ndarray  # (examples, positions, hidden): ∂L/∂h_t, both paths
    dc: np.ndarray  # (examples, positions, hidden): ∂L/∂c_t, both paths
    dgates: np.ndarray  # (4, examples, positions, hidden): ∂L/∂i, ∂L/∂f, ∂L/∂g, ∂L/∂o
    dz: np.ndarray  # (4, examples, positions, hidden): ∂L/∂z of each gate
    input_steps: np.ndarray  # (4, positions, hidden, inputs): each step's contribution to ∂L/∂W_x
    recurrent_steps: np.ndarray  # (4, positions, hidden, hidden): to ∂L/∂W_h
    bias_steps: np.ndarray | None  # (4, positions, hidden): to ∂L/∂b
    input_grad: np.ndarray  # (4, hidden, inputs): their sums over the steps
    recurrent_grad: np.ndarray
    bias_grad: np.ndarray | None

    def produces(self) -> dict[str, np.ndarray]:
        from nnworked.rules.layers.lstm import parameter_name

        out = {}
        for q, gate in enumerate(GATES):
            out[parameter_name("Wx", self.layer, gate)] = self.input_grad[q]
            out[parameter_name("Wh", self.layer, gate)] = self.recurrent_grad[q]
            if self.bias_grad is not None:
                out[parameter_name("b", self.layer, gate)] = self.bias_grad[q]
        return out

    def intermediates(self) -> dict[str, np.ndarray]:
        """The gradients through time a sheet can ask, by kind, indexed [example, position, unit]
        (`nnworked.quantities.LSTM_BACKWARD`): ∂L/∂h_t as dh before the last step (at the last it is what the
        layers after it send, ∂L/∂a), ∂L/∂c_t as dc, each gate's ∂L/∂q as di, df, dg, do and ∂L/∂z_q as dzi,
        dzf, dzg, dzo."""
        out = {"dh": self.dh[:, :-1]} if self.dh.shape[1] > 1 else {}
        out["dc"] = self.dc
        for q, gate in enumerate(GATES):
            out[f"d{gate}"], out[f"dz{gate}"] = self.dgates[q], self.dz[q]
        return out


class LSTMBackToInput(NamedTuple):
    """∂L/∂x_t = Σ_q W_x,qᵀ·∂L/∂z_q,t: what each input of each step receives from the four gates."""

    layer: int
    input_weights: np.ndarray  # (4, hidden, inputs)
    dz: np.ndarray  # (4, examples, positions, hidden)
    upstream: np.ndarray  # ∂L/∂a_{k−1}: (examples, positions, inputs)

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer - 1}": self.upstream}
