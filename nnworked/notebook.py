"""Jupyter and Colab: the `%%nnworked` cell magic (`%load_ext nnworked`) and the HTML a walkthrough shows
itself as in a notebook.

The cell holds a scenario's YAML (or a bundled name, or a path); the magic's line takes the options of
`nnworked run`, parsed by that very command, so they are checked as the command line checks them:

    %%nnworked --format markdown --detail full
    inputs: [[0.5, 0.3]]
    ...

A notebook output is part of a page, not a page: the walkthrough is shown as the HTML format's body in a
<div> whose style reaches nothing outside it (the HTML document's own style sets the page's body).
"""

from __future__ import annotations

import html
import shlex
from typing import Any

from nnworked.errors import NnworkedError

CLASS = "nnworked-walkthrough"
STYLE = f"""
.{CLASS} {{ line-height: 1.45; }}
.{CLASS} pre {{ font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.85rem;
  background: rgba(128, 128, 128, 0.08); padding: 0.6rem 0.8rem; overflow-x: auto; white-space: pre; }}
.{CLASS} table {{ border-collapse: collapse; margin: 0.5rem 0; }}
.{CLASS} th, .{CLASS} td {{ border-bottom: 1px solid rgba(128, 128, 128, 0.5); padding: 0.2rem 0.8rem; }}
.{CLASS} td.right, .{CLASS} th.right {{ text-align: right; font-family: monospace; }}
.{CLASS} .blank {{ display: inline-block; min-width: 3.5em; border-bottom: 1px solid currentColor; height: 1em; }}
.{CLASS} mark.answer {{ background: #fff3a8; color: #111; }}
.{CLASS} hr {{ border: 0; border-top: 1px solid rgba(128, 128, 128, 0.5); margin: 1.5rem 0; }}
"""


def fragment(trace: Any, **options: Any) -> str:
    """The walkthrough (or sheet, or key) as HTML for a notebook's output: the HTML format's body, styled
    inside its own <div>. Options as for `render`."""
    from nnworked.api import _settings, _sheet_and_key
    from nnworked.render import FORMATS

    record = FORMATS["html"]
    settings, both = _settings(trace, **options)
    write = getattr(record.printer(), record.part)
    parts = "\n".join(f"<section>\n{write(trace, part)}\n</section>"
                      for part in (_sheet_and_key(settings) if both else [settings]))
    return f'<div class="{CLASS}">\n<style>{STYLE}</style>\n{parts}\n</div>\n'


class Shown:
    """What a %%nnworked cell shows: its walkthrough in the format asked for (typeset HTML when none is),
    as text where a front end shows no HTML. `walkthrough` is the solved scenario, to use further."""

    def __init__(self, walkthrough: Any, format: str | None, options: dict[str, Any]):  # noqa: A002
        self.walkthrough, self.format, self.options = walkthrough, format, options
        # rendered now, so that a mistake in the options shows when the cell runs, not when it is displayed
        self.text = walkthrough.render(format or "terminal", **options)
        self.html = fragment(walkthrough.trace, **options) if format in (None, "html") else None

    def _repr_html_(self) -> str | None:
        return self.html

    def _repr_markdown_(self) -> str | None:
        return self.text if self.format == "markdown" else None

    def __repr__(self) -> str:
        return self.text


class Written:
    """What a %%nnworked cell with --output shows: the files it wrote."""

    def __init__(self, paths: list[str]):
        self.paths = paths

    def _repr_html_(self) -> str:
        return "<p>wrote " + ", ".join(f"<code>{html.escape(p)}</code>" for p in self.paths) + "</p>"

    def __repr__(self) -> str:
        return "wrote " + ", ".join(self.paths)


def options(line: str) -> tuple[dict[str, Any], set[str]]:
    """The magic's line parsed and checked by `nnworked run` itself: its parameters by name, and the names
    the line gave (a mistake raises click's UsageError, with the command line's message)."""
    import typer

    from nnworked.cli import app

    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    # the cell is the scenario: a placeholder stands for it where the command takes its argument
    context = command.make_context("%%nnworked", [*shlex.split(line), "cell"])
    given = {name for name in context.params if context.get_parameter_source(name).name == "COMMANDLINE"}
    return dict(context.params), given


def _plain(choice: Any) -> Any:
    """A choice as text (typer gives an Enum where the command runs, click the text it parsed)."""
    return getattr(choice, "value", choice)


def run_cell(line: str, cell: str) -> Shown | Written:
    """The work of %%nnworked: parse the line, solve the cell, render as asked."""
    import nnworked

    given, named = options(line)
    if not cell.strip():
        raise NnworkedError("the cell holds no scenario: write its YAML below %%nnworked (or a bundled name, such "
                            "as spam)")
    source = cell if "\n" in cell.strip() else cell.strip()  # one line: a bundled name or a path
    exam = given["exam"]
    reveal = _plain(given["reveal"])
    if exam and reveal == "guided":
        raise NnworkedError("an exam reveals nothing computed from a blank: leave out --reveal guided")
    chosen = dict(full=given["full"], all_steps=given["all_steps"], detail=_plain(given["detail"]),
                  layout=_plain(given["layout"]), why_matrices=given["why_matrices"],
                  exercise=given["exercise"] or exam, answers=given["answers"], blanks=given["blanks"],
                  seed=given["seed"], reveal="none" if exam else reveal)
    walkthrough = nnworked.run(source, keep=None if given["all_steps"] else 1, steps=given["steps"],
                               precision=given["precision"],
                               rounding=_plain(given["rounding"]))
    if given["output"] is not None:
        from nnworked.files import write_all

        files = walkthrough.files(given["format"], given["output"], **chosen)
        write_all(files, option="--output")
        return Written(list(files))
    return Shown(walkthrough, given["format"] if "format" in named else None, chosen)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext nnworked`: registers the %%nnworked cell magic."""
    from IPython.core.error import UsageError

    def nnworked(line: str, cell: str) -> Shown | Written | None:
        """Show the worked solution of the scenario in this cell (its YAML, a bundled name or a path). The
        line takes the options of `nnworked run`, such as --format markdown --detail full --steps 3."""
        import typer

        # click's base of every command-line mistake (typer carries its own copy of click, or uses click)
        mistake = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
        try:
            return run_cell(line, cell)
        except typer.Exit:  # --help: the command's help is printed
            return None
        except mistake as error:  # an option the command line would refuse: exit 2 there
            raise UsageError(error.format_message()) from None
        except NnworkedError as error:  # the scenario or its data is wrong: the message, never a traceback
            raise UsageError(str(error)) from None

    ipython.register_magic_function(nnworked, "cell", "nnworked")
