"""The optimizer rules, by the name a scenario uses. Adding one: a module here and one line below."""

from __future__ import annotations

from nnworked.rules.optimizers.adam import Adam
from nnworked.rules.optimizers.base import Arithmetic, NumpyArithmetic, OptimizerRule, WorkedArithmetic
from nnworked.rules.optimizers.momentum import Momentum
from nnworked.rules.optimizers.rmsprop import RMSProp
from nnworked.rules.optimizers.sgd import SGD
from nnworked.rules.registry import Registry

OPTIMIZERS: Registry[OptimizerRule] = Registry("optimizer", OptimizerRule)
for _rule in (SGD, Momentum, RMSProp, Adam):
    OPTIMIZERS.register(_rule)

__all__ = ["OPTIMIZERS", "Arithmetic", "NumpyArithmetic", "OptimizerRule", "WorkedArithmetic"]
