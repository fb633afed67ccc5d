"""Softmax: e^(zₖ) / Σⱼ e^(zⱼ) over a row, so the outputs are probabilities. It mixes every element of a
row, so it has a Jacobian instead of one derivative per element, and is worked a row at a time."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from nnworked.expr import Expr, num, op
from nnworked.rules.activations.base import ActivationRule
from nnworked.rules.activations.sigmoid import SATURATED

SOFTMAX_SHIFT_ABOVE = 50.0  # e^50 is about 5 × 10²¹: beyond it, work with z − max(z)


def _sum(terms: list[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else op("add", *terms)


def softmax_shift(z: Sequence[float]) -> float:
    """What is subtracted from every z before exponentiating: 0 unless e^z would be unreadably large or
    overflow. Softmax is unchanged by it, since the factor e^(−shift) cancels between top and bottom."""
    top = max(z)
    return float(top) if top > SOFTMAX_SHIFT_ABOVE else 0.0


def softmax_parts(z: Sequence[float], labels: Sequence[str] | None = None) -> tuple[
        list[Expr], Callable[..., Expr], Callable[..., Expr]]:
    """e^(zₖ − shift) for each k, their sum Σ, and ŷₖ = e^(zₖ − shift) / Σ."""
    shift = softmax_shift(z)
    exps = [op("exp", num(v - shift, label=labels[k] if labels and not shift else "")) for k, v in enumerate(z)]

    def total(values: list[float], names: Sequence[str] | None = None) -> Expr:
        return _sum([num(v, label=names[k] + "|" if names else "") for k, v in enumerate(values)])

    def share(e: float, sigma: float, name: str = "", every: str = "") -> Expr:
        return op("div", num(e, label=name + "|" if name else ""), num(sigma, label=every + "|" if every else ""))

    return exps, total, share


class Softmax(ActivationRule):
    name = "softmax"
    torch_module = "Softmax"
    label = "Softmax"
    symbol = "softmax"
    formula = "softmax(z)ₖ = e^(zₖ) / Σⱼ e^(zⱼ)"
    derivative_formula = "∂ŷₖ/∂zⱼ = ŷₖ·(1 − ŷⱼ) if k = j, −ŷₖ·ŷⱼ otherwise"
    convention = None
    elementwise = False

    def value(self, z: np.ndarray, slope: float) -> np.ndarray:
        e = np.exp(z - np.max(z, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)

    def derivative(self, z: np.ndarray, a: np.ndarray, slope: float) -> None:
        return None  # not one number per element: see vjp

    def rejects(self, act: Any, constraints: Any) -> str | None:
        # as a sigmoid's: an output whose own ∂aₖ/∂zₖ = aₖ(1 − aₖ) is below 0.05 is all but 0 or 1, so its
        # gradient vanishes, and rounded to a sheet's decimals a probability of 0 makes the loss ln 0
        if not constraints.allow_saturation and np.any(act.a * (1 - act.a) < SATURATED):
            return "saturated softmax"
        return None

    def vjp(self, z: np.ndarray, a: np.ndarray, upstream: np.ndarray, slope: float) -> np.ndarray:
        # ∂L/∂zⱼ = aⱼ (gⱼ − Σₖ gₖ aₖ)
        return a * (upstream - np.sum(upstream * a, axis=-1, keepdims=True))

    def row_expr(self, z: Sequence[float], i: int, slope: float, labels: Sequence[str]) -> Expr:
        exps = [op("exp", num(v, label=labels[u])) for u, v in enumerate(z)]
        return op("div", exps[i], op("add", *exps) if len(exps) > 1 else exps[0])

    def carried(self, c: Any, z: np.ndarray, slope: float) -> np.ndarray:
        top = z.max(axis=-1, keepdims=True)
        shift = np.where(top > SOFTMAX_SHIFT_ABOVE, top, 0.0)  # as softmax_shift works it
        e = c.op("exp", z - shift)
        sigma = c.round(c.total(e))
        return c.again(c.op("div", e, sigma[:, None]))

    def carried_backward(self, c: Any, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                         slope: float) -> tuple[None, np.ndarray]:
        """δ through the Jacobian, worked element by element as the walkthrough prints it."""
        from nnworked import worked

        return None, c.worked(upstream.shape, lambda n, j: worked.softmax_delta(upstream[n], a[n], j))

    def forward_lines(self, w: Any, act: Any, symbol: str) -> list[str]:
        """Each e^z, their sum, and each share, for every example shown."""
        from nnworked import worked
        from nnworked.render.lines import elided_note, line, pick
        from nnworked.render.numbers import fmt

        n, lines = w.n, []
        examples, hidden = pick(act.z.shape[0], w.s.elements)
        # a row is an example's outputs, or (a sequence) an example's at one position: softmax is over each
        positions = range(act.z.shape[1]) if act.z.ndim == 3 else (None,)
        for e, t in ((e, t) for e in examples for t in positions):
            units = act.z.shape[-1]
            row = (e,) if t is None else (e, t)
            unit = (lambda i: i) if t is None else (lambda i, t=t: (t, i))
            z_keys = [n.key("z", act.layer, unit(i), e) for i in range(units)]
            exps, total, share = softmax_parts(act.z[row], z_keys)
            shift = softmax_shift(act.z[row])
            if shift:
                lines.append(f"(every z has {fmt(shift, w.p)} subtracted first: the largest e^z would be too "
                             "large to write, and softmax does not change)")
            minus = f" − {fmt(shift, w.p)}" if shift else ""
            values = []
            # each e^z and the sum are worked from the z's, so they carry the z's names on a sheet
            every = "|".join(z_keys)
            for i, expr in enumerate(exps):
                lines += line(f"e^({n.element(n.z(act.layer), e, unit(i), units)}{minus})", expr, w.p, w.s.width,
                              label=z_keys[i] + "|")
                values.append(worked.value(expr, w.p))
            sigma = worked.value(total(values, z_keys), w.p)
            lines += line(f"Σ{n.example(e)}" + ("" if t is None else f"[{t}]"), total(values, z_keys), w.p,
                          w.s.width, label=every + "|")
            for i, v in enumerate(values):
                lines += line(n.element(symbol, e, unit(i), units), share(v, sigma, z_keys[i], every), w.p,
                              w.s.width, label=n.key("a", act.layer, unit(i), e))
            lines.append("")
        lines = lines[:-1]
        if hidden:
            lines.append(elided_note(hidden, "examples"))
        return lines

    def jacobian_sentence(self, d: str, a: str, z: str, at_output: bool) -> str:
        if at_output:
            return (f"Softmax mixes every output, so {d} = ∂L/∂{z} goes through its Jacobian: "
                    f"{d}ⱼ = Σₖ ∂L/∂{a}ₖ × {a}ₖ·(1[k = j] − {a}ⱼ).")
        return f"{d}ⱼ = {a}ⱼ·(∂L/∂{a}ⱼ − Σₖ ∂L/∂{a}ₖ·{a}ₖ) (the softmax Jacobian applied to ∂L/∂{a})"

    def derivation_lines(self, p: Any, slope: float) -> list[str]:
        return ["ŷₖ = e^(zₖ) / Σᵢ e^(zᵢ)           so  ∂ŷₖ/∂zⱼ = ŷₖ·(1 − ŷₖ) if k = j,  −ŷₖ·ŷⱼ if k ≠ j",
                "                                        = ŷₖ·(1[k = j] − ŷⱼ)"]

    def spreadsheet_formula(self, z: Sequence[str], i: int, slope: float, r: Any) -> str:
        if not r.carry:
            return f"EXP({z[i]})/({'+'.join(f'EXP({cell})' for cell in z)})"
        # as carried: each e^(z − shift) rounded, then their sum, where the shift is the row's maximum only
        # above SOFTMAX_SHIFT_ABOVE (as softmax_shift: a shift changes what rounds)
        from nnworked.render.numbers import spreadsheet_number

        top = f"MAX({','.join(z)})" if len(z) > 1 else z[0]
        shift = f"IF({top}>{spreadsheet_number(SOFTMAX_SHIFT_ABOVE)},{top},0)"
        exps = [r(f"EXP({cell}-{shift})") for cell in z]
        total = r(f"({'+'.join(exps)})") if len(exps) > 1 else exps[0]
        return f"{exps[i]}/{total}"

    def spreadsheet_backward(self, upstream: Sequence[str], z: Sequence[str], a: Sequence[str], i: int,
                             slope: float, r: Any) -> str:
        # ∂L/∂zᵢ = aᵢ (gᵢ − Σₖ gₖ aₖ), as vjp computes it and worked.softmax_delta rounds it
        weighted = r(f"({'+'.join(r(f'{g}*{out}') for g, out in zip(upstream, a))})")
        difference = r(f"({upstream[i]}-{weighted})")
        return f"{a[i]}*{difference}"

    def torch_value(self, torch: Any, z: Any, slope: float) -> Any:
        return torch.softmax(z, dim=-1)

    def torch_arguments(self, slope: float) -> dict[str, Any]:
        return {"dim": -1}  # over each example's outputs
