"""The sequence layers (rnn, lstm, self_attention) in PyTorch: the small classes a `--format pytorch` script
defines so that nn.Sequential can chain nn.RNN, nn.LSTM and nn.MultiheadAttention (each returns a pair, and
attention takes three inputs), and how `from_torch` reads a module that wraps one of them: by running it
on a probe and comparing with each way nnworked can read it.

Each class is a subclass of the torch.nn module, so its parameters keep torch's own names (weight_ih_l0,
in_proj_weight, out_proj.weight) and the scenario's weights load into them as into the module itself."""

from __future__ import annotations

from typing import Any

SEQUENCE_RNN = '''class SequenceRNN(nn.RNN):
    """nn.RNN as a step of nn.Sequential, which cannot pass on the pair (output, h_n) that nn.RNN returns: it
    returns h_t at every position (last=True: at the last position only), from h0 (zeros unless given).
    nnworked's one bias b is bias_ih_l0: the second bias nn.RNN adds, bias_hh_l0, stays zero, untrained."""

    def __init__(self, *args, last=False, h0=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.last, self.h0 = last, h0
        if self.bias:
            self.bias_hh_l0.requires_grad_(False).zero_()

    def initial(self, x):
        """h0 for every example, (1, examples, hidden) as nn.RNN takes it."""
        h0 = torch.zeros(self.hidden_size) if self.h0 is None else torch.tensor(self.h0)
        return h0.expand(1, len(x), -1).contiguous()

    def forward(self, x):
        h = super().forward(x, self.initial(x))[0]
        return h[:, -1] if self.last else h

    def pre_activations(self, x):
        """nnworked's z: z_t = W_x·x_t + W_h·h_(t−1) + b at every position."""
        h = super().forward(x, self.initial(x))[0]
        previous = torch.cat([self.initial(x).transpose(0, 1), h[:, :-1]], dim=1)  # h_(t−1) at every t
        z = x @ self.weight_ih_l0.T + previous @ self.weight_hh_l0.T
        return z + self.bias_ih_l0 if self.bias else z
'''

SEQUENCE_LSTM = '''class SequenceLSTM(nn.LSTM):
    """nn.LSTM as a step of nn.Sequential, which cannot pass on the pair (output, (h_n, c_n)) that nn.LSTM
    returns: it returns h_t at every position (last=True: at the last position only), from h0 and c0 (zeros
    unless given). The gates are stacked in PyTorch's order i, f, g, o in weight_ih_l0, weight_hh_l0 and
    bias_ih_l0; the second bias nn.LSTM adds, bias_hh_l0, stays zero, untrained."""

    def __init__(self, *args, last=False, h0=None, c0=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.last, self.h0, self.c0 = last, h0, c0
        if self.bias:
            self.bias_hh_l0.requires_grad_(False).zero_()

    def forward(self, x):
        state = tuple((torch.zeros(self.hidden_size) if s is None else torch.tensor(s)).expand(1, len(x), -1)
                      .contiguous() for s in (self.h0, self.c0))  # (1, examples, hidden) as nn.LSTM takes them
        h = super().forward(x, state)[0]
        return h[:, -1] if self.last else h
'''

SELF_ATTENTION = '''class SelfAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention (no biases, batch first) as self-attention and a step of nn.Sequential: the
    queries, keys and values all come from x, and it returns the attended values alone (not the pair with
    the attention weights). causal=True masks each position from the positions after it."""

    def __init__(self, features, heads, causal=False):
        super().__init__(features, heads, bias=False, batch_first=True)
        self.causal = causal

    def forward(self, x):
        positions = x.shape[1]
        mask = torch.ones(positions, positions, dtype=torch.bool).triu(1) if self.causal else None  # True: hidden
        return super().forward(x, x, x, need_weights=False, attn_mask=mask)[0]
'''

SCALED_DOT_PRODUCT_ATTENTION = '''class ScaledDotProductAttention(nn.Module):
    """Self-attention through torch.nn.functional.scaled_dot_product_attention, for a layer that
    nn.MultiheadAttention cannot express. Its weights are held as nn.MultiheadAttention holds them: W_Q, W_K
    and W_V stacked in in_proj_weight, W_O (when the layer has one) in out_proj."""

    def __init__(self, features, width, values, heads, outputs=None, causal=False, scaled=True):
        super().__init__()
        self.sizes, self.heads, self.causal = [width, width, values], heads, causal
        self.scale = None if scaled else 1.0  # None: scores ÷ √d_k
        self.in_proj_weight = nn.Parameter(torch.zeros(2 * width + values, features))
        self.out_proj = nn.Linear(values, outputs, bias=False) if outputs else None

    def forward(self, x):
        n, t, _ = x.shape
        q, k, v = ((x @ w.T).reshape(n, t, self.heads, -1).transpose(1, 2)  # (examples, heads, positions, d)
                   for w in self.in_proj_weight.split(self.sizes))
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=self.causal, scale=self.scale)
        out = out.transpose(1, 2).reshape(n, t, -1)  # the heads side by side
        return out if self.out_proj is None else self.out_proj(out)
'''


def probe(torch: Any, features: int, dtype: Any) -> Any:
    """Two sequences of three positions, varied enough that no two readings of a module coincide."""
    count = 2 * 3 * features
    return torch.sin(torch.arange(count, dtype=dtype) * 1.7 + 0.3).reshape(2, 3, features)


def dtype_of(module: Any) -> Any:
    return next(module.parameters()).dtype


def recurrent_readings(torch: Any, module: Any) -> tuple[Any, list[tuple[dict[str, Any], Any]]]:
    """A probe, and the outputs of nn.RNN or nn.LSTM (torch's own forward, from a zero state) that a
    module wrapping it may pass on: every position's, or the last's."""
    x = probe(torch, module.input_size, dtype_of(module))
    with torch.no_grad():
        base = torch.nn.LSTM if isinstance(module, torch.nn.LSTM) else torch.nn.RNN
        output = base.forward(module, x)[0]
    return x, [({"return": "sequence"}, output), ({"return": "last"}, output[:, -1])]


def attention_readings(torch: Any, module: Any) -> tuple[Any, list[tuple[dict[str, Any], Any]]]:
    """A probe, and nn.MultiheadAttention's self-attention of it (torch's own forward), without and with the
    causal mask."""
    x = probe(torch, module.embed_dim, dtype_of(module))
    positions = x.shape[1]
    mask = torch.ones(positions, positions, dtype=torch.bool).triu(1)
    with torch.no_grad():
        outputs = [torch.nn.MultiheadAttention.forward(module, x, x, x, need_weights=False, attn_mask=m)[0]
                   for m in (None, mask)]
    return x, [({"causal": False}, outputs[0]), ({"causal": True}, outputs[1])]
