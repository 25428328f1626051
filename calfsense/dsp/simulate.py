"""A physically based heel-raise simulator with known ground truth.

The working foot rotates about the ball of the foot; the ankle, and with it the shank, thigh and
trunk, rides up on that rotation (`geometry`). Segment orientations and positions are built on a
fine time grid, differentiated twice for linear acceleration, turned into specific force (what an
accelerometer measures: a + g up), rotated into a randomly mounted sensor, and sampled at the
sensor's rate with its noise, bias, scale error, quantisation, timing jitter and radio gaps.
Confusers (walking, running, sway, breathing, sitting down, standing up, weight shifts, strap
adjustments) drive the same segments. Pure numpy: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calfsense.domain import WORN, Exercise, Placement
from calfsense.dsp import geometry as geo
from calfsense.dsp.motions import (
    INTERNAL_HZ,
    Body,
    add_posture_change,
    add_squat,
    add_strap,
    add_walk,
    add_weight_shift,
    hold_posture,
    ramp,
    shift_posture,
    smooth_noise,
)
from calfsense.routine import Tempo

PLACEMENTS: tuple[Placement, ...] = WORN
CONFUSERS = ("walk", "run", "stairs", "squat", "sway", "sit_down", "stand_up", "weight_shift", "strap")

_SWAY_TOP_HZ = 1.5
NOISE_MG = (1.0, 6.0)  # white sensor noise per axis and sample, drawn per session (a real H10: 1.7-3.9)


@dataclass(frozen=True, slots=True)
class BodyRanges:
    """Where every physical coupling of a simulated session is drawn from (uniformly, once per session).

    The defaults span the real figures of ../shared/reference/real-signals.md with room on both sides: a
    segment's tilt per rep as a fraction of the foot's pitch (real: shank 0.05-0.18, thigh 0.06-0.10,
    chest 0.06-0.20), its rep-to-rep spread (real CV up to 40 %), accelerometer scale errors (real 6-10 %),
    the posture after a set (real 2.5-3.4 degrees away), postural lean (real up to ~3.4 degrees) and breathing.
    """

    shank_k: tuple[float, float] = (0.03, 0.30)
    thigh_k: tuple[float, float] = (0.03, 0.18)
    trunk_k: tuple[float, float] = (0.03, 0.25)
    tilt_cv: tuple[float, float] = (0.0, 0.5)  # rep-to-rep spread of a segment's tilt (the foot's is a fifth)
    scale_err: tuple[float, float] = (0.0, 0.12)  # per-axis scale error, drawn within +-this
    noise_mg: tuple[float, float] = NOISE_MG
    bias_mg: float = 40.0
    sway_deg: tuple[float, float] = (0.2, 0.8)
    lean_deg: tuple[float, float] = (0.0, 4.0)  # slow postural lean of the trunk (half that at the legs)
    breath_deg: tuple[float, float] = (0.05, 0.35)  # the chest wall's pitch with each breath
    posture_after_deg: tuple[float, float] = (0.0, 4.5)  # the stance after a set differs by this much
    pause_scale: tuple[float, float] = (0.0, 1.5)  # bottom pause as a multiple of the tempo's (0: reps flow)
    tempo_scale: tuple[float, float] = (0.85, 1.2)  # a person's tempo against the prescribed one
    strike_g: tuple[float, float] = (0.6, 1.4)  # heel-strike impulse as a multiple of the placement's typical


NOMINAL = BodyRanges()
# What ../shared/reference/real-signals.md measured on real bodies: fast raises that flow into each other
# (rise 0.52-0.65 s, lowering 0.48-0.73 s), tilt varying threefold rep to rep, scale errors of 6-10 %, the
# H10's noise, lean and breathing, and a new stance after the set.
REAL_BODY = BodyRanges(
    shank_k=(0.05, 0.18),
    thigh_k=(0.06, 0.10),
    trunk_k=(0.06, 0.20),
    tilt_cv=(0.3, 0.45),
    scale_err=(0.06, 0.10),
    noise_mg=(1.7, 3.9),
    sway_deg=(0.2, 0.6),
    lean_deg=(1.0, 3.4),
    breath_deg=(0.05, 0.3),
    posture_after_deg=(2.5, 3.4),
    pause_scale=(0.0, 0.0),
    tempo_scale=(1.0, 1.0),
)
REAL_TEMPO = Tempo(0.58, 0.0, 0.6, 0.0)


TEMPOS: dict[str, Tempo] = {
    "bouncy": Tempo(0.45, 0.0, 0.5, 0.0),
    "fast": Tempo(0.6, 0.2, 0.6, 0.4),
    "hret": Tempo(1.0, 0.0, 1.0, 0.1),
    "article": Tempo(2.0, 1.0, 2.0, 0.5),
    "seated": Tempo(2.0, 1.0, 3.0, 0.5),
    "hsr": Tempo(3.0, 0.5, 3.0, 1.0),
    "eccentric": Tempo(1.0, 0.3, 3.5, 1.2),
}


@dataclass(frozen=True, slots=True)
class SetPlan:
    """One set to simulate."""

    exercise: Exercise | str = Exercise.TWO_LEG
    reps: int = 15
    tempo: Tempo = TEMPOS["article"]
    height_cm: float = 8.0
    fatigue: float = 0.0  # fraction of height lost by the last rep
    partial_prob: float = 0.0
    lean_prob: float = 0.0
    side: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of the session: a set, a confuser, or quiet standing/sitting."""

    kind: str  # "set", "idle" or a CONFUSERS name
    duration_s: float = 0.0
    set_plan: SetPlan | None = None


