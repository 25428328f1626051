"""Measurement of one candidate rep from the grid around it: tilt, lift, phase times and height.

Run once a candidate has ended, on a window of raw grid samples, so it can filter both ways (no delay):
- tilt: the angle between gravity's direction in the sensor and its direction just before the rep;
- lift: the vertical acceleration (|a| less what it reads at rest in that pose) integrated twice over the
  rep, at rest and at the same height at both ends (the heel is down at both), which removes a constant
  and a linearly drifting bias; its standard error comes from the window's own noise;
- phases: from a progress curve (tilt and lift, each over its peak, weighted by the placement), the
  10-90 % crossings of the rise and of the lowering, extended to the ramps' ends with a raised cosine.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calfsense.dsp import geometry as geo
from calfsense.dsp.iir import Filter, butter2_lowpass
from calfsense.dsp.orientation import ScaleModel
from calfsense.dsp.params import DetectorParams

_G_MPS2_PER_MG = 9.80665e-3


@dataclass(frozen=True, slots=True)
class Measured:
    """What one candidate did. Times in seconds on the grid's clock."""

    start_s: float
    top_s: float
    lower_s: float
    end_s: float
    peak_tilt_deg: float
    end_tilt_deg: float  # how far it ended from where it began
    side_tilt_deg: float  # the part of its peak tilt across the session's raise axis
    tilt_dir: tuple[float, float, float]  # unit direction of its tilt at the peak, in the sensor's frame
    lift_cm: float  # peak rise above the start
    drop_cm: float  # deepest fall below the start during it
    lift_se_cm: float  # standard error of the lift from the window's noise
    rough_mg: float  # mean roughness during it
    # How far the segment went on past where the rep began, the other way, in the data after its end (a rep
    # rests there or rises again; a posture change, standing up or a weight shift, passes through and goes on).
    past_deg: float = 0.0

    @property
    def duration_s(self) -> float:
        """Start to end."""
        return self.end_s - self.start_s

    def lift_trusted(self, snr: float) -> bool:
        """Whether the double integration measured the lift well enough to tell its direction."""
        return max(self.lift_cm, self.drop_cm) >= snr * self.lift_se_cm

    def height_cm(self, params: DetectorParams, seated_thigh: bool) -> float:
        """Heel height: from the foot's pitch, or from how far the ankle (and all above it) rose."""
        if params.height_from_tilt:
            return 100.0 * geo.heel_height_from_pitch_m(math.radians(self.peak_tilt_deg))
        rise_m = self.lift_cm / 100.0 * (2.0 if seated_thigh else 1.0)  # seated, a mid-thigh rises half the knee
        return 100.0 * geo.heel_height_from_ankle_rise_m(rise_m)


def _ramp_u(level: float) -> float:
    """Where a raised-cosine ramp 0 -> 1 reaches `level`, as a fraction of its length."""
    return math.acos(1.0 - 2.0 * min(max(level, 0.0), 1.0)) / math.pi


