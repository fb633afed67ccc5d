"""Text from a scenario or an answer file is untrusted: it reaches terminals, documents and web pages.

`printable` replaces every character a terminal would interpret (C0 controls, DEL, C1 controls, and so
every ESC, CSI and OSC sequence that could clear a screen or retitle a window) and every character that
makes text read differently from what it is (bidirectional overrides and isolates, zero-width marks) by a
visible escape such as `\\x1b`. Each output format then escapes what is special to it.
"""

from __future__ import annotations

import re

_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
_UNSAFE_ANYWHERE = re.compile(f"[{_UNSAFE}\t\n]")
_UNSAFE_IN_PROSE = re.compile(f"[{_UNSAFE}]")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, newlines: bool = False) -> str:
    """`text` with every control and bidi character shown as an escape; newline and tab kept only where
    prose allows them (`newlines=True`)."""
    return (_UNSAFE_IN_PROSE if newlines else _UNSAFE_ANYWHERE).sub(_visible, text)
