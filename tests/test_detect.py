"""The detector's stages on signals whose answer is known, and the whole on what real bodies do."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import replace

import numpy as np
import pytest

from calfsense.dsp import PARAMS, Detector, detect
from calfsense.dsp.evaluate import match_reps
from calfsense.dsp.grid import Gap, GridRun, Resampler
from calfsense.dsp.measure import measure
from calfsense.dsp.model import Rep
from calfsense.dsp.orientation import ScaleModel
from calfsense.dsp.params import GRID_HZ
from calfsense.dsp.segment import Segmenter
from calfsense.dsp.signals import SignalBank
from calfsense.dsp.simulate import NOMINAL, REAL_BODY, REAL_TEMPO, TEMPOS, Segment, SetPlan, Simulation, simulate
from calfsense.dsp.validate import Rejection, SetContext, judge
from calfsense.errors import CalfsenseError


def raised_cosine_rep(t: np.ndarray, start: float, up: float, hold: float, down: float) -> np.ndarray:
    """0 -> 1 -> 0 with raised-cosine ramps."""
    u_up = np.clip((t - start) / up, 0, 1)
    u_down = np.clip((t - start - up - hold) / down, 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * u_up) - (0.5 - 0.5 * np.cos(np.pi * u_down))


# -- stages ----------------------------------------------------------------------------------------


def test_grid_bins_are_means_and_empty_bins_are_interpolated() -> None:
    r = Resampler(50.0, 0.35)
    t = np.array([0.0, 0.005, 0.012, 0.019, 0.021, 0.041, 0.081])  # bins 0,0,1,1,1,2,4 (bin 3 empty)
    a = np.column_stack((np.arange(7.0), np.zeros(7), np.zeros(7)))
    runs = [x for x in r.push(t, a) + r.flush() if isinstance(x, GridRun)]
    values = np.concatenate([x.values for x in runs])[:, 0]
    assert values[:3].tolist() == [0.5, 3.0, 5.0]
    assert values[3] == pytest.approx(5.0 + (0.06 - 0.041) / (0.081 - 0.041))  # interpolated at t = 0.06
    assert values[4] == 6.0


def test_grid_reports_gaps_and_drops_samples_going_back_in_time() -> None:
    r = Resampler(50.0, 0.35)
    t = np.array([0.0, 0.02, 0.04, 0.01, 1.0, 1.02, np.nan])
    out = r.push(t, np.ones((7, 3))) + r.flush()
    gaps = [x for x in out if isinstance(x, Gap)]
    assert gaps == [Gap(0.04, 1.0)]
    after = out[out.index(gaps[0]) + 1]
    assert isinstance(after, GridRun) and after.first == 50


def test_scale_model_learns_per_axis_scales_from_still_poses() -> None:
    model = ScaleModel(PARAMS["shin"], GRID_HZ)
    scales = np.array([1.08, 0.97, 1.02]) * 1000.0
    poses = [np.array(v, dtype=float) / np.linalg.norm(v) for v in ([0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 0])]
    data = np.concatenate([np.tile(p * scales, (500, 1)) for p in poses])  # ten still seconds in each pose
    model.update(lambda i0, i1: data[i0:i1], len(data))
    for p in poses:
        m = p * scales
        assert model.level_mg((m / np.linalg.norm(m))[None, :])[0] == pytest.approx(np.linalg.norm(m), rel=0.005)


def candidates(seg: Segmenter, tilt_rad: np.ndarray, lift_cm: np.ndarray) -> list:
    """Every candidate the segmenter finds in a tilt (about one axis) and a lift, one block, never busy."""
    up = np.column_stack((np.sin(tilt_rad), np.zeros_like(tilt_rad), np.cos(tilt_rad))).tolist()
    found = []
    i = 0
    while True:
        i, cand = seg.advance(up, lift_cm.tolist(), [False] * len(up), 0, i)
        if cand is None:
            return found
        found.append(cand)


def test_segmenter_finds_rise_and_return_candidates_in_flowing_evidence() -> None:
    p = PARAMS["shin"]
    seg = Segmenter(p, GRID_HZ)
    t = np.arange(0, 12, 1 / GRID_HZ)
    tilt = sum(raised_cosine_rep(t, 2.0 + 1.2 * k, 0.6, 0.0, 0.6) for k in range(6)) * math.radians(4.0)
    lift = sum(raised_cosine_rep(t, 2.0 + 1.2 * k, 0.6, 0.0, 0.6) for k in range(6)) * 5.0
    found = candidates(seg, tilt, lift)
    peaks = [c.peak / GRID_HZ for c in found]
    assert len(found) == 6
    assert np.allclose(peaks, [2.6 + 1.2 * k for k in range(6)], atol=0.15)


def test_segmenter_splits_flowing_reps_that_ride_on_a_settling_lift() -> None:
    # After standing up the lift's filter settles for seconds: each rep comes down only part way before the
    # next begins. A turn is a climb back by half of what the lowering came down; measured against the whole
    # rise from the first trough instead, the first seven reps gave no candidate of their own.
    seg = Segmenter(PARAMS["thigh"], GRID_HZ)
    t = np.arange(0, 20, 1 / GRID_HZ)
    reps = sum(raised_cosine_rep(t, 4.0 + 1.4 * k, 0.6, 0.1, 0.6) for k in range(10))
    settling_cm = np.where(t > 3.0, -6.0 * np.exp(-(t - 3.0) / 2.0), 0.0)
    found = candidates(seg, reps * math.radians(3.0), reps * 3.0 + settling_cm)
    assert np.allclose([c.peak / GRID_HZ for c in found], [4.7 + 1.4 * k for k in range(10)], atol=0.15)


def test_segmenter_ends_a_lowering_once_it_slows_not_when_the_lift_stops_undershooting() -> None:
    # After a rep the band-passed lift undershoots and goes on falling slowly for seconds. The lowering is over once
    # the evidence falls slower than `settle_pace` of the pace it came down at; waiting until it stopped falling by
    # half a noise judged this rep a second after its end (late for the live count).
    seg = Segmenter(PARAMS["shin"], GRID_HZ)
    t = np.arange(0, 12, 1 / GRID_HZ)
    rep = raised_cosine_rep(t, 3.0, 1.0, 0.3, 2.0)  # ends at 6.3 s
    undershoot_cm = -1.0 * np.clip(t - 6.3, 0.0, 2.0)
    (found,) = candidates(seg, rep * math.radians(4.0), rep * 5.0 + undershoot_cm)
    assert found.end / GRID_HZ == pytest.approx(6.3, abs=0.15)
    assert found.due / GRID_HZ <= 6.3 + 0.3


def test_segmenter_forgets_the_sets_way_of_tipping_only_at_the_bottom() -> None:
    # The set's way is kept until `axis_until` (its last rep's end and the rest): a rise under way then is measured
    # along it to its end. Switched mid-rise to the unsigned tilt, the evidence jumped; a rise held that long was
    # taken for a new posture with the anchor at its top, and the next set was counted upside down.
    seg = Segmenter(PARAMS["foot"], GRID_HZ)
    t = np.arange(0, 12, 1 / GRID_HZ)
    tilt = raised_cosine_rep(t, 4.0, 1.5, 1.0, 1.5) * math.radians(20.0)
    up = np.column_stack((np.sin(tilt), np.zeros_like(tilt), np.cos(tilt))).tolist()
    lift, busy = [0.0] * len(up), [False] * len(up)
    i, _ = seg.advance(up, lift, busy, 0, 0, round(3.0 * GRID_HZ))
    seg.axis, seg.axis_until = (1.0, 0.0, 0.0), round(5.0 * GRID_HZ)
    i, _ = seg.advance(up, lift, busy, 0, i, round(5.2 * GRID_HZ))  # past `axis_until`, half way up
    assert seg.axis == (1.0, 0.0, 0.0)
    found = []
    while True:
        i, cand = seg.advance(up, lift, busy, 0, i)
        if cand is None:
            break
        found.append(cand)
    assert seg.axis is None  # back at the bottom: forgotten
    assert [round(c.peak / GRID_HZ, 1) for c in found] == pytest.approx([5.5], abs=0.15)


@pytest.mark.parametrize(
    ("placement", "posture_deg", "moved_s", "first_s", "every_s", "reps_n"),
    [
        # A 3-degree lean held for 6 s, then six reps: without re-anchoring they would ride on the lean and the
        # first would merge with it (the lean is longer than any rep's top hold, `max_phase_s`).
        ("shin", 3.0, 0.5, 8.0, 1.2, 6),
        # Sitting down tips a thigh 80 degrees; seated raises begin 1.5 s after. No raise tips a thigh that far,
        # so there is no top hold to wait out: once still for `quiet_s` it is a new posture. Waiting
        # `max_phase_s` instead swallowed the raises begun meanwhile (one odd candidate of five reps).
        ("thigh", 80.0, 1.5, 5.0, 1.6, 5),
    ],
)
def test_segmenter_takes_a_level_held_longer_than_any_phase_or_beyond_any_raise_for_a_new_posture(
    placement: str, posture_deg: float, moved_s: float, first_s: float, every_s: float, reps_n: int
) -> None:
    seg = Segmenter(PARAMS[placement], GRID_HZ)
    t = np.arange(0, first_s + every_s * reps_n + 3.0, 1 / GRID_HZ)
    posture = np.clip((t - 2.0) / moved_s, 0.0, 1.0) * math.radians(posture_deg)
    half = every_s / 2.0
    reps = sum(raised_cosine_rep(t, first_s + every_s * k, half, 0.0, half) for k in range(reps_n))
    found = [c for c in candidates(seg, posture + reps * math.radians(4.0), reps * 2.0) if c.end / GRID_HZ > first_s]
    tops = [first_s + half + every_s * k for k in range(reps_n)]
    assert np.allclose([c.peak / GRID_HZ for c in found], tops, atol=0.15)
    # Each rep starts at its own bottom, not back where the posture began.
    assert all(c.start / GRID_HZ > first_s - 0.5 for c in found)


def test_measure_times_phases_and_height_of_a_raised_cosine_rep() -> None:
    hz = GRID_HZ
    t = np.arange(0, 6, 1 / hz)
    prof = raised_cosine_rep(t, 1.5, 1.0, 0.5, 1.2)
    rise_m = 0.05 * prof
    acc_up = np.gradient(np.gradient(rise_m, 1 / hz), 1 / hz) / 9.80665 * 1000.0
    pitch = np.radians(5.0) * prof
    acc = (
        np.column_stack((1000.0 * np.sin(pitch), np.zeros_like(t), 1000.0 * np.cos(pitch)))
        * (1.0 + acc_up / 1000.0)[:, None]
    )
    m = measure(
        acc, 0.0, hz, int(1.4 * hz), int(2.6 * hz), int(4.3 * hz), None, ScaleModel(PARAMS["shin"], hz), PARAMS["shin"]
    )
    assert (m.start_s, m.top_s, m.lower_s, m.end_s) == pytest.approx((1.5, 2.5, 3.0, 4.2), abs=0.08)
    assert m.peak_tilt_deg == pytest.approx(5.0, abs=0.3)
    assert m.lift_cm == pytest.approx(5.0, abs=0.5)
    assert m.height_cm(PARAMS["shin"], seated_thigh=False) > 5.0  # the heel rises more than the ankle


def _measured(**changes: float) -> object:
    hz = GRID_HZ
    t = np.arange(0, 4, 1 / hz)
    prof = raised_cosine_rep(t, 1.0, 0.8, 0.2, 0.8)
    pitch = np.radians(4.0) * prof
    rise = 0.05 * prof
    acc_up = np.gradient(np.gradient(rise, 1 / hz), 1 / hz) / 9.80665
    acc = np.column_stack((np.sin(pitch), np.zeros_like(t), np.cos(pitch))) * (1000.0 + 1000.0 * acc_up)[:, None]
    return measure(
        acc, 0.0, hz, int(0.9 * hz), int(1.9 * hz), int(2.9 * hz), None, ScaleModel(PARAMS["shin"], hz), PARAMS["shin"]
    )


def test_validation_counts_a_raise_and_names_what_is_not_one() -> None:
    from dataclasses import replace

    from calfsense.dsp.segment import Candidate

    m = _measured()
    cand = Candidate(45, 95, 145, 150, 20.0)
    p = PARAMS["shin"]
    height = m.height_cm(p, seated_thigh=False)  # type: ignore[attr-defined]
    assert judge(m, cand, None, p, height) is None  # type: ignore[arg-type]
    assert judge(m, replace(cand, rise=5.0), None, p, height) is Rejection.WEAK  # type: ignore[arg-type]
    assert judge(replace(m, end_tilt_deg=4.0), cand, None, p, height) is Rejection.NO_RETURN  # type: ignore[type-var]
    # Back where it began, but going on past it the other way (standing up from a chair): a posture change.
    assert judge(replace(m, past_deg=3.0), cand, None, p, height) is Rejection.WENT_PAST  # type: ignore[type-var]
    assert judge(replace(m, past_deg=1.0), cand, None, p, height) is None  # type: ignore[type-var]
    assert judge(replace(m, peak_tilt_deg=40.0), cand, None, p, height) is Rejection.TILT  # type: ignore[type-var]
    assert judge(replace(m, rough_mg=500.0), cand, None, p, height) is Rejection.ROUGH  # type: ignore[type-var]
    assert judge(replace(m, end_s=m.start_s + 0.2), cand, None, p, height) is Rejection.DURATION  # type: ignore[type-var]
    ctx = SetContext(reps=5, rise=80.0, duration_s=1.8)
    assert judge(m, cand, ctx, p, height) is Rejection.UNLIKE_SET  # type: ignore[arg-type]
    # Its lift unmeasured (a slow rep): the tilt opens a set on the shin; on the chest it waits for a run.
    slow = replace(m, lift_cm=1.0, lift_se_cm=2.0)  # type: ignore[type-var]
    assert judge(slow, cand, None, p, height, 0.1) is None  # type: ignore[arg-type]
    chest = PARAMS["chest"]
    assert judge(slow, cand, None, chest, height, 0.1) is Rejection.UNSEEN_LIFT  # type: ignore[arg-type]
    in_set = SetContext(reps=3, rise=20.0, duration_s=m.duration_s)  # type: ignore[attr-defined]
    assert judge(slow, cand, in_set, chest, height, 0.1) is None  # type: ignore[arg-type]
    # A set's second rep, its lift unmeasured, counts on the chest when it is like the first, tipping the same
    # way; it still stands out as an opener does.
    way = m.tilt_dir  # type: ignore[attr-defined]
    first = SetContext(reps=1, rise=20.0, duration_s=m.duration_s, way=way)  # type: ignore[attr-defined]
    assert judge(slow, cand, first, chest, height, 0.1) is None  # type: ignore[arg-type]
    back = replace(first, way=(-way[0], -way[1], -way[2]))
    assert judge(slow, cand, back, chest, height, 0.1) is Rejection.UNSEEN_LIFT  # type: ignore[arg-type]
    faint = replace(cand, rise=8.0)
    assert judge(slow, faint, first, chest, height, 0.1) is Rejection.WEAK  # type: ignore[arg-type]


def test_parameters_are_passed_not_patched() -> None:
    plan = SetPlan("two-leg", 6, TEMPOS["hret"])
    sim = simulate([Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 3.0)], "shin", 50.0)
    strict = PARAMS["shin"].with_(open_min=1e9)
    assert len(detect(sim.time_s, sim.acc_mg, "shin").reps) == 6
    assert detect(sim.time_s, sim.acc_mg, "shin", params=strict).reps == ()


# -- the whole --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("placement", "rate_hz", "seed"), [("foot", 50.0, 1), ("shin", 200.0, 2), ("chest", 100.0, 3)])
def test_same_reps_whole_sample_by_sample_and_in_random_blocks(placement: str, rate_hz: float, seed: int) -> None:
    segs = [
        Segment("idle", 3.0),
        Segment("walk", 6.0),
        Segment("set", set_plan=SetPlan("two-leg", 8, TEMPOS["hret"])),
        Segment("idle", 6.0),
    ]
    sim = simulate(segs, placement, rate_hz, seed=seed, gaps=[(22.0, 22.5)])  # type: ignore[arg-type]
    whole = detect(sim.time_s, sim.acc_mg, placement).reps  # type: ignore[arg-type]
    assert whole
    rng = np.random.default_rng(seed)
    blocks = Detector(placement)  # type: ignore[arg-type]
    i = 0
    while i < len(sim.time_s):
        n = int(rng.integers(1, 200))
        blocks.feed(sim.time_s[i : i + n], sim.acc_mg[i : i + n])
        i += n
    blocks.finish()
    single = Detector(placement)  # type: ignore[arg-type]
    for j in range(len(sim.time_s)):
        single.feed(sim.time_s[j : j + 1], sim.acc_mg[j : j + 1])
    single.finish()
    assert _same_reps(tuple(blocks.reps), whole)
    assert _same_reps(tuple(single.reps), whole)


def _same_reps(a: tuple[Rep, ...], b: tuple[Rep, ...]) -> bool:
    """The same reps: equal but for the filters' last digits (blocked IIR arithmetic, 1e-12 relative)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for f in dataclasses.fields(x):
            u, v = getattr(x, f.name), getattr(y, f.name)
            if isinstance(u, float) and isinstance(v, float):
                if not math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif u != v:
                return False
    return True


