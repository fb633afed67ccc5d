""""Why we use matrices", built from the scenario: the shape of every W and what its rows and columns mean
here, the dimension check of every product, one row times a vector worked in full, Wᵀ in the backward pass,
the outer product for ∂L/∂W, the Hadamard product for the activation derivative, and the parameter count."""

from __future__ import annotations

from nnworked import worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.render.forward import ForwardWriter
from nnworked.render.blocks import Block, Bullets, Heading, Math, Para, Rule
from nnworked.render.lines import line
from nnworked.render.numbers import fmt, vector
from nnworked.trace import LayerGradient, ThroughActivation, Trace


def shape(rows: int, cols: int) -> str:
    return f"({rows}×{cols})"


def why_matrices(trace: Trace, w: ForwardWriter) -> list[Block]:
    s, n, p = trace.scenario, w.n, trace.precision
    from nnworked.rules.layers import LAYERS

    if s.inputs.ndim == 3:  # sequences: their layers' walkthroughs show the products at each position
        return []
    if not all(LAYERS[layer.type].neurons for layer in s.layers):  # image layers: the im2col view
        from nnworked.render.imagematrices import image_matrices

        return image_matrices(trace, w)
    step = trace.steps[0]
    examples = s.inputs.shape[0]
    out: list[Block] = [Rule(), Heading(2, "Why We Use Matrices"), Heading(3, "1. One equation per layer"),
                        Para("Without matrices every neuron needs its own equation; with them a layer is one:"),
                        Math([f"{n.z(1)}[i] = Σⱼ {n.W(1)}[i,j]·{n.a(0)}[j]" + (f" + {n.b(1)}[i]" if s.layers[0].bias
                                                                           is not None else "") +
                              f"   for i = 0 … {s.layers[0].units - 1}",
                              f"{n.z(1)} = {n.W(1)} · {n.a(0)}" + (f" + {n.b(1)}" if s.layers[0].bias is not None
                                                                 else "")]),
                        Heading(3, "2. What the rows and columns mean here")]
    bullets = []
    for k, layer in enumerate(s.layers, start=1):
        rows, cols = layer.weights.shape
        source = "input" if k == 1 else f"{n.layer_name(k - 1).lower()} neuron"
        feeds = f"all {rows} {n.layer_name(k).lower()} neurons" if rows != 1 else \
            f"the {n.layer_name(k).lower()} neuron"
        bullets.append(f"{n.W(k)} is {shape(rows, cols)}: row i holds the {cols} weights of {n.layer_name(k).lower()} "
                       f"neuron i (one per {source}); column j holds how {n.a(k - 1)}[j] feeds {feeds}.")
    out.append(Bullets(bullets))
    out.append(Heading(3, "3. The dimensions must match"))
    lines = ["For C = A · B:  A (m×n) · B (n×p) → C (m×p): the inner dimensions must be equal.", ""]
    width = s.inputs.shape[1]
    for k, layer in enumerate(s.layers, start=1):
        rows, cols = layer.weights.shape
        lines.append(f"{n.W(k)} {shape(rows, cols)} · {n.a(k - 1)} {shape(width, 1)} → {n.z(k)} {shape(rows, 1)}   "
                     f"inner: {cols} = {width} ✓")
        width = rows
    if examples > 1:
        lines += ["", f"For the batch of {examples} the examples are the rows of X: Z = X · Wᵀ + b, "
                      f"({examples}×{s.inputs.shape[1]}) · ({s.inputs.shape[1]}×{s.layers[0].units}) → "
                      f"({examples}×{s.layers[0].units}), and the same weights serve every example."]
    out.append(Math(lines))
    out.append(Heading(3, "4. One row times a vector, in full"))
    first = s.layers[0]
    x = s.inputs[0]
    row = first.weights[0]
    product_expr = worked.linear(row, x, None, True, True)
    out.append(Para(f"Row 0 of {n.W(1)} times {n.a(0)}{n.example(0)} is the weighted sum of neuron 0, before its "
                    "bias:"))
    lines = line(f"({n.W(1)} · {n.a(0)})[0]", product_expr, p, w.s.width,
                 [f"{vector(row, p, given=True)} · {vector(x, p, given=True)}"])
    z = step.forward.linear[0].z[0, 0]
    if first.bias is not None:
        lines.append(f"{n.element(n.z(1), 0, 0, first.units)} = ({n.W(1)} · {n.a(0)})[0] + {n.b(1)}[0] = "
                     f"{fmt(worked.value(product_expr, p), p)} + {fmt(first.bias[0], p, given=True)} = {fmt(z, p)}")
    out.append(Math(lines))
    out.append(Heading(3, "5. The backward pass uses the same matrices"))
    lines = []
    for s_step in step.backward:
        if isinstance(s_step, LayerGradient):
            k = s_step.layer
            rows, cols = s_step.weights_grad.shape
            lines.append(f"Outer product:  ∂L/∂{n.W(k)} = {n.delta(k)} ⊗ {n.a(k - 1)} = {n.delta(k)} {shape(rows, 1)} · "
                         f"{n.a(k - 1)}ᵀ {shape(1, cols)} → {shape(rows, cols)}, the shape of {n.W(k)}"
                         + (" (summed over the batch)" if examples > 1 else ""))
            if k > 1:
                lines.append(f"Transpose:      ∂L/∂{n.a(k - 1)} = {n.W(k)}ᵀ · {n.delta(k)} = {n.W(k)}ᵀ {shape(cols, rows)} · "
                             f"{n.delta(k)} {shape(rows, 1)} → {shape(cols, 1)}, the shape of {n.a(k - 1)}: each "
                             "column of W sends the errors back to the input it came from")
        elif isinstance(s_step, ThroughActivation) and s_step.derivative is not None:
            k = s_step.layer
            units = s_step.z.shape[1]
            expr_line = " , ".join(f"{fmt(s_step.upstream[0, i], p)} × {fmt(s_step.derivative[0, i], p)}"
                                   for i in range(min(units, 4))) + (" , …" if units > 4 else "")
            symbol = ACTIVATIONS[s_step.activation].symbol or "f"
            lines.append(f"Hadamard:       {n.delta(k)} = ∂L/∂{n.a(k)} ⊙ {symbol}′({n.z(k)}), element by element: "
                         f"[{expr_line}] = {vector(s_step.delta[0], p, limit=4)}")
    out.append(Math(lines))
    out.append(Heading(3, "6. Parameters"))
    counts = s.parameter_counts()
    out.append(Para(f"{sum(counts):,} numbers in {len(counts)} matrices and their biases, each updated with one "
                    "matrix expression per layer instead of one equation per weight."))
    return out