@dataclass(frozen=True, slots=True)
class TruthRep:
    """A simulated repetition with its exact phase times and heel height."""

    set_index: int
    start_s: float
    top_s: float
    lower_s: float
    end_s: float
    height_cm: float
    partial: bool
    lean: bool
    bounce: bool


@dataclass(frozen=True, slots=True)
class TruthSet:
    """A simulated set."""

    index: int
    exercise: str
    side: str | None
    start_s: float
    end_s: float
    reps: int


@dataclass(frozen=True, slots=True, eq=False)
class Simulation:
    """Sensor output (seconds, mG) and what really happened."""

    time_s: NDArray[np.float64]
    acc_mg: NDArray[np.float64]
    placement: Placement | str
    rate_hz: float
    reps: tuple[TruthRep, ...]
    sets: tuple[TruthSet, ...]
    gaps: tuple[tuple[float, float], ...]
    confusers: tuple[tuple[str, float, float], ...]
    seed: int
    hr_bpm: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


def _rot_y(a: NDArray[np.float64]) -> NDArray[np.float64]:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_x(a: NDArray[np.float64]) -> NDArray[np.float64]:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def random_rotation(rng: np.random.Generator) -> NDArray[np.float64]:
    """A uniformly random 3-D rotation (any sensor mounting)."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


@dataclass(frozen=True, slots=True)
class _Physics:
    """One session's draws from `BodyRanges`."""

    heel_to_ball_m: float
    ankle_dx_m: float
    coupling: float  # the sensor segment's pitch per radian of foot pitch
    tilt_cv: float
    scale: NDArray[np.float64]
    sway_deg: float
    lean_deg: float
    breath_deg: float
    posture_after_deg: float
    pause_k: float
    tempo_k: float
    strike_gain: float

    @staticmethod
    def draw(ranges: BodyRanges, placement: str, rng: np.random.Generator) -> _Physics:
        """Draw every coupling once for the session."""

        def u(r: tuple[float, float]) -> float:
            return float(rng.uniform(r[0], r[1]))

        coupling = {"shin": ranges.shank_k, "thigh": ranges.thigh_k, "chest": ranges.trunk_k}.get(placement, (1.0, 1.0))
        scale_err = u(ranges.scale_err)
        cv = u(ranges.tilt_cv)
        return _Physics(
            heel_to_ball_m=geo.HEEL_TO_BALL_M * float(rng.uniform(0.93, 1.07)),
            ankle_dx_m=geo.ANKLE_BEHIND_BALL_M * float(rng.uniform(0.93, 1.07)),
            coupling=u(coupling),
            tilt_cv=cv / 5.0 if placement == "foot" else cv,  # a foot turns with the heel: real CV ~5 %
            scale=1.0 + rng.uniform(-scale_err, scale_err, 3),
            sway_deg=u(ranges.sway_deg),
            lean_deg=u(ranges.lean_deg),
            breath_deg=u(ranges.breath_deg),
            posture_after_deg=u(ranges.posture_after_deg),
            pause_k=u(ranges.pause_scale),
            tempo_k=u(ranges.tempo_scale),
            strike_gain=u(ranges.strike_g),
        )


