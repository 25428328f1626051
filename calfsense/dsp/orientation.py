"""The accelerometer's own scale, learned from the session: |a| at rest in every pose it has been in.

Real sensors read |a| = 1.01-1.10 g at rest, and differently in different poses (per-axis scale errors
of up to 10 %): then |a| changes as a segment tips, which a double integration would take for a lift.
At rest the sensor reads m_i = s_i g p_i for gravity's true direction p and per-axis scales s, so in the
direction it reports, u = m / |m|, 1 / |m|^2 = sum_i u_i^2 / (s_i g)^2: linear in w_i = 1 / (s_i g)^2, and a
least-squares fit over still seconds gives the level |a| should read in any pose.
Axes the session never turned are pulled towards the mean scale (ridge), so one pose gives a flat level.
Sums are kept per whole grid second, so any block split gives the same fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calfsense.dsp.params import DetectorParams


@dataclass
class ScaleModel:
    """Per-axis scales fitted from the still seconds seen so far (`still_mg`, `scale_ridge` in the parameters)."""

    params: DetectorParams
    hz: float
    _gram: NDArray[np.float64] = field(default_factory=lambda: np.zeros((3, 3)), init=False)
    _rhs: NDArray[np.float64] = field(default_factory=lambda: np.zeros(3), init=False)
    _count: int = field(default=0, init=False)
    _next: int = field(default=0, init=False)  # next whole second to look at
    _fit: tuple[int, NDArray[np.float64]] | None = field(default=None, init=False)  # (still seconds, weights) solved

    def update(self, lp_of: Callable[[int, int], NDArray[np.float64] | None], upto: int) -> None:
        """Take every whole grid second before grid index `upto`; `lp_of(i0, i1)` gives its low-passed samples."""
        per = int(self.hz)
        self._next = max(self._next, 0)
        whole = upto // per - self._next  # whole seconds to take
        if whole > 1:
            # Usually all in the current run: every second at once (a one-hour replay has 3,600 of them).
            x = lp_of(self._next * per, (self._next + whole) * per)
            if x is not None:
                self._add_many(x.reshape(whole, per, 3))
                self._next += whole
                return
        while (self._next + 1) * per <= upto:
            x = lp_of(self._next * per, (self._next + 1) * per)
            self._next += 1
            if x is not None:
                self._add_many(x[None])

    def skip_to(self, index: int) -> None:
        """Seconds before this grid index are not looked at (the data resumed there)."""
        self._next = max(self._next, -(-index // int(self.hz)))

    def _add_many(self, seconds: NDArray[np.float64]) -> None:
        """Take the still ones of many seconds (k, per, 3) at once, in their order."""
        # Sums run in time order whatever the grouping (cumulative sums), so a stream fed in any blocks fits
        # exactly what one block would.
        mean = np.cumsum(seconds, axis=1)[:, -1] / seconds.shape[1]
        still = mean[np.abs(seconds - mean[:, None, :]).max(axis=(1, 2)) <= self.params.still_mg]
        if not len(still):
            return
        g = np.sqrt(np.cumsum(still * still, axis=1)[:, -1])
        u2 = (still / g[:, None]) ** 2
        self._gram = np.cumsum(np.concatenate((self._gram[None], u2[:, :, None] * u2[:, None, :])), axis=0)[-1]
        self._rhs = np.cumsum(np.concatenate((self._rhs[None], u2 / (g * g)[:, None])), axis=0)[-1]
        self._count += len(still)

    def level_mg(self, u: NDArray[np.float64]) -> NDArray[np.float64] | None:
        """What |a| reads at rest in each pose `u` (n, 3 unit vectors); None before any still second."""
        if self._count == 0:
            return None
        if self._fit is None or self._fit[0] != self._count:
            mean_w = float(self._rhs.sum() / max(self._gram.sum(), 1e-30))
            # Each axis pulled towards the mean scale: an axis the session never turned has nothing else to go by.
            ridge = self.params.scale_ridge
            solved = np.asarray(np.linalg.solve(self._gram + ridge * np.eye(3), self._rhs + ridge * mean_w), np.float64)
            self._fit = (self._count, solved)
        _, w = self._fit
        level: NDArray[np.float64] = 1.0 / np.sqrt(np.maximum((u**2) @ w, 1e-12))
        return level
