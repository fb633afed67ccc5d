"""Renderers: interpreters over a Trace. Each output format is ONE record, registered under the name a
user types; the command line's choices, `generate`'s and the tests' lists all come from these records.
A printer module is imported only when its format is asked for."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Callable, NamedTuple

from nnworked.rules.registry import Registry


class Format(NamedTuple):
    name: str
    module: str  # the printer: a module with render(trace, settings)
    extension: str  # of a file in this format
    blank: str  # what a blank looks like on a sheet, or how it starts ("" where a sheet leaves the value out)
    with_key: str  # how `--exercise --answers` gives the sheet with its key: "parts" (one document, the
    # printer's render_parts(trace, [sheet, key])), "after" (the key's text after the sheet's), "key" (the
    # key alone, which holds the sheet: JSON's answers beside the blanks), "feedback" (the sheet alone, which
    # carries its key: a Moodle question's feedback)
    description: str  # in the command line's help
    needs_blanks: bool = False  # only an exercise sheet can be written in it (--exercise)
    console: bool = False  # printed through the rich console (colour on a terminal, plain text to a file)
    chart_beside: bool = False  # a training run written to a file gets its loss chart beside it, linked
    exercises: str = ""  # how `generate` writes sheets and keys: "documents" (the printer's part(), joined
    # by `join`), "questions" (one question per variant, its key as feedback), "" (it does not)
    sheets: bool = True  # can be an exercise sheet (a script that computes every value cannot: only a key)
    part: str = "part"  # the printer's function for one part of a document: (trace, settings) -> text
    join: Callable[[str, list[str]], str] | None = None  # (title, parts) -> one document
    binary: bool = False  # the printer gives bytes (a .zip), written to a file, never to a terminal
    noun: str = "a document"  # what one file of it is, in messages: "a Moodle question needs blanks"

    def printer(self) -> ModuleType:
        return importlib.import_module(self.module)


def _markdown_join(title: str, parts: list[str]) -> str:
    return "\n---\n\n".join(parts)


def _latex_join(title: str, parts: list[str]) -> str:
    return importlib.import_module("nnworked.render.latex").document(parts)


def _html_join(title: str, parts: list[str]) -> str:
    return importlib.import_module("nnworked.render.html").document(title, parts)


FORMATS: Registry[Format] = Registry("format", Format)
for _format in [
    Format("terminal", "nnworked.render.terminal", "txt", "?", "after", "terminal", console=True),
    Format("markdown", "nnworked.render.markdown", "md", "____", "parts", "markdown", chart_beside=True,
           exercises="documents", part="render", join=_markdown_join),
    Format("json", "nnworked.render.json", "json", "", "key", "json"),
    Format("latex", "nnworked.render.latex", "tex", r"\fbox{\rule{0pt}{1.8ex}", "parts",  # as wide as its answer
           "latex (a document for pdflatex)", exercises="documents", join=_latex_join),
    Format("html", "nnworked.render.html", "html", '<span class="blank"></span>', "parts",
           "html (one self-contained page)", exercises="documents", join=_html_join),
    Format("moodle", "nnworked.render.moodle", "xml", "{1:NUMERICAL:", "feedback",
           "moodle (a cloze question; needs --exercise)", needs_blanks=True, exercises="questions",
           noun="a Moodle question"),
    Format("qti", "nnworked.render.qti", "zip", "", "feedback",
           "qti (an IMS QTI 1.2 package for Canvas, a .zip; needs --exercise and --output)", needs_blanks=True,
           exercises="questions", binary=True, noun="a QTI package"),
    Format("xlsx", "nnworked.render.xlsx", "xlsx", "", "parts",
           "xlsx (a spreadsheet in the AI by Hand layout, live formulas; needs --output)", binary=True,
           noun="a spreadsheet"),
    Format("pytorch", "nnworked.render.pytorch", "py", "", "key",
           "pytorch (a script that rebuilds it in PyTorch and prints the same numbers)", sheets=False),
]:
    FORMATS.register(_format)


def get(name: str) -> Callable:
    """The `render(trace, settings)` function of a format (imported only when asked for)."""
    return FORMATS[name].printer().render


def help_text() -> str:
    """"terminal, markdown, … or moodle (…)." for the command line."""
    described = [f.description for f in FORMATS.values()]
    return ", ".join(described[:-1]) + " or " + described[-1] + "."
