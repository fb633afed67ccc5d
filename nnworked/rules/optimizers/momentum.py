"""Momentum: a velocity that accumulates the gradients, v ← μ·v + g, and θ ← θ − η·v."""

from __future__ import annotations

from typing import Any

from nnworked.rules.optimizers.base import Arithmetic, OptimizerRule


class Momentum(OptimizerRule):
    name = "momentum"
    torch_class = "SGD"
    defaults = {"momentum": 0.9, "weight_decay": 0.0}
    rule_lines = ["v ← μ·v + g", "θ ← θ − η·v"]
    has_state = True

    def update(self, a: Arithmetic, theta: Any, g: Any, lr: Any, hyper: Any, t: int) -> None:
        v = a.define("v", a.add(a.mul(a.const(hyper("momentum")), a.previous("v")), g))
        a.define("new", a.sub(theta, a.mul(lr, v)))

    def torch_arguments(self, hyper: Any) -> dict[str, Any]:
        return {"momentum": hyper("momentum"), "weight_decay": hyper("weight_decay")}

    def from_torch(self, group: dict[str, Any]) -> dict[str, float]:
        return {"momentum": group["momentum"], "weight_decay": group["weight_decay"]}