def simulate(
    segments: list[Segment],
    placement: Placement | str,
    rate_hz: float = 100.0,
    seed: int = 0,
    noise_mg: float | None = None,
    jitter: float = 0.0,
    gaps: list[tuple[float, float]] | None = None,
    quantize: bool = True,
    bias_mg: float | None = None,
    noise_ref_hz: float | None = None,
    ranges: BodyRanges = NOMINAL,
    range_g: float = 8.0,
) -> Simulation:
    """Simulate a session; `jitter` (0-0.5) makes phone-like irregular sample times.

    Every physical coupling is drawn once per session from `ranges`. The white noise per axis and sample is
    `noise_mg`, else drawn from `ranges.noise_mg`. With `noise_ref_hz` that is its level at that rate, and it
    scales as the square root of the rate (a fixed noise density). Samples clip at +-`range_g`.
    """
    rng = np.random.default_rng(seed)
    phys = _Physics.draw(ranges, placement, rng)
    total_s = sum(s.duration_s if s.kind != "set" else _set_duration(s.set_plan, phys) for s in segments) + 1.0
    fs = INTERNAL_HZ
    n = int(total_s * fs)
    t = np.arange(n) / fs
    body = Body(n)
    heel_to_ball, ankle_dx = phys.heel_to_ball_m, phys.ankle_dx_m
    reps: list[TruthRep] = []
    sets: list[TruthSet] = []
    confusers: list[tuple[str, float, float]] = []
    now = 0.5
    spans: list[tuple[str, float, float]] = []
    for seg in segments:
        if seg.kind == "set":
            assert seg.set_plan is not None
            plan = seg.set_plan
            end = _add_set(body, t, now, plan, len(sets), rng, reps, phys)
            sets.append(TruthSet(len(sets), plan.exercise, plan.side, float(now), float(end), plan.reps))
            if plan.exercise == "seated":
                body.seated[(t >= now) & (t < end)] = True
            shift_posture(body, t, end, placement, phys.posture_after_deg, rng)
            spans.append(("set", now, end))
            now = end
            continue
        i0, i1 = int(round(now * fs)), min(n, int(round((now + seg.duration_s) * fs)))
        sl = slice(i0, i1)
        ts = t[sl]
        if i1 - i0 > 4:
            if seg.kind in ("walk", "run", "stairs"):
                add_walk(body, sl, ts, placement, seg.kind == "run", rng, phys.strike_gain, seg.kind == "stairs")
            elif seg.kind == "squat":
                add_squat(body, sl, ts, placement, rng)
            elif seg.kind in ("sit_down", "stand_up"):
                add_posture_change(body, sl, ts, placement, seg.kind == "sit_down")
            elif seg.kind == "weight_shift":
                add_weight_shift(body, sl, ts, placement, rng)
            elif seg.kind == "strap":
                add_strap(body, sl, ts, rng)
        if seg.kind in CONFUSERS:
            confusers.append((seg.kind, float(now), float(now + seg.duration_s)))
        spans.append((seg.kind, now, now + seg.duration_s))
        now += seg.duration_s
    hold_posture(body, spans, placement, fs)

    # Segment kinematics for the sensor's placement.
    pitch_f = np.arcsin(np.clip(body.heel_m / heel_to_ball, 0, 1))
    rise = ankle_dx * np.sin(pitch_f) + geo.ANKLE_HEIGHT_M * (np.cos(pitch_f) - 1)
    seg_k = phys.coupling * body.tilt_gain  # this rep's tilt of the sensor's segment per radian of foot pitch
    # Postural control's bandwidth is about 1.5 Hz; the chest's sway translation below is made of this angle.
    sway_unit = smooth_noise(rng, n, fs, 0.15, _SWAY_TOP_HZ)
    sway_p = np.radians(phys.sway_deg) * sway_unit
    sway_r = np.radians(0.8 * phys.sway_deg) * smooth_noise(rng, n, fs, 0.15)
    lean = np.radians(phys.lean_deg) * smooth_noise(rng, n, fs, 0.03, 0.3)  # slow postural lean, over seconds
    breath = np.sin(2 * np.pi * rng.uniform(0.2, 0.33) * t + rng.uniform(0, 6))
    pos = body.pos.copy()
    if placement == "foot":
        # Sensor on the laces, ~9 cm ahead of the heel: rotates with the foot about the ball.
        pitch_laces = pitch_f * body.tilt_gain
        pitch = pitch_laces + body.foot_pitch_extra
        roll = body.foot_roll + body.seg_roll
        arm = heel_to_ball - 0.09
        pos[:, 0] += arm * (1 - np.cos(pitch_laces))
        pos[:, 2] += arm * np.sin(pitch_laces)
    elif placement == "shin":
        pitch = seg_k * pitch_f + body.seg_pitch + 0.4 * sway_p + body.lean_pitch + 0.3 * lean
        roll = body.seg_roll + 0.4 * sway_r
        pos[:, 2] += rise
        pos[:, 0] += 0.25 * np.sin(seg_k * pitch_f)
    elif placement == "thigh":
        knee_pitch = np.where(body.seated, np.arcsin(np.clip(rise / geo.THIGH_LENGTH_M, -1, 1)), 0.0)
        pitch = body.seg_pitch + np.where(body.seated, knee_pitch, seg_k * pitch_f) + 0.5 * sway_p + 0.5 * lean
        roll = body.seg_roll + 0.5 * sway_r
        pos[:, 2] += np.where(body.seated, 0.5 * rise, rise)
    else:
        stand = ~body.seated
        pitch = body.seg_pitch + np.where(stand, seg_k * pitch_f, 0) + sway_p + np.radians(phys.breath_deg) * breath
        pitch = pitch + body.lean_pitch + lean
        roll = body.seg_roll + sway_r
        pos[:, 2] += np.where(stand, rise, 0.0) + 0.002 * breath
        pos[:, 0] += 0.004 * breath + 0.02 * sway_unit * phys.sway_deg
    seg_rot = _rot_y(pitch) @ _rot_x(roll)
    wob = body.mount_wobble
    wobble_rot = _rot_x(wob[:, 0]) @ _rot_y(wob[:, 1]) @ _rot_x(wob[:, 2])
    mount = random_rotation(rng)
    rot = seg_rot @ wobble_rot @ mount
    acc_w = np.gradient(np.gradient(pos, 1 / fs, axis=0), 1 / fs, axis=0) + body.impulse
    acc_w[:, 2] += geo.G_MPS2
    f_sensor = np.einsum("nji,nj->ni", rot, acc_w)  # R^T f: world to sensor
    acc_mg_fine = f_sensor / geo.G_MPS2 * 1000.0

    # Sample at the sensor's clock.
    period = 1.0 / rate_hz
    count = int((total_s - 0.1) * rate_hz)
    times = np.arange(count) * period
    if jitter > 0:
        steps = period * (1 + jitter * rng.uniform(-1, 1, count))
        times = np.cumsum(steps)
        times = times[times < total_s - 0.1]
    acc = np.stack([np.interp(times, t, acc_mg_fine[:, k]) for k in range(3)], -1)
    sigma = noise_mg if noise_mg is not None else rng.uniform(*ranges.noise_mg)
    if noise_ref_hz is not None:
        sigma *= math.sqrt(rate_hz / noise_ref_hz)  # the same random draws, only the level differs
    bias = rng.uniform(-1, 1, 3) * (ranges.bias_mg if bias_mg is None else bias_mg)
    acc = acc * phys.scale + bias + rng.normal(0, sigma, acc.shape)
    acc = np.clip(acc, -1000.0 * range_g, 1000.0 * range_g)
    if quantize:
        acc = np.round(acc)
    keep = np.ones(len(times), dtype=bool)
    gap_list = list(gaps or [])
    for g0, g1 in gap_list:
        keep &= ~((times >= g0) & (times < g1))
    # Heart rate follows the work done over the last half minute (one value per second).
    seconds = max(1, int(total_s))
    active = np.add.reduceat((body.heel_m > 0.005).astype(np.float64), np.arange(0, seconds) * int(fs))[:seconds] / fs
    work = np.convolve(active, np.ones(30) / 30, mode="full")[:seconds]
    hr_series = 64 + 50 * work + np.cumsum(rng.normal(0, 0.2, seconds))
    kept_times: NDArray[np.float64] = np.asarray(times[keep], dtype=np.float64)
    return Simulation(
        time_s=kept_times,
        acc_mg=acc[keep],
        placement=placement,
        rate_hz=rate_hz,
        reps=tuple(reps),
        sets=tuple(sets),
        gaps=tuple(gap_list),
        confusers=tuple(confusers),
        seed=seed,
        hr_bpm=hr_series,
    )


