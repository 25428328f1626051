"""Detection engine: block invariance, gaps, placements, confusers and latency on simulated truth."""

from __future__ import annotations

import dataclasses
import importlib
import math
import warnings

import numpy as np
import pytest

from calfsense.dsp.detect import Detector, Rep, detect
from calfsense.dsp.evaluate import match_reps, sets_grouped_right
from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, Simulation, routine_session, simulate
from calfsense.errors import PlacementError


def _one_set(plan: SetPlan, before_s: float = 4.0, after_s: float = 6.0) -> list[Segment]:
    """Idle, a set, idle."""
    return [Segment("idle", before_s), Segment("set", set_plan=plan), Segment("idle", after_s)]


def _two_sets(first: SetPlan, second: SetPlan, rest_s: float = 10.0, after_s: float = 3.0) -> list[Segment]:
    """Idle, a set, a rest, another set, idle."""
    return [
        Segment("idle", 4.0),
        Segment("set", set_plan=first),
        Segment("idle", rest_s),
        Segment("set", set_plan=second),
        Segment("idle", after_s),
    ]


def _session(placement: str = "foot", seed: int = 1, rate_hz: float = 100.0, **kw: object) -> Simulation:
    segs = _two_sets(
        SetPlan("two-leg", 6, TEMPOS["hret"], height_cm=8.0), SetPlan("two-leg", 4, TEMPOS["article"], height_cm=8.0)
    )
    return simulate(segs, placement, rate_hz, seed=seed, **kw)  # type: ignore[arg-type]


def _feed_in_blocks(sim: Simulation, sizes: list[int] | None, placement: str = "foot") -> list[Rep]:
    det = Detector(placement)  # type: ignore[arg-type]
    out: list[Rep] = []
    i = 0
    n = len(sim.time_s)
    k = 0
    while i < n:
        step = n if sizes is None else sizes[k % len(sizes)]
        out += det.feed(sim.time_s[i : i + step], sim.acc_mg[i : i + step])
        i += step
        k += 1
    return out


def test_counts_sets_on_clean_foot_session() -> None:
    sim = _session()
    session = detect(sim.time_s, sim.acc_mg, "foot")
    assert [len(s.reps) for s in session.sets] == [6, 4]
    m = match_reps(sim.reps, session.reps)
    assert not m.missed and not m.false
    for truth, rep in m.pairs:
        assert abs(rep.start_s - truth.start_s) < 0.15
        assert abs(rep.end_s - truth.end_s) < 0.15
        assert rep.height_cm is not None and abs(rep.height_cm - truth.height_cm) < 1.5


@pytest.mark.parametrize(("placement", "rate_hz"), [("foot", 50.0), ("shin", 200.0), ("chest", 100.0), ("thigh", 25.0)])
def test_same_reps_whole_sample_by_sample_and_random_blocks(placement: str, rate_hz: float) -> None:
    sim = _session(placement, seed=2, rate_hz=rate_hz)
    whole = _feed_in_blocks(sim, None, placement)
    assert len(whole) >= 9  # 10 raises; every path (tilt, lift) and rate is exercised
    assert _feed_in_blocks(sim, [1], placement) == whole
    rng = np.random.default_rng(5)
    assert _feed_in_blocks(sim, rng.integers(1, 200, 50).tolist(), placement) == whole
    assert _feed_in_blocks(sim, [36], placement) == whole


@pytest.mark.parametrize(("placement", "seed"), [("chest", 6), ("shin", 2), ("shin", 5), ("shin", 6)])
def test_same_reps_in_any_blocks_after_a_walk(placement: str, seed: int) -> None:
    # The activity level compares |a| with its rest level, which the detector keeps learning at rest. Taken
    # once per block instead of per sample, that level made these sessions (a walk, then a set) come out
    # differently whole and in random blocks.
    plan = SetPlan("single-leg", 12, TEMPOS["article"], height_cm=6.0)
    segs = [Segment("idle", 3.0), Segment("walk", 12.0), Segment("idle", 4.0), Segment("set", set_plan=plan)]
    sim = simulate([*segs, Segment("idle", 12.0)], placement, 50.0, seed=seed)  # type: ignore[arg-type]
    det = Detector(placement)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    found: list[Rep] = []
    i = 0
    while i < len(sim.time_s):
        step = int(rng.integers(1, 200))
        found += det.feed(sim.time_s[i : i + step], sim.acc_mg[i : i + step])
        i += step
    found += det.finish()
    whole = detect(sim.time_s, sim.acc_mg, placement)  # type: ignore[arg-type]
    assert found == list(whole.reps)
    assert len(match_reps(sim.reps, found).pairs) >= 10


def test_irregular_phone_timing() -> None:
    sim = _session(seed=3, rate_hz=200.0, jitter=0.4)
    session = detect(sim.time_s, sim.acc_mg, "foot")
    assert [len(s.reps) for s in session.sets] == [6, 4]


def test_gap_drops_the_rep_in_flight_and_is_reported() -> None:
    clean = _session(seed=4)
    target = clean.reps[2]
    gap = (target.start_s + 0.3, target.end_s - 0.2)
    sim = _session(seed=4, gaps=[gap])
    session = detect(sim.time_s, sim.acc_mg, "foot")
    assert len(session.gaps) == 1 and session.gaps[0][0] <= gap[0] + 0.02
    assert sum(len(s.reps) for s in session.sets) == 9
    for rep in session.reps:
        assert not (rep.start_s < gap[1] and rep.end_s > gap[0]), "no rep may span a gap"


def test_long_gap_ends_the_set() -> None:
    segs = [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 14, TEMPOS["hret"])),
        Segment("idle", 3.0),
    ]
    clean = simulate(segs, "foot", 100.0, seed=8)
    gap = (clean.reps[2].end_s + 0.1, clean.reps[2].end_s + 9.1)
    sim = simulate(segs, "foot", 100.0, seed=8, gaps=[gap])
    session = detect(sim.time_s, sim.acc_mg, "foot")
    counts = [len(s.reps) for s in session.sets]
    lost = sum(1 for r in clean.reps if r.start_s < gap[1] and r.end_s > gap[0])
    assert len(counts) == 2 and counts[0] == 3 and counts[1] == 14 - 3 - lost


@pytest.mark.parametrize(
    ("placement", "tempo", "seed"),
    [
        ("foot", "article", 0),
        ("shin", "article", 2),
        ("thigh", "article", 2),
        ("chest", "fast", 0),
        ("chest", "hret", 0),
    ],
)
def test_set_goes_on_after_a_radio_gap_in_it(placement: str, tempo: str, seed: int) -> None:
    # The data resumes mid-rep after a 2 s gap. The tilt path must not learn that raised foot for its rest
    # (the foot then counted every rest as a rep: 8 false), and the chest's lift must not take that rep's
    # acceleration for its rest level (it drifted tens of cm and lost 4-7 reps); shin and thigh lost 5-6.
    plan = SetPlan("two-leg", 20, TEMPOS[tempo], 7.0)
    segs = [Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 6.0)]
    clean = simulate(segs, placement, 100.0, seed=seed)  # type: ignore[arg-type]
    mid = 0.5 * (clean.reps[0].start_s + clean.reps[-1].end_s)
    sim = simulate(segs, placement, 100.0, seed=seed, gaps=[(mid, mid + 2.0)])  # type: ignore[arg-type]
    whole = _feed_in_blocks(sim, None, placement)
    m = match_reps(sim.reps, whole)
    cut = [r for r in sim.reps if r.start_s < mid + 2.0 and r.end_s > mid]
    assert not m.false
    assert not [r for r in m.missed if r not in cut]  # every rep the gap did not cut
    # The gap splits a block or falls between two: the same reps either way.
    assert _feed_in_blocks(sim, np.random.default_rng(seed).integers(1, 300, 60).tolist(), placement) == whole


