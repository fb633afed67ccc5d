"""Limits that a scenario file and the command line overriding it share, so that neither lets through what
the other refuses (no imports: the CLI reads these while it parses its options, before numpy is loaded)."""

MAX_STEPS = 100_000  # training steps
MIN_PRECISION = 1  # at 0 decimals 1.6145 prints as 2, and a line reads 1 / 2 = 0.6
MAX_PRECISION = 12  # decimals shown: float64 holds about 15 significant digits
MAX_VARIANTS = 1000  # exercises one `generate` makes
MAX_ATTEMPTS = 1_000_000  # draws one `generate` tries: each solves a scenario, so more would run for hours
MIN_WIDTH = 60  # columns `run --width` lays out for: every bundled scenario is tested to fit from here
