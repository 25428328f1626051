"""Segmentation: a causal zig-zag over the combined evidence finds rise-and-return candidates.

The evidence is tilt (from the pose the segment stood in at the bottom, whichever way it tips: that pose
is followed slowly between reps and held during one) and lift, each over its own noise (learned while
nothing moves: the session's sensor noise, sway and breathing), weighted by the placement: a
signal-to-noise ratio, whatever the placement, the person or the sensor. A candidate opens when the
evidence rises `enter` above its last trough, peaks, and is done once it is back within `end_level` of
its rise above that trough (or, if it never comes back, when it has lasted as long as any rep can). Reps
that flow into each other with no pause are split at the trough between them; nothing needs the segment
at rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum

from calfsense.dsp.params import DetectorParams


def _fall_u(level: float) -> float:
    """Where a raised-cosine lowering 1 -> 0 reaches `level`, as a fraction of its length."""
    return math.acos(2.0 * level - 1.0) / math.pi


class Phase(Enum):
    """Where the movement is, for the live pace guide."""

    BOTTOM = "bottom"
    RISING = "rising"
    TOP = "top"
    LOWERING = "lowering"


@dataclass(frozen=True, slots=True)
class Candidate:
    """Grid indices of a rise-and-return: its trough, peak and end, and its rise over the evidence's noise."""

    start: int
    peak: int
    end: int
    due: int  # judged once the grid reaches this index (its measurement needs data after the end)
    rise: float
    returned: bool = True  # False: it never came back down (it timed out part way): a posture change


