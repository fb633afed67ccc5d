"""The maths: activations, losses and optimizers as registries, and `solve`, which records a Trace."""
