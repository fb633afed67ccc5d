"""Plain gradient descent: θ ← θ − η·g."""

from __future__ import annotations

from typing import Any

from nnworked.rules.optimizers.base import Arithmetic, OptimizerRule


class SGD(OptimizerRule):
    name = "sgd"
    defaults = {"weight_decay": 0.0}
    rule_lines = ["θ ← θ − η·g"]  # with weight decay: g = ∂L/∂θ + λ·θ
    has_state = False

    def update(self, a: Arithmetic, theta: Any, g: Any, lr: Any, hyper: Any, t: int) -> None:
        a.define("new", a.sub(theta, a.mul(lr, g)))
