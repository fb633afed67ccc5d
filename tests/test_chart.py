"""The loss chart a Markdown export writes beside itself: labelled axes (step, loss), round ticks, and a loss
axis that starts at zero unless asked otherwise."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import nnworked
from nnworked.errors import NnworkedError
from nnworked.render.chart import nice_ticks, svg
from tests.helpers import trace_of

SVG = "{http://www.w3.org/2000/svg}"


def _texts(root: ET.Element, kind: str) -> list[ET.Element]:
    return [t for t in root.iter(f"{SVG}text") if t.get("class") == kind]


def test_nice_ticks() -> None:
    assert nice_ticks(0, 0.7152) == [0, 0.2, 0.4, 0.6, 0.8]
    assert nice_ticks(0.6912, 0.7152) == [0.69, 0.7, 0.71, 0.72]
    assert nice_ticks(0, 20, 8) == [0, 5, 10, 15, 20]
    assert nice_ticks(-0.5, 2.2) == [-1, 0, 1, 2, 3]


def test_the_chart_has_labelled_axes_that_start_at_zero() -> None:
    trace = trace_of("xor_batch")
    root = ET.fromstring(svg(trace.losses, trace.precision, "XOR: loss"))
    assert [t.text for t in _texts(root, "x-label")] == ["step"]
    assert [t.text for t in _texts(root, "y-label")] == ["loss"]
    assert [t.text for t in _texts(root, "x-tick")] == ["0", "5", "10", "15", "20"]
    ticks = _texts(root, "y-tick")
    assert [t.text for t in ticks] == ["0", "0.2", "0.4", "0.6", "0.8"]
    # read the first point back off the axis: the loss before step 1, 0.7152 as the walkthrough prints it
    zero, top = float(ticks[0].get("y")) - 4, float(ticks[-1].get("y")) - 4
    first = float(root.find(f"{SVG}polyline").get("points").split()[0].split(",")[1])
    assert 0.8 * (zero - first) / (zero - top) == pytest.approx(0.7152, abs=0.002)


def test_the_loss_axis_may_start_at_the_lowest_loss() -> None:
    trace = trace_of("xor_batch")
    root = ET.fromstring(svg(trace.losses, trace.precision, "XOR: loss", from_zero=False))
    ticks = [float(t.text) for t in _texts(root, "y-tick")]
    assert ticks[0] <= min(trace.losses) and ticks[0] > 0.6 and ticks[-1] >= max(trace.losses)


def test_run_loss_axis_data(tmp_path: Path) -> None:
    out = tmp_path / "xor.md"
    result = subprocess.run([sys.executable, "-m", "nnworked", "run", "xor_batch", "-f", "markdown", "-o", str(out),
                             "--loss-axis", "data"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    trace = trace_of("xor_batch")
    assert (tmp_path / "xor.loss.svg").read_text(encoding="utf-8") == \
        svg(trace.losses, trace.precision, f"{trace.scenario.title}: loss", from_zero=False)
    with pytest.raises(NnworkedError, match="unknown loss axis"):
        nnworked.run("xor_batch").files("markdown", str(out), loss_axis="sideways")