@pytest.mark.parametrize("seed", [0, 1])
def test_seated_set_after_sitting_down_during_a_radio_gap(seed: int) -> None:
    # The thigh tilts by 80 degrees as the runner sits down inside the gap: the detector, waiting to see its
    # rest again, takes that still new tilt for the rest after 3 s, and counts the seated set.
    segs = [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 5, TEMPOS["article"], 7.0)),
        Segment("idle", 3.0),
        Segment("sit_down", 2.5),
        Segment("idle", 6.0),
        Segment("set", set_plan=SetPlan("seated", 8, TEMPOS["article"], 6.0)),
        Segment("idle", 5.0),
    ]
    sit_s = simulate(segs, "thigh", 100.0, seed=seed).reps[4].end_s + 3.0
    sim = simulate(segs, "thigh", 100.0, seed=seed, gaps=[(sit_s - 0.5, sit_s + 3.5)])
    # 7.5 s of rest seen (the gap's 4 s are not rest): one set of 5 + 8.
    assert [len(s.reps) for s in detect(sim.time_s, sim.acc_mg, "thigh").sets] == [13]


# The chest's lift path still takes the odd stretch of quiet standing for a small rep (sensor noise, double
# integrated; see the chest's false reps per hour in bench/bench_accuracy.py): it is tested on the rest.
@pytest.mark.parametrize(
    ("confuser", "placements"),
    [
        ("walk", ("foot", "shin", "chest")),
        ("run", ("foot", "shin", "chest")),
        ("strap", ("foot", "shin", "chest")),
        ("idle", ("foot", "shin")),
        ("sway", ("foot", "shin")),
    ],
)
def test_no_reps_during_non_exercise(confuser: str, placements: tuple[str, ...]) -> None:
    segs = [Segment("idle", 3.0), Segment(confuser, 30.0), Segment("idle", 5.0)]
    for placement in placements:
        sim = simulate(segs, placement, 100.0, seed=11)  # type: ignore[arg-type]
        assert detect(sim.time_s, sim.acc_mg, placement).reps == ()  # type: ignore[arg-type]


def test_chest_cannot_see_seated_raises() -> None:
    with pytest.raises(PlacementError, match="cannot see a seated"):
        Detector("chest", exercise="seated")
    with pytest.raises(PlacementError):
        Detector("auto", device_model="Polar H10", exercise="seated")
    Detector("shin", exercise="seated")


def test_simulated_sway_and_strap_handling_accelerate_like_a_body() -> None:
    # The chest's sway translation (1 cm) was shaped at second order only: twice differentiated, it made
    # 20-25 mG of white acceleration up to 200 Hz (sway itself is 1-3 mG, under 1.5 Hz), and the strap's
    # handling 6 g. Without sensor noise, standing still now changes under 0.2 mG from sample to sample.
    segs = [Segment("idle", 30.0), Segment("strap", 10.0), Segment("idle", 5.0)]
    sim = simulate(segs, "chest", 200.0, seed=0, noise_mg=0.0, quantize=False, bias_mg=0.0)
    still = sim.time_s < 29.0
    assert float(np.max(np.std(np.diff(sim.acc_mg[still], axis=0), axis=0))) < 0.2
    handling = (sim.time_s > 32.0) & (sim.time_s < 38.0)
    assert 200.0 < float(np.max(np.std(sim.acc_mg[handling], axis=0))) < 1500.0


def test_auto_placement_does_not_take_a_shin_sitting_down_for_a_foot_raise() -> None:
    # With no placement given, the first rep decides: 12 degrees or more is a foot. A shin tips 15 degrees as its
    # wearer sits down; a foot's rules accepted that as a raise, and the seated set after it was measured as a
    # foot's and lost (on the old code all 10 of these sessions became a foot, and 8 lost all ten reps).
    segs = [Segment("idle", 3.0), Segment("sit_down", 2.5), Segment("idle", 4.0), Segment("stand_up", 2.5)]
    segs += [Segment("idle", 4.0), Segment("sit_down", 2.5), Segment("idle", 3.0)]
    segs += [Segment("set", set_plan=SetPlan("seated", 10, TEMPOS["hret"], height_cm=5.0)), Segment("idle", 5.0)]
    right = 0
    for seed in range(10):
        sim = simulate(segs, "shin", 50.0, seed=seed)
        det = Detector("auto")
        reps = det.feed(sim.time_s, sim.acc_mg) + det.finish()
        m = match_reps(sim.reps, reps)
        right += det.resolved_placement == "shin" and len(m.pairs) == 10 and not m.false
    assert right >= 8


def test_simulated_noise_with_a_fixed_density_grows_with_the_root_of_the_rate() -> None:
    # The benchmark's worst case is as noisy a sample at every rate; a sensor filtering to its output rate has a
    # fixed noise density instead. Only the noise level differs: the same draws, the same session.
    segs = [Segment("idle", 20.0)]

    def noise_mg(sim: Simulation) -> float:
        return float(np.mean(np.std(np.diff(sim.acc_mg, axis=0), axis=0))) / np.sqrt(2.0)

    worst = simulate(segs, "shin", 200.0, seed=4, quantize=False)
    same = simulate(segs, "shin", 200.0, seed=4, quantize=False, noise_ref_hz=200.0)
    assert np.array_equal(worst.acc_mg, same.acc_mg)
    at_50 = simulate(segs, "shin", 200.0, seed=4, quantize=False, noise_ref_hz=50.0)
    assert noise_mg(at_50) / noise_mg(worst) == pytest.approx(2.0, rel=0.03)
    measured = simulate(segs, "shin", 52.0, seed=4, quantize=False, noise_range_mg=(2.0, 2.0), noise_ref_hz=52.0)
    assert noise_mg(measured) == pytest.approx(2.0, rel=0.1)


def _found_and_lags(sim: Simulation, placement: str) -> tuple[int, int, float]:
    """Fed sample by sample: reps matched, reps found, and the latest emission after a true end (s)."""
    det = Detector(placement)  # type: ignore[arg-type]
    emitted_s: dict[int, float] = {}
    for i in range(len(sim.time_s)):  # the emission time is the sample's time
        for rep in det.feed(sim.time_s[i : i + 1], sim.acc_mg[i : i + 1]):
            emitted_s[id(rep)] = float(sim.time_s[i])
    m = match_reps(sim.reps, det.reps)
    return len(m.pairs), len(det.reps), max(emitted_s[id(rep)] - truth.end_s for truth, rep in m.pairs)


@pytest.mark.parametrize("placement", ["foot", "thigh", "chest"])  # the tilt path and the chest's lift path
def test_latency_under_half_a_second(placement: str) -> None:
    # Every rep is found, nothing else, and every one is emitted within 0.5 s of its true end. (The chest
    # used to count its filters' ringing after the set as an eleventh rep; the thigh waited for its tilt to
    # settle. Latency over many sessions is measured in bench/bench_accuracy.py.)
    matched, found, lag_s = _found_and_lags(_session(placement, seed=6), placement)
    assert matched == found == 10
    assert lag_s <= 0.5


