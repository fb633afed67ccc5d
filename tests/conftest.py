"""Fixtures more than one test module uses."""

from __future__ import annotations

from typing import Iterator

import pytest


@pytest.fixture
def toy_rules() -> Iterator[None]:
    """A Softplus activation and a mean-absolute-error loss registered for one test (tests/test_rules.py
    defines them): a rule the library never shipped, checked by being registered."""
    from nnworked.rules.activations import ACTIVATIONS
    from nnworked.rules.losses import LOSSES
    from tests.test_rules import MeanAbsoluteError, Softplus

    ACTIVATIONS.register(Softplus)
    LOSSES.register(MeanAbsoluteError)
    try:
        yield
    finally:
        ACTIVATIONS.unregister("softplus")
        LOSSES.unregister("mae")
