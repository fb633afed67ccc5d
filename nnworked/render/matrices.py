""""Why we use matrices", built from the scenario: the shape of every W and what its rows and columns mean
here, the dimension check of every product, one row times a vector worked in full, Wᵀ in the backward pass,
the outer product for ∂L/∂W, the Hadamard product for the activation derivative, and the parameter count."""

from __future__ import annotations

from nnworked import worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.render.forward import ForwardWriter
from nnworked.render.blocks import Block, Bullets, Heading, Math, Para, Rule
from nnworked.render.lines import line
from nnworked.quantities import computed_from, labels
from nnworked.render.numbers import fmt, vector
from nnworked.trace import Convolve, LayerGradient, ThroughActivation, Trace


def shape(rows: int, cols: int) -> str:
    return f"({rows}×{cols})"


def why_matrices(trace: Trace, w: ForwardWriter) -> list[Block]:
    s, n, p = trace.scenario, w.n, trace.precision
    if s.inputs.ndim == 3:  # sequences: their layers' walkthroughs show the products at each position
        return []
    step = trace.steps[0]
    linears = step.forward.linear
    if any(isinstance(op, Convolve) for op in step.forward.operations) or not linears:
        from nnworked.render.imagematrices import image_matrices  # image layers: the im2col view

        return image_matrices(trace, w)
    # the dense layers, wherever they stand: a norm, dropout or residual layer between them is no product
    dense = [(lin.layer, s.layers[lin.layer - 1]) for lin in linears]
    first, (k0, layer0) = linears[0], dense[0]
    examples = s.inputs.shape[0]
    out: list[Block] = [Rule(), Heading(2, "Why We Use Matrices"), Heading(3, "1. One equation per layer"),
                        Para("Without matrices every neuron needs its own equation; with them a layer is one:"),
                        Math([f"{n.z(k0)}[i] = Σⱼ {n.W(k0)}[i,j]·{n.a(k0 - 1)}[j]" + (f" + {n.b(k0)}[i]" if layer0.bias
                                                                           is not None else "") +
                              f"   for i = 0 … {layer0.units - 1}",
                              f"{n.z(k0)} = {n.W(k0)} · {n.a(k0 - 1)}" + (f" + {n.b(k0)}" if layer0.bias is not None
                                                                 else "")]),
                        Heading(3, "2. What the rows and columns mean here")]
    bullets = []
    for k, layer in dense:
        rows, cols = layer.weights.shape
        source = "input" if k == 1 else f"{n.layer_name(k - 1).lower()} neuron"
        feeds = f"all {rows} {n.layer_name(k).lower()} neurons" if rows != 1 else \
            f"the {n.layer_name(k).lower()} neuron"
        bullets.append(f"{n.W(k)} is {shape(rows, cols)}: row i holds the {cols} weights of {n.layer_name(k).lower()} "
                       f"neuron i (one per {source}); column j holds how {n.a(k - 1)}[j] feeds {feeds}.")
    out.append(Bullets(bullets))
    out.append(Heading(3, "3. The dimensions must match"))
    lines = ["For C = A · B:  A (m×n) · B (n×p) → C (m×p): the inner dimensions must be equal.", ""]
    for lin in linears:
        k, (rows, cols), width = lin.layer, lin.weights.shape, lin.inputs.shape[1]
        lines.append(f"{n.W(k)} {shape(rows, cols)} · {n.a(k - 1)} {shape(width, 1)} → {n.z(k)} {shape(rows, 1)}   "
                     f"inner: {cols} = {width} ✓")
    if examples > 1:
        width = first.inputs.shape[1]
        lines += ["", f"For the batch of {examples} the examples are the rows of X: Z = X · Wᵀ + b, "
                      f"({examples}×{width}) · ({width}×{layer0.units}) → "
                      f"({examples}×{layer0.units}), and the same weights serve every example."]
    out.append(Math(lines))
    out.append(Heading(3, "4. One row times a vector, in full"))
    x = first.inputs[0]
    row = layer0.weights[0]
    data = k0 == 1  # the inputs are given; a later layer's are computed (named, so a sheet hides its blanks)
    product_expr = worked.linear(row, x, None, True, data,
                                 None if data else [n.key("a", k0 - 1, j, 0) for j in range(len(x))])
    out.append(Para(f"Row 0 of {n.W(k0)} times {n.a(k0 - 1)}{n.example(0)} is the weighted sum of neuron 0, before "
                    "its bias:"))
    lines = line(f"({n.W(k0)} · {n.a(k0 - 1)})[0]", product_expr, p, w.s.width,
                 [f"{vector(row, p, given=True)} · {vector(x, p, given=data)}"] if data else None)
    z = first.z[0, 0]
    if layer0.bias is not None:
        lines.append(f"{n.element(n.z(k0), 0, 0, layer0.units)} = ({n.W(k0)} · {n.a(k0 - 1)})[0] + {n.b(k0)}[0] = "
                     f"{fmt(worked.value(product_expr, p), p, label=computed_from(*labels(product_expr)))} + "
                     f"{fmt(layer0.bias[0], p, given=True)} = "
                     f"{fmt(z, p, label=n.key('z', k0, 0, 0))}")
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
    out.append(Para(f"{sum(counts):,} numbers in {len([c for c in counts if c])} matrices and their biases, each "
                    "updated with one matrix expression per layer instead of one equation per weight."))
    return out

