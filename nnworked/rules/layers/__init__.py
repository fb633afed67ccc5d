"""The layer rules, by the `type:` a scenario writes (dense when it writes none). Adding one: a module
here and one line below."""

from __future__ import annotations

from nnworked.rules.layers.attention import SelfAttention
from nnworked.rules.layers.base import Backward, LayerRule
from nnworked.rules.layers.conv2d import Conv2d
from nnworked.rules.layers.dense import Dense
from nnworked.rules.layers.dropout import DropoutRule
from nnworked.rules.layers.flatten import FlattenRule
from nnworked.rules.layers.lstm import LSTM
from nnworked.rules.layers.norm import BatchNorm, LayerNorm
from nnworked.rules.layers.pool import AvgPool, MaxPool
from nnworked.rules.layers.residual import ResidualRule
from nnworked.rules.layers.rnn import Rnn
from nnworked.rules.registry import Registry

LAYERS: Registry[LayerRule] = Registry("layer type", LayerRule)
for _rule in (Dense, Conv2d, MaxPool, AvgPool, FlattenRule, DropoutRule, BatchNorm, LayerNorm, ResidualRule):
    LAYERS.register(_rule)
LAYERS.register(Rnn)
LAYERS.register(LSTM)
LAYERS.register(SelfAttention)

__all__ = ["LAYERS", "Backward", "LayerRule"]
