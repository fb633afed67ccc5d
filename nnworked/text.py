"""Text from a scenario or an answer file is untrusted: it reaches terminals, documents and web pages.

`printable` replaces every character a terminal would interpret (C0 controls, DEL, C1 controls, and so
every ESC, CSI and OSC sequence that could clear a screen or retitle a window) and every character that
makes text read differently from what it is (bidirectional overrides and isolates, zero-width marks) by a
visible escape such as `\\x1b`. Each output format then escapes what is special to it.
"""

from __future__ import annotations

_UNSAFE = [*range(0x00, 0x09), *range(0x0b, 0x20), *range(0x7f, 0xa0), 0x061c, *range(0x200b, 0x2010),
           *range(0x2028, 0x202f), *range(0x2060, 0x206a), 0xfeff]


def _visible(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# str.translate tables (cheaper to build at start-up than a regular expression is to compile)
_IN_PROSE = {code: _visible(code) for code in _UNSAFE}
_ANYWHERE = {**_IN_PROSE, 0x09: _visible(0x09), 0x0a: _visible(0x0a)}


def printable(text: str, newlines: bool = False) -> str:
    """`text` with every control and bidi character shown as an escape; newline and tab kept only where
    prose allows them (`newlines=True`)."""
    return text.translate(_IN_PROSE if newlines else _ANYWHERE)