@pytest.mark.parametrize(
    ("placement", "tempo", "seed"),
    [
        ("chest", "article", 1),
        ("chest", "article", 2),
        ("chest", "eccentric", 2),
        ("thigh", "article", 7),
        ("thigh", "hsr", 2),
        ("thigh", "eccentric", 10),
    ],
)
def test_slow_reps_are_judged_before_they_settle(placement: str, tempo: str, seed: int) -> None:
    # These reps came out 0.6-1.0 s late. The chest's band-passed lift is back at zero up to half a second
    # after a slow rep ends: a rep is now judged 70 % of the way back. The thigh's tilt, bent by sway, put
    # its predicted end too late: the set's lowering time now predicts it, measured down to where it rose from.
    segs = [
        Segment("idle", 4.0),
        Segment("set", set_plan=SetPlan("two-leg", 8, TEMPOS[tempo], height_cm=8.0)),
        Segment("idle", 10.0),
    ]
    matched, found, lag_s = _found_and_lags(simulate(segs, placement, 100.0, seed=seed), placement)  # type: ignore[arg-type]
    assert matched == found == 8
    assert lag_s <= 0.5


def test_partial_and_bounce_flags() -> None:
    segs = [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 10, TEMPOS["hret"], height_cm=9.0, partial_prob=0.3)),
        Segment("idle", 10.0),
        Segment("set", set_plan=SetPlan("two-leg", 6, TEMPOS["bouncy"], height_cm=8.0)),
        Segment("idle", 3.0),
    ]
    sim = simulate(segs, "foot", 100.0, seed=21)
    m = match_reps(sim.reps, detect(sim.time_s, sim.acc_mg, "foot").reps)
    partial_truth = [t.partial for t, _ in m.pairs]
    partial_found = ["partial" in r.flags for _, r in m.pairs]
    assert any(partial_truth)
    assert partial_found == partial_truth
    bounced = [("bounce" in r.flags) for t, r in m.pairs if t.set_index == 1 and t.bounce]
    assert bounced and all(bounced)


def test_bad_placement_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="unknown placement"):
        Detector("ankle")  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chest_counts_by_its_lift(seed: int) -> None:
    # The chest tilts about as much with a raise as it sways; it is counted by its 3-7 cm lift. No extra
    # rep after a set from the filters settling.
    first = SetPlan("two-leg", 12, TEMPOS["hret"], height_cm=8.0)
    second = SetPlan("single-leg", 8, TEMPOS["fast"], height_cm=7.0)
    sim = simulate(_two_sets(first, second, rest_s=12.0, after_s=10.0), "chest", 100.0, seed=seed)
    session = detect(sim.time_s, sim.acc_mg, "chest")
    assert [len(s.reps) for s in session.sets] == [12, 8]
    m = match_reps(sim.reps, session.reps)
    assert not m.missed and not m.false


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seated_set_seconds_after_sitting_down(seed: int) -> None:
    # A thigh goes from vertical to horizontal as its wearer sits: the new posture is taken within a
    # second, so a seated set started 3 s later is measured from it.
    segs = [
        Segment("idle", 4.0),
        Segment("sit_down", 2.5),
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("seated", 8, TEMPOS["hret"], height_cm=6.0)),
        Segment("idle", 8.0),
        Segment("stand_up", 2.5),
        Segment("idle", 5.0),
    ]
    sim = simulate(segs, "thigh", 50.0, seed=seed)
    assert [len(s.reps) for s in detect(sim.time_s, sim.acc_mg, "thigh").sets] == [8]


def test_grid_values_are_means_over_each_interval() -> None:
    from calfsense.dsp.detect import _box_means

    t = np.arange(0.0, 1.0, 0.005)  # 200 Hz
    ramp = np.stack([t, 2 * t, np.full_like(t, 1000.0)], -1)
    hi = np.arange(1, 40) / 50.0
    out = _box_means(t, ramp, hi - 0.02, hi)
    # The mean of a line over [k/50 - 0.02, k/50] is its value at the midpoint.
    assert np.allclose(out, np.stack([hi - 0.01, 2 * (hi - 0.01), np.full_like(hi, 1000.0)], -1))
    # Four samples per interval: white noise shrinks by about half (not just picked one sample in four).
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 8.0, (len(t), 3))
    assert _box_means(t, noise, hi - 0.02, hi).std() < 0.7 * 8.0


def test_matched_fit_recovers_a_raise_from_a_rough_guess() -> None:
    from calfsense.dsp.detect import _fit_raise

    t = np.arange(0.0, 10.0, 0.02)
    start, top, lower, end, rise_m = 2.0, 5.0, 5.5, 8.5, 0.04
    u = np.clip((t - start) / (top - start), 0, 1)
    d = np.clip((t - lower) / (end - lower), 0, 1)
    height = rise_m * np.where(t < lower, 0.5 - 0.5 * np.cos(np.pi * u), 0.5 + 0.5 * np.cos(np.pi * d))
    acc = np.gradient(np.gradient(height, t), t)
    # A sensor offset, a drift and 3 mG of noise: the fit takes up the first two and averages the third.
    rng = np.random.default_rng(0)
    acc = acc + 0.2 + 0.003 * t + rng.normal(0.0, 0.03, len(t))
    fit = _fit_raise(t, acc, (2.3, 4.8, 5.7, 8.3))  # each ramp's span off by up to half a second
    assert np.allclose(fit.times, (start, top, lower, end), atol=0.2)
    assert abs(fit.rise_m - rise_m) < 0.15 * rise_m
    assert fit.snr > 6.0
    # The same search over the noise alone finds a "rise" too, but typically within three standard errors of zero.
    snrs = [
        _fit_raise(t, 0.2 + np.random.default_rng(seed).normal(0.0, 0.03, len(t)), (2.3, 4.8, 5.7, 8.3)).snr
        for seed in range(20)
    ]
    assert float(np.median(snrs)) < 3.0 and max(snrs) < 0.5 * fit.snr
    # A rhythm slot's fit may not rise inside the rep before it: held after a bound, it starts there at the
    # earliest and still finds most of the rise (a rise started 0.3 s early misses little of a 3 s ramp).
    early = _fit_raise(t, acc, (1.5, 4.8, 5.7, 8.3), reach_s=0.8)
    held = _fit_raise(t, acc, (1.5, 4.8, 5.7, 8.3), reach_s=0.8, not_before=2.3)
    assert early.times[0] < 2.3 <= held.times[0] < 2.5
    assert abs(held.rise_m - rise_m) < 0.25 * rise_m and held.snr > 0.8 * early.snr


def test_heel_height_inverts_the_ankle_rise() -> None:
    import math

    from calfsense.dsp import geometry as geo

    for deg in range(1, 60):
        pitch = math.radians(deg)
        assert geo.heel_height_from_ankle_rise_m(geo.ankle_rise_m(pitch)) == pytest.approx(
            geo.heel_height_from_pitch_m(pitch), rel=1e-9
        )
    assert geo.heel_height_from_ankle_rise_m(-0.01) == 0.0


def test_chest_phase_times_from_the_matched_fit() -> None:
    # Slow sets on a chest strap: phase times to a tenth of a second (median over four sessions), where the
    # double integration alone was off by 0.22-0.40 s in each of them; heights within 2 cm (median).
    timing: list[float] = []
    heights: list[float] = []
    for seed in (1, 2, 3, 4):
        plan = SetPlan("two-leg", 10, TEMPOS["article"], height_cm=8.0)
        sim = simulate(_one_set(plan), "chest", 100.0, seed=seed)
        m = match_reps(sim.reps, detect(sim.time_s, sim.acc_mg, "chest").reps)
        assert len(m.pairs) == 10
        timing += [abs(getattr(r, f) - getattr(t, f)) for t, r in m.pairs for f in ("start_s", "top_s", "end_s")]
        heights += [abs(r.height_cm - t.height_cm) for t, r in m.pairs if r.height_cm is not None]
    assert float(np.median(timing)) <= 0.1
    assert float(np.median(heights)) <= 2.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chest_heavy_slow_reps_end_where_the_lowering_does(seed: int) -> None:
    # The band-passed lift leads a 3 s lowering by about 1.5 s: a rep ended at its minimum was emitted
    # before the user had finished lowering, its end 0.6-0.9 s early (median) and its lowering as short.
    # Now the median error is 0.12-0.40 s over seeds 0-11 (0.32 s for seed 1).
    plan = SetPlan("two-leg", 8, TEMPOS["hsr"], height_cm=8.0)
    sim = simulate(_one_set(plan, 3.0, 10.0), "chest", 100.0, seed=seed, noise_mg=2.0)
    m = match_reps(sim.reps, detect(sim.time_s, sim.acc_mg, "chest").reps)
    assert len(m.pairs) >= 6 and not m.false
    assert float(np.median([abs(r.end_s - t.end_s) for t, r in m.pairs])) <= 0.4
    assert float(np.median([abs(r.down_s - (t.end_s - t.lower_s)) for t, r in m.pairs])) <= 0.4


