"""Terminal output: whether to colour it."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["use_colour"]


def use_colour(stream: TextIO) -> bool:
    """ANSI colours only on a terminal, and never with ``NO_COLOR`` (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
