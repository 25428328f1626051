"""Choosing among what a sensor offers (its rates, its ranges)."""

from __future__ import annotations

from collections.abc import Sequence


def at_or_above(offered: Sequence[int], wish: int) -> int:
    """The smallest offered value that gives at least the wish, else the largest offered."""
    return min((v for v in offered if v >= wish), default=max(offered))
