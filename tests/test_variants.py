"""Better variants: bundled templates reach 100 variants with the defaults by steering each unit's draw,
ranges can leave values out, no two neurons of a variant are alike, the report measures how different
the variants are, and generate sets precision and rounding."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from nnworked import bundled
from nnworked.errors import NnworkedError
from nnworked.variants import Constraints, check, difference, generate
from nnworked.yamlsource import Document, load_file


def template(name: str) -> Document:
    return load_file(bundled.resolve(name))


def made(data: dict) -> Document:
    return Document(data, "template.yaml", None)


@pytest.mark.parametrize("name, most_draws", [("spam", 200), ("ai-by-hand/4-hidden-layer", 200),
                                              ("ai-by-hand/7-backpropagation", 2000)])
def test_bundled_templates_reach_a_hundred_variants_with_the_defaults(name: str, most_draws: int) -> None:
    report = generate(template(name), 100, seed=1, style="integers", constraints=Constraints())
    # before steering: spam 35, AI by Hand 4 24 and AI by Hand 7 1 of 100 in 2,000 draws
    assert len(report.variants) == 100 and report.draws <= most_draws
    assert all(check(v.trace, Constraints()) is None for v in report.variants)
    assert len({v.id for v in report.variants}) == 100


def test_ai_by_hand_7_names_what_rounding_broke_and_takes_another_precision(tmp_path: Path) -> None:
    out = tmp_path / "seven"
    result = subprocess.run([sys.executable, "-m", "nnworked", "generate", "ai-by-hand/7-backpropagation", "-n", "30",
                             "--precision", "3", "--rounding", "exact", "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    files = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(out.glob("*.yaml"))]
    assert len(files) == 30 and all(f["precision"] == 3 and f["rounding"] == "exact" for f in files)
    # at its own one decimal, carried, a small probability rounds to 0: the report says so, not "overflow"
    report = generate(template("ai-by-hand/7-backpropagation"), 30, seed=1, style="integers",
                      constraints=Constraints())
    assert len(report.variants) == 30
    assert set(report.rejected) <= {"a value undefined after rounding (ln 0 or x/0: try a larger --precision or "
                                    "--rounding exact)", "saturated softmax", "dead ReLU", "two identical neurons",
                                    "prediction too close to the target"}


def test_a_range_can_leave_values_out() -> None:
    data = {"inputs": [[1, 2]], "targets": [[1]], "loss": "mse",
            "layers": [{"weights": [["-2..2 except 0", "-1..1 except 0, 1"]], "bias": ["-0.2..0.2 except 0"]}]}
    report = generate(made(data), 12, seed=4, style="one-decimal", constraints=Constraints(min_error=0))
    drawn = [(v.data["layers"][0]["weights"][0], v.data["layers"][0]["bias"][0]) for v in report.variants]
    assert len(drawn) == 12  # of the 4 × 1 × 4 there are
    assert {w[0] for w, _ in drawn} <= {-2, -1, 1, 2} and {w[1] for w, _ in drawn} == {-1}
    assert {b for _, b in drawn} <= {-0.2, -0.1, 0.1, 0.2}
    data["layers"][0]["weights"] = [["0..0 except 0", 1]]
    with pytest.raises(NnworkedError, match=r"the range '0\.\.0 except 0' at layers\[0\]\.weights\[0\]\[0\] leaves "
                                            "nothing to draw"):
        generate(made(data), 1, seed=1, style="integers", constraints=Constraints())


def test_no_two_neurons_of_a_variant_are_alike() -> None:
    # three units drawn from three values: only the orders of 1, 2, 3 are allowed
    data = {"inputs": [[1]], "layers": [{"weights": [["1..3"], ["1..3"], ["1..3"]], "activation": "relu"}]}
    report = generate(made(data), 6, seed=2, style="integers", constraints=Constraints(min_error=0))
    rows = sorted(tuple(w[0] for w in v.data["layers"][0]["weights"]) for v in report.variants)
    assert rows == sorted(itertools.permutations([1, 2, 3]))


def test_the_report_measures_how_different_the_variants_are() -> None:
    report = generate(template("spam"), 12, seed=3, style="integers", constraints=Constraints())
    numbers = [np.concatenate([np.ravel(v.scenario.inputs), np.ravel(v.scenario.targets)] +
                              [np.ravel(a) for layer in v.scenario.layers for a in (layer.weights, layer.bias)])
               for v in report.variants]
    shared = {(i, j): sum(a == b for a, b in zip(numbers[i], numbers[j]))  # by plain counting, pair by pair
              for i, j in itertools.combinations(range(12), 2)}
    apart = difference(report)
    assert apart["numbers"] == 12  # spam: 2 inputs, 1 target, 4 + 2 + 2 + 1 weights and biases
    assert apart["differ"] == pytest.approx(1 - sum(shared.values()) / (len(shared) * 12))
    assert apart["shared"] == max(shared.values())
    i, j = next(pair for pair, count in shared.items() if count == apart["shared"])
    assert apart["closest"] == (report.variants[i].id, report.variants[j].id)
    result = subprocess.run([sys.executable, "-m", "nnworked", "generate", "spam", "-n", "12", "--seed", "3",
                             "--report"], capture_output=True, text=True)
    assert (f"the variants differ in {apart['differ']:.0%} of their 12 drawn numbers on average; the closest two, "
            f"{apart['closest'][0]} and {apart['closest'][1]}, share {apart['shared']} of them") in result.stdout
