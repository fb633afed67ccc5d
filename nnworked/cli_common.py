"""What every command shares: the app, and how a message reaches the terminal (printable text only; a
data error on stderr with exit 1, never a traceback)."""

from __future__ import annotations

import typer

from nnworked import __version__

app = typer.Typer(
    name="nnworked",
    help="Worked solutions for small neural networks: every multiplication, sum, chain-rule product and "
    "weight update, with the real numbers.\n\nExample: nnworked run spam",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _printable(text: str) -> str:
    from nnworked.text import printable

    return printable(text, newlines=True)


def _fail(message: str) -> None:
    from rich.console import Console

    # a message may quote a file's text: no control character gets through
    Console(stderr=True, highlight=False, soft_wrap=True).print(_printable(message), markup=False)
    raise typer.Exit(1)


def _version(value: bool) -> None:
    if value:
        print(f"nnworked {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Worked solutions for small neural networks."""


def _width() -> int:
    from rich.console import Console

    return min(Console().width, 100)