def measure(
    acc_mg: NDArray[np.float64],
    t0_s: float,
    hz: float,
    start: int,
    peak: int,
    end: int,
    axis: NDArray[np.float64] | None,
    scale: ScaleModel,
    params: DetectorParams,
) -> Measured:
    """Measure a candidate whose trough, peak and end are at `start`, `peak`, `end` of the window `acc_mg`.

    `axis` is the unit tilt direction (sensor frame) of the session's reps so far, for the sideways part.
    """
    dt = 1.0 / hz
    n = len(acc_mg)
    lp = _filtfilt(_lowpass(params.lowpass_hz, hz), acc_mg)
    # The lift reads |a| up to `rough_hz` (a quick rep's acceleration lives above the pose's low-pass); above
    # it is roughness.
    wide = _filtfilt(_lowpass(min(params.rough_hz, 0.45 * hz), hz), acc_mg)
    above = acc_mg - wide
    u = lp / np.maximum(np.linalg.norm(lp, axis=1), 1e-9)[:, None]
    mag = np.linalg.norm(wide, axis=1)
    fitted = scale.level_mg(u)
    level = np.full(n, float(mag[max(0, start - 5) : start + 1].mean())) if fitted is None else fitted
    acc = (mag - level) * _G_MPS2_PER_MG
    # White noise per axis and grid sample, from the band above `rough_hz` (all but rough/nyquist of it): a raise
    # has nothing there, so a quick rep's own sharp turns are not taken for noise.
    resid = np.sum(above**2, axis=1)
    band = 2.0 * min(params.rough_hz, 0.45 * hz) / hz
    noise_mps2 = math.sqrt(float(resid.mean()) / 3.0 / max(0.1, 1.0 - band)) * _G_MPS2_PER_MG
    t: NDArray[np.float64] = t0_s + np.arange(n, dtype=np.float64) * dt
    # The rep's bottoms: where the segment is tipped least the way it tipped at the peak, near the candidate's
    # troughs (the causal evidence's troughs can be a quarter of a quick rep early or late). The lift is taken
    # between them: the heel is down, at rest, at both (a span inside the rep would pin the rise to zero there).
    end = max(end, start + 2)
    reach = round(params.bottom_reach_s * hz)
    i0, i1 = _bottoms(u, acc, start, min(max(peak, start + 1), end - 1), end, reach, dt, params)
    tilt, u0 = _tilt_from(u, i0)
    z, se = _lift(acc[i0 : i1 + 1], tilt[i0 : i1 + 1], dt, noise_mps2, params)
    lift_cm, drop_cm = float(z.max()), float(-z.min())
    # Phases: first on the candidate, then once more between the ends that found (a few samples either side
    # of the troughs at most: the troughs bound the rep, and the next rep may follow at once).
    beyond = round(params.end_reach_s * hz)
    lo, hi = max(0, start - beyond), min(n - 1, i1 + beyond)
    for _ in range(2):
        prog = _progress(tilt[i0 : i1 + 1], z, params, se)
        kp = int(np.argmax(prog))
        start_s, top_s = _rise_times(t[i0 : i1 + 1], prog, kp, params.ramp_lo, params.ramp_hi)
        lower_s, end_s = _lower_times(t[i0 : i1 + 1], prog, kp, params.ramp_lo, params.ramp_hi)
        j0 = min(max(lo, int(round((start_s - t0_s) / dt))), hi - 2)
        j1 = min(max(j0 + 2, int(round((end_s - t0_s) / dt))), hi)
        if (j0, j1) == (i0, i1):
            break
        i0, i1 = j0, j1
        tilt, u0 = _tilt_from(u, i0)
        # The lift between the rep's own ends found (its rise starts and its lowering ends there, the heel down):
        # a span reaching into the rest or the next rep around it only adds error.
        z, se = _lift(acc[i0 : i1 + 1], tilt[i0 : i1 + 1], dt, noise_mps2, params)
        lift_cm, drop_cm = float(z.max()), float(-z.min())
    # The rise alone, from rest to the top (where it turns: still for an instant), is measured better when the
    # lowering is slow (the error grows with the span's length): it stands in for a lift the whole span could not
    # measure.
    k_top = min(max(int(round((top_s - t0_s) / dt)), i0 + 2), i1)
    rise_cm, rise_se = (
        _rise_to_top(acc[i0 : k_top + 1], dt),
        _lift_se_cm(noise_mps2, dt, 2.0 * (k_top - i0) * dt, params.scale_err, float(tilt[i0 : k_top + 1].max())),
    )
    if lift_cm < params.lift_snr * se and rise_se < se:
        lift_cm, drop_cm, se = max(rise_cm, 0.0), max(-rise_cm, 0.0), rise_se
    span = slice(i0, i1 + 1)
    k_peak_tilt = i0 + int(np.argmax(tilt[span]))
    peak_tilt = float(tilt[k_peak_tilt])
    d = u[k_peak_tilt] - u0
    d -= u0 * float(d @ u0)
    side = 0.0 if axis is None else math.degrees(float(np.linalg.norm(d - axis * float(d @ axis))))
    d_norm = float(np.linalg.norm(d))
    direction = d / d_norm if d_norm > 0 else d
    top_s = min(top_s, lower_s)
    return Measured(
        start_s=start_s,
        top_s=top_s,
        lower_s=max(lower_s, top_s),
        end_s=end_s,
        peak_tilt_deg=peak_tilt,
        # Either way of seeing where it ended: a posture change is away by both, a rep back by one at least.
        end_tilt_deg=min(float(tilt[i1]), _turned_deg(u, start, end)),
        side_tilt_deg=side,
        tilt_dir=(float(direction[0]), float(direction[1]), float(direction[2])),
        lift_cm=lift_cm,
        drop_cm=drop_cm,
        lift_se_cm=se,
        rough_mg=float(np.linalg.norm(above[span], axis=1).mean()),
    )


