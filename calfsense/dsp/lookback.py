"""Look-back: a set's first confident rep shows what its reps look like; the movement just before it that looks
the same was its first rep (too faint alone, or begun in the last footsteps' blind time).

Its contract: given the segment's pose (unit gravity directions) over a window ending with the rep that opened
a set, find where, before that rep, its own tilt profile recurs (normalized cross-correlation, a few time
scales: a person's reps differ in duration) with an amplitude like its own. Pure; parameters in
`DetectorParams`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Match:
    """Where the earlier rep is in the window (grid offsets) and how like the template it is."""

    start: int
    peak: int
    end: int
    correlation: float
    amplitude_ratio: float


def tilt_along(up: NDArray[np.float64], origin: NDArray[np.float64], way: NDArray[np.float64]) -> NDArray[np.float64]:
    """Tilt (deg) of each pose from `origin` along the unit direction `way` (the rep's own way of tipping)."""
    along: NDArray[np.float64] = np.degrees((up - origin) @ way)
    return along


def find_earlier(
    signal: NDArray[np.float64],
    template_start: int,
    template_end: int,
    min_correlation: float,
    amplitude_range: tuple[float, float],
    latest_end: int,
    scales: tuple[float, ...],
) -> Match | None:
    """The best match of signal[template_start:template_end] that ends by `latest_end` and before the template.

    A match, at one of the time `scales` of the template, must correlate at `min_correlation` or better, have an
    amplitude within `amplitude_range` of the template's, and come back to where it began (a rep, not a change of
    stance)."""
    template = signal[template_start:template_end]
    n = len(template)
    if n < 8 or template_start < n // 2:
        return None
    amp_t = float(template.max() - template.min())
    if amp_t <= 0:
        return None
    best: Match | None = None
    for scale in scales:
        m = max(8, int(round(n * scale)))
        scaled = np.interp(np.linspace(0, n - 1, m), np.arange(n), template)
        scaled = scaled - scaled.mean()
        norm_t = float(np.linalg.norm(scaled))
        last_start = min(template_start, latest_end) - m
        if last_start < 0 or norm_t == 0:
            continue
        # Every window of length m that ends by `latest_end`: correlation with the scaled template.
        windows = np.lib.stride_tricks.sliding_window_view(signal[: last_start + m], m)
        centred = windows - windows.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(centred, axis=1)
        corr = (centred @ scaled) / np.maximum(norms * norm_t, 1e-12)
        for j in np.argsort(corr)[::-1][:3]:
            c = float(corr[j])
            if c < min_correlation:
                break
            seg = signal[j : j + m]
            amp = float(seg.max() - seg.min())
            ratio = amp / amp_t
            returned = abs(float(seg[-1] - seg[0])) <= 0.3 * amp
            if amplitude_range[0] <= ratio <= amplitude_range[1] and returned:
                if best is None or c > best.correlation:
                    best = Match(int(j), int(j + int(np.argmax(seg))), int(j + m - 1), c, ratio)
                break
    return best