def real_set(placement: str, seed: int, before_s: float = 2.0, height_cm: float = 12.0) -> Simulation:
    """Ten fast raises as real bodies make them, after `before_s` of standing."""
    plan = SetPlan("two-leg", 10, REAL_TEMPO, height_cm=height_cm)
    segs = [Segment("idle", before_s), Segment("set", set_plan=plan), Segment("idle", 6.0)]
    return simulate(segs, placement, 100.0, seed=seed, ranges=REAL_BODY)  # type: ignore[arg-type]


@pytest.mark.parametrize("placement", ["foot", "shin", "thigh", "chest"])
def test_real_bodies_fast_flowing_raises_with_irregular_tilt(placement: str) -> None:
    """Ten fast raises that flow into each other, tilt varying 3x rep to rep, a new stance after: all counted."""
    counted = []
    for seed in range(6):
        sim = real_set(placement, 100 + seed, height_cm=12.0 + seed * 0.3)
        counted.append(len(detect(sim.time_s, sim.acc_mg, placement).reps))  # type: ignore[arg-type]
    assert sum(c == 10 for c in counted) >= 5, counted


def test_real_bodies_shank_tilt_two_to_eight_degrees_rep_to_rep() -> None:
    sim = real_set("shin", 7, height_cm=12.5)
    found = detect(sim.time_s, sim.acc_mg, "shin").reps
    tilts = [r.peak_tilt_deg for r in found]
    assert len(found) == 10
    assert max(tilts) / min(tilts) > 1.5  # the spread is real, and every rep still counts


