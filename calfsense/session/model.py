"""What any recording becomes once loaded: samples in seconds and mG, heart rate, events, gaps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened during a session (connected, set started, marker, note...)."""

    time_s: float
    kind: str
    text: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class LoadedSession:
    """A recording of any format, decoded: the one input the analysis pipeline knows.

    `time_s` counts from the first acceleration sample; `acc_mg` has shape (n, 3).
    """

    path: str
    format: str
    time_s: NDArray[np.float64]
    acc_mg: NDArray[np.float64]
    device: str | None = None
    model: str | None = None
    placement: str | None = None
    routine: str | None = None
    nominal_rate_hz: float | None = None
    hr_time_s: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    hr_bpm: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    events: tuple[Event, ...] = ()
    gaps: tuple[tuple[float, float], ...] = ()
    frames_total: int = 0
    frames_lost: int = 0
    frames_corrupt: int = 0
    settings: dict[str, object] | None = None
    start_wall: str | None = None
    synthetic: bool = False
    warnings: tuple[str, ...] = ()
    # A sensor on each leg (calfsense/legs.py): this is one leg's ("left"), `other` the other leg's, on the
    # same session clock.
    side: str | None = None
    other: LoadedSession | None = None

    @property
    def duration_s(self) -> float:
        """From the first to the last sample."""
        return float(self.time_s[-1] - self.time_s[0]) if len(self.time_s) > 1 else 0.0

    @property
    def sample_rate_hz(self) -> float:
        """Measured rate: the median sample interval, so gaps do not lower it."""
        if len(self.time_s) < 2:
            return 0.0
        dt = float(np.median(np.diff(self.time_s)))
        return 1.0 / dt if dt > 0 else 0.0

    def hr_at(self, time_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Heart rate at the given times (last value held), NaN before the first reading."""
        if len(self.hr_time_s) == 0:
            return np.full(len(time_s), np.nan)
        idx = np.searchsorted(self.hr_time_s, time_s, side="right") - 1
        out = self.hr_bpm[np.clip(idx, 0, None)].astype(np.float64)
        out[idx < 0] = np.nan
        return out
