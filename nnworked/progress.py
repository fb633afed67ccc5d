"""A progress bar for long work: on stderr, only on a terminal, only once the work has run a while.

The library marks its long loops with `track(items, total, what)`; a caller that wants bars (the command
line) runs the library inside `shown()`. Anywhere else (a pipe, a redirected stderr, a notebook, a test)
`track` hands the items on untouched. rich.progress is imported only when a bar is drawn, so a command that
finishes quickly never pays for it.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterable, Iterator, NamedTuple, TypeVar

T = TypeVar("T")

AFTER = 1.0  # seconds of work before a bar appears: a command that ends sooner shows none


class _Where(NamedTuple):
    console: Any  # a rich Console on stderr
    after: float


_shown: ContextVar[_Where | None] = ContextVar("nnworked.progress", default=None)


@contextmanager
def shown(on: bool = True, console: Any = None, after: float = AFTER) -> Iterator[None]:
    """Within this block, long loops show a transient bar on `console` (default: stderr, when it is a
    terminal; otherwise nothing is shown). `on=False` leaves things as they are."""
    if not on:
        yield
        return
    if console is None and sys.stderr.isatty():
        from rich.console import Console

        console = Console(stderr=True)
    token = _shown.set(_Where(console, after) if console is not None else None)
    try:
        yield
    finally:
        _shown.reset(token)


def track(items: Iterable[T], total: int, what: str) -> Iterator[T]:
    """`items`, one by one; inside `shown()`, with a bar "what" once the loop has run `after` seconds."""
    if _shown.get() is None:
        yield from items
        return
    with bar(total, what) as advance:
        for done, item in enumerate(items):
            advance(done)
            yield item


@contextmanager
def bar(total: int, what: str) -> Iterator[Callable[[int], None]]:
    """A function to call with the work done so far (of `total`); inside `shown()` it draws a bar "what"
    once the work has run `after` seconds, and the bar goes when the block ends."""
    where = _shown.get()
    if where is None:
        yield lambda done: None
        return
    start, drawn = time.monotonic(), []
    token = _shown.set(None)  # one bar at a time: the loops inside this one (a draw's solve) draw none

    def advance(done: int) -> None:
        if drawn:
            drawn[0].update(drawn[0].task_ids[0], completed=done)
        elif time.monotonic() - start >= where.after:
            drawn.append(_bar(where.console, what, total, done))

    try:
        yield advance
    finally:
        _shown.reset(token)
        if drawn:
            drawn[0].stop()


def _bar(console: Any, what: str, total: int, done: int):  # noqa: ANN202
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=console, transient=True, redirect_stdout=False, redirect_stderr=False)
    bar.add_task(what, total=total, completed=done)
    bar.start()
    return bar
