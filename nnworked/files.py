"""Writing what a command made: every file or none, never a half-written one.

Each file is written first into a temporary beside it (in the same folder, so that the rename into place
is atomic), and only when every one is written are they renamed into place. On any failure every
temporary is removed, and so is every file this call had already renamed into place: a command leaves
all of its files or none of them. (A file that one of them replaced is not brought back.)
"""

from __future__ import annotations

import os

from nnworked.errors import NnworkedError


def write_all(files: dict[str, str | bytes], never_over: str | None = None, option: str = "--output",
              notes: dict[str, str] | None = None, folder: str | None = None) -> None:
    """Write each path's text, in the order given; raise NnworkedError naming the file that failed.

    `never_over`: the scenario the command reads (a bundled name or a path), which no file may replace:
    OptionError (a command-line mistake) naming `option`, and `notes` saying what a file is. `folder`: made
    first when it does not exist, and removed again when the writing fails."""
    if never_over is not None:
        _refuse_overwriting(never_over, files, option, notes or {})
    made = _missing_folders(folder) if folder is not None else []
    try:
        if folder is not None:
            os.makedirs(folder, exist_ok=True)
        _write(files)
    except (OSError, NnworkedError) as error:
        for path in reversed(made):
            try:
                os.rmdir(path)
            except OSError:
                break  # not empty, or never made
        if isinstance(error, NnworkedError):
            raise
        raise NnworkedError(f"{folder}: cannot make the folder: {error.strerror or error}") from None


def _missing_folders(folder: str) -> list[str]:
    """The folders that making `folder` would create, outermost first."""
    made: list[str] = []
    path = os.path.abspath(folder)
    while not os.path.exists(path):
        made.insert(0, path)
        path = os.path.dirname(path)
    return made


def _refuse_overwriting(source: str, paths: dict[str, str], option: str, notes: dict[str, str]) -> None:
    """A command never writes over the scenario it reads (`run X.yaml -o X.yaml`)."""
    from nnworked import bundled
    from nnworked.errors import OptionError

    scenario = bundled.resolve(source)
    for path in paths:
        if _same_file(path, scenario):
            raise OptionError(option, f"writing {path}{notes.get(path, '')} would replace the scenario it reads, "
                                      f"{source}: give another file name")


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # another name for it (a hard link)
    except OSError:
        return False  # one of them does not exist yet


def _write(files: dict[str, str | bytes]) -> None:
    temporaries: dict[str, str] = {}
    placed: list[str] = []
    current = ""
    try:
        for current, text in files.items():
            if os.path.isdir(current):  # a rename would fail only after the others were placed
                raise IsADirectoryError(21, "it is a folder", current)
            temporary = _temporary(current)
            binary = isinstance(text, bytes)  # a spreadsheet
            with open(temporary, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
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
