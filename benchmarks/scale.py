"""How nnworked's cost grows: ratios only, never a timing assertion (the machine may be busy).

    python benchmarks/scale.py            # 3 interleaved rounds of each pair; medians of the ratios
    python benchmarks/scale.py --rounds 5

1. A ~10 MB scenario (the 784-128-10 network of bench.py, batch 1280, generated here with a fixed seed into
   benchmarks/out/ten_mb.yaml): `nnworked run ten_mb.yaml --format json` vs benchmarks/baseline_784.py
   (PyYAML's C loader and the same step in numpy), wall time and peak memory.      target ≤ 2 and ≤ 2
2. `nnworked run xor_batch --all-steps --format markdown` at 100, 200 and 400 steps: each time over the
   one before (linear: about 2).
3. `nnworked run ai-by-hand/4-hidden-layer`-like networks `--exercise --blanks all --format html` at growing
   hidden widths: each time over the one before (linear in the units: about 2 per doubling).
4. Peak memory of `nnworked run spam --steps 100000` over `--steps 1000` (bounded: about 1).

Each command is a fresh process; peak memory is its maximum resident set size (os.wait4).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
TEN_MB = OUT / "ten_mb.yaml"
TEN_MB_BATCH = 1280


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one run, its output thrown away."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(argv)}\n{process.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def ratios(pairs: list[tuple[str, list[str], list[str]]], rounds: int) -> None:
    """For each (name, command, reference): the median over rounds of time and memory ratios."""
    for name, command, reference in pairs:
        times, memory = [], []
        for r in range(rounds):
            order = [command, reference] if r % 2 == 0 else [reference, command]
            results = {id(argv): measure(argv) for argv in order}
            (t1, m1), (t0, m0) = results[id(command)], results[id(reference)]
            times.append(t1 / t0)
            memory.append(m1 / m0)
        print(f"{name:<52} time ×{statistics.median(times):5.2f}   peak memory ×{statistics.median(memory):5.2f}")


def ten_mb_scenario() -> Path:
    text = bench.big_scenario_text(batch=TEN_MB_BATCH)
    OUT.mkdir(parents=True, exist_ok=True)
    if not TEN_MB.is_file() or TEN_MB.read_text(encoding="utf-8") != text:
        TEN_MB.write_text(text, encoding="utf-8")
    return TEN_MB


def wide_scenario(units: int) -> Path:
    """A 4-input, `units`-hidden, 2-output sigmoid network, one step; written to benchmarks/out."""
    row = lambda n, scale: "[" + ", ".join(f"{((i * 37) % 19 - 9) * scale:.2f}" for i in range(n)) + "]"  # noqa: E731
    text = "\n".join([
        f"title: width {units}", "inputs: [[1, 0.5, -0.5, 2]]", "targets: [[1, 0]]", "layers:",
        "  - weights:", *[f"      - {row(4, 0.1 + i % 3 * 0.01)}" for i in range(units)],
        f"    bias: {row(units, 0.01)}", "    activation: relu",
        "  - weights:", *[f"      - {row(units, 0.02)}" for _ in range(2)],
        f"    bias: {row(2, 0.01)}", "    activation: sigmoid",
        "loss: mse", "learning_rate: 0.1", ""])
    path = OUT / f"wide_{units}.yaml"
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    script = shutil.which("nnworked")
    if script is None:
        raise SystemExit("nnworked is not installed (pip install .)")
    nn = [sys.executable, script, "run"]
    big = ten_mb_scenario()
    print(f"ten_mb.yaml: {big.stat().st_size / 1e6:.1f} MB\n")
    ratios([("10 MB --format json / baseline_784.py", [*nn, str(big), "--format", "json"],
             [sys.executable, str(HERE / "baseline_784.py"), str(big)])], rounds)
    steps = [[*nn, "xor_batch", "--all-steps", "--format", "markdown", "--steps", str(n)] for n in (100, 200, 400)]
    ratios([("--all-steps 200 / 100 steps", steps[1], steps[0]), ("--all-steps 400 / 200 steps", steps[2], steps[1])],
           rounds)
    widths = [[*nn, str(wide_scenario(u)), "--exercise", "--blanks", "all", "--format", "html"] for u in (100, 200, 400)]
    ratios([("--exercise --blanks all, 200 / 100 hidden units", widths[1], widths[0]),
            ("--exercise --blanks all, 400 / 200 hidden units", widths[2], widths[1])], rounds)
    ratios([("spam --steps 100000 / --steps 1000", [*nn, "spam", "--steps", "100000"],
             [*nn, "spam", "--steps", "1000"])], 1)


if __name__ == "__main__":
    main()
