"""The domain's words, each defined once: where a sensor is worn, exercises, sides, rep flags, recording
events and link states. String enums: they equal their values, so files, JSON and options keep them."""

from __future__ import annotations

from enum import StrEnum


class Placement(StrEnum):
    """Where the sensor is worn; AUTO lets the detector tell from the session."""

    FOOT = "foot"
    SHIN = "shin"
    CHEST = "chest"
    THIGH = "thigh"
    AUTO = "auto"


WORN = (Placement.FOOT, Placement.SHIN, Placement.CHEST, Placement.THIGH)


class Exercise(StrEnum):
    """The three calf raises of the routine."""

    TWO_LEG = "two-leg"
    SINGLE_LEG = "single-leg"
    SEATED = "seated"


class Side(StrEnum):
    """Which leg a set is for."""

    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"
    ALTERNATE = "alternate"


class Flag(StrEnum):
    """What was off in a rep, against the form rules."""

    PARTIAL = "partial"  # stopped short of the set's best height
    LEAN = "lean"  # the body tipped: not straight up
    RUSHED = "rushed"  # the lowering was faster than prescribed
    BOUNCE = "bounce"  # no pause at the bottom


class EventKind(StrEnum):
    """What a recording's event records say happened."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTED = "reconnected"
    SET_STARTED = "set_started"
    SET_ENDED = "set_ended"
    MARKER = "marker"
    NOTE = "note"
    STOPPED = "stopped"
    PAUSED = "paused"  # the routine paused (live `p`): reps until `resumed` are kept but credited to no set
    RESUMED = "resumed"


class LinkState(StrEnum):
    """What the link to the sensor is doing, as the live screen shows it; WARNING is news, not a state."""

    SCANNING = "scanning"
    CONNECTING = "connecting"
    WAITING = "waiting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    WARNING = "warning"


def values(kind: type[StrEnum], *leave_out: StrEnum) -> list[str]:
    """An enum's values in order, for a command-line choice."""
    return [member.value for member in kind if member not in leave_out]
