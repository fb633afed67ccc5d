"""The activation rules, by the name a scenario uses. Adding one: a module here and one line below."""

from __future__ import annotations

from nnworked.rules.activations.base import ActivationRule, ElementwiseActivation
from nnworked.rules.activations.leaky_relu import DEFAULT_LEAKY_SLOPE, LeakyReLU
from nnworked.rules.activations.linear import Linear
from nnworked.rules.activations.relu import ReLU
from nnworked.rules.activations.sigmoid import Sigmoid
from nnworked.rules.activations.softmax import Softmax
from nnworked.rules.activations.tanh import Tanh
from nnworked.rules.registry import Registry

ACTIVATIONS: Registry[ActivationRule] = Registry("activation", ActivationRule)
for _rule in (Linear, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax):
    ACTIVATIONS.register(_rule)

__all__ = ["ACTIVATIONS", "ActivationRule", "DEFAULT_LEAKY_SLOPE", "ElementwiseActivation"]
