"""Adam: running means of the gradient (m) and of its square (v), corrected for their start at zero."""

from __future__ import annotations

from typing import Any

from nnworked.rules.optimizers.base import Arithmetic, OptimizerRule


class Adam(OptimizerRule):
    name = "adam"
    torch_class = "Adam"
    defaults = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.0}
    rule_lines = ["m ← β₁·m + (1 − β₁)·g", "v ← β₂·v + (1 − β₂)·g²", "m̂ = m / (1 − β₁ᵗ)", "v̂ = v / (1 − β₂ᵗ)",
                  "θ ← θ − η·m̂ / (√v̂ + ε)"]
    has_state = True
    symbols = {"m_hat": "m̂", "v_hat": "v̂"}

    def update(self, a: Arithmetic, theta: Any, g: Any, lr: Any, hyper: Any, t: int) -> None:
        b1, b2, eps = hyper("beta1"), hyper("beta2"), hyper("epsilon")
        m = a.define("m", a.add(a.mul(a.const(b1), a.previous("m")), a.mul(a.complement(b1), g)))
        v = a.define("v", a.add(a.mul(a.const(b2), a.previous("v")), a.mul(a.complement(b2), a.square(g))))
        m_hat = a.define("m_hat", a.div(m, a.sub(a.const(1), a.power(b1, t))))
        v_hat = a.define("v_hat", a.div(v, a.sub(a.const(1), a.power(b2, t))))
        a.define("new", a.sub(theta, a.over_root(a.mul(lr, m_hat), a.sqrt(v_hat), eps)))

    def torch_arguments(self, hyper: Any) -> dict[str, Any]:
        return {"betas": (hyper("beta1"), hyper("beta2")), "eps": hyper("epsilon"),
                "weight_decay": hyper("weight_decay")}

    def from_torch(self, group: dict[str, Any]) -> dict[str, float]:
        return {"beta1": group["betas"][0], "beta2": group["betas"][1], "epsilon": group["eps"],
                "weight_decay": group["weight_decay"]}
