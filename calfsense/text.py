"""Text from outside (device names, recording fields, file names) made safe to print on a terminal."""

from __future__ import annotations

import unicodedata


def printable(value: object) -> str:
    """`value` as text with control and format characters shown as escapes (a name cannot move the cursor,
    recolour the terminal or reorder what follows), every other character as itself."""
    out = []
    for ch in str(value):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def markup_safe(value: object) -> str:
    """`printable`, with rich's markup brackets escaped too (a name like "[/bold]" is shown, not applied)."""
    from rich.markup import escape

    return escape(printable(value))


def count(n: int, noun: str) -> str:
    """'1 rep', '3 reps', '1 set', '0 sets'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def total(reps: int, sets: int) -> str:
    """'177 reps in 12 sets', '1 rep in 1 set'."""
    return f"{count(reps, 'rep')} in {count(sets, 'set')}"
