"""The routine rules live coaching and the replayed report share: which sets a placement can assess, and
when a break continues a set. Stated once here so live mode and replay cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from calfsense.dsp.params import rise_too_slow, visible_exercises
from calfsense.routine import PrescribedSet

# A break shorter than this share of the set's prescribed rest (at least 20 s) continues the set.
SHORT_BREAK_SHARE = 0.5
SHORT_BREAK_FLOOR_S = 20.0


@dataclass(frozen=True, slots=True)
class Assessable:
    """The prescribed sets a placement can assess, and what to tell the user about the others."""

    sets: tuple[PrescribedSet, ...]
    hidden: tuple[PrescribedSet, ...]
    notes: tuple[str, ...]


def assessable(prescribed: list[PrescribedSet], placement: str) -> Assessable:
    """Split a routine's sets into those this placement can see and those it cannot, with the caveats."""
    if placement == "auto":
        return Assessable(tuple(prescribed), (), ())
    seen = visible_exercises(placement)
    visible = tuple(p for p in prescribed if p.exercise in seen)
    hidden = tuple(p for p in prescribed if p.exercise not in seen)
    notes: list[str] = []
    if hidden:
        notes.append(
            f"a {placement} sensor cannot see {hidden[0].exercise} raises: {len(hidden)} prescribed set(s) "
            "not assessed (wear it on the shin or the shoe)"
        )
    slow = [p for p in visible if rise_too_slow(placement, p.tempo.up_s)]
    if slow:
        notes.append(
            f"a {placement} sensor cannot count rises as slow as {slow[0].tempo.up_s:g} s (their lift is too faint "
            f"to tell from lean and breathing): {len(slow)} prescribed set(s) will count few reps or none "
            "(wear it on the shin or the shoe)"
        )
    return Assessable(visible, hidden, tuple(notes))


def continues_set(done_reps: int, target: PrescribedSet | None, pause_s: float) -> bool:
    """Whether reps after a `pause_s` break still belong to the set in progress (it had `done_reps`).

    Live mode asks at the first rep after the break and closes a set when it reaches its count (writing
    the boundary into the recording), so replay, which sees the whole continuation at once, also asks
    that the two parts together do not exceed the count.
    """
    if target is None or target.reps is None or done_reps <= 0 or done_reps >= target.reps:
        return False
    return pause_s < SHORT_BREAK_SHARE * max(target.rest_s, SHORT_BREAK_FLOOR_S)