def _set_duration(plan: SetPlan | None, phys: _Physics) -> float:
    assert plan is not None
    tp = plan.tempo
    cycle = (tp.up_s + tp.hold_s + tp.down_s + tp.pause_s * phys.pause_k) * phys.tempo_k
    return plan.reps * cycle * 1.15 + 0.5


def _add_set(
    body: Body,
    t: NDArray[np.float64],
    start: float,
    plan: SetPlan,
    set_index: int,
    rng: np.random.Generator,
    out: list[TruthRep],
    phys: _Physics,
) -> float:
    fs = INTERNAL_HZ
    now = start
    ref: list[float] = []
    for k in range(plan.reps):
        jit = rng.uniform(0.9, 1.1, 4)
        tempo = plan.tempo
        tk = phys.tempo_k
        up, hold, down = tempo.up_s * jit[0] * tk, tempo.hold_s * jit[1] * tk, tempo.down_s * jit[2] * tk
        pause = tempo.pause_s * jit[3] * tk * phys.pause_k if k < plan.reps - 1 else 0.0
        fade = 1 - plan.fatigue * (k / max(1, plan.reps - 1))
        height = plan.height_cm * fade * rng.uniform(0.95, 1.05)
        partial = k >= 2 and rng.random() < plan.partial_prob
        if partial:
            # A partial rep falls short of the set's height (45-65 %), it is not a twitch.
            height *= rng.uniform(0.45, 0.65)
        lean = rng.random() < plan.lean_prob
        gain = float(np.clip(1.0 + phys.tilt_cv * rng.normal(), 0.3, 2.5))
        top, lower, end = now + up, now + up + hold, now + up + hold + down
        i0, i1 = int(now * fs), min(len(t), int(math.ceil(end * fs)) + 1)
        ts = t[i0:i1]
        prof = np.where(ts < top, ramp((ts - now) / up), np.where(ts < lower, 1.0, 1 - ramp((ts - lower) / down)))
        body.heel_m[i0:i1] = np.maximum(body.heel_m[i0:i1], height / 100.0 * prof)
        body.tilt_gain[i0:i1] = gain
        if lean:
            body.lean_pitch[i0:i1] += np.radians(rng.uniform(7, 12)) * prof
            body.foot_roll[i0:i1] += np.radians(rng.uniform(9, 14)) * prof
        ref.append(height)
        reference = float(np.median(ref[:3]))
        bounce = k > 0 and out[-1].set_index == set_index and now - out[-1].end_s < 0.1
        out.append(
            TruthRep(
                set_index,
                float(now),
                float(top),
                float(lower),
                float(end),
                float(height),
                bool(partial or height < 0.7 * reference),
                bool(lean),
                bool(bounce),
            )
        )
        now = end + pause
    return now + 0.5


