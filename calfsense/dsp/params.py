"""Every tunable of the detector, one frozen object per placement, and what each placement can see.

Placements differ only in these numbers (how much to trust tilt against lift, what a typical rep looks
like before the session shows its own, what is physically possible there), never in code paths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from calfsense.domain import Exercise, Placement
from calfsense.errors import PlacementError

PLACEMENT_NAMES: tuple[str, ...] = tuple(p.value for p in Placement)
GRID_HZ = 50.0  # every input is resampled to this grid (box means), whatever its rate
GAP_S = 0.35  # samples further apart than this are a gap: filters and the rep in flight restart
DEFAULT_REST_S = 8.0  # no rep for this long ends a set


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """The detector's parameters for one placement; see docs/detection.md for what each does."""

    # Evidence: how much of the combined signal is the tilt along the raise axis and how much the lift.
    tilt_weight: float
    lift_weight: float
    # A typical rep's tilt (deg) and band-passed lift (cm): before the session has shown its noise, each
    # channel's noise is taken as this over `prior_snr`.
    prior_tilt_deg: float
    prior_lift_cm: float
    # Physical plausibility: what no heel raise at this placement does.
    max_tilt_deg: float
    max_lift_cm: float = 20.0
    min_height_cm: float = 1.5  # a heel that rises less was not raised (a weight shift, a wobble)
    prior_snr: float = 40.0
    # No sensor and no body is quieter than this (each channel's noise never counts as less).
    tilt_noise_floor_deg: float = 0.05
    lift_noise_floor_cm: float = 0.05
    min_rep_s: float = 0.7  # two phases of 0.4 s at least, less what timing can be off (a walking step is 0.6 s)
    max_rep_s: float = 12.0
    max_phase_s: float = 5.0  # no top hold or part of a lowering lasts longer: a level held so long is a new posture
    max_rough_mg: float = 200.0  # content above `rough_hz` (smoothed): footsteps and handling, not a raise
    rough_hz: float = 6.0  # a raise, however quick, has nothing above this
    calm_after_s: float = 0.7  # and this long after it
    # A change of posture is like footsteps (nothing is in progress, the lift restarts after it at the new pose's
    # level): the segment tipped further from its pose over the last `posture_tau_s` than any raise tips it, until it
    # is within `posture_end` of that from its pose over the last `posture_settle_s`. (Sitting down swings a thigh's
    # |a| by tens of mG through scale errors: its band-passed lift swung 15 cm for seconds, swallowing the raises.)
    posture_tau_s: float = 1.5
    posture_settle_s: float = 0.5
    posture_end: float = 0.5
    # A raise that tilts a segment above the foot lifts it: at least this many cm per degree of tilt (a shank
    # tips at most a third of the foot's pitch, about 0.5 cm a degree, and a lean tips it without lifting;
    # a squat tips it 15-30 degrees and lowers it).
    min_lift_per_deg: float = 0.2
    # A rep rising this slowly or slower hardly tips the apparent gravity by its own acceleration (that grows as
    # 1 / rise time squared): its tilt is the segment's, and it lifts at least `min_lift_per_deg_slow` a degree.
    slow_rise_s: float = 1.2
    min_lift_per_deg_slow: float = 0.3
    height_from_tilt: bool = False  # the foot: heel height from its pitch about the ball of the foot
    # Segmentation, on the evidence in units of its noise.
    enter: float = 4.0  # rise from the last trough that opens a candidate (in standard deviations of the evidence)
    quiet_s: float = 1.0  # the noise is learned once nothing has moved for this long
    mean_tau_s: float = 6.0  # about a mean over this long (sway and lean over a rep's time are noise too)
    noise_rise_s: float = 30.0  # noise is learned quickly when it falls and slowly when it rises
    noise_fall_s: float = 3.0
    drop: float = 0.3  # fall from the peak, as a fraction of the rise, that starts the lowering
    end_level: float = 0.3  # back within this fraction of the rise above the trough: the lowering is done
    turn: float = 0.5  # rising again by this fraction of the rise before that: the lowering ended at the turn
    settle_s: float = 0.2  # judged this long after that (its measurement needs the data)
    settle_pace: float = 0.1  # ... once the lowering falls slower than this fraction of the pace it came down at
    # A would-be set opener heading past where it began is judged this long after its end: where the segment goes
    # on to shows a posture change (standing up). Others are judged at once.
    after_s: float = 0.3
    # A lowering the segmenter gave up on as slower than any (it stopped coming down fast enough) is measured this
    # much later: a slow one has come back by then, a posture change has not.
    return_wait_s: float = 1.0
    # Validation.
    open_min: float = 10.0  # a set's first rep rises at least this far above its noise
    open_tilt_snr: float = 20.0  # and its measured lift is clear, or its tilt alone this many tilt noises
    in_set_min: float = 0.35  # a later rep peaks at least this fraction of its set's median
    duration_spread: float = 3.0  # and lasts within this factor of its set's median rep
    # This many candidates in a row unlike the set's reps so far, but alike each other and no fewer than those
    # reps, are the set: its first reps were the odd ones (two reps merged, a movement before the set), and
    # the pattern re-forms around them.
    reform_run: int = 3
    return_frac: float = 0.3  # a rep ends within this fraction of its peak tilt from where it began
    tilt_floor_deg: float = 2.5  # ... or within this (sway and postural lean during a rep)
    lift_snr: float = 3.0  # a lift measured at this many standard errors is trusted for its direction
    # Whether a rep may show itself by its tilt alone, its lift unmeasured (too slow for the double integration
    # to tell from scale errors). Not on the chest: postural lean and breathing tip a trunk as far as a raise.
    tilt_alone: bool = True
    # Per-axis scale errors (real sensors: 6-10 %) make |a| change as a segment tips, a bias shaped like the tilt
    # that the lift's double integration cannot tell from a rise: part of its error. This is what is left of them
    # after the session's own scale model (orientation.py) as a fraction of gravity: how far the lift is trusted.
    scale_err: float = 0.05
    # Measurement (measure.py): a candidate is measured with the rest `pad_s` before its trough; its bottoms are
    # looked for within `bottom_reach_s` of its troughs, on a height that leaves out drift below `bottom_hp_hz`;
    # its measured ends may lie `end_reach_s` outside them; a ramp is timed between `ramp_lo` and `ramp_hi` of its
    # travel (then extended to its ends as a raised cosine).
    pad_s: float = 0.5
    bottom_reach_s: float = 0.4
    bottom_hp_hz: float = 0.1
    end_reach_s: float = 0.1
    ramp_lo: float = 0.1
    ramp_hi: float = 0.9
    resumed_s: float = 0.5  # a candidate starting this soon after data resumed from a gap was already under way
    # The accelerometer's scale (orientation.py): a second whose low-passed acceleration stays within `still_mg` of
    # its mean is still; each axis is pulled towards the mean scale as if by `scale_ridge` still seconds.
    still_mg: float = 15.0
    scale_ridge: float = 0.2
    # Filters and learning.
    lowpass_hz: float = 2.5  # the raise lives below this
    lift_hp_hz: float = 0.15  # the lift forgets bias and posture changes within a few seconds
    lift_settle_s: float = 2.0  # a lift started afresh (after footsteps, a gap) fades in over this
    drift_tau_s: float = 10.0  # at the bottom, the pose a rep's tilt is measured from follows the segment this slowly
    partial_frac: float = 0.7  # a rep under this fraction of its set's first reps' height is partial
    lean_deg: float = 3.0  # sideways tilt beyond this (or beyond 0.3 of the rep's tilt) is a lean
    # Look-back (lookback.py): when a rep opens a set, the movement within this many of its durations before it
    # whose tilt profile correlates with its own at `lookback_corr`, at `lookback_amp_lo`-`lookback_amp_hi` of its
    # amplitude, and passes as one of the set's reps, was the set's first rep.
    lookback_reps: float = 2.5
    lookback_corr: float = 0.85
    lookback_amp_lo: float = 0.4
    lookback_amp_hi: float = 2.0
    lookback_room: float = 0.7  # in a set: looked for only where this many of the rep's durations passed since the last
    lookback_scales: tuple[float, ...] = (0.7, 0.85, 1.0, 1.2, 1.4)  # a set's reps last within this of each other
    # `auto`: a placement whose reps tip the segment `foot_tilt_deg` or further is a foot (the foot pitches 20-50
    # degrees, a shank at most a third of that), named from the median of its first `auto_reps` reps.
    foot_tilt_deg: float = 15.0
    auto_reps: int = 3

    def with_(self, **changes: float | bool | int | tuple[float, ...]) -> DetectorParams:
        """A copy with some parameters changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


PARAMS: dict[str, DetectorParams] = {
    # The foot pitches 20-50 degrees with a raise (real: 41-49 at a full fast raise): tilt is its evidence.
    # Its lift is a small part: at such tilts |a| changes with the pose by more than the lift (scale errors).
    "foot": DetectorParams(
        tilt_weight=0.9,
        lift_weight=0.1,
        prior_tilt_deg=25.0,
        prior_lift_cm=4.0,
        max_tilt_deg=75.0,
        min_lift_per_deg=0.0,
        min_lift_per_deg_slow=0.0,
        height_from_tilt=True,
    ),
    # The shank tips only 2-8 degrees, irregularly (real CV 40 %); it rides up 3-8 cm with the ankle. Its tilt
    # leads: a slow rep's lift is buried in scale errors, and a quick one is clear at any weight.
    # It tips at most a third of the foot's pitch, and a lean adds some (a squat tips it 15-30 degrees).
    # Its lift is trusted further than the default `scale_err` (what tells a squat or a weight shift, which tips
    # it as far without rising): measured, false reps an hour of squats 68 -> 33 and of weight shifts 114 -> 87
    # (nominal), sets counted exactly as before within a set (docs/detection.md). The thigh likewise; not the chest: a
    # measured lift opens its sets, and a squat's rise would then open one.
    "shin": DetectorParams(
        tilt_weight=0.6, lift_weight=0.4, prior_tilt_deg=5.0, prior_lift_cm=4.0, max_tilt_deg=25.0, scale_err=0.02
    ),
    # The thigh tips 2-5 degrees standing (and with the knee's rise seated) and rides up with the ankle.
    "thigh": DetectorParams(
        tilt_weight=0.3, lift_weight=0.7, prior_tilt_deg=3.0, prior_lift_cm=4.0, max_tilt_deg=30.0, scale_err=0.02
    ),
    # The trunk tips 3-9 degrees, amid breathing and postural lean of a few degrees (real: up to 3.4 over
    # seconds, so a rep may end that far from where it began): the lift leads.
    "chest": DetectorParams(
        tilt_weight=0.3,
        lift_weight=0.7,
        prior_tilt_deg=4.0,
        prior_lift_cm=4.0,
        max_tilt_deg=20.0,
        tilt_floor_deg=5.0,
        tilt_alone=False,
        # No seated raise is seen from a chest: it waits until the trunk has all but settled after sitting down or
        # standing up (sooner, the end of sitting down read as a rep with a lift in one sit/stand cycle of four).
        posture_settle_s=1.5,
        posture_end=0.25,
    ),
    # Unknown: both, evenly, with the foot's tilt range allowed.
    "auto": DetectorParams(
        tilt_weight=0.5,
        lift_weight=0.5,
        prior_tilt_deg=8.0,
        prior_lift_cm=4.0,
        max_tilt_deg=75.0,
        min_lift_per_deg=0.0,
        min_lift_per_deg_slow=0.0,
    ),
}

# Which exercises each placement can see at all.
VISIBLE: dict[Placement, frozenset[Exercise]] = {
    Placement.FOOT: frozenset(Exercise),
    Placement.SHIN: frozenset(Exercise),
    Placement.THIGH: frozenset(Exercise),
    Placement.CHEST: frozenset({Exercise.TWO_LEG, Exercise.SINGLE_LEG}),  # sitting, the trunk does not move
}

# Rises this slow or slower are not counted at a placement, though it sees them: a 2 s rise lifts a chest strap
# at 2-5 mG, too little to measure its lift against scale errors, and its tilt alone is lean or breathing
# (bench/bench_accuracy.py, by tempo).
SLOW_RISE_S: dict[str, float] = {"chest": 2.0}


def visible_exercises(placement: str) -> frozenset[Exercise]:
    """The exercises a placement can see (`auto`: all of them, until it is known)."""
    return VISIBLE.get(Placement(placement), frozenset(Exercise)) if placement in PLACEMENT_NAMES else frozenset()


def rise_too_slow(placement: str, up_s: float) -> bool:
    """Whether a prescribed rise of `up_s` seconds is too slow for this placement to count reliably."""
    return up_s >= SLOW_RISE_S.get(placement, math.inf)


def check_visible(placement: str, exercise: str | None) -> None:
    """Raise PlacementError when a placement cannot see an exercise (a chest strap, seated)."""
    if exercise is None or placement == "auto":
        return
    if exercise not in visible_exercises(placement):
        raise PlacementError(
            f"a {placement} sensor cannot see a {exercise} calf raise",
            "wear the sensor on the shin or the shoe for seated raises",
        )