@dataclass
class Segmenter:
    """The zig-zag state; `advance` runs it over a block until a candidate is due."""

    params: DetectorParams
    hz: float
    _mode: int = field(default=0, init=False)  # 0 bottom, 1 rising, 2 lowering
    _trough: float = field(default=0.0, init=False)
    _trough_k: int = field(default=-1, init=False)
    _peak: float = field(default=0.0, init=False)
    _peak_k: int = field(default=-1, init=False)
    _drop_k: int = field(default=-1, init=False)  # where the lowering began
    _low: tuple[float, int] = field(default=(0.0, -1), init=False)  # the lowest point of the lowering so far
    _fall: tuple[float, int] = field(default=(0.0, -1), init=False)  # where the evidence last fell by half a noise
    _climb: tuple[float, int] = field(default=(0.0, -1), init=False)  # where it last climbed by `enter` while rising
    _still: float = field(default=0.5, init=False)  # a fall by less than this is no fall: the candidate is done
    _quiet_k: int = field(default=-1, init=False)  # since when nothing has moved (bottom, calm)
    _level: float = field(default=0.0, init=False)
    # Each channel's slow mean and its variance about it while quiet: the session's own noise and sway.
    _mean: list[float] = field(default_factory=lambda: [0.0, 0.0], init=False)
    _var: list[float] = field(default_factory=list, init=False)
    _anchor: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0), init=False)  # the pose tilt is measured from
    # Whether the segment has been still at that pose (or a rep counted from it). An anchor taken mid-movement
    # (as footsteps end, after a gap, at a new posture) may be a top: see `reanchor`.
    anchor_sure: bool = field(default=False, init=False)
    # The last pose the segment stood still in: where a set begun as footsteps end most likely starts from.
    _rest: tuple[float, float, float] | None = field(default=None, init=False)
    pending: Candidate | None = field(default=None, init=False)
    axis: tuple[float, float, float] | None = field(default=None, init=False)  # unit way the set's reps tip
    axis_until: int = field(default=-1, init=False)  # grid index after which the set is over and `axis` forgotten

    def __post_init__(self) -> None:
        p = self.params
        self._settle = max(1, round(p.settle_s * self.hz))
        self._max_rise = round(0.5 * p.max_rep_s * self.hz)
        self._max_rep = round(p.max_rep_s * self.hz)
        self._max_phase = round(p.max_phase_s * self.hz)
        self._max_fall = round((1.0 - p.drop - p.end_level) * p.max_phase_s * self.hz)
        self._quiet = round(p.quiet_s * self.hz)
        self._a_mean = 1.0 / (p.mean_tau_s * self.hz)
        self._a_up = 1.0 / (p.noise_rise_s * self.hz)
        self._a_down = 1.0 / (p.noise_fall_s * self.hz)
        self._a_drift = 1.0 - math.exp(-1.0 / (p.drift_tau_s * self.hz))
        self._var = [(p.prior_tilt_deg / p.prior_snr) ** 2, (p.prior_lift_cm / p.prior_snr) ** 2]
        u_drop, u_end = _fall_u(1.0 - p.drop), _fall_u(p.end_level)
        self._finish_ratio = (1.0 - u_end) / max(u_end - u_drop, 1e-3)

    def noise(self) -> tuple[float, float]:
        """The tilt (deg) and lift (cm) that one unit of evidence stands for: each channel's noise, floored."""
        p = self.params
        return max(math.sqrt(self._var[0]), p.tilt_noise_floor_deg), max(math.sqrt(self._var[1]), p.lift_noise_floor_cm)

    def take_pending(self) -> Candidate | None:
        """End of input: the candidate waiting for its data, judged on what there is."""
        pending, self.pending = self.pending, None
        if pending is not None and self._mode == 0 and self._trough_k >= pending.end:
            pending = replace(pending, end=self._trough_k)
        return pending

    def reanchor(self, pose: tuple[float, float, float]) -> None:
        """A candidate went down first, so an anchor not yet sure was a top: measure from its lowest pose."""
        if not self.anchor_sure:
            self._anchor, self.anchor_sure = pose, True
            self._mode, self._trough_k = 0, -1  # the trough is found afresh from the next sample

    def restart(self) -> None:
        """Forget the movement in progress (after a gap)."""
        # The pose reps are measured from is kept: a gap in the data is no change of stance.
        self._mode, self._trough_k, self._quiet_k, self.pending = 0, -1, -1, None

    def phase(self) -> Phase:
        """The current phase of the movement."""
        if self._mode == 1:
            near_top = self._level - self._trough >= 0.85 * (self._peak - self._trough)
            return Phase.TOP if near_top else Phase.RISING
        return Phase.LOWERING if self._mode == 2 else Phase.BOTTOM

    def advance(
        self, up: list[list[float]], lift: list[float], busy: list[bool], first: int, i: int, stop: int | None = None
    ) -> tuple[int, Candidate | None]:
        """Run from block position i to `stop` (the block's end); return where it stopped and the candidate due
        there, if any."""
        p = self.params
        enter, drop, end_level = p.enter, p.drop, p.end_level
        mode, trough, trough_k, peak, peak_k = self._mode, self._trough, self._trough_k, self._peak, self._peak_k
        quiet_k = self._quiet_k
        low, low_k = self._low
        fall, fall_k = self._fall
        still = self._still
        climb, climb_k = self._climb
        mean_t, mean_l = self._mean
        var_t, var_l = self._var
        a_mean, a_up, a_down, quiet = self._a_mean, self._a_up, self._a_down, self._quiet
        ax, ay, az = self._anchor
        sure = self.anchor_sure
        a_drift = self._a_drift
        axis = self.axis
        forget_k = self.axis_until
        n_t, n_l = self.noise()
        max_chord2 = (2.0 * math.sin(math.radians(p.max_tilt_deg) / 2.0)) ** 2
        norm = math.hypot(p.tilt_weight, p.lift_weight)  # so that the evidence's own noise is 1
        wt, wl = p.tilt_weight / n_t / norm, p.lift_weight / n_l / norm
        pending = self.pending
        n = len(lift) if stop is None else stop
        e = self._level
        settle = self._settle
        while i < n:
            k = first + i
            if pending is not None and (k >= pending.due or mode == 1 or (mode == 0 and k - fall_k >= settle)):
                # Due once the lowering has stopped falling (by half its noise) for a moment, or the next rep began.
                # It ends at the lowest point since it came back down (where the next rep, if any, starts).
                self._save(mode, trough, trough_k, peak, peak_k, e, quiet_k, mean_t, mean_l, var_t, var_l)
                self._anchor, self._low, self.axis, self._fall = (ax, ay, az), (low, low_k), axis, (fall, fall_k)
                self.anchor_sure = sure
                self._climb, self._still = (climb, climb_k), still
                self.pending = None
                return i, replace(pending, end=max(pending.end, min(trough_k, k)), due=k)
            ux, uy, uz = up[i]
            x_l = lift[i]
            i += 1
            if axis is not None and k > forget_k and mode == 0:
                # The set is over: the next one may tip the segment another way. Only at the bottom: a candidate in
                # progress measured one way and then the other would jump (a stance moved after the set is below
                # the old pose along the way, and above it whichever way), and a rise held that long is then taken
                # for a new posture with the anchor at its top (the next set counted upside down). Tilt is measured
                # from the pose the segment is in now.
                axis = None
                ax, ay, az, trough_k = ux, uy, uz, -1
            if busy[i - 1] or ax == 0.0 == ay == az:  # walking, handling, a change of posture: no rep in progress
                e = 0.0
                mode, trough, trough_k, pending, quiet_k = 0, e, k, None, k
                # Tilt is measured from the pose it last stood still in, if it is still near it (walking comes
                # back to standing; a raise begun as the last step ends starts there, not where the step left
                # the segment, which may be a top); else from the pose it is in now.
                rest = self._rest
                near = rest is not None and (ux - rest[0]) ** 2 + (uy - rest[1]) ** 2 + (uz - rest[2]) ** 2 < max_chord2
                ax, ay, az = rest if near and rest is not None else (ux, uy, uz)
                sure = False
                mean_t, mean_l = 0.0, x_l
                continue
            if mode == 0 and pending is None:
                # At the bottom the pose reps are measured from follows the segment, slowly: a posture that
                # drifted (lean, a new stance) is caught up with in `drift_tau_s`; a slow rise keeps most of its tilt.
                ax += a_drift * (ux - ax)
                ay += a_drift * (uy - ay)
                az += a_drift * (uz - az)
            # Tilt from that pose, in degrees (the chord of the angle: within 0.1 % below 10 degrees): along the
            # way the session's reps tip the segment once that is known (the way back down is then negative,
            # so a pose still settling at the bottom is no rise), else whichever way.
            if axis is None:
                x_t = 57.29578 * math.sqrt((ux - ax) ** 2 + (uy - ay) ** 2 + (uz - az) ** 2)
            else:
                x_t = 57.29578 * ((ux - ax) * axis[0] + (uy - ay) * axis[1] + (uz - az) * axis[2])
            mean_t += a_mean * (x_t - mean_t)
            mean_l += a_mean * (x_l - mean_l)
            if mode == 0 and k - quiet_k >= quiet:
                sure = True
                self._rest = (ax, ay, az)
                # Quiet: learn the noise and sway the evidence is measured in (it changes only between reps).
                # Quick to fall and slow to rise, so a set's reps do not pass for noise before one is seen.
                # Beyond three of its own standard deviations a value is a movement, not noise: left out.
                d = (x_t - mean_t) ** 2
                if d < 9.0 * var_t:
                    var_t += (a_up if d > var_t else a_down) * (d - var_t)
                d = (x_l - mean_l) ** 2
                if d < 9.0 * var_l:
                    var_l += (a_up if d > var_l else a_down) * (d - var_l)
                n_t = max(math.sqrt(var_t), p.tilt_noise_floor_deg)
                n_l = max(math.sqrt(var_l), p.lift_noise_floor_cm)
                wt, wl = p.tilt_weight / n_t / norm, p.lift_weight / n_l / norm
            e = wt * x_t + wl * x_l
            if mode == 0:
                if e < fall - (still if pending is not None else 0.5):
                    fall, fall_k = e, k
                if trough_k < 0 or e < trough or k - trough_k > self._max_rise:
                    trough, trough_k = e, k
                elif e - trough <= 1.0:
                    trough_k = k  # still at the bottom (within its noise): the rise starts where it last left it
                elif e - trough >= enter:
                    mode, peak, peak_k, climb, climb_k = 1, e, k, e, k
            elif mode == 1:
                if e > peak:
                    peak, peak_k = e, k
                if e > climb + enter:
                    climb, climb_k = e, k
                elif e <= peak - drop * (peak - trough):
                    mode, self._drop_k, low, low_k = 2, k, e, k
                beyond = x_t > p.max_tilt_deg and k - climb_k >= quiet
                if k - trough_k > self._max_rep or k - climb_k > self._max_phase or beyond:
                    # Held up (not climbing by `enter`) longer than any top hold, or for `quiet_s` further tipped
                    # than any raise tips it (sitting down: no top hold to wait for): a new posture (a lean, a new
                    # stance), not a rep. The pose tilt is measured from moves there, or later reps would ride on it.
                    ax, ay, az, sure = ux, uy, uz, False
                    e = wl * x_l
                    mode, trough, trough_k, quiet_k = 0, e, k, k
                    fall, fall_k = e, k
            else:
                rise = peak - trough
                if e < low:
                    low, low_k = e, k
                if e - low >= max(enter, p.turn * (peak - low)) and low <= trough + p.turn * rise:
                    # It came down at least part way and turned back up: a lowering is one way, so this one
                    # ended at that turn (a partial rep's bottom, or a posture held there), and a new rise began.
                    # The climb back is measured against the fall it ends, as the fall against the rise: reps
                    # riding on a drifting level (a lift settling after a new posture) come down only part way.
                    pending = Candidate(trough_k, peak_k, low_k, k, rise)
                    mode, trough, trough_k, peak, peak_k, quiet_k = 1, low, low_k, e, k, k
                    climb, climb_k = e, k
                    fall, fall_k = e, k
                elif e > peak:
                    mode, peak, peak_k, climb, climb_k = 1, e, k, e, k
                elif e <= trough + end_level * rise or k - trough_k > self._max_rep:
                    # Nearly down: judged once it stops falling (or the next rep begins), at the latest when
                    # the rest of the lowering, at the pace it came down so far, would be long over.
                    rest_of_it = round(2.0 * self._finish_ratio * (k - self._drop_k))
                    # It has stopped falling once it falls slower than `settle_pace` of the pace it came down at
                    # (by half a noise at least): the lift's band-pass undershoots after a rep and goes on falling
                    # slowly for a second or more.
                    still = max(0.5, p.settle_pace * (peak - e) / max(1, k - self._drop_k) * settle)
                    back = e <= trough + end_level * rise
                    pending = Candidate(trough_k, peak_k, k, k + rest_of_it + self._settle, rise, back)
                    mode, trough, trough_k, quiet_k = 0, e, k, k
                    fall, fall_k = e, k
                elif k - self._drop_k > self._max_fall:
                    # A lowering takes at most `max_phase_s`, so it covers the part between `drop` and `end_level` of
                    # its fall in at most that part of it (even at an even pace): one that has not is over, at its
                    # lowest point, in a new posture (judged: it did not come back), where tilt is measured from next.
                    pending = Candidate(trough_k, peak_k, low_k, k, rise, returned=False)
                    still = 0.5
                    ax, ay, az, sure = ux, uy, uz, False
                    e = wl * x_l
                    mode, trough, trough_k, quiet_k = 0, e, k, k
                    fall, fall_k = e, k
        self._save(mode, trough, trough_k, peak, peak_k, e, quiet_k, mean_t, mean_l, var_t, var_l)
        self._anchor, self._low, self.axis, self._fall = (ax, ay, az), (low, low_k), axis, (fall, fall_k)
        self.anchor_sure = sure
        self._climb, self._still = (climb, climb_k), still
        self.pending = pending
        return i, None

    def _save(
        self,
        mode: int,
        trough: float,
        trough_k: int,
        peak: float,
        peak_k: int,
        level: float,
        quiet_k: int,
        mean_t: float,
        mean_l: float,
        var_t: float,
        var_l: float,
    ) -> None:
        self._mode, self._trough, self._trough_k, self._peak, self._peak_k = mode, trough, trough_k, peak, peak_k
        self._level, self._quiet_k, self._mean, self._var = level, quiet_k, [mean_t, mean_l], [var_t, var_l]