def routine_session(
    placement: Placement | str,
    exercises: tuple[Exercise | str, ...] = tuple(Exercise),
    sets_per_exercise: int = 1,
    reps: int = 12,
    tempo: Tempo | None = None,
    rest_s: float = 30.0,
    rng: np.random.Generator | None = None,
    confuser: str | None = None,
) -> list[Segment]:
    """A session plan: idle, sets with rests (sitting down around seated sets), optional confuser."""
    r = rng or np.random.default_rng(0)
    segs = [Segment("idle", 4.0)]
    if confuser:
        segs += [Segment(confuser, 10.0 if confuser in ("walk", "run") else 6.0), Segment("idle", 10.0)]
    for ex in exercises:
        if ex == "seated":
            segs += [Segment("sit_down", 2.5), Segment("idle", 3.0)]
        for _ in range(sets_per_exercise):
            tp = tempo or (TEMPOS["seated"] if ex == "seated" else TEMPOS["article"])
            plan = SetPlan(
                ex,
                reps,
                tp,
                height_cm=float(r.uniform(6, 10) if ex != "seated" else r.uniform(4.5, 7)),
                fatigue=float(r.uniform(0, 0.25)),
                partial_prob=0.08,
                lean_prob=0.08,
            )
            segs += [Segment("set", set_plan=plan), Segment("idle", rest_s)]
        if ex == "seated":
            segs += [Segment("stand_up", 2.5), Segment("idle", 3.0)]
    return segs


