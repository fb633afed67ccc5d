"""Plain gradient descent: θ ← θ − η·g."""

from __future__ import annotations

from typing import Any

from nnworked.rules.optimizers.base import Arithmetic, OptimizerRule


class SGD(OptimizerRule):
    name = "sgd"
    torch_class = "SGD"
    defaults = {"weight_decay": 0.0}
    rule_lines = ["θ ← θ − η·g"]  # with weight decay: g = ∂L/∂θ + λ·θ
    has_state = False

    def update(self, a: Arithmetic, theta: Any, g: Any, lr: Any, hyper: Any, t: int) -> None:
        a.define("new", a.sub(theta, a.mul(lr, g)))

    def torch_arguments(self, hyper: Any) -> dict[str, Any]:
        return {"weight_decay": hyper("weight_decay")}

    def from_torch(self, group: dict[str, Any]) -> dict[str, float]:
        return {"weight_decay": group["weight_decay"]}