def test_real_bodies_a_set_with_no_rest_before_it() -> None:
    sim = real_set("thigh", 3, before_s=0.6)
    assert len(detect(sim.time_s, sim.acc_mg, "thigh").reps) >= 9


def test_real_bodies_rest_level_and_posture_differ_after_the_set() -> None:
    plan = SetPlan("two-leg", 10, REAL_TEMPO, height_cm=12.0)
    segs = [Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 8.0)]
    sim = simulate(segs, "shin", 100.0, seed=11, ranges=REAL_BODY)
    mag = np.linalg.norm(sim.acc_mg, axis=1)
    before = float(mag[sim.time_s < 3.0].mean())
    after = float(mag[sim.time_s > sim.sets[0].end_s + 3.0].mean())
    assert 1000 * 0.9 < before < 1000 * 1.12 and before != pytest.approx(1000.0, abs=5.0)
    assert after != pytest.approx(before, abs=0.5)
    found = detect(sim.time_s, sim.acc_mg, "shin").reps
    assert len(found) == 10
    assert all(r.end_s < sim.sets[0].end_s + 1.0 for r in found)  # the new stance is not a rep


def test_a_lowering_too_slow_for_the_segmenter_is_measured_once_it_has_come_back() -> None:
    # Eccentric raises on the thigh (1 s up, 3.5 s down): the lift-led evidence stalls while the thigh comes down
    # slowly, and the segmenter gives up on one lowering. Measured at that moment it had not come back (a
    # posture change); measured `return_wait_s` later it had.
    plan = SetPlan("two-leg", 5, TEMPOS["eccentric"], height_cm=9.0)
    segs = [Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 6.0)]
    sim = simulate(segs, "thigh", 100.0, seed=21, ranges=REAL_BODY)
    waited = match_reps(sim.reps, detect(sim.time_s, sim.acc_mg, "thigh").reps)
    at_once = detect(sim.time_s, sim.acc_mg, "thigh", params=PARAMS["thigh"].with_(return_wait_s=0.0))
    assert len(waited.pairs) == 5 and not waited.false
    assert len(match_reps(sim.reps, at_once.reps).pairs) == 4


