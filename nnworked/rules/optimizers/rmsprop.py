"""RMSProp: each parameter's step divided by a running root mean square of its gradients."""

from __future__ import annotations

from typing import Any

from nnworked.rules.optimizers.base import Arithmetic, OptimizerRule


class RMSProp(OptimizerRule):
    name = "rmsprop"
    torch_class = "RMSprop"
    defaults = {"rho": 0.9, "epsilon": 1e-8, "weight_decay": 0.0}
    rule_lines = ["s ← ρ·s + (1 − ρ)·g²", "θ ← θ − η·g / (√s + ε)"]
    has_state = True

    def update(self, a: Arithmetic, theta: Any, g: Any, lr: Any, hyper: Any, t: int) -> None:
        rho, eps = hyper("rho"), hyper("epsilon")
        s = a.define("s", a.add(a.mul(a.const(rho), a.previous("s")), a.mul(a.complement(rho), a.square(g))))
        a.define("new", a.sub(theta, a.over_root(a.mul(lr, g), a.sqrt(s), eps)))

    def torch_arguments(self, hyper: Any) -> dict[str, Any]:
        return {"alpha": hyper("rho"), "eps": hyper("epsilon"), "weight_decay": hyper("weight_decay")}

    def from_torch(self, group: dict[str, Any]) -> dict[str, float]:
        return {"rho": group["alpha"], "epsilon": group["eps"], "weight_decay": group["weight_decay"]}
