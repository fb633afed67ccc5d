"""Writing what a command made: every file or none, never a half-written one.

Each file is written first into a temporary beside it (in the same folder, so that the rename into place
is atomic), and only when every one is written are they renamed into place. On any failure every
temporary is removed, and so is every file this call had already renamed into place: a command leaves
all of its files or none of them. (A file that one of them replaced is not brought back.)
"""

from __future__ import annotations

import os

from nnworked.errors import NnworkedError


def write_all(files: dict[str, str]) -> None:
    """Write each path's text, in the order given; raise NnworkedError naming the file that failed."""
    temporaries: dict[str, str] = {}
    placed: list[str] = []
    current = ""
    try:
        for current, text in files.items():
            if os.path.isdir(current):  # a rename would fail only after the others were placed
                raise IsADirectoryError(21, "it is a folder", current)
            temporary = _temporary(current)
            with open(temporary, "w", encoding="utf-8") as handle:
                temporaries[current] = temporary
                handle.write(text)
        for current, temporary in temporaries.items():
            os.replace(temporary, current)
            placed.append(current)
    except BaseException as error:  # an interrupt too: nothing half-done stays behind
        for leftover in [*temporaries.values(), *placed]:
            _remove(leftover)
        if isinstance(error, OSError):
            raise NnworkedError(f"{current}: cannot write the file: {error.strerror or error}") from None
        raise


def _temporary(path: str) -> str:
    """A name beside `path` that no other run uses at the same time."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.{os.getpid()}.partial")


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass  # already renamed away, or never created
