"""What the detector reports: reps, sets and the session, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rep:
    """One heel raise. Times in seconds of the input clock; `pause_s` is the bottom pause before it."""

    index: int  # within its set, from 1
    set_index: int  # from 1
    start_s: float
    top_s: float
    lower_s: float
    end_s: float
    pause_s: float | None
    height_cm: float | None
    peak_tilt_deg: float
    flags: tuple[str, ...]
    # With a sensor on each leg: the leg that moved, "left", "right" or "both" (calfsense/legs.py); else None.
    side: str | None = None

    @property
    def up_s(self) -> float:
        """Rising time."""
        return self.top_s - self.start_s

    @property
    def hold_s(self) -> float:
        """Top hold."""
        return self.lower_s - self.top_s

    @property
    def down_s(self) -> float:
        """Lowering time."""
        return self.end_s - self.lower_s


@dataclass(frozen=True, slots=True)
class RepSet:
    """Consecutive reps separated from the next set by rest, a long gap or an explicit boundary."""

    index: int
    reps: tuple[Rep, ...]

    @property
    def start_s(self) -> float:
        """Start of the first rep."""
        return self.reps[0].start_s

    @property
    def end_s(self) -> float:
        """End of the last rep."""
        return self.reps[-1].end_s


@dataclass(frozen=True, slots=True)
class Session:
    """Everything the detector found in one recording."""

    placement: str
    reps: tuple[Rep, ...]
    sets: tuple[RepSet, ...]
    gaps: tuple[tuple[float, float], ...]


def group_sets(reps: list[Rep] | tuple[Rep, ...]) -> tuple[RepSet, ...]:
    """Group reps by their `set_index`."""
    out: list[RepSet] = []
    for rep in reps:
        if out and out[-1].index == rep.set_index:
            out[-1] = RepSet(rep.set_index, out[-1].reps + (rep,))
        else:
            out.append(RepSet(rep.set_index, (rep,)))
    return tuple(out)