def test_chest_counts_nothing_as_the_wearer_walks_then_stands() -> None:
    # Real H10 (real-signals.md section 2): soft steps (nothing above 6 Hz to call it busy), then lean and breathing.
    ranges = replace(NOMINAL, strike_g=(0.0, 0.0))
    for seed in range(6):
        segs = [Segment("idle", 2.0), Segment("walk", 20.0), Segment("idle", 40.0)]
        sim = simulate(segs, "chest", 200.0, seed=seed, ranges=ranges)
        assert detect(sim.time_s, sim.acc_mg, "chest").reps == ()


def test_standing_up_from_a_chair_is_no_rep_on_the_shin() -> None:
    # Real shin sensor (real-signals.md section 2): sit down, stand up, again. Standing up tips the shank forward
    # and back through the seated pose to the standing one: back where it began, and on past it.
    segs = [Segment("idle", 5.0)] + [
        Segment("sit_down", 2.5),
        Segment("idle", 8.0),
        Segment("stand_up", 2.5),
        Segment("idle", 8.0),
    ] * 3
    found = []
    for seed in range(10):
        sim = simulate(segs, "shin", 100.0, seed=seed)
        found.append(len(detect(sim.time_s, sim.acc_mg, "shin").reps))
    # 28 false reps in these 30 cycles before the detector looked past a rep's end; 5 now (not yet 0: issue 32).
    assert sum(found) <= 6, found


