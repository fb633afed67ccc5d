"""Activation functions, keyed by the name a scenario uses: the rules in `nnworked.rules.activations`.

Each rule knows its value (vectorised, numerically stable), its derivative, how to pass a gradient back
(`vjp`), and how one element is worked by hand (`expand`), which `rounding: carry` also uses to compute.
"""

from __future__ import annotations

from nnworked.rules.activations import ACTIVATIONS, DEFAULT_LEAKY_SLOPE, ActivationRule

__all__ = ["ACTIVATIONS", "DEFAULT_LEAKY_SLOPE", "ActivationRule"]
