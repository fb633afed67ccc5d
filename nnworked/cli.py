"""The command line: thin commands that call the library and print what it returns.

Exit codes: 0 done; 1 the scenario or its data is wrong (message on stderr, no traceback); 2 the command
line is wrong (typer/click report those). Heavy imports (numpy, the engine) happen inside `run` and
`validate`, so `--help`, `--version` and `list` start fast.

The commands are in `cli_solve` (run, list, show, validate, verify) and `cli_teach` (generate, grade); the
app they register on, and how a message reaches the terminal, are in `cli_common`.
"""

from __future__ import annotations

import os
import sys

from nnworked import cli_solve, cli_teach  # noqa: F401  (their commands register on the app, in this order)
from nnworked.cli_common import app

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        # the reader went away (`nnworked run spam | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


if __name__ == "__main__":
    main()