def test_sitting_and_standing_every_few_seconds_is_hardly_a_rep() -> None:
    # real-signals.md section 2: sit, stand up, stand, sit down, four times in 55 s (a shin sensor: 3 false reps
    # from the detector this replaced). Each posture held 3-4 s reads as a slow raise's top hold; the rise alone
    # (under a second) measures the lift where the whole 6-7 s span cannot, and finds none.
    cycle = [Segment("idle", 3.0), Segment("stand_up", 2.5), Segment("idle", 4.0), Segment("sit_down", 2.5)]
    segs = [Segment("idle", 2.0), Segment("sit_down", 2.0), Segment("idle", 1.5), *cycle * 4, Segment("idle", 2.0)]
    found = {p: 0 for p in ("shin", "thigh", "foot")}
    for placement in found:
        for seed in range(10):
            sim = simulate(segs, placement, 100.0, seed=seed)
            found[placement] += len(detect(sim.time_s, sim.acc_mg, placement).reps)
    # In 40 cycles: shin 51 and thigh 3 when the whole span's untrusted lift was kept; 11 and 0 with it measured
    # over the rise alone; 4 and 0 once a slow rise must lift `min_lift_per_deg_slow` a degree of tilt.
    assert found["shin"] <= 8 and found["thigh"] <= 1 and found["foot"] == 0, found