def test_chest_finds_a_heavy_slow_sets_first_rep() -> None:
    # A set's first heavy-slow rep band-passes to a 1 cm rise (nothing before it to rise from) and a
    # 2-3 cm fall: entered only on its rise, it was missed in 5 of these 8 sets; entered on its fall too, 2.
    found = 0
    for seed in range(8):
        plan = SetPlan("two-leg", 6, TEMPOS["hsr"], height_cm=8.0)
        sim = simulate(_one_set(plan, 6.0, 8.0), "chest", 100.0, seed=seed, noise_mg=2.0)
        m = match_reps(sim.reps, detect(sim.time_s, sim.acc_mg, "chest").reps)
        found += any(t is sim.reps[0] for t, _ in m.pairs)
    assert found >= 6


def _chest_set(tempo: str, reps: int, height_cm: float, seed: int) -> Simulation:
    """One chest set at 100 Hz, with 4 s of standing before it and 12 s after."""
    plan = SetPlan("two-leg", reps, TEMPOS[tempo], height_cm=height_cm)
    return simulate(_one_set(plan, 4.0, 12.0), "chest", 100.0, seed=seed)


def _chest_totals(sims: list[Simulation]) -> tuple[int, int]:
    """Reps found and false reps over chest sessions."""
    per_session = _chest_found_and_false(sims)
    return sum(t for t, _ in per_session), sum(f for _, f in per_session)


def test_chest_slow_set_searches_where_its_rhythm_puts_a_missed_rep(monkeypatch: pytest.MonkeyPatch) -> None:
    # At 3-8 mG of noise the band-passed lift misses a heavy-slow rep now and then (16 of these 288); the
    # matched fit finds most where the set's rhythm puts them (9 here). Searching the rest after a set where
    # its rhythm puts the next rep costs 2 false reps in these 24 rests, counting weak lifts the trunk
    # tilts with one more, and fitting a slot only between its neighbours one more (seed 1, which also
    # gains a true rep). Seed 9's trunk tips only 1 degree a rep: its set's first rep fails the slow
    # opener's tilt check and the second the posture check (285 found, 7 false; 3 false without slots).
    sims = [_chest_set("hsr", 12, 7.0, seed) for seed in range(24)]
    found, false = _chest_totals(sims)
    # The module, not the `detect` function the package exports under the same name.
    monkeypatch.setattr(importlib.import_module("calfsense.dsp.detect"), "_SLOT_MIN_CYCLE_S", float("inf"))
    found_without, false_without = _chest_totals(sims)
    assert found >= found_without + 6 and found >= 279  # of 288
    assert false <= false_without + 4


def _chest_found_and_false(sims: list[Simulation]) -> list[tuple[int, int]]:
    """(true reps found, false reps) per session, chest."""
    matches = [match_reps(sim.reps, detect(sim.time_s, sim.acc_mg, "chest").reps) for sim in sims]
    return [(len(m.pairs), len(m.false)) for m in matches]


def _assert_more_found_and_same_in_blocks(sims: list[Simulation], name: str, off: object, gain: int) -> None:
    """With the module's `name` as is, at least `gain` more true reps than with it `off`, no more false; same in blocks.

    `name` is a constant, or a function that `off` replaces with its former behaviour.
    """
    with_it = _chest_found_and_false(sims)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(importlib.import_module("calfsense.dsp.detect"), name, off)
        without = _chest_found_and_false(sims)
    assert sum(t for t, _ in with_it) >= sum(t for t, _ in without) + gain
    assert sum(f for _, f in with_it) <= sum(f for _, f in without) + 1
    gained = [sim for sim, a, b in zip(sims, with_it, without, strict=True) if a[0] > b[0]]
    for sim in gained[:3]:
        assert _feed_in_blocks(sim, [7], "chest") == _feed_in_blocks(sim, None, "chest")


def test_chest_a_lone_slow_rep_gives_the_rhythm_to_search_before_the_next() -> None:
    # 32 twelve-rep heavy-slow sets at 50 Hz: where the lift misses the reps after a set's first found one, the
    # next found rep lies a whole number of cycles of that lone rep later, and the slots between are searched.
    plan = SetPlan("single-leg", 12, TEMPOS["hsr"], height_cm=4.5)
    sims = [simulate(_one_set(plan, 4.0, 10.0), "chest", 50.0, seed=seed) for seed in range(32)]
    _assert_more_found_and_same_in_blocks(sims, "_LONE_PAUSE_FRAC", -1.0, 8)  # 279 and 264 true, 15 false, when written


def test_chest_a_slow_set_opener_has_the_slot_a_cycle_before_it_searched() -> None:
    # 24 eight-rep heavy-slow sets at 100 Hz: a slow set's first rep is often the one its lift misses; a rep as
    # strong as an opener, tipping the trunk the opener's way, a cycle before it opens the set instead.
    plan = SetPlan("single-leg", 8, TEMPOS["hsr"], height_cm=5.0)
    sims = [simulate(_one_set(plan, 4.0, 10.0), "chest", 100.0, seed=seed) for seed in range(24)]
    _assert_more_found_and_same_in_blocks(sims, "_BACK_MIN_S", math.inf, 8)  # 170 and 155 true, 11 false, when written


def test_chest_a_slot_between_two_reps_is_fitted_only_up_to_the_next() -> None:
    # 24 twelve-rep heavy-slow sets at 100 Hz: a rep the lift missed between two found ones is fitted on the
    # data between them; a lowering free to run on took in the next rep's rise and then overlapped it.
    mod = importlib.import_module("calfsense.dsp.detect")
    fit = mod._fit_rep

    def unbounded(
        tt: np.ndarray,
        acc: np.ndarray,
        phases: tuple[float, ...],
        reach_s: float,
        not_before: float = -math.inf,
        _: float = math.inf,
    ) -> tuple[float, tuple[float, float, float, float], float]:
        return fit(tt, acc, phases, reach_s, not_before)  # no bound at the end

    plan = SetPlan("single-leg", 12, TEMPOS["hsr"], height_cm=5.0)
    sims = [simulate(_one_set(plan, 4.0, 10.0), "chest", 100.0, seed=seed) for seed in range(24)]
    _assert_more_found_and_same_in_blocks(sims, "_fit_rep", unbounded, 4)  # 250 and 244 true, 7 false, when written


