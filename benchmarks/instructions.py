"""Instruction counts (valgrind's callgrind) of `nnworked run spam` and of the bare imports it is compared
with. Unlike wall time, the count is the same on a busy machine, so this ratio is the steady one.

    python benchmarks/instructions.py
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def instructions(command: list[str]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        result = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
                                capture_output=True, text=True)
        match = re.search(r"Collected : (\d+)", result.stderr)
        if result.returncode != 0 or not match:
            raise SystemExit(f"callgrind failed for {command}:\n{result.stderr[-2000:]}")
        return int(match.group(1))


def main() -> None:
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    script = shutil.which("nnworked")
    if script is None:
        raise SystemExit("nnworked is not installed (pip install .)")
    python = sys.executable
    base = instructions([python, "-c", "import numpy, rich.console, typer, yaml"])
    runs = {"run spam": [python, script, "run", "spam"], "--help": [python, script, "--help"],
            "list": [python, script, "list"]}
    print(f"{'command':<12} {'instructions':>15} {'ratio':>7}")
    print(f"{'baseline':<12} {base:>15,} {1:>7.3f}")
    for name, command in runs.items():
        count = instructions(command)
        print(f"{name:<12} {count:>15,} {count / base:>7.3f}" + ("   (target ≤ 1.3)" if name == "run spam" else ""))


if __name__ == "__main__":
    main()
