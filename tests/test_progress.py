"""Progress bars: on a terminal's stderr while long work runs, nothing anywhere else, and never a change in
what a command prints. Bars are drawn here on a forced terminal console into a string, with no delay, so
nothing depends on timing."""

from __future__ import annotations

from io import StringIO

from rich.console import Console
from typer.testing import CliRunner

import nnworked
from nnworked import progress
from nnworked.cli import app
from nnworked.variants import Constraints, generate
from nnworked.gradcheck import verify
from nnworked.yamlsource import load_file
from nnworked import bundled


def terminal() -> tuple[Console, StringIO]:
    out = StringIO()
    return Console(force_terminal=True, file=out, width=80), out


def test_track_hands_the_items_on_and_draws_nothing_outside_shown() -> None:
    assert list(progress.track(iter(range(5)), 5, "Counting")) == [0, 1, 2, 3, 4]
    with progress.shown():  # stderr is not a terminal under pytest: no console, no bar
        assert list(progress.track(range(5), 5, "Counting")) == [0, 1, 2, 3, 4]
        assert progress._shown.get() is None


def test_a_forced_terminal_shows_a_transient_bar() -> None:
    console, out = terminal()
    with progress.shown(console=console, after=0):
        assert list(progress.track(range(3), 3, "Counting")) == [0, 1, 2]
    assert "Counting" in out.getvalue()
    assert "\x1b[" in out.getvalue()  # drawn, then erased: the bar is transient


def test_no_bar_before_the_work_has_run_a_while() -> None:
    console, out = terminal()
    with progress.shown(console=console, after=3600):
        assert list(progress.track(range(3), 3, "Counting")) == [0, 1, 2]
    assert out.getvalue() == ""


def test_a_long_run_and_its_json_show_bars_and_render_the_same_text() -> None:
    plain, full = nnworked.run("xor_batch", keep=1, steps=6), nnworked.run("xor_batch", steps=6)
    console, out = terminal()
    with progress.shown(console=console, after=0):
        text = nnworked.run("xor_batch", keep=1, steps=6).render("json")
        every = nnworked.run("xor_batch", steps=6).render("markdown", all_steps=True)
    assert text == plain.render("json") and every == full.render("markdown", all_steps=True)
    for what in ("Solving the training steps", "Writing every step as JSON", "Working every step"):
        assert what in out.getvalue()


def test_generate_and_verify_show_one_bar_at_a_time() -> None:
    console, out = terminal()
    template = load_file(bundled.resolve("spam"))
    with progress.shown(console=console, after=0):  # each draw solves too: its bar must not nest (LiveError)
        drawn = generate(template, 3, seed=1, style="one-decimal", constraints=Constraints())
        checks = verify(nnworked.load("spam"))
    assert [v.id for v in drawn.variants] == [v.id for v in generate(template, 3, 1, "one-decimal", Constraints()).variants]
    assert checks and all(c.ok for c in checks)
    assert "Drawing variants" in out.getvalue() and "Checking every gradient" in out.getvalue()


def test_the_command_line_prints_no_bar_when_stderr_is_not_a_terminal() -> None:
    result = CliRunner().invoke(app, ["run", "xor_batch", "--steps", "3", "--all-steps", "--format", "json"],
                                env={"COLUMNS": "100"})
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout == nnworked.run("xor_batch", steps=3).render("json")


def test_a_large_file_is_read_with_a_bar_and_read_the_same() -> None:
    from nnworked.yamlsource import load_text

    rows = ",\n".join(f"  [{i}, {i / 7:.6f}, {-i}]" for i in range(40_000))
    text = f"inputs: [\n{rows}\n]\n"
    assert len(text) > 1_000_000  # a megabyte or more is read in pieces, with a bar
    console, out = terminal()
    with progress.shown(console=console, after=0):
        read = load_text(text, "big.yaml")
    assert "Reading the YAML" in out.getvalue()
    assert read.data == load_text(text, "big.yaml").data
    assert read.position(("inputs", 39_999, 2)) == (40_001, 24)  # "  [39999, 5714.142857, -39999]"


def test_writing_many_sheets_shows_a_bar_and_writes_the_same_files() -> None:
    made = nnworked.generate("spam", count=3, seed=1)
    console, out = terminal()
    with progress.shown(console=console, after=0):
        files = made.files(format="html")
    assert files == made.files(format="html")
    assert "Writing sheets" in out.getvalue()


def test_one_step_s_walkthrough_shows_its_passes_and_renders_the_same_text() -> None:
    # a long sequence's attention takes seconds to work even for one step: its passes have bars too
    plain = nnworked.run("transformer_block").render("markdown")
    console, out = terminal()
    with progress.shown(console=console, after=0):
        text = nnworked.run("transformer_block").render("markdown")
    assert text == plain
    for what in ("Working the forward pass", "Working the backward pass"):
        assert what in out.getvalue()