@pytest.mark.parametrize(("tempo", "reps", "height_cm", "seed"), [("hsr", 12, 7.0, 11), ("article", 8, 6.0, 0)])
def test_chest_rhythm_search_and_ringing_give_the_same_reps_in_any_blocks(
    tempo: str, reps: int, height_cm: float, seed: int
) -> None:
    # Heavy-slow, seed 11: two reps only the rhythm search finds, one when the set goes quiet and one held
    # back until the rep after it (its slot is searched a step later, so no block holds two fits). The
    # article's tempo, seed 0: the ringing after the set's last rep is rejected (its model is computed a
    # step after the rep).
    sim = _chest_set(tempo, reps, height_cm, seed)
    whole = _feed_in_blocks(sim, None, "chest")
    assert len(whole) == reps
    assert _feed_in_blocks(sim, [1], "chest") == whole
    rng = np.random.default_rng(7)
    assert _feed_in_blocks(sim, rng.integers(1, 300, 60).tolist(), "chest") == whole


def test_chest_slow_rep_ringing_is_not_another_rep(monkeypatch: pytest.MonkeyPatch) -> None:
    # After a slow rep the lift's high-pass filters ring, and their recovery looks like a small rise right
    # after it. Knowing each counted rep's ringing, a "rep" made of it has to stand out like a set's first.
    # The set's tilt test also turns most of these down, so it is off on both sides: this measures the ringing.
    sims = [_chest_set("article", 8, 6.0, seed) for seed in range(16)]
    mod = importlib.import_module("calfsense.dsp.detect")
    monkeypatch.setattr(mod, "_NEXT_TILT_SNR", 0.0)
    found, false = _chest_totals(sims)
    monkeypatch.setattr(mod.Detector, "_echo_at", lambda self, idx: 0.0)
    found_without, false_without = _chest_totals(sims)
    assert found == found_without == 128  # every rep, with or without
    assert false <= false_without - 3  # 6 and 11 (with the tilt test on: 6 and 7)


def test_chest_slow_set_counts_a_weak_lift_where_the_trunk_tilts_as_in_its_reps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A chest strap tips 1.5-5 degrees with each raise, far above the tilt noise, where a heavy-slow rep's lift
    # is near the noise at 50 Hz. In a rhythm slot, a lift of 2 standard errors counts if the trunk tipped with
    # it like the set's reps. Eight 25-rep single-leg sets: 188 of 200 found with it, 178 without.
    plan = SetPlan("single-leg", 25, TEMPOS["hsr"], height_cm=5.0)
    sims = [simulate(_one_set(plan, 4.0, 12.0), "chest", 50.0, seed=seed) for seed in range(8)]
    found, false = _chest_totals(sims)
    monkeypatch.setattr(importlib.import_module("calfsense.dsp.detect"), "_SLOT_TILT_T", math.inf)
    found_without, false_without = _chest_totals(sims)
    assert found >= found_without + 6 and found >= 185
    assert false <= false_without + 3  # 5 and 3 when written


def test_chest_standing_still_at_25_hz_opens_no_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    # At 25 Hz and 8 mG of noise, standing still or swaying makes a slow rep-sized wave in the lift every few
    # minutes. A slow rise of the trunk tips it with the raise; noise does not. And a faint opener is only
    # reported once a rep tilting the same way confirms its set. 24 two-minute sessions.
    kinds = ("idle", "sway")
    sims = [simulate([Segment(kind, 120.0)], "chest", 25.0, seed=seed) for kind in kinds for seed in range(12)]
    mod = importlib.import_module("calfsense.dsp.detect")

    def false_reps() -> int:
        return sum(len(detect(sim.time_s, sim.acc_mg, "chest").reps) for sim in sims)

    found = false_reps()
    monkeypatch.setattr(mod, "_HOLD_SNR", 0.0)
    monkeypatch.setattr(mod, "_OPEN_HOLD_SNR", 0.0)
    without_hold = false_reps()
    monkeypatch.setattr(mod, "_OPEN_TILT_DEG", -math.inf)
    without_either = false_reps()
    assert found <= 4 and without_hold >= found + 6  # 2 and 14 (2 and 12 before the simulator's sway was smoothed)
    assert without_either >= without_hold + 30  # 62 (60 before)


def test_thigh_standing_still_at_25_hz_opens_no_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    # At 25 Hz a thigh's sway, timed like a slow raise, tilts it 1.2-1.4 degrees with a matched fit of 4-8
    # standard errors, or a "lift" of 1-2 cm. A set's first rep must lift 2 cm and stand out like the chest's
    # openers (8 standard errors). 100 two-minute sessions.
    sims = [simulate([Segment("idle", 120.0)], "thigh", 25.0, seed=seed) for seed in range(100)]
    mod = importlib.import_module("calfsense.dsp.detect")

    def false_reps() -> int:
        return sum(len(detect(sim.time_s, sim.acc_mg, "thigh").reps) for sim in sims)

    found = false_reps()
    monkeypatch.setitem(mod.PARAMS, "thigh", dataclasses.replace(mod.PARAMS["thigh"], open_min_cm=0.0))
    monkeypatch.setattr(mod, "_OPEN_MIN_SNR", mod._FIT_MIN_SNR)
    assert found <= 2 and false_reps() >= found + 10  # 1 and 17


def test_chest_a_faint_rep_in_a_set_must_tip_the_trunk_the_sets_way(monkeypatch: pytest.MonkeyPatch) -> None:
    # 30 three-rep sets at the article's tempo at 25 Hz, each followed by 12 s of standing: the noise makes
    # rep-sized waves in the lift inside and after the set, and a faint one joined the set. The trunk did not
    # tip with it as with the set's reps. The test is strict (6 standard errors, up to 14.5 of lift) and costs
    # a few true reps here, where on 700 tuning sessions it gains 10 sets at 25 Hz (docs, twenty-first round).
    plan = SetPlan("two-leg", 3, TEMPOS["article"], height_cm=6.0)
    sims = [simulate(_one_set(plan, 4.0, 12.0), "chest", 25.0, seed=seed) for seed in range(30)]

    true, false = _chest_totals(sims)
    monkeypatch.setattr(importlib.import_module("calfsense.dsp.detect"), "_NEXT_TILT_SNR", 0.0)
    true_without, false_without = _chest_totals(sims)
    assert false <= 11 and false_without >= false + 10  # 9 and 22 (14 and 22 with the old, 1.5 and 10)
    assert true >= true_without - 5  # 75 and 79 (80 and 79 with the old)


