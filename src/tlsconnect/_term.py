"""Terminal output: whether to colour it, and text from elsewhere made safe to show."""

from __future__ import annotations

import os
import re

# typing is not imported at run time: printable() is on the path of every context (the
# verification errors that name certificates use it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["printable", "use_colour"]

# C0 and C1 controls and DEL (a terminal acts on ESC sequences: it can clear the screen,
# retitle the window, or hide text), and the Unicode marks that reorder what is shown.
_CONTROL = "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"


def use_colour(stream: TextIO) -> bool:
    """ANSI colours only on a terminal, and never with ``NO_COLOR`` (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def printable(text: object, *, newlines: bool = False) -> str:
    """``text`` with every control character shown escaped (``\\x1b``, ``\\r``,
    ``\\u202e``), for text output of anything a server, a certificate or a file said.
    ``newlines=True`` keeps line breaks (text of several lines made by tlsconnect)."""
    # re caches the compiled pattern: nothing is compiled when tlsconnect is imported.
    return re.sub(_CONTROL, lambda found: _escape(found.group(), newlines), str(text))


def _escape(char: str, newlines: bool) -> str:
    if newlines and char == "\n":
        return char
    return char.encode("unicode_escape").decode("ascii")