@functools.lru_cache(maxsize=16)
def _lowpass(hz: float, fs: float) -> Filter:
    """A 2nd-order Butterworth low-pass (designed once per corner and rate)."""
    return Filter(*butter2_lowpass(hz, fs))


def _filtfilt(filt: Filter, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Forward and backward filtering of (n, 3) samples with odd extension at both ends, as scipy's filtfilt."""
    zi = filt.zi
    pad = min(len(x) - 1, 18)
    ext = np.concatenate((2 * x[:1] - x[pad:0:-1], x, 2 * x[-1:] - x[-2 : -pad - 2 : -1]))
    y, _ = filt.run(ext, zi[:, None] * ext[:1])
    y, _ = filt.run(y[::-1], zi[:, None] * y[-1:])
    out: NDArray[np.float64] = y[::-1][pad : pad + len(x)]
    return out


def _bottoms(
    u: NDArray[np.float64],
    acc_mps2: NDArray[np.float64],
    start: int,
    peak: int,
    end: int,
    reach: int,
    dt: float,
    params: DetectorParams,
) -> tuple[int, int]:
    """The rep's bottoms before and after its top, within `reach` of the candidate's troughs.

    Found on the window filtered both ways: the height (the acceleration integrated twice in the frequency
    domain, below `bottom_hp_hz` left out) and the tilt along the way the window's pose varies most (signed
    so that it grew from the candidate's trough to its peak), each over its spread, weighted by the
    placement. The heel is down at both bottoms.
    """
    n = len(u)
    spec = np.fft.rfft(acc_mps2 - acc_mps2.mean())
    f = np.fft.rfftfreq(n, dt)
    w = 2 * np.pi * np.maximum(f, 1e-9)
    keep = 1.0 - np.exp(-((f / params.bottom_hp_hz) ** 2))
    height = np.fft.irfft(-spec * keep / w**2, n)
    dev = u - u.mean(axis=0)
    along = dev @ np.linalg.eigh(dev.T @ dev)[1][:, -1]  # the way the pose varies most
    if along[peak] < along[start]:  # the way it tipped as it rose
        along = -along
    prog = params.tilt_weight * along / max(float(along.std()), 1e-12)
    prog = prog + params.lift_weight * height / max(float(height.std()), 1e-12)
    a0, a1 = max(0, start - reach), min(n - 2, start + reach + 1)
    i0 = a0 + int(np.argmin(prog[a0:a1]))
    b0, b1 = max(i0 + 2, end - reach), min(n, end + reach + 1)
    if b1 <= b0:
        return start, end
    return i0, b0 + int(np.argmin(prog[b0:b1]))


def _turned_deg(u: NDArray[np.float64], start: int, end: int) -> float:
    """How far the pose after the candidate is from the pose before it (a tenth of a second each)."""
    before = u[max(0, start - 5) : start + 1].mean(axis=0)
    after = u[end : end + 6].mean(axis=0)
    cos = float(before @ after) / max(float(np.linalg.norm(before) * np.linalg.norm(after)), 1e-12)
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def _tilt_from(u: NDArray[np.float64], i0: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Angle (deg) of each pose from the mean pose of the few samples up to i0, and that pose."""
    u0 = u[max(0, i0 - 3) : i0 + 1].mean(axis=0)
    u0 /= np.linalg.norm(u0)
    return np.degrees(np.arccos(np.clip(u @ u0, -1.0, 1.0))), u0


def _bridge(acc_mps2: NDArray[np.float64], dt: float) -> NDArray[np.float64]:
    """Height (cm) from vertical acceleration, at rest and at the same height at both ends of the rep.

    Those two facts of a raise fix a bias that is constant plus one that drifts linearly in time (the
    level's error as the segment tips, a slow lean), so the ends need not be placed to the sample.
    """
    n = len(acc_mps2)
    if n < 3:
        return np.zeros(n)
    t = np.arange(n) * dt
    total = t[-1]

    def twice(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        v = np.concatenate(([0.0], np.cumsum(0.5 * (a[1:] + a[:-1])) * dt))
        return v, np.concatenate(([0.0], np.cumsum(0.5 * (v[1:] + v[:-1])) * dt))

    v, z = twice(acc_mps2)
    # A bias b0 + b1 t integrates to v = b0 t + b1 t^2 / 2 and z = b0 t^2 / 2 + b1 t^3 / 6: zero v and z at the end.
    # Solved by hand (a 2 x 2 system: numpy's solver costs more than the rest of the bridge).
    m00, m01, m11 = total, total**2 / 2.0, total**3 / 6.0
    det = m00 * m11 - m01 * m01
    b0 = (float(v[-1]) * m11 - m01 * float(z[-1])) / det
    b1 = (m00 * float(z[-1]) - m01 * float(v[-1])) / det
    out: NDArray[np.float64] = 100.0 * (z - b0 * t**2 / 2.0 - b1 * t**3 / 6.0)
    return out


def _rise_to_top(acc_mps2: NDArray[np.float64], dt: float) -> float:
    """Height (cm) gained from rest to a still top: integrated twice with a constant bias that stops it there."""
    n = len(acc_mps2)
    if n < 3:
        return 0.0
    total = (n - 1) * dt
    v = np.concatenate(([0.0], np.cumsum(0.5 * (acc_mps2[1:] + acc_mps2[:-1])) * dt))
    z = float(np.sum(0.5 * (v[1:] + v[:-1])) * dt)
    b0 = float(v[-1]) / total  # a bias b0 adds b0 t to the velocity and b0 t^2 / 2 to the height
    return 100.0 * (z - b0 * total**2 / 2.0)


def _lift(
    acc_mps2: NDArray[np.float64], tilt_deg: NDArray[np.float64], dt: float, noise_mps2: float, params: DetectorParams
) -> tuple[NDArray[np.float64], float]:
    """The rise (cm) over a rep, at rest and at the same height at both ends, and how far it can be off."""
    dur = (len(acc_mps2) - 1) * dt
    return _bridge(acc_mps2, dt), _lift_se_cm(noise_mps2, dt, dur, params.scale_err, float(tilt_deg.max()))


def _twice(a: NDArray[np.float64], dt: float) -> NDArray[np.float64]:
    """Integrate twice from rest (trapezoids)."""
    v = np.concatenate(([0.0], np.cumsum(0.5 * (a[1:] + a[:-1])) * dt))
    z: NDArray[np.float64] = np.concatenate(([0.0], np.cumsum(0.5 * (v[1:] + v[:-1])) * dt))
    return z


def _lift_se_cm(noise_mps2: float, dt: float, duration_s: float, scale_err: float, tilt_deg: float) -> float:
    """How far the lift can be off: white noise integrated twice and pinned at both ends, and the level's
    error from unknown scale errors as the segment tips (half of it over half the rep, twice integrated)."""
    dur = max(duration_s, dt)
    noise = noise_mps2 * math.sqrt(dt) * dur**1.5 / math.sqrt(12.0)
    level = scale_err * 9.80665 * math.sin(math.radians(min(tilt_deg, 90.0))) * 0.5 * (0.5 * dur) ** 2 / 2.0
    return 100.0 * math.hypot(noise, level) + 0.05


def _progress(
    tilt: NDArray[np.float64], z: NDArray[np.float64], params: DetectorParams, se: float
) -> NDArray[np.float64]:
    """Each channel over its peak, weighted by the placement; the lift only where it rose clear of its noise."""
    lift = np.clip(z, 0.0, None)
    top = float(lift.max())
    wl = params.lift_weight if top > 2.0 * se else 0.0
    prog = params.tilt_weight * tilt / max(float(tilt.max()), 1e-9) + wl * lift / max(top, 1e-9)
    out: NDArray[np.float64] = prog / max(float(prog.max()), 1e-9)
    return out


def _crossing(t: NDArray[np.float64], p: NDArray[np.float64], i: int, level: float) -> float:
    """Time where p crosses `level` between samples i and i + 1 (linear)."""
    p0, p1 = p[i], p[i + 1]
    f = 0.0 if p1 == p0 else min(1.0, max(0.0, (level - p0) / (p1 - p0)))
    return float(t[i] + f * (t[i + 1] - t[i]))


def _rise_times(t: NDArray[np.float64], p: NDArray[np.float64], kp: int, lo: float, hi: float) -> tuple[float, float]:
    """Start and top of the rise before the progress peak at kp, timed between the levels `lo` and `hi`."""
    first_hi = int(np.flatnonzero(p[: kp + 1] >= hi)[0])
    below = np.flatnonzero(p[:first_hi] < lo)
    lo_level = lo if len(below) else float(p[: first_hi + 1].min())
    i_lo = int(below[-1]) if len(below) else int(np.argmin(p[: first_hi + 1]))
    t_lo = _crossing(t, p, i_lo, lo_level) if i_lo < first_hi else float(t[i_lo])
    t_hi = _crossing(t, p, first_hi - 1, hi) if first_hi > 0 else float(t[0])
    u_lo, u_hi = _ramp_u(lo_level), _ramp_u(hi)
    length = max(t_hi - t_lo, 0.0) / max(u_hi - u_lo, 1e-3)
    start = t_lo - u_lo * length
    return max(start, float(t[0]) - 0.1), start + length


def _lower_times(t: NDArray[np.float64], p: NDArray[np.float64], kp: int, lo: float, hi: float) -> tuple[float, float]:
    """Start and end of the lowering after the progress peak at kp, timed between the levels `hi` and `lo`."""
    last_hi = kp + int(np.flatnonzero(p[kp:] >= hi)[-1])
    after = np.flatnonzero(p[last_hi:] < lo)
    lo_level = lo if len(after) else float(p[last_hi:].min())
    i_lo = last_hi + (int(after[0]) if len(after) else int(np.argmin(p[last_hi:])))
    t_hi = _crossing(t, p, last_hi, hi) if last_hi + 1 < len(p) else float(t[-1])
    t_lo = _crossing(t, p, i_lo - 1, lo_level) if i_lo > last_hi else float(t[i_lo])
    # A lowering from 1 to 0 reaches level l where a rise would reach 1 - l.
    u_hi, u_lo = _ramp_u(1.0 - hi), _ramp_u(1.0 - lo_level)
    length = max(t_lo - t_hi, 0.0) / max(u_lo - u_hi, 1e-3)
    lower = t_hi - u_hi * length
    return lower, lower + length
