"""Evidence signals on the grid: gravity's direction (for tilt), the lift, and whether the segment is busy.

All causal filters with carried state, so any block split gives the same values:
- `up`: the direction of gravity in the sensor, the 3-axis acceleration low-passed at `lowpass_hz` and
  normalised, so the accelerometer's own scale (never 1000 mG assumed) does not matter; the segmenter
  measures tilt from it against the pose each rep starts in;
- `lift_cm`: the band-passed double integral of |a|: how far the segment rose (the high-pass stages make
  it forget bias and posture changes within a few seconds);
- `busy`: footsteps, running or handling (smoothed content above `rough_hz` over `max_rough_mg`), or a change
  of posture (tipped further from its recent pose than any raise); the lift restarts where it ends.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calfsense.dsp.iir import Filter, butter2_lowpass
from calfsense.dsp.params import DetectorParams

_G_MPS2_PER_MG = 9.80665e-3


@dataclass(frozen=True, slots=True)
class Signals:
    """One block of evidence, one value per grid sample."""

    up: NDArray[np.float64]  # (n, 3) unit direction of gravity in the sensor's frame
    lift_cm: NDArray[np.float64]
    lowpass_mg: NDArray[np.float64]  # (n, 3) the acceleration below `lowpass_hz`
    busy: NDArray[np.bool_]  # footsteps, handling or a change of posture: no rep in progress


def _first_order_lowpass(hz: float, fs: float) -> Filter:
    alpha = math.exp(-2 * math.pi * hz / fs)
    return Filter(np.array([1.0 - alpha]), np.array([1.0, -alpha]))


@dataclass
class SignalBank:
    """Turns grid blocks into `Signals`; `restart()` after a gap (the learned raise axis is kept)."""

    params: DetectorParams
    hz: float
    warm: int = 10  # a run's filters start from the mean of its first this many samples
    _zi: dict[str, NDArray[np.float64]] = field(default_factory=dict, init=False)
    _busy: bool = field(default=False, init=False)
    _since: int = field(default=1 << 30, init=False)  # grid samples since the segment was last busy
    _lift_age: int = field(default=0, init=False)  # grid samples since the lift's integrators last started
    _posture: bool = field(default=False, init=False)  # the posture is changing (see `_changing_posture`)

    def __post_init__(self) -> None:
        p, fs = self.params, self.hz
        self._lp = Filter(*butter2_lowpass(p.lowpass_hz, fs))
        self._lp_rough = Filter(*butter2_lowpass(p.rough_hz, fs))
        self._rough = _first_order_lowpass(1.0, fs)
        # Lift: high-pass the level, then two leaky integrations, all at `lift_hp_hz`: one filter.
        alpha = math.exp(-2 * math.pi * p.lift_hp_hz / fs)
        dt = 1.0 / fs
        hp_b, hp_a = np.array([1.0, -1.0]) * (1 + alpha) / 2, np.array([1.0, -alpha])
        li_b, li_a = np.array([dt]), np.array([1.0, -alpha])
        self._lift_hp = Filter(hp_b, hp_a)
        self._lift_int = Filter(np.convolve(li_b, li_b), np.convolve(li_a, li_a))
        self._pose = _first_order_lowpass(1.0 / (2.0 * math.pi * p.posture_tau_s), fs)
        # The same pose twice (the chest) is filtered once.
        self._pose_now = (
            None
            if p.posture_settle_s == p.posture_tau_s
            else _first_order_lowpass(1.0 / (2.0 * math.pi * p.posture_settle_s), fs)
        )

    def restart(self) -> None:
        """Forget filter states (after a gap); the next block starts them, and must hold `warm` samples."""
        # The lift's high-pass keeps what it learned of |a| at rest: data resuming mid-rep reads the rep's
        # acceleration, and taken for the level it would lift the segment for many seconds.
        level = self._zi.get("lift_hp")
        self._zi, self._busy, self._since, self._lift_age, self._posture = {}, False, 1 << 30, 0, False
        if level is not None:
            self._zi["lift_hp"] = level

    def _run(
        self, name: str, filt: Filter, x: NDArray[np.float64], warm: int = 0, start: float | None = None
    ) -> NDArray[np.float64]:
        zi = self._zi.get(name)
        if zi is None:
            # Start as if the first values' mean (or `start`) had always been there (no start-up transient).
            steady = filt.zi
            level = x[: warm or self.warm].mean(axis=0) if start is None else np.asarray(start)
            zi = steady[:, None] * level[None, :] if x.ndim == 2 else steady * level
        y, self._zi[name] = filt.run(x, zi)
        out: NDArray[np.float64] = y
        return out

    def _changing_posture(self, u: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Where the segment is tipped further from where it has lately been than any raise tips it: sitting down,
        standing up, bending over, until it has settled."""
        p = self.params

        def within(pose: NDArray[np.float64], deg: float) -> NDArray[np.bool_]:
            """Whether each pose is within `deg` of `pose` (cosines compared: no angle per sample)."""
            near: NDArray[np.bool_] = np.einsum("ij,ij->i", u, pose) >= math.cos(math.radians(deg)) * np.sqrt(
                np.einsum("ij,ij->i", pose, pose)
            )
            return near

        # On beyond `max_tilt_deg` from the pose of the last `posture_tau_s`; off once within `posture_end` of it from
        # the pose of the last `posture_settle_s` (it has stopped moving: a raise begun just after counts), else as
        # it was.
        lately = self._run("pose", self._pose, u)
        now = lately if self._pose_now is None else self._run("pose_now", self._pose_now, u)
        start = ~within(lately, p.max_tilt_deg)
        end = within(now, p.posture_end * p.max_tilt_deg)
        state = np.where(start, 1, np.where(end, 0, -1))
        last = np.maximum.accumulate(np.where(state >= 0, np.arange(len(state)), -1))
        changing: NDArray[np.bool_] = np.where(last >= 0, state[np.maximum(last, 0)], int(self._posture)) == 1
        self._posture = bool(changing[-1])
        return changing

    def process(self, acc_mg: NDArray[np.float64]) -> Signals:
        """Evidence for one block of grid samples (n, 3) in mG."""
        lp = self._run("lp", self._lp, acc_mg)
        above = acc_mg - self._run("lp_rough", self._lp_rough, acc_mg)
        rough = self._run("rough", self._rough, np.linalg.norm(above, axis=1))
        mag = np.linalg.norm(lp, axis=1)
        u = lp / np.maximum(mag, 1e-9)[:, None]
        busy = (rough > self.params.max_rough_mg) | self._changing_posture(u)
        # And for `calm_after_s` after (the low-pass and the lift settle): a walk's last step is not a rep.
        hold = round(self.params.calm_after_s * self.hz)
        since = np.arange(1, len(busy) + 1) - np.maximum.accumulate(np.where(busy, np.arange(1, len(busy) + 1), 0))
        since = np.where(np.maximum.accumulate(busy), since, since + self._since)
        busy = since < hold
        self._since = int(since[-1])
        n = len(mag)
        lift_cm = np.zeros(n)
        # Where footsteps, handling or a change of posture end, the lift's integrators start afresh (they would
        # otherwise carry the walk's swings, or the old pose's level, for seconds).
        was = np.concatenate(([self._busy], busy[:-1]))
        cuts = [0, *np.flatnonzero(busy != was).tolist(), n]
        for i0, i1 in itertools.pairwise(dict.fromkeys(cuts)):
            if busy[i0]:
                continue
            if i0 > 0 or self._busy:
                self._zi.pop("lift_hp", None)
                self._zi.pop("lift_int", None)
            if "lift_int" not in self._zi:
                self._lift_age = 0
            level = self._run("lift_hp", self._lift_hp, mag[i0:i1], warm=1)
            lift_cm[i0:i1] = 100.0 * _G_MPS2_PER_MG * self._run("lift_int", self._lift_int, level, start=0.0)
            # Started mid-movement (a set begun as a walk ends), the integrators carry a wrong velocity until
            # the high-pass forgets it: the lift fades in over `lift_settle_s`.
            age = self._lift_age + np.arange(i1 - i0)
            lift_cm[i0:i1] *= np.clip(age / (self.params.lift_settle_s * self.hz), 0.0, 1.0)
            self._lift_age += i1 - i0
        self._busy = bool(busy[-1])
        return Signals(u, lift_cm, lp, busy)