def simulate_legs(
    segments: list[Segment],
    placement: Placement | str,
    rate_hz: float = 100.0,
    seed: int = 0,
    ranges: BodyRanges = NOMINAL,
) -> dict[str, Simulation]:
    """One session seen by a sensor on each leg: {"left": ..., "right": ...}.

    Two-leg and seated sets move both legs together (the same reps, each sensor mounted its own way with its
    own noise); a single-leg set with a `side` moves that leg only, while the other foot is held off the floor
    and its sensor reads the pose it stood in. Each leg's truth is the reps that leg made.
    """
    base = simulate(segments, placement, rate_hz, seed=seed, ranges=ranges)
    rng = np.random.default_rng(seed + 1)
    dt = float(np.median(np.diff(base.time_s)))
    sigma = float(np.std(np.diff(base.acc_mg[: max(3, int(1.0 / dt))], axis=0))) / math.sqrt(2.0)
    out: dict[str, Simulation] = {}
    for side in ("left", "right"):
        acc = base.acc_mg.astype(np.float64).copy()
        if side == "right":
            # The other leg's sensor: mounted another way (a rotation about the segment's long axis), its own noise.
            angle = rng.uniform(0.3, 2.8)
            c, s = math.cos(angle), math.sin(angle)
            acc = acc @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]).T
            acc = np.round(acc + rng.normal(0.0, sigma, acc.shape))
        idle_sets = {t.index for t in base.sets if t.side is not None and t.side != side}
        for t in base.sets:
            if t.index not in idle_sets:
                continue
            i0, i1 = np.searchsorted(base.time_s, [t.start_s - 0.3, t.end_s + 0.3])
            level = acc[max(0, i0 - int(1.0 / dt)) : max(1, i0)].mean(axis=0)
            acc[i0:i1] = np.round(level + rng.normal(0.0, sigma, (i1 - i0, 3)))
        kept = {t.index for t in base.sets} - idle_sets
        reps = tuple(r for r in base.reps if r.set_index in kept)
        sets = tuple(t for t in base.sets if t.index in kept)
        out[side] = Simulation(
            time_s=base.time_s,
            acc_mg=acc,
            placement=base.placement,
            rate_hz=base.rate_hz,
            reps=reps,
            sets=sets,
            gaps=base.gaps,
            confusers=base.confusers,
            seed=seed,
            hr_bpm=base.hr_bpm if side == "left" else np.zeros(0),
        )
    return out
