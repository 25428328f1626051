"""Set consistency: sets, what their reps so far look like, and the way the session's reps tip."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median

import numpy as np
from numpy.typing import NDArray

from calfsense.dsp.params import DetectorParams
from calfsense.dsp.validate import SetContext


@dataclass(frozen=True, slots=True)
class RepStats:
    """What set consistency and learning keep of a counted rep."""

    end_s: float
    rise: float  # peak evidence above its trough, over the noise
    duration_s: float
    height_cm: float | None
    peak_tilt_deg: float
    tilt_dir: tuple[float, float, float]


@dataclass
class SetTracker:
    """Groups reps into sets and keeps what set consistency compares a candidate with."""

    params: DetectorParams
    rest_s: float
    set_index: int = field(default=0, init=False)
    _set: list[RepStats] = field(default_factory=list, init=False)
    _force_new: bool = field(default=False, init=False)
    _pattern_from: int = field(default=0, init=False)  # the set's reps its pattern is taken from start here

    def new_set(self) -> None:
        """The next rep opens a set (an explicit boundary)."""
        self._force_new = True

    def opens_set(self, start_s: float) -> bool:
        """Whether a rep starting now opens a set."""
        return self._force_new or not self._set or start_s - self._set[-1].end_s > self.rest_s

    def context(self, start_s: float) -> SetContext | None:
        """The current set's medians, or None if a rep starting now opens a set."""
        if self.opens_set(start_s):
            return None
        pattern = self._pattern()
        way = np.mean([r.tilt_dir for r in pattern], axis=0)
        return SetContext(
            len(pattern),
            median(r.rise for r in pattern),
            median(r.duration_s for r in pattern),
            (float(way[0]), float(way[1]), float(way[2])),
        )

    def reform(self) -> None:
        """The set's reps so far were the odd ones: its pattern is taken from the reps counted from now on."""
        self._pattern_from = len(self._set)

    def reps_in_set(self) -> int:
        """Reps of the current (or last) set's pattern so far."""
        return len(self._pattern())

    def _pattern(self) -> list[RepStats]:
        """The set's reps its pattern is taken from (all of them, unless it re-formed)."""
        return self._set[self._pattern_from :] or self._set

    def last_end_s(self, start_s: float) -> float | None:
        """End of the set's previous rep, if a rep starting now continues a set."""
        return None if self.opens_set(start_s) else self._set[-1].end_s

    def reference_height_cm(self) -> float | None:
        """Median height of the set's first three reps (a partial rep falls short of it)."""
        heights = [r.height_cm for r in self._set[:3] if r.height_cm is not None]
        return median(heights) if heights else None

    def median_tilt_deg(self) -> float | None:
        """Median peak tilt of the set's first five reps."""
        return median(r.peak_tilt_deg for r in self._set[:5]) if self._set else None

    def add(self, stats: RepStats, start_s: float) -> tuple[int, int]:
        """Count a rep; return its set index and its index within the set (both from 1)."""
        if self.opens_set(start_s):
            self.set_index += 1
            self._set = []
            self._force_new = False
            self._pattern_from = 0
        self._set.append(stats)
        return self.set_index, len(self._set)

    def axis(self) -> NDArray[np.float64] | None:
        """Unit direction (sensor frame) the current set's reps tip the segment, once two have."""
        if len(self._set) < 2:
            return None
        way = np.sum([r.tilt_dir for r in self._set], axis=0)
        n = float(np.linalg.norm(way))
        return way / n if n > 0 else None
