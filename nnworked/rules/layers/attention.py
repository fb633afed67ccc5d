"""Self-attention: Q = X·W_Qᵀ, K = X·W_Kᵀ, V = X·W_Vᵀ at every position; per head h,
out_h = softmax(Q_h·K_hᵀ / √d_k)·V_h, each row's softmax over the positions it may attend to (all, or
j ≤ i under a causal mask); the heads side by side, times W_Oᵀ when the layer has output weights. No
biases, as `nn.MultiheadAttention(bias=False)`; d_model is split into contiguous heads as PyTorch splits it.

Backward: ∂L/∂W_O = Σ ∂L/∂a ⊗ concat; per head ∂L/∂A = ∂L/∂out·Vᵀ and ∂L/∂V = Aᵀ·∂L/∂out; each row of A
through its softmax Jacobian (diag(a) − a·aᵀ) to ∂L/∂S, ÷ √d_k; ∂L/∂Q = ∂L/∂S·K, ∂L/∂K = ∂L/∂Sᵀ·Q;
∂L/∂W_Q = Σ ∂L/∂Q ⊗ X (and K, V alike); ∂L/∂X = ∂L/∂Q·W_Q + ∂L/∂K·W_K + ∂L/∂V·W_V, its three paths.
The arithmetic is `nnworked.engine.attention`'s."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nnworked.engine.attention import attend, attend_back
from nnworked.errors import NumericalError
from nnworked.rules.layers.base import Backward, Finite, LayerRule
from nnworked.rules.layers.sequence import SEQUENCES, parse_sequences
from nnworked.scenario import DEFAULT_LEAKY_SLOPE

ROLES = (("query_weights", "WQ", "query"), ("key_weights", "WK", "key"), ("value_weights", "WV", "value"),
         ("output_weights", "WO", "output"))


class AttentionLayer(NamedTuple):
    query_weights: np.ndarray  # (d_model, d_in)
    key_weights: np.ndarray
    value_weights: np.ndarray  # (H·d_v, d_in)
    output_weights: np.ndarray | None  # (d_out, H·d_v)
    heads: int = 1
    causal: bool = False
    scaled: bool = True
    name: str | None = None
    type: str = "self_attention"
    activation: str = "linear"  # none: what every layer says of itself
    slope: float = DEFAULT_LEAKY_SLOPE
    bias: None = None


_UNDERFLOW = -700  # e^-700 ≈ 1e-304 is still a float64; e^-746 is 0


class SelfAttention(LayerRule):
    name = "self_attention"
    keys = ("query_weights", "key_weights", "value_weights", "output_weights", "heads", "causal", "scaled", "name")
    output = False  # a dense layer (per position) makes the prediction
    asks = "a"  # its output: it has no z of its own
    by_hand = True  # its own sheet, each token a column (render/byhandattention.py)
    torch_module = "MultiheadAttention"
    in_sequential = False  # nn.MultiheadAttention takes (query, key, value) and returns a pair: it is wrapped
    exact_by_hand = False  # each row's softmax: its scores are kept short instead (`rejects`)

    def parse_inputs(self, check: Any, value: Any) -> np.ndarray | None:
        return parse_sequences(check, value)

    def parse(self, check, spec, path, k, shape, previous):  # noqa: ANN001, ANN201
        name = check.layer_name(spec.get("name"), path + ("name",))
        heads = check.integer(spec.get("heads", 1), path + ("heads",), "the number of heads", 1, 1000)
        flags = {}
        for key, default in (("causal", False), ("scaled", True)):
            flags[key] = spec.get(key, default)
            if not isinstance(flags[key], bool):
                check.add(path + (key,), f"{key} must be true or false", "true or false", repr(flags[key]))
                flags[key] = None
        weights: dict[str, np.ndarray | None] = {}
        for key, _, role in ROLES:
            if key not in spec:
                if key != "output_weights":
                    check.add(path, f"layer {k} (self_attention) has no {key}", f"{key}: [row][input]", "none")
                weights[key] = None
                continue
            weights[key] = check.matrix(spec[key], path + (key,), f"the {role} weights of layer {k}")
        wq, wk, wv = weights["query_weights"], weights["key_weights"], weights["value_weights"]
        if heads is None or None in flags.values() or wq is None or wk is None or wv is None or \
                ("output_weights" in spec and weights["output_weights"] is None):
            return None
        if not self._fits(check, path, k, heads, wq, wk, wv, weights["output_weights"]):
            return None
        layer = AttentionLayer(wq, wk, wv, weights["output_weights"], heads, flags["causal"], flags["scaled"], name)
        if shape is None:
            return layer, None
        if len(shape) != 2:
            what = "×".join(map(str, shape)) + " per example" if shape else "unknown"
            check.add(path, f"layer {k} (self_attention) takes sequences from {previous}",
                      f"{SEQUENCES} ({wq.shape[1]} features per position)", what,
                      "a self_attention layer comes first (its inputs are sequences) or after a layer that keeps "
                      "the positions")
            return None
        positions, features = shape
        for key, matrix in (("query_weights", wq), ("key_weights", wk), ("value_weights", wv)):
            if matrix.shape[1] != features:
                check.add(path + (key,), f"the {key} of layer {k} do not fit {previous}",
                          f"{features} column{'s' if features != 1 else ''} (one per input feature)",
                          f"{matrix.shape[1]}", f"layer {k} receives {positions}×{features} from {previous}")
                return None
        wo = weights["output_weights"]
        return layer, (positions, wv.shape[0] if wo is None else wo.shape[0])

    @staticmethod
    def _fits(check, path, k, heads, wq, wk, wv, wo) -> bool:  # noqa: ANN001
        """W_Q and W_K the same shape, every projection with as many columns, the heads splitting d_model
        and d_v evenly, W_O reading every value feature."""
        if wk.shape != wq.shape:
            check.add(path + ("key_weights",), f"the key_weights of layer {k} do not match its query_weights",
                      f"{wq.shape[0]}×{wq.shape[1]} (each query meets each key in a dot product)",
                      f"{wk.shape[0]}×{wk.shape[1]}")
            return False
        if wv.shape[1] != wq.shape[1]:
            check.add(path + ("value_weights",), f"the value_weights of layer {k} read other inputs than its "
                      "query_weights", f"{wq.shape[1]} columns", f"{wv.shape[1]}")
            return False
        for key, matrix in (("query_weights", wq), ("value_weights", wv)):
            if matrix.shape[0] % heads:
                check.add(path + ("heads",), f"layer {k}'s {heads} heads do not split its {key} evenly",
                          f"a number of heads that divides {matrix.shape[0]}", str(heads),
                          "each head takes an equal share of the rows")
                return False
        if wo is not None and wo.shape[1] != wv.shape[0]:
            check.add(path + ("output_weights",), f"the output_weights of layer {k} do not fit its heads",
                      f"{wv.shape[0]} columns (the heads' values side by side)", f"{wo.shape[1]}")
            return False
        return True

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        n, t, _ = inputs.shape

        def split(weights: Any) -> Any:  # (N, T, H·d) → (N, H, T, d)
            return (inputs @ weights.T).reshape(n, t, layer.heads, -1).transpose(1, 2)

        q, key, v = (split(params[f"{role}{k}"]) for role in ("WQ", "WK", "WV"))
        out = torch.nn.functional.scaled_dot_product_attention(q, key, v, is_causal=layer.causal,
                                                               scale=None if layer.scaled else 1.0)
        out = out.transpose(1, 2).reshape(n, t, -1)
        return out if layer.output_weights is None else out @ params[f"WO{k}"].T

    # -- PyTorch: nn.MultiheadAttention where it can express the layer, else scaled_dot_product_attention --

    @staticmethod
    def beyond_multihead(layer: Any) -> list[str]:
        """Why nn.MultiheadAttention(bias=False) cannot compute this layer ([]: it can): it always scales by
        √d_k, applies out_proj, and projects d_model inputs to d_model queries, keys and values."""
        d_model, d_in = layer.query_weights.shape
        out = []
        if not layer.scaled:
            out.append("scores not scaled by √d_k")
        if layer.output_weights is None:
            out.append("no output weights")
        elif layer.output_weights.shape[0] != d_model:
            out.append(f"output weights to {layer.output_weights.shape[0]} features, not d_model = {d_model}")
        if d_in != d_model:
            out.append(f"queries of {d_model} features from {d_in} inputs")
        if layer.value_weights.shape[0] != d_model:
            out.append(f"values of {layer.value_weights.shape[0]} features, not d_model = {d_model}")
        return out

    def torch_references(self, layer: Any) -> tuple[str, ...]:
        first = ("scaled_dot_product_attention",)
        return first if self.beyond_multihead(layer) else first + ("nn.MultiheadAttention",)

    def torch_alternative(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any,
                          reference: str) -> Any:
        """nn.MultiheadAttention(bias=False, batch_first=True) with these weights: in_proj_weight is W_Q, W_K
        and W_V stacked, out_proj.weight W_O; the causal mask as attn_mask (True: hidden)."""
        assert reference == "nn.MultiheadAttention" and not self.beyond_multihead(layer)
        d_model = layer.query_weights.shape[0]
        module = torch.nn.MultiheadAttention(d_model, layer.heads, bias=False, batch_first=True).double()
        weights = {"in_proj_weight": torch.cat([params[f"{role}{k}"] for role in ("WQ", "WK", "WV")]),
                   "out_proj.weight": params[f"WO{k}"]}
        positions = inputs.shape[1]
        mask = torch.ones(positions, positions, dtype=torch.bool).triu(1) if layer.causal else None
        return torch.func.functional_call(module, weights, (inputs, inputs, inputs),
                                          {"need_weights": False, "attn_mask": mask})[0]

    def torch_script(self, k: int, layer: Any) -> str:
        d_model, d_in = layer.query_weights.shape
        causal = ", causal=True" if layer.causal else ""
        if not self.beyond_multihead(layer):
            return f"SelfAttention({d_model}, {layer.heads}{causal})"
        outputs = "" if layer.output_weights is None else f", outputs={layer.output_weights.shape[0]}"
        return (f"ScaledDotProductAttention({d_in}, {d_model}, {layer.value_weights.shape[0]}, {layer.heads}"
                f"{outputs}{causal}" + ("" if layer.scaled else ", scaled=False") + ")")

    def torch_helper(self, layer: Any) -> str:
        from nnworked.rules.layers.sequence_torch import SCALED_DOT_PRODUCT_ATTENTION, SELF_ATTENTION

        return SCALED_DOT_PRODUCT_ATTENTION if self.beyond_multihead(layer) else SELF_ATTENTION

    def torch_note(self, layer: Any) -> str:
        beyond = self.beyond_multihead(layer)
        if beyond:
            return ("through scaled_dot_product_attention: nn.MultiheadAttention cannot express this layer ("
                    + "; ".join(beyond) + ")")
        return "nn.MultiheadAttention(bias=False): in_proj_weight is W_Q, W_K and W_V stacked, out_proj.weight W_O"

    def torch_names(self, k: int) -> dict[str, str]:
        return {f"WQ{k}": "in_proj_weight", f"WK{k}": "in_proj_weight", f"WV{k}": "in_proj_weight",
                f"WO{k}": "out_proj.weight"}

    def torch_rows(self, k: int, layer: Any) -> dict[str, tuple[int, int]]:
        d_model = layer.query_weights.shape[0]
        return {f"WQ{k}": (0, d_model), f"WK{k}": (d_model, 2 * d_model),
                f"WV{k}": (2 * d_model, 2 * d_model + layer.value_weights.shape[0])}

    def torch_readings(self, torch: Any, module: Any) -> tuple[Any, list[tuple[dict[str, Any], Any]]]:
        from nnworked.rules.layers.sequence_torch import attention_readings

        return attention_readings(torch, module)

    def from_torch(self, module: Any) -> dict[str, Any]:
        settings = {"bias": module.in_proj_bias is not None or module.out_proj.bias is not None,
                    "add_bias_kv": module.bias_k is not None, "add_zero_attn": module.add_zero_attn,
                    "kdim/vdim other than embed_dim": not module._qkv_same_embed_dim,
                    f"dropout={module.dropout}": module.dropout != 0, "batch_first=False": not module.batch_first}
        refused = [name for name, set_ in settings.items() if set_]
        if refused:
            raise ValueError(f"{', '.join(refused)}: nnworked reads nn.MultiheadAttention(embed_dim, num_heads, "
                             "bias=False, batch_first=True) as self-attention, without biases, dropout or extra "
                             "keys")
        stacked = module.in_proj_weight.detach().cpu().double().numpy()
        d_model = module.embed_dim
        return {"type": self.name, "heads": module.num_heads, "query_weights": stacked[:d_model],
                "key_weights": stacked[d_model:2 * d_model], "value_weights": stacked[2 * d_model:],
                "output_weights": module.out_proj.weight.detach().cpu().double().numpy()}

    def describe(self, layer: Any) -> str:
        d_model, d_in = layer.query_weights.shape
        heads = layer.heads
        text = (f"self-attention over the positions, {heads} head{'s' if heads != 1 else ''} of d_k = "
                f"{d_model // heads} (d_model {d_model}, from {d_in} input features)")
        text += ", scores ÷ √d_k" if layer.scaled else ", scores not scaled"
        if layer.causal:
            text += ", causal mask (position i attends to positions ≤ i)"
        if layer.output_weights is not None:
            text += f", output weights to {layer.output_weights.shape[0]} features"
        return text + ", no biases"

    def summary(self, layer: Any) -> str:
        return f"attention {layer.heads}h" + (" causal" if layer.causal else "")

    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        params = {f"{role}{k}": getattr(layer, key) for key, role, _ in ROLES}
        if layer.output_weights is None:
            del params[f"WO{k}"]
        return params

    def rejects(self, forward: tuple[Any, ...], constraints: Any) -> str | None:
        """With --max-decimals, scores a student can work by hand: Q, K, V and every score Q·Kᵀ (and each
        scaled score, when √d_k is itself short) within that many decimals; the softmax's e^s never is."""
        if constraints.max_decimals is None:
            return None
        (attend,) = (r for r in forward if hasattr(r, "scores"))
        arrays = [attend.q, attend.k, attend.v, attend.scores]
        if attend.root is not None and _short(np.array([attend.root]), constraints.max_decimals):
            arrays.append(attend.scaled_scores)
        if not all(_short(values, constraints.max_decimals) for values in arrays):
            return f"attention scores with more than {constraints.max_decimals} decimals"
        return None

    def forward(self, math, k, layer, params, inputs, given, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        record = attend(math, k, inputs, params[f"WQ{k}"], params[f"WK{k}"], params[f"WV{k}"], params.get(f"WO{k}"),
                        layer.heads, layer.causal, layer.scaled, given)
        finite(record.scaled_scores, f"the attention scores of layer {k}")
        visible = record.scaled_scores if record.mask is None else np.where(record.mask, record.scaled_scores, -np.inf)
        if np.any(visible.max(axis=-1) < _UNDERFLOW):
            # every e^score of such a row is 0 in float64: its softmax, 0/0 as written, cannot be worked by hand
            raise NumericalError(f"a row of the attention scores of layer {k} lies wholly below {_UNDERFLOW}, where "
                                 "e^score underflows to 0 and its softmax cannot be worked; scale the weights or the "
                                 "inputs down")
        finite(record.a, f"a{k}")
        return (record,)

    def backward(self, math, k, layer, params, records, upstream, delta, finite: Finite) -> Backward:  # noqa: ANN001
        (forward,) = records
        gradient, back = attend_back(math, forward, upstream, to_input=k > 1)
        gradients = {name: finite(array, f"∂L/∂{name}") for name, array in gradient.produces().items()}
        if back is None:
            return Backward((gradient,), gradients, None)
        return Backward((gradient, back), gradients, finite(back.upstream, f"∂L/∂a{k - 1}"))


def _short(values: np.ndarray, decimals: int) -> bool:
    """Whether every value has at most `decimals` decimals (up to float64's own error in a product of them)."""
    scaled = np.asarray(values, dtype=float) * 10.0 ** decimals
    return bool(np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))))