def test_chest_a_rep_fitted_before_the_data_began_is_not_measured() -> None:
    # An eccentric rep at 25 Hz whose lift candidate's fit started before the first sample: its tilt was
    # read from no samples at all (a mean of an empty slice, a warning, here an error) before it was rejected.
    plan = SetPlan("two-leg", 1, TEMPOS["eccentric"], height_cm=6.0)
    sim = simulate(_one_set(plan, 4.0, 12.0), "chest", 25.0, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detect(sim.time_s, sim.acc_mg, "chest")


def test_chest_a_faint_set_opener_is_reported_with_the_rep_that_confirms_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # An eight-rep set at the article's tempo at 25 Hz: its first rep's lift is under 20 standard errors and it
    # tips the trunk under 1.6 degrees, so it waits for the second rep; then both are reported, in order, in
    # one block. Fed whole, the same reps come out.
    plan = SetPlan("two-leg", 8, TEMPOS["article"], height_cm=5.0)
    sim = simulate(_one_set(plan, 4.0, 12.0), "chest", 25.0, seed=4)

    def blocks_of_first_two() -> list[int]:
        det = Detector("chest")
        seen: list[int] = []
        for k, i in enumerate(range(0, len(sim.time_s), 9)):
            reps = det.feed(sim.time_s[i : i + 9], sim.acc_mg[i : i + 9])
            seen += [k for rep in reps if rep.set_index == 1 and rep.index <= 2]
            if not seen:
                assert det.session().reps == ()  # nor does the session show it while it waits
        return seen[:2]

    held = blocks_of_first_two()
    assert len(held) == 2 and held[0] == held[1]
    whole = detect(sim.time_s, sim.acc_mg, "chest").reps
    assert len(match_reps(sim.reps, whole).pairs) == 8
    assert _feed_in_blocks(sim, [9], "chest") == _feed_in_blocks(sim, None, "chest")
    mod = importlib.import_module("calfsense.dsp.detect")
    monkeypatch.setattr(mod, "_HOLD_SNR", 0.0)
    monkeypatch.setattr(mod, "_OPEN_HOLD_SNR", 0.0)
    at_once = blocks_of_first_two()
    assert at_once[0] < at_once[1] and at_once[1] == held[1]


def test_chest_a_faint_rep_found_in_rhythm_waits_for_a_later_rep() -> None:
    # 32 twelve-rep heavy-slow single-leg sets at 25 Hz: after a set's last rep its rhythm search finds a
    # faint "rep" in the noise now and then. A faint rep the search finds is reported only once a later rep
    # in its set confirms it, so after the set's last one it is not: 15 false reps instead of 23, and 264 of
    # the 384 true reps instead of 265 (when written).
    plan = SetPlan("single-leg", 12, TEMPOS["hsr"], height_cm=5.0)
    sims = [simulate(_one_set(plan, 4.0, 12.0), "chest", 25.0, seed=seed) for seed in range(32)]
    found, false = _chest_totals(sims)
    mod = importlib.import_module("calfsense.dsp.detect")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mod.Detector, "_drop_held_tail", lambda self: self._held_tail.clear())  # kept, as before
        found_kept, false_kept = _chest_totals(sims)
    assert found >= found_kept - 2 and found >= 260
    assert false <= false_kept - 5
    # The article's tempo, seed 31: three faint reps in a row wait for the set's eighth; all four come out in
    # the 9-sample block that holds it, in order, and what waits is in neither the output nor the session.
    sim = simulate(
        _one_set(SetPlan("single-leg", 12, TEMPOS["article"], height_cm=5.0), 4.0, 12.0), "chest", 25.0, seed=31
    )
    det = Detector("chest")
    blocks: list[list[Rep]] = []
    for i in range(0, len(sim.time_s), 9):
        blocks.append(det.feed(sim.time_s[i : i + 9], sim.acc_mg[i : i + 9]))
        assert list(det.session().reps) == [rep for block in blocks for rep in block]
    big = max(blocks, key=len)
    assert [rep.index for rep in big] == [5, 6, 7, 8]
    assert [rep.start_s for rep in big] == sorted(rep.start_s for rep in big)
    assert [rep for block in blocks for rep in block] == _feed_in_blocks(sim, None, "chest")
    assert _feed_in_blocks(sim, [1], "chest") == _feed_in_blocks(sim, None, "chest")


def test_chest_two_quick_reps_run_together_are_split() -> None:
    # 24 twenty-rep sets at the heel-rise-endurance tempo (1 s up, 1 s down) at 25 Hz, three in ten reps partial:
    # a partial rep and the full one right after it can make one slow "rep" in the band-passed lift, which
    # the set's tilt test then turned down, and both were lost. A "rep" 1.6 times as long as the set's is
    # fitted as two with the set's tempo: 478 of 480 found instead of 465, with 1 false rep instead of 0
    # (when written).
    plan = SetPlan("two-leg", 20, TEMPOS["hret"], height_cm=7.0, partial_prob=0.3)
    sims = [simulate(_one_set(plan, 4.0, 10.0), "chest", 25.0, seed=seed) for seed in range(24)]
    _assert_more_found_and_same_in_blocks(sims, "_SPLIT_MIN", math.inf, 8)


def test_chest_a_strong_fit_in_a_rhythm_slot_counts_a_partial_rep() -> None:
    # 24 twenty-rep eccentric sets at 50 Hz, three in ten reps partial: a rep the rhythm search fits at 20 standard
    # errors or more counts down to 0.3 of the set's height instead of half. 474 of 480 found instead of 473,
    # 2 false reps either way (when written).
    plan = SetPlan("two-leg", 20, TEMPOS["eccentric"], height_cm=7.0, partial_prob=0.3)
    sims = [simulate(_one_set(plan, 4.0, 10.0), "chest", 50.0, seed=seed) for seed in range(24)]
    _assert_more_found_and_same_in_blocks(sims, "_SLOT_STRONG_SNR", math.inf, 1)


def test_chest_rhythm_search_never_joins_two_sets() -> None:
    # 80 sessions of two slow sets (3 and 8 reps; heavy-slow, article or eccentric; 25-100 Hz) 12 s apart. A rep
    # after more missed cycles than a set's end is searched for begins the next set; the slots once spread over
    # that rest found "reps" in it and joined the sets: 16 sessions with two true sets in one detected set
    # before, 12 after (false reps in the rest join the others, when written).
    merged = 0
    for seed in range(80):
        tempo = TEMPOS[("hsr", "article", "eccentric")[seed % 3]]
        plans = [SetPlan("two-leg", n, tempo, height_cm=7.0, fatigue=0.2, partial_prob=0.06) for n in (3, 8)]
        first, second = plans[::-1] if seed % 2 else plans
        segments = [
            Segment("idle", 3.0),
            Segment("set", set_plan=first),
            Segment("idle", 12.0),
            Segment("set", set_plan=second),
            Segment("idle", 12.0),
        ]
        sim = simulate(segments, "chest", (25.0, 50.0, 100.0)[seed % 3], seed=seed)
        pairs = match_reps(sim.reps, detect(sim.time_s, sim.acc_mg, "chest").reps).pairs
        true_sets: dict[int, set[int]] = {}  # detected set -> the true sets of its reps
        for truth, rep in pairs:
            true_sets.setdefault(rep.set_index, set()).add(truth.set_index)
        merged += any(len(v) > 1 for v in true_sets.values())
    assert merged <= 12


def _shifts_between_sets(placement: str, seeds: range) -> int:
    """False reps in 40 s of shifting weight between two 8-rep sets at 25 Hz (quick to heavy-slow tempos)."""
    found = 0
    for seed in seeds:
        plan = SetPlan("two-leg", 8, TEMPOS[("fast", "hret", "article", "hsr")[seed % 4]], height_cm=7.0)
        segs = _two_sets(plan, plan, 4.0, 6.0)
        segs[2:3] = [Segment("idle", 4.0), Segment("weight_shift", 40.0), Segment("idle", 4.0)]
        sim = simulate(segs, placement, 25.0, seed=seed)
        ((_, s0, s1),) = sim.confusers
        found += sum(1 for r in detect(sim.time_s, sim.acc_mg, placement).reps if s0 - 1.0 <= r.start_s <= s1 + 1.0)
    return found