@pytest.mark.parametrize(
    ("kind", "placement"), [("walk", "shin"), ("run", "foot"), ("stairs", "thigh"), ("strap", "chest")]
)
def test_no_reps_in_activity_that_is_not_exercise(kind: str, placement: str) -> None:
    segs = [Segment("idle", 3.0), Segment(kind, 40.0), Segment("idle", 5.0)]
    sim = simulate(segs, placement, 100.0, seed=5, range_g=2.0)  # type: ignore[arg-type]
    assert detect(sim.time_s, sim.acc_mg, placement).reps == ()  # type: ignore[arg-type]


def test_gap_drops_the_rep_in_flight_and_is_reported() -> None:
    plan = SetPlan("two-leg", 8, TEMPOS["hret"])
    sim = simulate(
        [Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 5.0)], "foot", 100.0, gaps=[(6.0, 6.6)]
    )
    session = detect(sim.time_s, sim.acc_mg, "foot")
    assert len(session.gaps) == 1 and session.gaps[0][1] - session.gaps[0][0] > 0.5
    m = match_reps(sim.reps, session.reps)
    assert len(m.false) == 0
    assert len(m.pairs) >= 6


@pytest.mark.parametrize("placement", ["shin", "chest", "thigh"])
def test_a_radio_gap_mid_rep_costs_only_the_reps_it_hides(placement: str) -> None:
    # Data resuming mid-rep reads the rep's acceleration: taken for |a| at rest, the lift's high-pass made the
    # segment rise and fall for many seconds, and every rep after the gap was lost (7 of 7 on the chest and thigh).
    kept, whole_kept = 0, 0
    for seed in range(6):
        plan = SetPlan("two-leg", 16, TEMPOS["bouncy"])
        segs = [Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 4.0)]
        whole = simulate(segs, placement, 25.0, seed=seed)  # type: ignore[arg-type]
        gap = (whole.reps[7].start_s + 0.3, whole.reps[7].start_s + 1.0)
        cut = simulate(segs, placement, 25.0, seed=seed, gaps=[gap])  # type: ignore[arg-type]
        after = [t.start_s for t in cut.reps if t.start_s > gap[1] + 1.0]
        found = {t.start_s for t, _ in match_reps(cut.reps, detect(cut.time_s, cut.acc_mg, placement).reps).pairs}  # type: ignore[arg-type]
        found_whole = {
            t.start_s
            for t, _ in match_reps(whole.reps, detect(whole.time_s, whole.acc_mg, placement).reps).pairs  # type: ignore[arg-type]
        }
        n, n_whole = sum(s in found for s in after), sum(s in found_whole for s in after)
        assert n >= n_whole - 1, (seed, n, n_whole)
        kept, whole_kept = kept + n, whole_kept + n_whole
    assert kept >= 0.9 * whole_kept


def test_long_gap_ends_the_set() -> None:
    plan = SetPlan("two-leg", 6, TEMPOS["hret"])
    segs = [Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 4.0), Segment("set", set_plan=plan)]
    sim = simulate(segs + [Segment("idle", 4.0)], "foot", 100.0, seed=2)
    gap = (sim.sets[0].end_s + 0.5, sim.sets[1].start_s - 0.3)
    keep = (sim.time_s < gap[0]) | (sim.time_s >= gap[1])
    session = detect(sim.time_s[keep], sim.acc_mg[keep], "foot", rest_s=3.0)
    assert len(session.sets) == 2


def test_partial_reps_and_bounces_are_flagged() -> None:
    plan = SetPlan("two-leg", 15, TEMPOS["bouncy"], partial_prob=0.3)
    sim = simulate([Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 4.0)], "foot", 100.0, seed=4)
    found = detect(sim.time_s, sim.acc_mg, "foot").reps
    m = match_reps(sim.reps, found)
    flagged = [("partial" in r.flags) for t, r in m.pairs if t.partial]
    assert flagged and sum(flagged) >= len(flagged) // 2
    assert any("bounce" in r.flags for r in found[1:])


