"""Input hygiene and resampling: raw samples at any rate, jittered or with gaps, to a fixed-rate grid.

Grid sample k stands for time k / hz and is the mean of the raw samples within half a step of it (an
anti-alias box filter); a bin no sample fell into (input slower than the grid) is linearly interpolated.
A bin is emitted once a later sample shows it complete, so any split of the input into blocks gives the
same grid values to the bit. Samples that are not finite, or not later than the last one, are dropped;
samples further apart than `gap_s` end a run (the caller restarts its filters after a gap).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class GridRun:
    """Consecutive grid samples: index of the first (time = index / hz) and the values (n, 3)."""

    first: int
    values: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Gap:
    """No data between these two input times."""

    start_s: float
    end_s: float


@dataclass
class Resampler:
    """Raw blocks in, grid runs and gaps out, in order."""

    hz: float
    gap_s: float
    _t: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), init=False)  # raw samples not yet used up
    _a: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 3)), init=False)
    _next: int | None = field(default=None, init=False)  # next grid index to emit; None before a run starts
    last_t: float | None = field(default=None, init=False)

    def push(self, time_s: NDArray[np.float64], acc: NDArray[np.float64]) -> list[GridRun | Gap]:
        """Add raw samples; return the grid runs they complete and the gaps they reveal."""
        ok = np.isfinite(time_s) & np.all(np.isfinite(acc), axis=1)
        t, a = time_s[ok], acc[ok]
        before = -np.inf if self.last_t is None else self.last_t
        forward = t > np.maximum.accumulate(np.concatenate(([before], t)))[:-1]
        t, a = t[forward], a[forward]
        if len(t) == 0:
            return []
        out: list[GridRun | Gap] = []
        while len(t):
            d = np.diff(t, prepend=t[0] if self.last_t is None else self.last_t)
            cuts = np.flatnonzero(d > self.gap_s)
            if len(cuts) == 0:
                self._append(t, a, out)
                break
            i = int(cuts[0])
            self._append(t[:i], a[:i], out)
            out += self._flush()
            out.append(Gap(float(self.last_t if self.last_t is not None else t[i]), float(t[i])))
            self.last_t, self._next = None, None
            self._t, self._a = np.zeros(0), np.zeros((0, 3))
            t, a = t[i:], a[i:]
        return out

    def flush(self) -> list[GridRun | Gap]:
        """End of input: emit the last bin (its samples are all in)."""
        return self._flush()

    def _flush(self) -> list[GridRun | Gap]:
        if len(self._t) == 0:
            return []
        out: list[GridRun | Gap] = []
        k_last = int(np.floor(self._t[-1] * self.hz + 0.5))
        self._emit(k_last + 1, out)
        self._t, self._a = self._t[-1:], self._a[-1:]
        return out

    def _append(self, t: NDArray[np.float64], a: NDArray[np.float64], out: list[GridRun | Gap]) -> None:
        if len(t) == 0:
            return
        self._t = np.concatenate((self._t, t))
        self._a = np.concatenate((self._a, a))
        self.last_t = float(t[-1])
        # Bins before the newest sample's own bin are complete.
        self._emit(int(np.floor(t[-1] * self.hz + 0.5)), out)

    def _emit(self, upto: int, out: list[GridRun | Gap]) -> None:
        """Emit grid bins [next, upto) from the buffered samples; keep what later bins still need."""
        t, a = self._t, self._a
        bins = np.floor(t * self.hz + 0.5).astype(np.int64)
        if self._next is None:
            self._next = int(bins[0])
        k0 = self._next
        if upto <= k0:
            return
        sel = (bins >= k0) & (bins < upto)
        rel = bins[sel] - k0
        n = upto - k0
        counts = np.bincount(rel, minlength=n).astype(np.float64)
        vals = np.empty((n, 3))
        for j in range(3):
            sums = np.bincount(rel, weights=a[sel, j], minlength=n)
            vals[:, j] = sums / np.maximum(counts, 1.0)
        empty = counts == 0
        if empty.any():
            tk = (k0 + np.flatnonzero(empty)) / self.hz
            for j in range(3):
                vals[empty, j] = np.interp(tk, t, a[:, j])
        out.append(GridRun(k0, vals))
        self._next = upto
        # Keep the samples of bins not yet emitted, and the last one before them (to interpolate empty bins).
        keep = np.flatnonzero(bins >= upto)
        first = int(keep[0]) if len(keep) else len(t)
        first = max(0, first - 1)
        self._t, self._a = t[first:], a[first:]