@pytest.mark.parametrize(("placement", "most", "without"), [("chest", 12, 19), ("shin", 5, 9)])
def test_a_set_opener_tipping_sideways_to_the_last_sets_reps_is_a_weight_shift(
    placement: str, most: int, without: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shifting weight from foot to foot while resting rolls the segment sideways to the way the set's raises
    # tipped it: as a set's first rep it is not counted. 40 sessions: chest 11 false reps instead of 21, shin 4
    # instead of 10 (when written; on seeds 0-23 the chest gave 8 instead of 9, the shin 13 instead of 20).
    assert _shifts_between_sets(placement, range(24, 64)) <= most
    monkeypatch.setattr(importlib.import_module("calfsense.dsp.detect"), "_SIDEWAYS_DEG", math.inf)
    assert _shifts_between_sets(placement, range(24, 64)) >= without


def _turned_between_sets(placement: str, seed: int, deg: float, handled: bool) -> tuple[int, int]:
    """Two 10-rep sets; between them the sensor is turned `deg` (about gravity after handling it, else any axis)."""
    plan = SetPlan("two-leg", 10, TEMPOS[("fast", "hret", "article")[seed % 3]], height_cm=8.0)
    rest = [Segment("idle", 4.0), Segment("strap", 6.0), Segment("idle", 10.0)] if handled else [Segment("idle", 20.0)]
    segs = [Segment("idle", 3.0), Segment("set", set_plan=plan), *rest, Segment("set", set_plan=plan)]
    sim = simulate([*segs, Segment("idle", 6.0)], placement, (25.0, 50.0, 100.0)[seed % 3], seed=seed)  # type: ignore[arg-type]
    t0 = sim.sets[0].end_s + 10.0  # after the handling, or mid-rest
    rng = np.random.default_rng(seed)
    if handled:  # about the gravity before the turn: the posture is kept, only the way the raises tip moves
        axis = sim.acc_mg[(sim.time_s > sim.sets[0].end_s) & (sim.time_s < sim.sets[0].end_s + 3.0)].mean(axis=0)
    else:
        axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    th = math.radians(deg)
    turn = np.eye(3) + math.sin(th) * k + (1.0 - math.cos(th)) * k @ k
    acc = sim.acc_mg.copy()
    acc[sim.time_s >= t0] = acc[sim.time_s >= t0] @ turn.T
    found = detect(sim.time_s, acc, placement).reps  # type: ignore[arg-type]
    pairs = match_reps(sim.reps, found).pairs
    return sum(1 for t, _ in pairs if t.set_index == 0), sum(1 for t, _ in pairs if t.set_index == 1)


@pytest.mark.parametrize("placement", ["foot", "shin", "thigh", "chest"])
def test_a_sensor_put_back_on_turned_between_sets_counts_the_next_set(placement: str) -> None:
    # Refastened 90 degrees round about any axis while the detector waited out the handling, a foot, shin or thigh
    # sensor sat in a "candidate" beyond any raise that had never moved, so never became the new posture: the
    # next set was lost (at the shin in 8 of 12 sessions when written). The chest's lift does not see it.
    for seed in range(6):
        assert _turned_between_sets(placement, seed, 90.0, handled=False) == (10, 10), seed
    # Handled, then turned about gravity: the last set's tilt direction is dropped, so the weight shifts' rule
    # cannot turn the next set's first rep down (it did, in 11 of 12 sessions, without `_MOVED_MG`).
    for seed in range(3):
        assert _turned_between_sets(placement, seed, 90.0, handled=True) == (10, 10), seed


def test_sets_grouped_right_sees_joined_and_split_sets() -> None:
    # Two 3-rep foot sets counted right; the same reps put in one set, or the first set's last rep in a set
    # of its own, are not grouped right.
    sim = simulate(_two_sets(SetPlan(reps=3), SetPlan(reps=3), 12.0, 5.0), "foot", 100.0, seed=1)
    found = detect(sim.time_s, sim.acc_mg, "foot").reps
    assert sets_grouped_right(sim.reps, found) == [True, True]
    assert sets_grouped_right(sim.reps, [dataclasses.replace(r, set_index=1) for r in found]) == [False, False]
    split = [dataclasses.replace(r, set_index=9) if i == 2 else r for i, r in enumerate(found)]
    assert sets_grouped_right(sim.reps, split) == [False, True]


def test_trapezoid_fit_measures_a_raise_shaped_tilt() -> None:
    # 2 degrees up over 3 s, held 0.5 s, down over 3 s, on a drifting offset with noise; the best of the shifted
    # shapes is the true one, and a tilt the other way comes out negative.
    mod = importlib.import_module("calfsense.dsp.detect")
    tt = np.arange(0.0, 10.0, 0.08)
    up = np.clip((tt - 2.0) / 3.0, 0, 1)
    down = np.clip((tt - 5.5) / 3.0, 0, 1)
    shape = np.where(tt < 5.0, 0.5 - 0.5 * np.cos(np.pi * up), 0.5 + 0.5 * np.cos(np.pi * down))
    noise = np.random.default_rng(0).normal(0.0, 0.1, len(tt))
    shapes = [(2.0 + d, 5.0 + d, 5.5 + d, 8.5 + d) for d in (-0.6, 0.0, 0.6)]
    amp, snr = mod._trapezoid_fit(tt, 3.0 + 0.05 * tt + 2.0 * shape + noise, shapes)
    assert amp == pytest.approx(2.0, abs=0.1) and snr > 20
    amp, _ = mod._trapezoid_fit(tt, -2.0 * shape + noise, shapes)
    assert amp < -1.0
    amp, snr = mod._trapezoid_fit(tt, noise, shapes)
    assert abs(amp) < 0.15 and snr < 5


def test_fit_of_a_rep_ends_before_the_next_rises() -> None:
    # Two 4 cm rises 0.2 s apart (3 s up, 0.5 s held, 3 s down), noiseless: the end of the first one's lowering
    # and the start of the next rise both accelerate upwards, so a fit free to end anywhere within its reach
    # stretches the lowering into the next rep; told where the next one starts, it ends where the rep did.
    mod = importlib.import_module("calfsense.dsp.detect")
    tt = np.arange(0.0, 16.0, 1.0 / mod.GRID_HZ)

    def rise_m(start: float) -> np.ndarray:
        up = np.clip((tt - start) / 3.0, 0.0, 1.0)
        down = np.clip((tt - start - 3.5) / 3.0, 0.0, 1.0)
        return 0.02 * (np.cos(np.pi * down) - np.cos(np.pi * up))

    acc = np.gradient(np.gradient(rise_m(2.0) + rise_m(8.7), tt), tt)
    lagged = tt + mod._DELAY_S  # the low-passed |a| lags the movement
    guess = (2.3, 5.2, 5.8, 8.8)
    _, (_, _, _, free_end), _ = mod._fit_rep(lagged, acc, guess, 0.8, 1.0)
    _, (start, top, lower, end), _ = mod._fit_rep(lagged, acc, guess, 0.8, 1.0, 8.7 + 0.3)
    assert free_end > 8.7 + 0.3
    assert (start, top, lower, end) == pytest.approx((2.0, 5.0, 5.5, 8.5), abs=0.06)


def test_chest_weight_shifts_are_rocking_not_a_set(monkeypatch: pytest.MonkeyPatch) -> None:
    # Shifting weight from foot to foot rolls the trunk 4 degrees each way; with the sensor's bias tipping
    # with it, each cycle can look like a slow 2-5 cm lift. Such a "rep" starts tilted away from the posture
    # stood in before, on the side opposite its top, and a raise does not. Two minutes each, 100 and 200 Hz.
    segs = [Segment("idle", 3.0), Segment("weight_shift", 110.0), Segment("idle", 7.0)]
    sims = [simulate(segs, "chest", hz, seed=seed) for hz in (100.0, 200.0) for seed in range(12)]

    def false_reps() -> int:
        return sum(len(detect(sim.time_s, sim.acc_mg, "chest").reps) for sim in sims)

    found = false_reps()
    monkeypatch.setattr(importlib.import_module("calfsense.dsp.detect"), "_BEHIND_DEG", math.inf)
    found_without = false_reps()
    assert found <= 5 and found_without >= found + 25  # 5 and 34 when written


@pytest.mark.parametrize(("placement", "most_false"), [("foot", 0), ("shin", 10)])
def test_a_recording_that_starts_mid_set_is_not_counted_from_there(placement: str, most_false: int) -> None:
    # The tilt baseline is the data's first half second. Cut into a set, that is mid-rep: counted from it,
    # each lowering and the next rise were two reps (37 false foot reps and 29 shin reps here before). Now the detector
    # waits to see rest first, and the set in progress is not counted; the next set counts in full.
    found_false = 0
    for tempo in ("article", "fast", "hsr"):
        plan = SetPlan("two-leg", 12, TEMPOS[tempo], height_cm=6.0)
        segs = _one_set(plan, 3.0, 5.0) + [Segment("set", set_plan=plan), Segment("idle", 5.0)]
        sim = simulate(segs, placement, 100.0, seed=3)
        for cut_s in (5.0, 10.0, 15.0, 20.0):
            keep = sim.time_s >= cut_s
            det = Detector(placement)  # type: ignore[arg-type]
            assert not det.ready
            reps = det.feed(sim.time_s[keep], sim.acc_mg[keep]) + det.finish()
            assert det.ready
            m = match_reps(sim.reps, reps)
            found_false += len(m.false)
            assert sum(1 for t, _ in m.pairs if t.set_index == 1) == 12
    assert found_false <= most_false


def test_counting_starts_after_a_moment_at_rest() -> None:
    # From the start of the data the tilt path counts once it has seen the segment calm for 2 s; the chest's
    # lift needs no rest orientation.
    sim = simulate([Segment("idle", 4.0)], "shin", 100.0, seed=1)
    det = Detector("shin")
    early = sim.time_s < 2.0
    det.feed(sim.time_s[early], sim.acc_mg[early])
    assert not det.ready
    det.feed(sim.time_s[~early], sim.acc_mg[~early])
    assert det.ready
    assert Detector("chest").ready


def test_chest_rhythm_search_never_reaches_before_the_history() -> None:
    # Two long heavy-slow sets at 50 Hz (a tuning-style session): a rep came two cycles late, and one of
    # the slots between was searched 32 s after it, before the 30 s of history kept. The fit then had no
    # data for the rise, and the rep it made had no orientation to measure its tilt from.
    def plan(reps: int, height_cm: float, fatigue: float) -> SetPlan:
        return SetPlan("two-leg", reps, TEMPOS["hsr"], height_cm, fatigue, partial_prob=0.06, lean_prob=0.06)

    segs = [
        Segment("idle", 3.0),
        Segment("set", set_plan=plan(30, 7.281862556587152, 0.19750038035229706)),
        Segment("idle", 12.0),
        Segment("set", set_plan=plan(20, 8.112706683560148, 0.051709069908518236)),
        Segment("idle", 12.0),
    ]
    sim = simulate(segs, "chest", 50.0, seed=2557)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a mean of no samples
        reps = detect(sim.time_s, sim.acc_mg, "chest").reps
    assert all(math.isfinite(r.peak_tilt_deg) and r.start_s >= 0.0 for r in reps)
    assert len(match_reps(sim.reps, reps).pairs) >= 40  # of 50


@pytest.mark.parametrize("seed", [9, 15])
def test_standing_thigh_set_with_small_tilts(seed: int) -> None:
    # A standing thigh pitches under 1.8 degrees with these raises (a low shank angle): such a small tilt
    # counts when the matched fit finds the thigh rising with it. The old 1.8-degree floor lost a rep here.
    plan = SetPlan("two-leg", 10, TEMPOS["article"], height_cm=5.0)
    sim = simulate(_one_set(plan), "thigh", 100.0, seed=seed)
    assert [len(s.reps) for s in detect(sim.time_s, sim.acc_mg, "thigh").sets] == [10]


@pytest.mark.parametrize(
    ("kind", "seed"), [("idle", 3000), ("idle", 3006), ("idle", 3036), ("sway", 3000), ("sway", 3006)]
)
def test_quiet_thigh_at_25_hz_makes_no_rep(kind: str, seed: int) -> None:
    # At 25 Hz sensor noise and sway gave these two-minute sessions a small, slow standing "rep" each: in
    # three, its matched fit finds a rise within four standard errors of zero (noise, not a raise); in two
    # (seed 3006), its start is extrapolated to before the first sample (the baseline was still forming).
    segs = (
        [Segment("idle", 120.0)]
        if kind == "idle"
        else [Segment("idle", 3.0), Segment(kind, 110.0), Segment("idle", 7.0)]
    )
    sim = simulate(segs, "thigh", 25.0, seed=seed)
    assert detect(sim.time_s, sim.acc_mg, "thigh").reps == ()


@pytest.mark.parametrize(("seed", "rate_hz"), [(6, 50.0), (8, 100.0), (18, 100.0), (27, 50.0)])
def test_chest_takes_no_rep_from_the_first_steps_of_a_walk(seed: int, rate_hz: float) -> None:
    # The activity level lags the first footfalls, so the chest's lift path ended a "rep" on them before
    # the walk restarted it; each of these sessions gave one.
    segs = [Segment("idle", 4.0), Segment("walk", 10.0), Segment("idle", 6.0)]
    sim = simulate(segs, "chest", rate_hz, seed=seed)
    assert detect(sim.time_s, sim.acc_mg, "chest").reps == ()
    # A bouncy set's turnarounds are sharp too, but not as sharp as footfalls: every rep still counts.
    plan = SetPlan("two-leg", 15, TEMPOS["bouncy"], height_cm=9.0)
    sim = simulate(_one_set(plan, 3.0, 3.0), "chest", rate_hz, seed=seed)
    assert [len(s.reps) for s in detect(sim.time_s, sim.acc_mg, "chest").sets] == [15]


@pytest.mark.parametrize("seed", [0, 3])
def test_thigh_heights_standing_and_seated_partial(seed: int) -> None:
    # Whether a thigh rep is seated is judged from its rise for its pitch, with its set. A standing raise
    # tipping the thigh 3-5 degrees once got the seated formula (heights 2-4 cm low), and a seated partial
    # rep under 3 degrees the standing one (0.01 cm for a true 3.3 cm, seed 0). Seed 3 showed both.
    plan = routine_session("thigh", ("two-leg", "single-leg", "seated"), reps=12, rng=np.random.default_rng(seed))
    sim = simulate(plan, "thigh", 200.0, seed=seed)
    m = match_reps(sim.reps, detect(sim.time_s, sim.acc_mg, "thigh").reps)
    assert len(m.pairs) >= 34  # 36 raises
    seated = {i for i, s in enumerate(sim.sets) if s.exercise == "seated"}
    errors: dict[bool, list[float]] = {True: [], False: []}
    for t, r in m.pairs:
        assert r.height_cm is not None
        errors[t.set_index in seated].append(abs(r.height_cm - t.height_cm))
    assert max(errors[True]) < 1.3, errors[True]  # from the thigh's pitch, partial reps included
    assert float(np.median(errors[False])) < 2.0, errors[False]  # from the rise (double integration)


@pytest.mark.parametrize(("seed", "rate_hz"), [(5198, 25.0), (5368, 200.0), (5388, 100.0), (5410, 200.0)])
def test_thigh_takes_no_rep_from_rocking_foot_to_foot(seed: int, rate_hz: float) -> None:
    # A weight shift rolls the thigh about 4 degrees each way, as far as a standing raise pitches it, and a
    # slow one escapes the lift check (trusted on quick ramps only). These made 6-9 reps each; each half
    # of the rocking tips opposite to the half before it, which no set of raises does.
    segs = [Segment("idle", 3.0), Segment("weight_shift", 110.0), Segment("idle", 7.0)]
    sim = simulate(segs, "thigh", rate_hz, seed=seed)
    assert detect(sim.time_s, sim.acc_mg, "thigh").reps == ()