def test_bad_placement_is_a_clear_error() -> None:
    with pytest.raises(CalfsenseError):
        Detector("knee")  # type: ignore[arg-type]


def test_chest_cannot_see_seated_raises() -> None:
    with pytest.raises(CalfsenseError):
        Detector("chest", exercise="seated")


def test_latency_under_half_a_second_on_the_shin() -> None:
    plan = SetPlan("two-leg", 10, TEMPOS["hret"])
    sim = simulate([Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 4.0)], "shin", 100.0, seed=8)
    det = Detector("shin")
    emitted: list[tuple[float, float]] = []
    step = 5  # 50 ms blocks at 100 Hz
    for i in range(0, len(sim.time_s), step):
        for rep in det.feed(sim.time_s[i : i + step], sim.acc_mg[i : i + step]):
            emitted.append((rep.end_s, float(sim.time_s[min(len(sim.time_s), i + step) - 1])))
    truth_ends = sorted(r.end_s for r in sim.reps)
    lags = [at - min(truth_ends, key=lambda e: abs(e - end)) for end, at in emitted]
    assert len(emitted) >= 9
    assert max(lags) <= 0.6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_set_whose_first_reps_were_the_odd_ones_re_forms_around_the_rest(seed: int) -> None:
    # Two slow reps, then eight quick ones with no rest between: the quick ones are the set. Judged against
    # the first two alone, every quick rep was "unlike its set" (2-3 of 10 counted before the set re-formed).
    segs = [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 2, TEMPOS["hsr"])),
        Segment("set", set_plan=SetPlan("two-leg", 8, TEMPOS["bouncy"])),
        Segment("idle", 10.0),
    ]
    sim = simulate(segs, "foot", 100.0, seed=seed)
    found = detect(sim.time_s, sim.acc_mg, "foot").reps
    m = match_reps(sim.reps, found)
    assert len(found) == len(m.pairs) == 10
    # (A pattern of many reps is not overturned by a few unlike movements after it: the bundled shin
    # recording's seated sets, in tests/test_golden.py, counted 5 false reps when it was.)


def test_a_change_of_posture_is_busy_until_it_settles_and_the_lift_restarts_at_the_new_level() -> None:
    # Sitting down tips a thigh 80 degrees. With per-axis scale errors |a| at rest differs by tens of mG between the
    # poses: the band-passed lift swung 15 cm over the seconds after and swallowed the seated raises. A seated
    # raise (8 degrees) is no change of posture.
    t = np.arange(0, 12, 1 / GRID_HZ)
    pitch = np.radians(80.0) * np.clip((1 - np.cos(np.pi * np.clip((t - 3.0) / 2.5, 0, 1))) / 2, 0, 1)
    pitch += np.radians(8.0) * raised_cosine_rep(t, 7.0, 0.6, 0.0, 0.6)
    acc = np.column_stack((np.sin(pitch), np.zeros_like(t), np.cos(pitch))) * 1000.0 * np.array([1.06, 1.0, 0.95])
    sig = SignalBank(PARAMS["thigh"], GRID_HZ).process(acc)
    busy_s = t[sig.busy]
    assert busy_s.min() < 4.5 and 5.5 < busy_s.max() < 6.8  # from half way through the change to soon after it
    assert np.abs(sig.lift_cm[t > 6.8]).max() < 1.0  # no swing after it: the lift started afresh seated


def test_seated_raises_begun_just_after_sitting_down_count_on_the_thigh() -> None:
    # The thigh tips 80-90 degrees as one sits; raises begun 1.5 s later were lost while that pose was held
    # as if it were a rep's top (80 of 120 reps, the first of 2 of 12 sets).
    counted, firsts = 0, 0
    for seed in range(12):
        segs = [
            Segment("idle", 3.0),
            Segment("sit_down", 2.5),
            Segment("idle", 1.5),
            Segment("set", set_plan=SetPlan("seated", 10, TEMPOS["fast"])),
            Segment("idle", 8.0),
        ]
        sim = simulate(segs, "thigh", 100.0, seed=seed)
        pairs = match_reps(sim.reps, detect(sim.time_s, sim.acc_mg, "thigh").reps).pairs
        counted += len(pairs)
        firsts += any(t is sim.reps[0] for t, _ in pairs)
    assert counted >= 100  # of 120
    assert firsts >= 9


