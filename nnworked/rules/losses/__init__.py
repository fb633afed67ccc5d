"""The loss rules, by the name a scenario uses. Adding one: a module here and one line below."""

from __future__ import annotations

from nnworked.rules.losses.base import LossRule
from nnworked.rules.losses.binary_cross_entropy import BinaryCrossEntropy
from nnworked.rules.losses.cross_entropy import CrossEntropy
from nnworked.rules.losses.mse import MeanSquaredError
from nnworked.rules.registry import Registry

LOSSES: Registry[LossRule] = Registry("loss", LossRule)
for _rule in (MeanSquaredError, BinaryCrossEntropy, CrossEntropy):
    LOSSES.register(_rule)

__all__ = ["LOSSES", "LossRule"]
