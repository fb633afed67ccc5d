"""nnworked: worked solutions for small neural networks, every number shown."""

__version__ = "0.1.0"