def test_a_set_right_after_squats_taken_for_reps_re_forms_around_its_own_reps() -> None:
    # Squats tip a shank like slow raises: some count. A set of quick raises follows at once, each unlike those
    # "reps". The run of quick reps outnumbers them, so it is the set; when the squats had counted four or more,
    # the run was never long enough (it was cut to three), and the set counted 2 of 15 (5 of these 12 seeds).
    counted = []
    for seed in range(12):
        plan = SetPlan("two-leg", 15, TEMPOS["bouncy"], height_cm=6.0)
        segs = [Segment("idle", 3.0), Segment("squat", 20.0), Segment("set", set_plan=plan), Segment("idle", 10.0)]
        sim = simulate(segs, "shin", 100.0, seed=seed)
        found = detect(sim.time_s, sim.acc_mg, "shin").reps
        counted.append(len(match_reps(sim.reps, found).pairs))
    assert min(counted) >= 10
    assert sum(counted) >= 160  # of 180


@pytest.mark.parametrize(("kind", "most"), [("weight_shift", 50), ("squat", 45)])
def test_weight_shifts_and_squats_on_the_shin_mostly_fail_the_lift_they_would_need_as_raises(
    kind: str, most: int
) -> None:
    # Shifting from foot to foot tips a shank 4 degrees either way, a squat 15-30, and neither lifts it; a raise
    # tipping it so far lifts it centimetres. With the lift trusted to the error the scale model leaves
    # (`scale_err` 2 %), most are told apart, and more once a rep rising over `slow_rise_s` (its tilt not
    # inflated by its own acceleration) must lift `min_lift_per_deg_slow` a degree: these 8 minutes gave 42
    # false reps from weight shifts (57 at 0.2 cm a degree, 113 trusted only to 5 %) and 39 from squats (65).
    false_reps = 0
    for seed in range(8):
        segs = [Segment("idle", 3.0), Segment(kind, 60.0), Segment("idle", 5.0)]
        sim = simulate(segs, "shin", 100.0, seed=700 + seed)
        false_reps += len(detect(sim.time_s, sim.acc_mg, "shin").reps)
    assert false_reps <= most


# -- look-back: the opener finds the set's first rep ---------------------------------------------


def _bump(n: int, at: int, width: int, height: float) -> np.ndarray:
    out = np.zeros(n)
    u = np.arange(width) / (width - 1)
    out[at : at + width] = height * 0.5 * (1 - np.cos(2 * np.pi * u))
    return out


def test_look_back_finds_a_fainter_copy_of_the_opener_just_before_it() -> None:
    from calfsense.dsp.lookback import find_earlier

    rng = np.random.default_rng(5)
    n = 300
    signal = _bump(n, 90, 60, 3.0) + _bump(n, 160, 66, 5.0) + rng.normal(0, 0.05, n)  # faint rep, then the opener
    found = find_earlier(signal, 160, 226, 0.85, (0.4, 2.0), latest_end=163, scales=PARAMS["shin"].lookback_scales)
    assert found is not None and abs(found.start - 90) <= 6 and abs(found.end - 150) <= 8
    assert 0.5 < found.amplitude_ratio < 0.7 and found.correlation > 0.95


@pytest.mark.parametrize(
    "earlier",
    [
        lambda n: _bump(n, 90, 60, 0.5),  # too faint to be one of the set's reps
        lambda n: np.concatenate((np.zeros(120), np.full(n - 120, 2.0))),  # a change of stance, not a rep
        lambda n: _bump(n, 90, 60, 15.0),  # far bigger than the set's reps (a squat)
    ],
)
def test_look_back_finds_nothing_unlike_the_opener(earlier: object) -> None:
    from calfsense.dsp.lookback import find_earlier

    n = 300
    signal = earlier(n) + _bump(n, 160, 66, 5.0) + np.random.default_rng(6).normal(0, 0.05, n)  # type: ignore[operator]
    scales = PARAMS["shin"].lookback_scales
    assert find_earlier(signal, 160, 226, 0.85, (0.4, 2.0), latest_end=163, scales=scales) is None


def test_a_set_begun_as_a_run_ends_counts_its_first_rep() -> None:
    # The first raise starts as the last footstep lands: the footsteps' blind time hides its start, and alone it
    # is no rep; the set's next rep shows what one looks like, and finds it (24 of 30 such sets exactly; none
    # without looking back).
    segs = [
        Segment("idle", 3.0),
        Segment("run", 12.0),
        Segment("set", set_plan=SetPlan("two-leg", 10, TEMPOS["hret"], height_cm=9.0)),
        Segment("idle", 6.0),
    ]
    exact, without = 0, 0
    for seed in range(8):
        sim = simulate(segs, "foot", 100.0, seed=seed)
        exact += len(detect(sim.time_s, sim.acc_mg, "foot").reps) == 10
        blind = PARAMS["foot"].with_(lookback_reps=0.0)
        without += len(detect(sim.time_s, sim.acc_mg, "foot", params=blind).reps) == 10
    assert exact >= 6 and without == 0
