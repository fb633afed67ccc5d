"""Rules: each activation, loss and optimizer is ONE object holding everything about it (its value, its
backward, its worked expression, its texts, its observations, its PyTorch counterpart, what `generate`
needs of it), registered under the name a user types. Nothing outside a rule's own module branches on its
name; adding one is one new module plus one registry line in its family's `__init__.py`.

The families: `nnworked.rules.activations`, `nnworked.rules.losses`, `nnworked.rules.optimizers`.
"""
