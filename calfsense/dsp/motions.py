"""The body's motions that a simulated session is made of: sets' raises aside, everything a person does.

Walking, running and stairs (with the impact of each foot strike), squats, sitting down and standing up,
shifting weight from foot to foot, handling the strap, and the stance after a set, each written into a
`Body`: per-time-step segment angles and positions on the simulator's internal grid. Pure numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calfsense.dsp import geometry as geo

INTERNAL_HZ = 400.0


def ramp(u: NDArray[np.float64]) -> NDArray[np.float64]:
    """Raised-cosine ramp 0..1 over u in 0..1 (smooth start and stop, like a real raise)."""
    c = np.clip(u, 0.0, 1.0)
    result: NDArray[np.float64] = 0.5 - 0.5 * np.cos(np.pi * c)
    return result


def smooth_noise(
    rng: np.random.Generator, n: int, fs: float, corner_hz: float, top_hz: float | None = None
) -> NDArray[np.float64]:
    """Unit-variance low-frequency noise (sway, drift, handling) by spectral shaping."""
    white = rng.normal(size=n)
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1 / fs)
    spec /= 1 + (f / corner_hz) ** 2
    if top_hz is not None:
        # Two orders more from the body's (or the hand's) bandwidth: a position made of this noise is
        # differentiated twice into an acceleration, which would otherwise be white up to 200 Hz.
        spec /= 1 + (f / top_hz) ** 2
    out = np.fft.irfft(spec, n)
    sd = out.std()
    result: NDArray[np.float64] = out / sd if sd > 0 else out
    return result


@dataclass
class Body:
    """Per-time-step segment state on the internal grid (angles in rad, positions in m)."""

    n: int
    heel_m: NDArray[np.float64] = field(init=False)
    foot_roll: NDArray[np.float64] = field(init=False)
    foot_pitch_extra: NDArray[np.float64] = field(init=False)
    seg_pitch: NDArray[np.float64] = field(init=False)  # extra pitch of the sensor segment
    seg_roll: NDArray[np.float64] = field(init=False)
    pos: NDArray[np.float64] = field(init=False)  # extra position of the sensor segment (n, 3)
    seated: NDArray[np.bool_] = field(init=False)
    lean_pitch: NDArray[np.float64] = field(init=False)
    mount_wobble: NDArray[np.float64] = field(init=False)  # (n, 3) small-angle rotation vector
    tilt_gain: NDArray[np.float64] = field(init=False)  # this rep's segment tilt against the session's coupling
    impulse: NDArray[np.float64] = field(init=False)  # (n, 3) world acceleration of foot strikes, m/s^2

    def __post_init__(self) -> None:
        n = self.n
        self.heel_m = np.zeros(n)
        self.foot_roll = np.zeros(n)
        self.foot_pitch_extra = np.zeros(n)
        self.seg_pitch = np.zeros(n)
        self.seg_roll = np.zeros(n)
        self.pos = np.zeros((n, 3))
        self.seated = np.zeros(n, dtype=bool)
        self.lean_pitch = np.zeros(n)
        self.mount_wobble = np.zeros((n, 3))
        self.tilt_gain = np.ones(n)
        self.impulse = np.zeros((n, 3))


# Peak foot-strike acceleration (g) felt at each placement when walking: the impact travels up the leg
# and is damped on the way (real walking clips a +-2 g foot, shank or thigh sensor at heel strike).
STRIKE_G = {"foot": 5.0, "shin": 3.0, "thigh": 1.5, "chest": 0.6}


def add_strikes(
    body: Body, sl: slice, t: NDArray[np.float64], placement: str, times_s: NDArray[np.float64], gain: float
) -> None:
    """A damped 15 Hz ring at each foot strike, mostly vertical: what an accelerometer feels of an impact."""
    base = sl.start or 0
    ring = np.arange(int(0.15 * INTERNAL_HZ)) / INTERNAL_HZ
    shape = np.exp(-ring / 0.03) * np.sin(2 * np.pi * 15.0 * ring)
    amp = STRIKE_G[placement] * gain * geo.G_MPS2
    for k, ts in enumerate(times_s):
        i0 = base + int(np.searchsorted(t, ts))
        i1 = min(body.n, i0 + len(shape), base + len(t))
        own = 1.0 if (placement == "chest" or k % 2 == 0) else 0.35  # the other leg's strike, felt through the body
        body.impulse[i0:i1, 2] += own * amp * shape[: i1 - i0]
        body.impulse[i0:i1, 0] += 0.4 * own * amp * shape[: i1 - i0]


def add_walk(
    body: Body,
    sl: slice,
    t: NDArray[np.float64],
    placement: str,
    run: bool,
    rng: np.random.Generator,
    strike_gain: float = 1.0,
    stairs: bool = False,
) -> None:
    stride_s = (0.72 if run else 1.1) * rng.uniform(0.9, 1.1)
    phase = (t - t[0]) / stride_s
    w = 2 * np.pi * phase
    # Ease in and out over half a stride so the start and end are physical.
    env = ramp((t - t[0]) / (0.5 * stride_s)) * ramp((t[-1] - t) / (0.5 * stride_s))
    strikes = t[0] + stride_s * (0.5 + np.arange(0.0, max(0.0, (t[-1] - t[0]) / stride_s - 1.0), 0.5))
    add_strikes(body, sl, t, placement, strikes, strike_gain * (1.8 if run else 0.8 if stairs else 1.0))
    if stairs:
        # Each step lifts the whole body 17 cm and it stays up: a lift that never comes back down.
        steps = 2.0 * np.clip(phase - 0.25, 0.0, None)
        body.pos[sl, 2] += 0.17 * (np.floor(steps) + ramp(steps - np.floor(steps)))
    speed = (3.0 if run else 1.3) * rng.uniform(0.85, 1.15)
    k = 1.6 if run else 1.0
    if placement == "foot":
        body.foot_pitch_extra[sl] += env * k * (np.radians(22) * np.sin(w) + np.radians(10) * np.sin(2 * w))
        # Treadmill-like: the swing's forward surge without net travel keeps positions continuous.
        body.pos[sl, 0] += env * speed * stride_s * 0.2 * np.sin(w)
        body.pos[sl, 2] += env * k * 0.06 * (1 - np.cos(w))
    elif placement in ("shin", "thigh"):
        amp = np.radians(28 if placement == "shin" else 22) * k
        body.seg_pitch[sl] += env * amp * np.sin(w)
        body.pos[sl, 0] += env * speed * stride_s * 0.1 * np.sin(w)
        body.pos[sl, 2] += env * k * 0.04 * (1 - np.cos(w))
    else:
        body.seg_pitch[sl] += env * (np.radians(2.5) * k * np.sin(2 * w) + np.radians(3) * (1 if run else 0.5))
        body.seg_roll[sl] += env * np.radians(2) * np.sin(w)
        body.pos[sl, 0] += env * (0.02 * np.sin(2 * w) + 0.01 * speed * np.sin(w))
        body.pos[sl, 1] += env * 0.02 * np.sin(w)
        body.pos[sl, 2] += env * (0.07 if run else 0.025) * (1 - np.cos(2 * w)) / 2


def add_squat(body: Body, sl: slice, t: NDArray[np.float64], placement: str, rng: np.random.Generator) -> None:
    """Double-leg squats, 2.5-4 s each: knees forward, hips down and back, heels on the floor."""
    period = rng.uniform(2.5, 4.0)
    depth = rng.uniform(0.5, 1.0)
    u = ((t - t[0]) / period) % 1.0
    done = (t - t[0]) < period * np.floor((t[-1] - t[0]) / period)
    prof = np.where(done, 0.5 - 0.5 * np.cos(2 * np.pi * u), 0.0) * depth
    if placement == "chest":
        body.seg_pitch[sl] += np.radians(30) * prof
        body.pos[sl, 2] -= 0.40 * prof
        body.pos[sl, 0] -= 0.10 * prof
    elif placement == "thigh":
        body.seg_pitch[sl] += np.radians(80) * prof
        body.pos[sl, 2] -= 0.25 * prof
    elif placement == "shin":
        body.seg_pitch[sl] += np.radians(30) * prof
        body.pos[sl, 2] -= 0.02 * prof
    else:
        body.foot_pitch_extra[sl] += np.radians(2) * prof


def add_posture_change(body: Body, sl: slice, t: NDArray[np.float64], placement: str, down: bool) -> None:
    """Sit down (or stand up) over the segment; the seated flag flips at the end (or start)."""
    u = ramp((t - t[0]) / max(1e-6, t[-1] - t[0]))
    bend = np.sin(np.pi * u)  # the trunk leans forward mid-movement, then comes back
    s = u if down else 1 - u
    if placement == "chest":
        body.seg_pitch[sl] += np.radians(35) * bend + np.radians(8) * s
        body.pos[sl, 2] += -0.45 * s
        body.pos[sl, 0] += 0.15 * bend
    elif placement == "thigh":
        body.seg_pitch[sl] += np.radians(85) * s
        body.pos[sl, 2] += -0.3 * s
    elif placement == "shin":
        body.seg_pitch[sl] += np.radians(12) * bend + np.radians(6) * s
    else:
        body.foot_pitch_extra[sl] += np.radians(4) * bend


def add_weight_shift(body: Body, sl: slice, t: NDArray[np.float64], placement: str, rng: np.random.Generator) -> None:
    period = rng.uniform(2.5, 5.0)
    env = ramp((t - t[0]) / 1.0) * ramp((t[-1] - t) / 1.0)
    wave = np.sin(2 * np.pi * (t - t[0]) / period) * env
    if placement == "foot":
        # The unloaded foot rolls a little and the heel barely unweights: no raise.
        body.foot_roll[sl] += np.radians(3) * wave
        body.foot_pitch_extra[sl] += np.radians(1.5) * np.clip(wave, 0, None)
    else:
        body.seg_roll[sl] += np.radians(4) * wave
        body.pos[sl, 1] += 0.06 * wave


def add_strap(body: Body, sl: slice, t: NDArray[np.float64], rng: np.random.Generator) -> None:
    n = len(t)
    fs = INTERNAL_HZ
    env = ramp((t - t[0]) / 0.4) * ramp((t[-1] - t) / 0.4)
    for axis in range(3):
        body.mount_wobble[sl, axis] += env * np.radians(25) * smooth_noise(rng, n, fs, 1.5)
    body.pos[sl, :] += env[:, None] * 0.03 * np.stack([smooth_noise(rng, n, fs, 3.0, 3.0) for _ in range(3)], -1)


def shift_posture(
    body: Body, t: NDArray[np.float64], end_s: float, placement: str, most_deg: float, rng: np.random.Generator
) -> None:
    """After a set a person stands differently: the segment settles up to `most_deg` away, in any direction."""
    size = np.radians(rng.uniform(0.5, 1.0) * most_deg) * (0.3 if placement == "foot" else 1.0)
    way = rng.uniform(0, 2 * np.pi)
    i0 = int(np.searchsorted(t, end_s + 0.2))
    settle = ramp((t[i0:] - t[i0]) / 1.2)
    body.seg_pitch[i0:] += size * math.cos(way) * settle
    body.seg_roll[i0:] += size * math.sin(way) * settle


def hold_posture(body: Body, spans: list[tuple[str, float, float]], placement: str, fs: float) -> None:
    """Keep the seated posture between `sit_down` and `stand_up` (seated sets happen there)."""
    seated_since: float | None = None
    for kind, start, end in spans:
        if kind == "sit_down":
            seated_since = end
        elif kind == "stand_up" and seated_since is not None:
            apply_seated(body, slice(int(round(seated_since * fs)), int(round(start * fs))), placement)
            seated_since = None
    if seated_since is not None:
        apply_seated(body, slice(int(round(seated_since * fs)), body.n), placement)


def apply_seated(body: Body, sl: slice, placement: str) -> None:
    body.seated[sl] = True
    if placement == "chest":
        body.seg_pitch[sl] += np.radians(8)
        body.pos[sl, 2] += -0.45
    elif placement == "thigh":
        body.seg_pitch[sl] += np.radians(85)
        body.pos[sl, 2] += -0.3
    elif placement == "shin":
        body.seg_pitch[sl] += np.radians(6)
