"""Streaming heel-raise detection: reps, phases, tempo, height and form flags.

Pipeline (every stage causal, so a batch run is the streaming detector fed one block and gives
the same reps to the sample for any block split):

1. `resample`: input samples (any rate, jittered, with gaps) are linearly interpolated onto a
   global 50 Hz grid (t = k / 50). A hole longer than `GAP_S` is a gap: nothing is interpolated
   across it, the filters and the rep state restart after it, and a rep in progress is dropped.
2. `acc_clean`: a 2nd-order 3 Hz Butterworth low-pass (lfilter with carried state) and a
   dynamic-activity level (smoothed |a - lowpass| plus |lowpass| - 1 g), which is large when
   walking, running or adjusting the strap and tiny during heel raises.
3. `reps_detect`: the tilt of the low-passed acceleration away from a gravity baseline that is
   tracked only while resting (so top holds never drag it), in degrees. A hysteresis state
   machine (enter at 35 % of the set's reference tilt, leave below 12 % of the rep's peak)
   finds excursions; a turn back up on the way down splits bouncy reps.
4. `tempo_estimate`: phase times from the 10 % and 90 % crossings of the excursion, corrected
   to the ramp's true ends with a raised-cosine model and for the filter's group delay.
5. `height_estimate`: foot, heel height from foot pitch about the ball of the foot; shin and
   standing thigh, drift-controlled double integration of vertical acceleration between the rest
   points before and after the rep (zero velocity and zero height at both ends); chest, and a
   standing thigh with a small tilt, a matched least-squares fit of the rep's acceleration
   (`_fit_raise`), which also times the chest's phases; seated thigh, knee rise from thigh pitch.
   See `docs/detection.md` for the expected errors.
6. `sets_segment`: reps are grouped into sets by rest (8 s without a rep by default), by gaps
   longer than the rest, or by explicit `new_set()` calls (live mode).
7. Chest, slow sets (a cycle of 4 s or more): where the set's rhythm puts a rep and the lift found
   none, the matched fit searches that slot (`_search_slot`); a rep that comes a cycle late is held
   back until the slots before it are searched, so reps are still emitted in order.
8. Chest: each counted rep's ringing in the lift's high-pass filters is computed from its fit
   (`_add_echo`); a candidate whose own fall, without that ringing, is under the entry level must
   pass the strict check a set's first rep passes.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain, islice, pairwise
from statistics import median
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal

from calfsense.dsp import geometry as geo
from calfsense.errors import CalfsenseError, PlacementError

PlacementName = Literal["foot", "shin", "chest", "thigh", "auto"]
PLACEMENT_NAMES: tuple[str, ...] = ("foot", "shin", "chest", "thigh", "auto")
GRID_HZ = 50.0
GAP_S = 0.35
DEFAULT_REST_S = 8.0

_DT = 1.0 / GRID_HZ
_SETTLE_SAMPLES = int(0.3 * GRID_HZ)  # wait this long after a rep's end for its rest data
_BASE_LAG = int(1.5 * GRID_HZ)  # the rest baseline learns from samples this old
_NEW_POSTURE_TOP_S = 3.0  # held at the top longer than this: a new posture
_NEW_POSTURE_DOWN_S = 1.5  # held part-way down longer than this: a new posture
# Calm this long from the start of the data, it began at rest (a set holds still 1-1.5 s at its top).
_START_CALM_S = 2.0
_WARM_SAMPLES = int(0.5 * GRID_HZ)  # the first baseline is the mean of this many samples
_LOOKBACK_S = 3.0  # how far before an excursion is noticed its starting rest is searched for
# Chest lift path: the acceleration and both integrals are high-passed at this corner, so bias and noise
# drift die out within seconds. A lower corner keeps more of a heavy-slow rep but lets in more drift; at
# 3-8 mG of sensor noise 0.1 Hz counted best of 0.05, 0.07 and 0.1 Hz (docs/detection.md).
_LIFT_HP_HZ = 0.1
_LIFT_ALPHA = math.exp(-2 * math.pi * _LIFT_HP_HZ / GRID_HZ)
_FIT_REACH_S = 0.6  # how far the fit moves each phase time from its first estimate (from a double integration)
_FIT_REACH_TILT_S = 0.3  # the same from phase times measured on the tilt
_FIT_SPAN_STEP_S = 0.1  # the fit tries ramp spans this far apart (a parabola refines between them)
_FIT_EVERY = 2  # and ramp starts on every other grid sample (likewise refined)
_FIT_MIN_CM = 0.5  # a small standing tilt whose fitted rise is under this is sway, not a raise
# So is one whose fitted rise is within four standard errors of zero (the residual's spread taken as white
# noise): at 25 Hz an idle or swaying thigh otherwise shows a slow "rise" of 1-3 cm every half hour or so.
_FIT_MIN_SNR = 4.0
_FIT_PAD_S = 0.6  # rest on each side of a rep that the matched fit looks at
_LIFT_TROUGH_S = 2.5  # a lift is measured from the lowest point of the last 2.5 s
_MAX_RAMP_S = 5.0  # the slowest prescribed ramp is a 4 s lowering
# In a quick set, a "rep" this many times as long as the set's is two run together (a partial rep and the
# next, whose lift never fell in between): each is fitted within this of where the set's tempo puts it, and
# counts from this fraction of the set's height (partial reps keep 45 % or more).
_SPLIT_MIN = 1.6
_SPLIT_REACH_S = 0.3
_SPLIT_MIN_FRAC = 0.3
_LIFT_ENTER_CM = 1.2  # band-passed rise that starts a candidate (a raise lifts the trunk 3-7 cm)
_STEPS_HF_MG = 140.0  # smoothed content above 3 Hz: bouncy raises stay under 100 mG, walking passes 150 mG
# Thigh: the heel height its rise implies over the one its pitch implies if seated. Seated, the thigh turns
# about the hip and a mid-thigh sensor rises half as much as the knee (about 0.5); standing, it rides up
# with the ankle while tipping only 1-5 degrees (about 2). Tuning seeds: seated p95 0.91, standing p5 0.9-1.1.
_SEATED_MAX_RATIO = 1.0
_ROCK_GAP_S = 1.5  # an excursion starting this soon after the last one ends continues its movement
_ROCK_DOT = -0.5  # directions (unit tilt axes) this opposed are the two halves of a rocking movement
_ROCK_SIZE = 0.6  # if their sizes match this well (a raise's small back-swing is not the other half)
_TAIL_MIN_S = 1.4  # lift path: a wave this slow from its peak to its minimum is a slow rep's, which it leads
_TAIL_MAX_S = 3.0  # and the rep ends within this of the minimum
_TAIL_JUDGE = 0.3  # it is judged when the lift is back up to this fraction of its minimum
_TAIL_REST = int(0.25 * GRID_HZ)  # ending this long before: the rest its double integration reads
# A slow rep's band-passed lift rises little before it falls (the high-pass stages take most of a 3 s rise,
# and a set's first rep has no undershoot before it to rise from): its fall from that peak also starts it.
_FALL_ENTER_CM = 1.5
_FALL_MIN_RISE_CM = 0.3  # if the peak rose at least this much from the trough before it
# A rep that opens a set has no set to judge it by, and an hour of standing has many noise waves: its
# matched fit must stand out clearly, and it must rise like a raise (an Achilles-injured heel rises 3-5 cm).
_OPEN_MIN_SNR = 8.0
# A slow (rise of 1.5 s or more) set opener under 15 standard errors must tip the trunk 1 degree with its
# rise and fall (the best of its phase times shifted by up to 0.6 s): a still chest at 25 Hz does not.
_OPEN_TILT_UP_S = 1.5
_OPEN_TILT_SNR = 15.0
_OPEN_TILT_DEG = 1.0
# And one under 20 standard errors tipping it less than 1.6 degrees waits for a second rep to confirm its set:
# a raise tips the trunk 0.08-0.16 of the foot's pitch (2-4 degrees at 7 cm), a still chest's sway and
# breathing mostly less (docs, twentieth round), but a small raise by a stiff trunk no more.
_OPEN_HOLD_SNR = 20.0
_OPEN_HOLD_DEG = 1.6
_OPEN_TILT_SHIFTS_S = (-0.6, -0.3, 0.0, 0.3, 0.6)
_TILT_STEP = 4  # tilt fits read every 4th grid sample: 12.5 Hz holds a tilt low-passed at 3 Hz, at a quarter the cost
# And it starts from the posture stood in before it (the mean over _POSTURE_S), not this far behind it on the
# way to its top: a weight shift rocks 4 degrees to each side of that posture, sway 1-2 (docs/detection.md).
_BEHIND_DEG = 2.5
_POSTURE_S = 3.0
_POSTURE_CHORD = 2.0 * math.sin(math.radians(6.0) / 2.0)  # a posture holds within 6 degrees (walking does not)
# A set's second rep is held to its first rep's posture too, if the first already started behind it by this
# much: then a weight shift that passed as one rep does not go on as a set.
_FIRST_BEHIND_DEG = 1.0
# A slow set keeps its rhythm: where it puts the next rep and none came, the matched fit looks for one there.
# The band-passed lift misses a heavy-slow rep now and then (a 3 s ramp keeps a third of its rise through the
# three 0.1 Hz stages), and a set is not the place for a pause. Quicker sets need no help (docs/detection.md).
_SLOT_MIN_CYCLE_S = 4.0
_SLOT_REACH_S = 0.8  # how far the fit moves each phase from where the rhythm puts it
_SLOT_MIN_SNR = 8.0  # as strict as a rep that opens a set
_SLOT_MIN_FRAC = 0.5  # of the set's median height (a fatigued rep still counts; a breath does not)
_SLOT_MIN_CM = 2.0  # and at least this (a breath or sway can fit a rep of a cm or so)
# A slot's fit under this (quiet data reaches it in about 15 % of slot searches), or a tilt find, waits for a
# later rep in its set: after the set's last rep there is none, and the "rep" was not one.
_SLOT_SURE_SNR = 10.0
# A slot fit this strong counts down to the fraction a split rep needs (`_SPLIT_MIN_FRAC`): a partial rep keeps 45 % or
# more of the set's height, under `_SLOT_MIN_FRAC` at times; quiet data's slot fits reach 15 at the 99th percentile.
_SLOT_STRONG_SNR = 20.0
_SLOT_MIN_REPS = 2  # a rhythm needs this many reps
_LONE_PAUSE_FRAC = 0.5  # or one slow rep, the next a whole number of cycles on, each pausing at most half a rep
# A slow set opener (4 s or longer) has the slot a cycle before it searched (a cycle of 1.15 reps: a rep and its
# pause). A rep found there opens the set, as strong as an opener must be, tipping the trunk the opener's way.
_BACK_MIN_S = 4.0
_BACK_CYCLE = 1.15
_SLOT_TRIES = 2  # slots searched in a row before the set is taken to be over
# A slot whose lift is weaker than that still counts if the trunk tilts with it as with the set's reps
# (a chest strap tips 1.5-5 degrees with a raise; sway and breathing move it ~0.5 degrees): a lift of
# 2 standard errors and 0.5 cm, and a tilt of 2.5 standard errors (on 12.5 Hz samples), 1.2 degrees and 40 %
# of the set's usual.
_SLOT_TILT_SNR = 2.0
_SLOT_TILT_CM = 0.5
_SLOT_TILT_T = 2.5
_SLOT_TILT_MIN_DEG = 1.2
_SLOT_TILT_FRAC = 0.4
# A set opener under 15 standard errors of lift, whose trunk tilt is under 8 standard errors too, is reported
# only once a second rep confirms its set; alone, it is taken back (standing still at 25 Hz makes isolated
# rep-sized waves in the lift; a set goes on).
_HOLD_SNR = 15.0
_HOLD_TILT_T = 8.0
# A later rep of a set, 2 s long or more, under 14.5 standard errors of lift must tip the trunk the set's way by
# 6 standard errors (emitted ones on tuning seeds: true median 15.5, 10th percentile 5; false ones in and after
# sets median 2.4, while not exercising 5.2; docs, twenty-first round). A bouncy rep's tilt window holds its
# neighbours' tilt: it is not asked.
_NEXT_TILT_SNR = 14.5
_NEXT_TILT_T = 6.0
_NEXT_TILT_MIN_S = 2.0
# A matched fit costs about 0.3 ms: a slot is searched at least this many grid samples after the last fit, so
# no 36-sample block at 200 Hz (9 grid samples) holds two fits (the budget is 1 ms a block).
_FIT_SPACING = 10
# Between sets, a set's first rep tipping the segment clearly (1.5 degrees) and sideways to the last set's reps
# (cosine under 0.4) is a weight shift's roll, if the segment is in that set's posture (within 10 degrees) and
# was neither handled nor walked with since (activity over `_MOVED_MG`: the strap may have been refastened).
# Tipping the same way twice in a row (cosine 0.8) is a strap turned about gravity: the last set's way is dropped.
_SIDEWAYS_DEG = 1.5
_SIDEWAYS_COS = 0.4
_MOUNT_DEG = 10.0
_SIDEWAYS_SAME_COS = 0.8
_SIDEWAYS_TRUST = 1
_MOVED_MG = 280.0  # the lowest placement's `max_dyn_mg`, so auto placement's resolving cannot change it mid-block
_ECHO_S = 12.0  # how long a rep's ringing is followed after its end (three 1.6 s time constants, and more)
# The lift's filters as one: H(z) = a^3 (1 - 1/z)^3 / (1 - a/z)^3 on height (the two integrations undo
# the second difference that turns height into acceleration).
_ECHO_B = _LIFT_ALPHA**3 * np.array([1.0, -3.0, 3.0, -1.0])
_ECHO_A = np.array([1.0, -3.0 * _LIFT_ALPHA, 3.0 * _LIFT_ALPHA**2, -(_LIFT_ALPHA**3)])
_LIFT_DROP = 0.4  # falling this fraction of its rise from the peak is the way down
_NEW_POSTURE_FAST_S = 0.8  # calm this long after a tilt beyond any raise: a new posture
_LIFT_RAMP_S = 1.5  # ramps up to this long are quick enough for the lift check (drift grows as t^3)
_LIFT_SPAN_S = 3.0  # so is a whole rep this short
_STILL_LOOKBACK = int(0.5 * GRID_HZ)
_ENTER_FLOORS = 3.0  # an excursion starts this many resting-tilt floors out
_PEAK_FLOORS = 4.0  # and must peak this many floors out
_STILL_DYN_MG = 60.0  # below this the segment is not being moved about (noise and sway only)
_LOWPASS = signal.butter(2, 3.0, fs=GRID_HZ, output="sos")
_DYN_SMOOTH = signal.butter(1, 1.0, fs=GRID_HZ, output="sos")
# Each is one section, run by lfilter with its coefficients: sosfilt's checks cost about 30 us a call,
# and both run on every block (a streaming block's budget is 1 ms).
_LP_B, _LP_A = _LOWPASS[0, :3], _LOWPASS[0, 3:]
_DYN_B, _DYN_A = _DYN_SMOOTH[0, :2], _DYN_SMOOTH[0, 3:5]
# Group delay of the low-pass at the frequencies of a raise (~0.3 Hz): subtracted from phase times.
# Plus half a grid step for the box average that puts samples on the grid.
_DELAY_S = float(signal.group_delay(signal.sos2tf(_LOWPASS), w=[0.3], fs=GRID_HZ)[1][0]) / GRID_HZ + 0.5 / GRID_HZ
# Raised-cosine ramp: the 10 % and 90 % points sit at u = 0.2048 and 0.7952 of the ramp.
_U10 = math.acos(1 - 2 * 0.1) / math.pi
_U90 = math.acos(1 - 2 * 0.9) / math.pi
# Tilt path: once a lowering is 30 % of its way down, its end is predicted (from the set's lowering time, or
# for a set's first two reps from its own time from 90 % to 30 %: a raised cosine takes 0.87 times that from
# 30 % to its end). The rep is judged then, plus a little rest, without waiting for the tilt to settle (a
# thigh's bottom sits off its start by sway) or for the next rep to turn (the issue asks for 0.5 s).
_DUE_LEVEL = 0.3
_U70 = math.acos(1 - 2 * (1 - _DUE_LEVEL)) / math.pi
_DUE_RATIO = (1.0 - _U70) / (_U70 - _U10)
_DUE_REST_S = 0.1  # the height's double integration pads with 0.25 s of rest, and cuts it short well


@dataclass(frozen=True, slots=True)
class PlacementParams:
    """Per-placement thresholds, from the physics of each mounting (see docs/detection.md)."""

    min_peak_deg: float  # smallest tilt excursion that can be a raise
    max_peak_deg: float  # larger tilts are posture changes (sitting down), not raises
    max_dyn_mg: float  # dynamic activity above this is walking, running or strap handling
    min_lift_cm: float = 1.0  # quick excursions lifting less than this are weight shifts or sway
    fit_below_deg: float = 0.0  # standing reps tilting less than this must show their rise in a matched fit
    no_rocking: bool = False  # an excursion straight after an opposite one of its size is a weight shift
    # The data's first rest is found by calm (its first half second may be mid-set): where raises tilt well
    # beyond sway. A thigh's 1-5 degrees do not, so a calm stretch of a set would pass for rest.
    finds_rest: bool = True
    open_min_cm: float = 0.0  # a set's first rep must lift the heel this far (idle noise lifts 1-2 cm)


PARAMS: dict[str, PlacementParams] = {
    # Foot pitch is 20-35 degrees for a full raise; 6 degrees is a 2 cm heel lift. Less is what a foot rolls
    # and pitches when the weight shifts from foot to foot (up to ~5 degrees).
    "foot": PlacementParams(min_peak_deg=6.0, max_peak_deg=60.0, max_dyn_mg=350.0),
    # The shank pitches forward 8-22 % of the foot pitch as the ankle rises.
    "shin": PlacementParams(min_peak_deg=1.8, max_peak_deg=30.0, max_dyn_mg=300.0),
    # A standing thigh pitches only ~0.6 x the shank's angle (1-3 degrees), about postural sway: a small tilt
    # counts when the matched fit of the acceleration shows the thigh rising with it. A weight shift rolls
    # the thigh as far (about 4 degrees each way): its halves are told apart by their opposite directions.
    # (A shank's raise tilts 8 degrees or more; there a lean back can flip a small rep's direction.)
    "thigh": PlacementParams(
        min_peak_deg=1.2,
        max_peak_deg=30.0,
        max_dyn_mg=300.0,
        fit_below_deg=1.8,
        no_rocking=True,
        finds_rest=False,
        open_min_cm=2.0,
    ),
    # The trunk rides up on the ankles and sways forward 1-3 degrees with each raise.
    "chest": PlacementParams(min_peak_deg=1.2, max_peak_deg=20.0, max_dyn_mg=280.0, min_lift_cm=1.5, open_min_cm=3.0),
}

# Which exercises each placement can see at all.
VISIBLE: dict[str, frozenset[str]] = {
    "foot": frozenset({"two-leg", "single-leg", "seated"}),
    "shin": frozenset({"two-leg", "single-leg", "seated"}),
    "thigh": frozenset({"two-leg", "single-leg", "seated"}),
    "chest": frozenset({"two-leg", "single-leg"}),
}

# Rises this slow or slower are often miscounted at a placement, though it sees them (bench/bench_accuracy.py,
# sets counted exactly: chest 71 % at the article's 2 s rise and 64 % at heavy-slow's 3 s, 92-100 % at 1 s or
# quicker rises, eccentric lowerings included). A slow rise lifts a chest strap at 2-5 mG, inside its noise.
SLOW_RISE_S: dict[str, float] = {"chest": 2.0}


def rise_too_slow(placement: str, up_s: float) -> bool:
    """Whether a prescribed rise of `up_s` seconds is too slow for this placement to count reliably."""
    return up_s >= SLOW_RISE_S.get(placement, math.inf)


def check_visible(placement: str, exercise: str | None) -> None:
    """Raise PlacementError when a placement cannot see an exercise (a chest strap, seated)."""
    if exercise is None or placement == "auto":
        return
    if exercise not in VISIBLE.get(placement, frozenset()):
        raise PlacementError(
            f"a {placement} sensor cannot see a {exercise} calf raise",
            "wear the sensor on the shin or the shoe for seated raises",
        )


def _seated_thigh_height_cm(pitch_deg: float) -> float:
    """Heel height from a seated thigh's pitch: the knee rises with the heel, the thigh turns about the hip."""
    knee_rise_m = geo.THIGH_LENGTH_M * math.sin(math.radians(pitch_deg))
    return 100.0 * geo.heel_height_from_ankle_rise_m(knee_rise_m)


@dataclass(frozen=True, slots=True)
class Rep:
    """One heel raise. Times in seconds of the input clock; `pause_s` is the bottom pause before it."""

    index: int  # within its set, from 1
    set_index: int  # from 1
    start_s: float
    top_s: float
    lower_s: float
    end_s: float
    pause_s: float | None
    height_cm: float | None
    peak_tilt_deg: float
    flags: tuple[str, ...]

    @property
    def up_s(self) -> float:
        """Rising time."""
        return self.top_s - self.start_s

    @property
    def hold_s(self) -> float:
        """Top hold."""
        return self.lower_s - self.top_s

    @property
    def down_s(self) -> float:
        """Lowering time."""
        return self.end_s - self.lower_s


@dataclass(frozen=True, slots=True)
class RepSet:
    """Consecutive reps separated from the next set by rest, a long gap or an explicit boundary."""

    index: int
    reps: tuple[Rep, ...]

    @property
    def start_s(self) -> float:
        """Start of the first rep."""
        return self.reps[0].start_s

    @property
    def end_s(self) -> float:
        """End of the last rep."""
        return self.reps[-1].end_s


@dataclass(frozen=True, slots=True)
class Session:
    """Everything the detector found in one recording."""

    placement: str
    reps: tuple[Rep, ...]
    sets: tuple[RepSet, ...]
    gaps: tuple[tuple[float, float], ...]


def group_sets(reps: list[Rep] | tuple[Rep, ...]) -> tuple[RepSet, ...]:
    """Group reps by their `set_index`."""
    out: list[RepSet] = []
    for rep in reps:
        if out and out[-1].index == rep.set_index:
            out[-1] = RepSet(rep.set_index, out[-1].reps + (rep,))
        else:
            out.append(RepSet(rep.set_index, (rep,)))
    return tuple(out)


_REST, _IN, _DOWN = 0, 1, 2


@dataclass
class _Candidate:
    begin_idx: int  # grid index where the excursion crossed the enter threshold
    peak: float
    peak_idx: int
    min_after: float = math.inf
    min_idx: int = -1
    after_bounce: bool = False  # began at the turning point of a rep that did not reach the bottom
    not_before_idx: int = -1  # the previous rep's end: the search for this rep's start stops there
    floor: float = 0.0  # the level the excursion rose from (lift path: the trough before it)
    moved: bool = False  # the tilt changed quickly at some point (not calm throughout)
    due_base: float = 0.0  # tilt path: the level its lowering is timed down to (the tilt it left from)
    due_idx: int = -1  # tilt path: when the rep's end and the rest its height needs are in, by its lowering
    judged: bool = False  # judged before its end is seen (counted or not): that end only moves the state machine on


@dataclass
class _Deferred:
    """A rep held back while the empty slots before it in its set are searched, one fit per step."""

    slots: list[tuple[float, float, float, float]]
    before_s: float  # a rep found in a slot must end before this
    emit: tuple[float, float, float, float, float, float, bool, NDArray[np.float64]]  # `_emit`'s arguments
    amp: float  # its band-passed lift (the set's adaptive entry learns it)
    hold: bool  # a faint set opener: reported once a second rep confirms the set
    before: tuple[float, NDArray[np.float64]] | None = None  # a slot before a set opener: its height and tilt way


@dataclass
class Detector:
    """Streaming detector: `feed(t_s, acc_mg)` returns the reps completed by that block."""

    placement: PlacementName = "auto"
    exercise: str | None = None
    device_model: str | None = None
    rest_s: float = DEFAULT_REST_S

    gaps: list[tuple[float, float]] = field(default_factory=list, init=False)
    _reps: list[Rep] = field(default_factory=list, init=False)  # `reps` and the one held back (`_held`)
    # Why the last 100 excursions were not counted (for tuning): (time s, size, reason). The size is the peak
    # tilt in degrees (tilt path), the band-passed lift in cm (chest), or the fitted height in cm (a slot search).
    rejected: list[tuple[float, float, str]] = field(default_factory=list, init=False)
    _last_t: float | None = field(default=None, init=False)
    _tail_t: NDArray[np.float64] | None = field(default=None, init=False)  # raw samples the grid still needs
    _tail_a: NDArray[np.float64] | None = field(default=None, init=False)
    _next_k: int = field(default=0, init=False)
    _seg_start_s: float = field(default=-math.inf, init=False)  # first sample since the start or the last gap
    _zi: NDArray[np.float64] | None = field(default=None, init=False)
    _zd: NDArray[np.float64] | None = field(default=None, init=False)
    _hist_t: deque[float] = field(default_factory=lambda: deque(maxlen=1500), init=False)
    _hist_r: deque[float] = field(default_factory=lambda: deque(maxlen=1500), init=False)
    _hist_v: deque[float] = field(default_factory=lambda: deque(maxlen=1500), init=False)
    _hist_dyn: deque[float] = field(default_factory=lambda: deque(maxlen=1500), init=False)
    _hist_hf: deque[float] = field(default_factory=lambda: deque(maxlen=1500), init=False)  # its part above 3 Hz
    _hist_dir: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=1500), init=False)
    _hist_u: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=1500), init=False)
    _set_posture: NDArray[np.float64] | None = field(default=None, init=False)  # the posture before the set
    _set_behind: float = field(default=0.0, init=False)  # how far its first rep started behind it (deg)
    _busy_mark: int = field(default=-1, init=False)  # last grid index not at rest
    _warm: int = field(default=0, init=False)  # samples averaged into the first baseline
    _floor_deg: float = field(default=0.0, init=False)  # typical tilt at rest: noise and sway
    _last_end_idx: int = field(default=-1, init=False)  # where the previous rep ended
    _idx: int = field(default=0, init=False)  # grid samples processed since the start (history index)
    _base: list[float] | None = field(default=None, init=False)
    _base_mag: float = field(default=1000.0, init=False)
    _state: int = field(default=_REST, init=False)
    _cand: _Candidate | None = field(default=None, init=False)
    _busy_until_idx: int = field(default=-1, init=False)
    _set_index: int = field(default=0, init=False)
    _set_reps: list[Rep] = field(default_factory=list, init=False)
    _force_new_set: bool = field(default=False, init=False)
    _resolved: str | None = field(default=None, init=False)
    _set_dir_sum: NDArray[np.float64] = field(default_factory=lambda: np.zeros(3), init=False)  # unit tilt directions
    _set_dir_n: int = field(default=0, init=False)
    # The last set's unit tilt direction (3 reps or more) and the posture it began in; sideways tips since.
    _axis: tuple[NDArray[np.float64], NDArray[np.float64]] | None = field(default=None, init=False)
    _sideways: list[NDArray[np.float64]] = field(default_factory=list, init=False)
    _moved: bool = field(default=False, init=False)  # handled or walked with since the last rep: the axis may not hold
    _set_seat_ratios: list[float] = field(default_factory=list, init=False)  # thigh: see _SEATED_MAX_RATIO
    # The last excursion looked at: its end, its unit tilt axis at the top and its peak tilt.
    _last_axis: tuple[int, NDArray[np.float64], float] | None = field(default=None, init=False)
    _ref_cache: float | None = field(default=None, init=False)  # the set's reference tilt, per rep
    _armed: bool = field(default=False, init=False)  # false until the signal is seen at rest
    _anchored: bool = field(default=False, init=False)  # false until the data's first rest is found
    _moved_first: bool = field(default=False, init=False)  # the data began moving: it may have begun mid-set
    _counting_from_s: float | None = field(default=None, init=False)
    _still_ref: float = field(default=0.0, init=False)  # tilt when the signal last moved
    _still_since: int = field(default=0, init=False)
    _calm_since: int = field(default=0, init=False)
    _r_smooth: float = field(default=0.0, init=False)
    _smooth_hist: deque[float] = field(default_factory=lambda: deque(maxlen=_STILL_LOOKBACK + 1), init=False)
    _level: float = field(default=0.0, init=False)  # the signal the state machine follows, now
    # Chest: band-passed double integration of |a| (the lift), its filter states, and its recent minima.
    _lift: list[float] = field(default_factory=list, init=False)
    _resumed: bool = field(default=False, init=False)  # the data resumed after a gap; the lift has not restarted
    _z_win: deque[tuple[int, float]] = field(default_factory=deque, init=False)
    _z_amps: list[float] = field(default_factory=list, init=False)
    _z_enter: float = field(default=0.0, init=False)  # the entry the set's first reps' rises ask for (a third)
    _z_max: deque[tuple[int, float]] = field(default_factory=deque, init=False)  # its recent maxima
    _z_hist: deque[float] = field(default_factory=lambda: deque(maxlen=int(2 * _LIFT_TROUGH_S * GRID_HZ)), init=False)
    # A rep that has ended and waits for the rest after it (its height needs that data).
    _pending: tuple[_Candidate, int] | None = field(default=None, init=False)
    # Chest: when to search the slot the set's rhythm puts the next rep in, slots searched since its last
    # rep, and whether that rep was found by such a search.
    _slot_due_idx: int = field(default=-1, init=False)
    _slot_tries: int = field(default=0, init=False)
    _slot_filled: bool = field(default=False, init=False)
    _deferred: _Deferred | None = field(default=None, init=False)
    _queued: list[Rep] = field(default_factory=list, init=False)  # reps emitted outside the state machine's step
    _last_fit_idx: int = field(default=-_FIT_SPACING, init=False)
    _rhythm_at: int = field(default=-1, init=False)  # len(reps) when `_rhythm_cache` was measured
    _rhythm_cache: tuple[float, float, float, float] | None = field(default=None, init=False)
    # Chest: the lift (cm) that the reps counted so far still leave in its high-pass filters (their ringing),
    # from grid index `_echo_idx0` on.
    _echo: NDArray[np.float64] | None = field(default=None, init=False)
    _echo_idx0: int = field(default=0, init=False)
    _echo_todo: list[tuple[float, float, float, float, float]] = field(default_factory=list, init=False)
    # Chest: a faint set opener held back until a second rep confirms its set; since the last report, openers
    # confirmed (with the rep that confirmed each) and openers taken back (no rep came).
    _held: Rep | None = field(default=None, init=False)
    _confirmed: list[tuple[Rep, Rep]] = field(default_factory=list, init=False)
    _retracted: list[Rep] = field(default_factory=list, init=False)
    _held_tail: list[Rep] = field(default_factory=list, init=False)  # faint rhythm finds since the set's last sure rep

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENT_NAMES:
            raise CalfsenseError(f"unknown placement {self.placement!r}", f"use one of {', '.join(PLACEMENT_NAMES)}")
        if self.placement == "auto" and self.device_model and "H10" in self.device_model.upper():
            self._resolved = "chest"  # an H10 is a chest strap by construction
        elif self.placement != "auto":
            self._resolved = self.placement
        check_visible(self._resolved or "auto", self.exercise)

    # -- public API ------------------------------------------------------------------------

    @property
    def resolved_placement(self) -> str:
        """The placement in use; `auto` resolves on the first rep (tilt size), else stays `auto`."""
        return self._resolved or "auto"

    @property
    def ready(self) -> bool:
        """Whether reps count yet: at the start of the data the tilt path first waits to see the segment at rest."""
        return self._anchored or self._lift_path() or not self._params().finds_rest

    @property
    def counting_from_s(self) -> float | None:
        """When counting began if the data began moving (perhaps mid-set, which is then not counted), else None."""
        return self._counting_from_s

    def phase(self) -> str:
        """Where the current movement is: rising, top, lowering or bottom (for the live pace guide)."""
        if self._state == _IN:
            cand = self._cand
            near_top = cand is not None and self._level - cand.floor >= 0.85 * (cand.peak - cand.floor)
            return "top" if near_top else "rising"
        return "lowering" if self._state == _DOWN else "bottom"

    def new_set(self) -> None:
        """Start a new set with the next rep (an explicit boundary from live mode)."""
        self._force_new_set = True
        self._slot_due_idx = -1

    def feed(self, time_s: ArrayLike, acc_mg: ArrayLike) -> list[Rep]:
        """Process a block of samples (any size); return reps completed in it, in order."""
        t = np.asarray(time_s, dtype=np.float64).reshape(-1)
        a = np.asarray(acc_mg, dtype=np.float64).reshape(-1, 3)
        if len(t) != len(a):
            raise CalfsenseError("time and acceleration blocks differ in length")
        if len(t) == 0:
            return []
        ok = np.isfinite(t) & np.all(np.isfinite(a), axis=1)
        if not ok.all():
            t, a = t[ok], a[ok]
        # Time must advance: a sample at or before the latest time seen is dropped (phone clock glitches).
        before = -np.inf if self._last_t is None else self._last_t
        latest = np.maximum.accumulate(np.concatenate(([before], t)))
        forward = t > latest[:-1]
        if not forward.all():
            t, a = t[forward], a[forward]
        if len(t) == 0:
            return []
        out: list[Rep] = []
        start = 0
        for i in self._split_points(t):
            out += self._feed_segment(t[start:i], a[start:i])
            start = i
        return out

    def finish(self) -> list[Rep]:
        """End of input: emit a rep waiting for its rest data; one still in progress is not counted."""
        self._flush_deferred()
        out = self._take_queued()
        if self._pending is not None:
            cand, end_idx = self._pending
            rep = None if cand.judged else self._finalize(cand, end_idx, bounced=False)
            self._pending = None
            if rep is not None:
                out.append(rep)
        if self._lift_path() and self._state == _DOWN and self._cand is not None and not self._cand.judged:
            rep = self._finalize_lift(self._cand, self._cand.min_idx, bounced=False)
            self._flush_deferred()
            out += self._take_queued()
            if rep is not None:
                out.append(rep)
        self._state, self._cand = _REST, None
        self._drop_held_tail()  # the input ended with them: no later rep confirms them
        return self._release(out)

    @property
    def reps(self) -> list[Rep]:
        """The reps reported so far (a faint set opener or rhythm find is not, until a later rep confirms it)."""
        held = {id(r) for r in self._held_tail}
        return [r for r in self._reps if r is not self._held and id(r) not in held]

    def session(self) -> Session:
        """Everything found so far."""
        reps = self.reps
        return Session(self.resolved_placement, tuple(reps), group_sets(reps), tuple(self.gaps))

    # -- resampling ------------------------------------------------------------------------

    def _split_points(self, t: NDArray[np.float64]) -> list[int]:
        """Indices where a gap splits the block, plus the end."""
        prev = self._last_t
        d = np.diff(t, prepend=t[0] if prev is None else prev)
        if prev is None:
            d[0] = 0.0
        cuts = np.flatnonzero(d > GAP_S).tolist()
        return [c for c in cuts if c > 0] + [len(t)]

    def _feed_segment(self, t: NDArray[np.float64], a: NDArray[np.float64]) -> list[Rep]:
        if len(t) == 0:
            return []
        prev_t = self._last_t
        if prev_t is not None and t[0] - prev_t > GAP_S:
            flushed = self.finish()  # a rep that ended before the gap is complete
            self.gaps.append((prev_t, float(t[0])))
            if t[0] - prev_t >= self.rest_s:
                self._force_new_set = True
            self._restart()
            return flushed + self._feed_segment(t, a)
        if self._tail_t is None or self._tail_a is None:
            self._tail_t, self._tail_a = t[:0], a[:0]
            self._next_k = math.ceil(t[0] * GRID_HZ - 1e-9)
            self._seg_start_s = float(t[0])
        xt = np.concatenate((self._tail_t, t))
        xa = np.vstack([self._tail_a, a])
        self._last_t = float(xt[-1])
        last_k = math.floor(xt[-1] * GRID_HZ + 1e-9)
        if last_k < self._next_k:
            self._tail_t, self._tail_a = xt, xa
            return []
        ks = np.arange(self._next_k, last_k + 1)
        grid_t = ks / GRID_HZ
        grid_a = _box_means(xt, xa, (ks - 1) / GRID_HZ, grid_t)
        self._next_k = last_k + 1
        # Keep the samples the next grid intervals need: the last one at or before this grid time, and after.
        keep = max(0, int(np.searchsorted(xt, grid_t[-1], side="right")) - 1)
        self._tail_t, self._tail_a = xt[keep:], xa[keep:]
        return self._process(grid_t, grid_a)

    def _restart(self) -> None:
        """After a gap: filters and the rep in progress restart; the gravity baseline is kept."""
        self._last_t = None
        self._tail_t = None
        self._tail_a = None
        self._zi = None
        self._zd = None
        self._state, self._cand = _REST, None
        self._armed = False  # a rep already under way when the data resumes is not counted
        self._still_ref = math.inf  # nor is the data before the gap taken for stillness after it
        self._lift = []
        self._resumed = True
        self._slot_due_idx = -1  # a rhythm is not followed across a gap
        self._busy_mark = self._idx

    # -- per-grid-sample processing --------------------------------------------------------

    def _process(self, gt: NDArray[np.float64], ga: NDArray[np.float64]) -> list[Rep]:
        if self._zi is None:
            self._zi = signal.lfilter_zi(_LP_B, _LP_A)[:, None] * ga[0][None, :]
        lp, self._zi = signal.lfilter(_LP_B, _LP_A, ga, axis=0, zi=self._zi)
        mag = np.sqrt(np.einsum("ij,ij->i", lp, lp))
        hf = np.sqrt(np.einsum("ij,ij->i", ga - lp, ga - lp))
        if self._zd is None:
            self._zd = signal.lfilter_zi(_DYN_B, _DYN_A)[:, None] * np.array([hf[0], 0.0])[None, :]
            if self._base is None:
                self._base_mag = float(mag[0])
        # The high-frequency part is smoothed here; the change of |a| from its rest level, in the loop below,
        # sample by sample: that level moves with every sample at rest, and a block-wide one would make the
        # result depend on how the input was split into blocks.
        hf_s, zd_hf = signal.lfilter(_DYN_B, _DYN_A, hf, zi=self._zd[:, 0])
        self._zd[:, 0] = zd_hf
        zd_mag = float(self._zd[0, 1])
        b0, b1, a1 = float(_DYN_B[0]), float(_DYN_B[1]), float(_DYN_A[1])
        unit = lp / np.maximum(mag, 1e-6)[:, None]
        if self._base is None:
            self._base = unit[0].tolist()
        out: list[Rep] = []
        ux, uy, uz = unit[:, 0].tolist(), unit[:, 1].tolist(), unit[:, 2].tolist()
        ts, mags = gt.tolist(), mag.tolist()
        hfs = hf_s.tolist()
        base = self._base
        rest_alpha = _DT / 3.0  # the baseline follows sway with a 3 s time constant, at rest only
        floor_up = _DT / 15.0
        for i in range(len(ts)):
            bx, by, bz = base
            dx, dy, dz = ux[i] - bx, uy[i] - by, uz[i] - bz
            chord = math.sqrt(dx * dx + dy * dy + dz * dz)
            tilt = math.degrees(2.0 * math.asin(min(1.0, 0.5 * chord)))
            # |a| = g + vertical acceleration to first order, whatever the segment's tilt; projecting on
            # the rest-time gravity axis would leak g(1 - cos tilt), as large as a slow raise's signal.
            # Stored raw: the double integration removes the rest level itself, and a baseline that is
            # still converging would otherwise turn into drift.
            vert = mags[i]
            x = abs(vert - self._base_mag)
            y = b0 * x + zd_mag
            zd_mag = b1 * x - a1 * y
            dyn_i = hfs[i] + y
            if dyn_i >= _MOVED_MG:
                self._moved = True
            self._hist_t.append(ts[i])
            self._hist_r.append(tilt)
            self._hist_v.append(vert)
            self._hist_dyn.append(dyn_i)
            self._hist_hf.append(hfs[i])
            self._hist_dir.append((dx, dy, dz))
            self._hist_u.append((ux[i], uy[i], uz[i]))
            idx = self._idx
            self._idx += 1
            if self._warm < _WARM_SAMPLES:
                # The first half second sets the baseline as a mean: one noisy first sample must not.
                self._warm += 1
                w = 1.0 / self._warm
                base[0] += w * (ux[i] - base[0])
                base[1] += w * (uy[i] - base[1])
                base[2] += w * (uz[i] - base[2])
                self._base_mag += w * (mags[i] - self._base_mag)
                self._busy_mark = idx
                continue
            lift = self._lift_path()
            if lift:
                rep = self._step_lift(idx, tilt, dyn_i, mags[i])
            else:
                rep = self._step(idx, tilt, dyn_i)
            if self._queued:  # rarely: a test, not a call, on every sample
                out += self._take_queued()
            if rep is not None:
                out.append(rep)
            # Unarmed, the segment may be mid-rep (the data resumed after a gap): the baseline must not learn it.
            unarmed = not (self._armed or lift)
            if self._state != _REST or self._pending is not None or dyn_i >= _STILL_DYN_MG or unarmed:
                self._busy_mark = idx
            # The baseline learns from the sample _BASE_LAG ago, and only if the detector has been at rest
            # since: the first part of a rising edge is never seen before the rep is recognised.
            j = idx - _BASE_LAG
            if j > self._busy_mark and len(self._hist_u) > _BASE_LAG:
                ox, oy, oz = self._hist_u[-_BASE_LAG - 1]
                omag = self._hist_v[-_BASE_LAG - 1]
                base[0] += rest_alpha * (ox - base[0])
                base[1] += rest_alpha * (oy - base[1])
                base[2] += rest_alpha * (oz - base[2])
                norm = math.sqrt(base[0] ** 2 + base[1] ** 2 + base[2] ** 2)
                base[0] /= norm
                base[1] /= norm
                base[2] /= norm
                self._base_mag += rest_alpha * (omag - self._base_mag)
                # The floor falls as fast as the baseline moves but rises slowly, so a run of reps too
                # small to be seen cannot raise the threshold that hides them.
                old_r = self._hist_r[-_BASE_LAG - 1]
                self._floor_deg += (rest_alpha if old_r < self._floor_deg else floor_up) * (old_r - self._floor_deg)
        self._zd[0, 1] = zd_mag
        return self._release(out) if out else out

    def _params(self) -> PlacementParams:
        return PARAMS[self._resolved or "shin"]

    def _reference_peak(self) -> float | None:
        peaks = [r.peak_tilt_deg for r in self._set_reps[:5]]
        return float(median(peaks)) if peaks else None

    def _step(self, idx: int, r: float, dyn: float) -> Rep | None:
        """Advance the state machine one grid sample; return a rep when one is emitted."""
        self._level = r
        pending = self._pending
        # It is emitted once the rest after it is in, or when its lowering says it is, if that is sooner.
        if pending is not None and (
            idx - pending[1] >= _SETTLE_SAMPLES or 0 <= pending[0].due_idx <= idx or self._state != _REST
        ):
            self._pending = None
            rep = None if pending[0].judged else self._finalize(pending[0], pending[1], bounced=False)
            self._advance(idx, r, dyn)
            return rep
        return self._advance(idx, r, dyn)

    def _advance(self, idx: int, r: float, dyn: float) -> Rep | None:
        p = self._params()
        ref = self._ref_cache
        # Relative to the set's reference so fatigued and partial reps still count, capped so one
        # big first rep cannot hide the rest.
        enter = max(0.6 * p.min_peak_deg, _ENTER_FLOORS * self._floor_deg)
        if ref:
            enter = max(enter, min(0.2 * ref, p.min_peak_deg))
        if self._state == _REST:
            if not self._armed:
                if not self._anchored and p.finds_rest:
                    self._find_rest(idx, r, dyn, enter)  # the start of the data: is the baseline rest?
                    return None
                # The data resumed (after a gap) away from the rest orientation: wait for the segment to come
                # back to it. Held still elsewhere longer than any top hold, it is a new posture.
                if r < enter:
                    self._armed = True
                elif dyn >= _STILL_DYN_MG or abs(r - self._still_ref) > max(0.25 * p.min_peak_deg, 0.1 * r):
                    self._still_ref, self._still_since = r, idx
                elif idx - self._still_since > _NEW_POSTURE_TOP_S * GRID_HZ:
                    self._reanchor()
                    self._armed = True
                return None
            if r > enter and dyn < p.max_dyn_mg and idx > self._busy_until_idx:
                self._state = _IN
                self._still_ref, self._still_since, self._calm_since, self._r_smooth = r, idx, idx, r
                self._smooth_hist.clear()
                self._cand = _Candidate(begin_idx=idx, peak=r, peak_idx=idx, not_before_idx=self._last_end_idx)
            elif dyn >= p.max_dyn_mg:
                self._busy_until_idx = idx + int(1.5 * GRID_HZ)  # settle after activity
            return None
        cand = self._cand
        assert cand is not None
        # Still: within a quarter of the smallest raise (well above noise and sway) of where it settled.
        # A plateau at the top wobbles with sway; allow it a tenth of the peak, the way down a twentieth.
        frac = 0.1 if self._state == _IN else 0.05
        if abs(r - self._still_ref) > max(0.25 * p.min_peak_deg, frac * cand.peak) or dyn > _STILL_DYN_MG:
            self._still_ref, self._still_since = r, idx
        still = idx - self._still_since
        # Calm: the tilt changed less than that over the last half second. A rate, so the slow wander of
        # postural sway on a newly held posture does not keep resetting the clock.
        change = self._smoothed_change(r)
        # Beyond any raise (sitting down, standing up) the posture is judged on its own small scale, so
        # raises done in the new posture (seated sets start seconds after sitting) count as movement.
        posture = cand.peak > p.max_peak_deg
        calm_deg = 0.25 * p.min_peak_deg if posture else max(0.25 * p.min_peak_deg, 0.05 * cand.peak)
        if change > calm_deg or dyn > _STILL_DYN_MG:
            self._calm_since = idx
            cand.moved = True
        # Holding still part-way down, or at the top for longer than any prescribed hold (the routines
        # hold at most 1 s), is a new posture (sitting down, standing up, a strap moved), not a rep.
        if self._state == _DOWN and still > GRID_HZ and r < 0.3 * cand.peak:
            # Settled just above the end level (a slightly shifted bottom): the rep is over.
            self._pending = (cand, idx)
            self._last_end_idx = idx
            self._state, self._cand = _REST, None
            return None
        # A tilt no raise reaches needs only a short calm to become the new posture.
        calm_needed_s = _NEW_POSTURE_FAST_S if posture else _NEW_POSTURE_TOP_S
        new_posture = (self._state == _DOWN and still > _NEW_POSTURE_DOWN_S * GRID_HZ) or (
            # A new posture is reached by a movement; an excursion calm all along is a slow, small raise, unless it
            # is beyond any raise (the movement came while the detector waited out activity: a strap refastened).
            self._state == _IN and (cand.moved or posture) and idx - self._calm_since > calm_needed_s * GRID_HZ
        )
        if dyn >= p.max_dyn_mg or new_posture or idx - cand.begin_idx > 12 * GRID_HZ:
            # Walking, strap handling or a new posture, not a raise: re-anchor once still.
            self._state, self._cand = _REST, None
            # A calm new posture needs no settling time; activity does.
            settle_s = 0.3 if new_posture and posture else 1.5
            self._busy_until_idx = idx + int(settle_s * GRID_HZ)
            if new_posture:  # only a still, quiet posture may become the new baseline
                self._reanchor()
            return None
        if self._state == _IN:
            if r > cand.peak:
                cand.peak, cand.peak_idx = r, idx
            elif r < 0.55 * cand.peak:
                self._state = _DOWN
                cand.min_after, cand.min_idx = r, idx
                # Timed down to the level the excursion left from, its lowest in the 0.1 s before it was entered
                # (a magnitude never comes down to zero, and a thigh's bottom sits off zero by sway), at most a
                # fifth of its peak.
                b = cand.begin_idx - (self._idx - len(self._hist_r))
                left = _window(self._hist_r, b - int(0.1 * GRID_HZ), b + 1)
                cand.due_base = min(float(left.min()) if len(left) else self._floor_deg, 0.2 * cand.peak)
            return None
        # _DOWN
        if r < cand.min_after:
            cand.min_after, cand.min_idx = r, idx
        rep = None
        if cand.due_idx < 0 and r < cand.due_base + _DUE_LEVEL * (cand.peak - cand.due_base):
            cand.due_idx = self._due_idx(cand, idx)
        if not cand.judged and 0 <= cand.due_idx <= idx:
            rep = self._finalize(cand, idx, bounced=False)
            cand.judged = True
        # Below the 10 % level used for the phase times, so the falling crossing is in the history.
        end_level = max(0.07 * cand.peak, 0.3 * p.min_peak_deg)
        if r < end_level:
            # Emit once the rest after the rep is in the history (the height needs it).
            self._pending = (cand, idx)
            self._last_end_idx = idx
            self._state, self._cand = _REST, None
            return rep
        if r > cand.min_after + max(0.3 * cand.peak, 0.6 * p.min_peak_deg):
            # Back up without reaching the bottom: a bouncy rep ended at the turning point.
            if not cand.judged:
                rep = self._finalize(cand, cand.min_idx, bounced=True)
            self._last_end_idx = cand.min_idx
            self._state = _IN
            self._still_ref, self._still_since, self._calm_since, self._r_smooth = r, idx, idx, r
            self._smooth_hist.clear()
            self._cand = _Candidate(begin_idx=cand.min_idx, peak=r, peak_idx=idx, after_bounce=True)
            return rep
        return rep

    def _smoothed_change(self, r: float) -> float:
        """How far the tilt, smoothed over 0.2 s (sensor noise is not motion), moved in the last half second."""
        self._r_smooth += (_DT / 0.2) * (r - self._r_smooth)
        self._smooth_hist.append(self._r_smooth)
        return abs(self._r_smooth - self._smooth_hist[0])

    def _find_rest(self, idx: int, r: float, dyn: float, enter: float) -> None:
        """At the start of the data, arm once the segment is seen at rest.

        The baseline is the data's first half second: calm for `_START_CALM_S` after it, that was rest. If
        the data began mid-set instead, counting from it would take each lowering and the next rise for two
        reps. So once the segment has moved, rest is calm for longer than a set ever holds still
        (`_NEW_POSTURE_TOP_S`), or it follows walking, which no set does. Calm is judged on the tilt's rate
        over half a second (smoothed over 0.2 s), so the slow wander of sway does not reset it.
        """
        if not self._smooth_hist:
            self._r_smooth, self._calm_since = r, idx
        change = self._smoothed_change(r)
        p = self._params()
        if dyn >= p.max_dyn_mg:
            # Walking, not a set: once it has settled, the next calm is rest.
            self._busy_until_idx, self._moved_first = idx + int(1.5 * GRID_HZ), False
        if dyn >= _STILL_DYN_MG or idx <= self._busy_until_idx:
            self._calm_since = idx
        elif change > 0.25 * p.min_peak_deg:
            self._calm_since, self._moved_first = idx, True
        elif idx - self._calm_since > (_NEW_POSTURE_TOP_S if self._moved_first else _START_CALM_S) * GRID_HZ:
            if r >= enter:
                self._reanchor()
            self._armed = self._anchored = True
            self._smooth_hist.clear()
            if self._moved_first:
                self._counting_from_s = self._hist_t[-1]

    def _due_idx(self, cand: _Candidate, idx: int) -> int:
        """When a lowering now past 30 % of its way down ends, plus the rest after it."""
        first = self._idx - len(self._hist_r)
        rr, tt = self._hist_r, self._hist_t
        base = cand.due_base
        k = idx - first
        t_lo = _cross(_window(tt, k - 1, k + 1), _window(rr, k - 1, k + 1), 0, base + _DUE_LEVEL * (cand.peak - base))
        reps = self._set_reps[-5:]
        if len(reps) >= 2 and tt[k] - _DELAY_S - reps[-1].end_s < self.rest_s:
            # A set keeps its tempo: its lowering time says better than this rep's first 70 % (which sway bends
            # on a slow rep) how long the rest takes.
            end = t_lo + (1.0 - _U70) * float(median([r.down_s for r in reps]))
        else:
            # Timed from 90 % down: a raised cosine takes 0.87 times as long from 30 % to its end.
            hi = base + 0.9 * (cand.peak - base)
            h = k
            while h > cand.peak_idx - first and rr[h] < hi:
                h -= 1
            t_hi = _cross(_window(tt, h, h + 2), _window(rr, h, h + 2), 0, hi)
            end = t_lo + _DUE_RATIO * (t_lo - t_hi)
        return idx + max(0, math.ceil((end + _DUE_REST_S - tt[k]) * GRID_HZ - 1e-9))

    def _lift_path(self) -> bool:
        """The chest is tracked by its lift: its tilt with a raise is at the level of postural sway."""
        return self._resolved == "chest"

    def _step_lift(self, idx: int, r: float, dyn: float, mag: float) -> Rep | None:
        """Advance the lift state machine one grid sample (chest)."""
        p = PARAMS["chest"]
        av = (mag - 1000.0) * (geo.G_MPS2 / 1000.0)
        if dyn >= p.max_dyn_mg or r > p.max_peak_deg:
            # Walking, bending, sitting: the integration restarts once that is over.
            self._busy_until_idx = idx + int(1.5 * GRID_HZ)
        st = self._lift
        if idx <= self._busy_until_idx or not st:
            self._slot_due_idx = -1  # moving about: the set is over
            self._flush_deferred()
            # After a gap the data may resume mid-rep: the filters start from the rest level, as if the segment
            # had rested through the gap, so that rep's acceleration is not taken for the level.
            x0 = (self._base_mag - 1000.0) * (geo.G_MPS2 / 1000.0) if self._resumed else av
            self._lift, self._resumed = [0.0, x0, 0.0, 0.0, 0.0, 0.0], False
            self._echo, self._echo_todo = None, []  # the filters restart from rest
            self._z_win.clear()
            self._z_max.clear()
            self._z_hist.clear()
            self._level = 0.0
            self._state, self._cand = _REST, None
            return None
        # Three first-order high-pass stages around two integrations: y[n] = a (y[n-1] + x[n] - x[n-1]).
        al = _LIFT_ALPHA
        ahp = al * (st[0] + av - st[1])
        vi = st[2] + ahp * _DT
        vhp = al * (st[3] + vi - st[2])
        xi = st[4] + vhp * _DT
        xhp = al * (st[5] + xi - st[4])
        st[:] = [ahp, av, vi, vhp, xi, xhp]
        z = 100.0 * xhp  # cm
        self._level = z
        if self._deferred is not None and idx >= self._last_fit_idx + _FIT_SPACING:
            self._step_deferred(idx)
        elif self._echo_todo and idx >= self._last_fit_idx + _FIT_SPACING:
            self._add_echo(self._echo_todo.pop(0))  # not in a fit's block: the next candidate needs it, not this one
        win = self._z_win
        while win and win[-1][1] >= z:
            win.pop()
        win.append((idx, z))
        while win[0][0] < idx - _LIFT_TROUGH_S * GRID_HZ:
            win.popleft()
        self._z_hist.append(z)
        top = self._z_max
        if self._state == _REST:
            # Recent maxima matter at rest only: every way out of a candidate restarts them.
            while top and top[-1][1] <= z:
                top.pop()
            top.append((idx, z))
            while top[0][0] < idx - _LIFT_TROUGH_S * GRID_HZ:
                top.popleft()
            if 0 <= self._slot_due_idx <= idx and idx >= self._last_fit_idx + _FIT_SPACING:
                rep = self._search_due_slot(idx)
                if rep is not None:
                    top.clear()  # the lift's recent peaks were that rep's: no later fall entry may start there
                    top.append((idx, z))
                    return rep
            trough_idx, trough = win[0]
            enter = max(_LIFT_ENTER_CM, self._z_enter)
            if z - trough > enter:
                self._state = _IN
                self._cand = _Candidate(
                    begin_idx=trough_idx, peak=z, peak_idx=idx, not_before_idx=self._last_end_idx, floor=trough
                )
            else:
                self._cand = self._fall_entry(idx, z, max(_FALL_ENTER_CM, enter))
                if self._cand is not None:
                    self._state = _DOWN
            return None
        cand = self._cand
        assert cand is not None
        rise = cand.peak - cand.floor
        if self._state == _IN:
            if z > cand.peak:
                cand.peak, cand.peak_idx = z, idx
            elif z < cand.peak - _LIFT_DROP * rise:
                self._state = _DOWN
                cand.min_after, cand.min_idx = z, idx
            elif idx - cand.peak_idx > _MAX_RAMP_S * GRID_HZ or idx - cand.begin_idx > 2 * _MAX_RAMP_S * GRID_HZ:
                self._state, self._cand = _REST, None  # raised and never lowered: not a rep
                top.clear()  # nor is its way down, later
                top.append((idx, z))
            return None
        if z < cand.min_after:
            cand.min_after, cand.min_idx = z, idx
            return None
        turned = z > cand.min_after + max(0.3, 0.2 * rise)
        if not turned and idx - cand.min_idx < _SETTLE_SAMPLES:
            return None
        bounced = turned and idx - cand.min_idx < 0.12 * GRID_HZ
        rested_idx, rep = cand.min_idx, None
        if not bounced and cand.min_idx - cand.peak_idx >= _TAIL_MIN_S * GRID_HZ:
            # A slow rep's band-passed lift leads it (the high-pass stages): its minimum comes mid-lowering
            # and the lift is back at its rest level (zero) about when the rep ends, give or take half a
            # second. The rep is judged 70 % of the way back, before that end more often than not; the
            # state machine still waits for zero before it looks for the next rep.
            waited = idx - cand.min_idx >= _TAIL_MAX_S * GRID_HZ
            if not cand.judged and (z >= _TAIL_JUDGE * cand.min_after or waited):
                cand.judged = True
                rep = self._finalize_lift(cand, max(cand.min_idx, idx - _TAIL_REST), bounced=False)
            if z < 0.0 and not waited:
                return rep
            rested_idx = idx
        elif not cand.judged:
            rep = self._finalize_lift(cand, cand.min_idx, bounced=bounced)
        self._last_end_idx = rested_idx  # the next rep's start is searched from here on
        self._state, self._cand = _REST, None
        win.clear()
        win.append((cand.min_idx, cand.min_after))
        if z < cand.min_after:
            win.append((idx, z))
        top.clear()
        top.append((idx, z))
        return rep

    def _fall_entry(self, idx: int, z: float, enter: float) -> _Candidate | None:
        """A candidate entered on its way down: the lift fell `enter` from a recent peak that rose before it."""
        peak_idx, peak = self._z_max[0]
        if peak - z <= enter or peak_idx <= self._last_end_idx:
            return None
        back = self._z_hist  # back[-1] is now (idx)
        hi = len(back) - 1 - (idx - peak_idx)
        lo = max(0, hi - int(_LIFT_TROUGH_S * GRID_HZ), len(back) - 1 - (idx - self._last_end_idx))
        if hi <= lo:
            return None
        rise = list(islice(back, lo, hi))
        j = int(np.argmin(rise))
        if peak - rise[j] <= _FALL_MIN_RISE_CM:
            return None
        begin = idx - (len(back) - 1 - (lo + j))
        cand = _Candidate(begin, peak, peak_idx, not_before_idx=self._last_end_idx, floor=rise[j])
        cand.min_after, cand.min_idx = z, idx
        return cand

    def _finalize_lift(self, cand: _Candidate, end_idx: int, bounced: bool) -> Rep | None:
        """Measure a lift candidate by double integration between its two rest points, then emit it."""
        p = PARAMS["chest"]
        first = self._idx - len(self._hist_t)
        i0 = max(first, cand.begin_idx, cand.not_before_idx)
        pad = int(0.25 * GRID_HZ)
        a0 = max(first, i0 - pad)
        a1 = min(self._idx - 1, end_idx + pad)
        n0, n1 = i0 - a0, a1 - end_idx
        # Read once what both the double integration and the fit need (the fit looks a little wider).
        w0 = max(first, a0 - int(_FIT_PAD_S * GRID_HZ) - 5)
        w1 = min(self._idx - 1, a1 + int(_FIT_PAD_S * GRID_HZ) + 5)
        t_all = _window(self._hist_t, w0 - first, w1 - first + 1)
        v_all = _window(self._hist_v, w0 - first, w1 - first + 1) * (geo.G_MPS2 / 1000.0)
        acc = v_all[a0 - w0 : a1 - w0 + 1]
        tt = t_all[a0 - w0 : a1 - w0 + 1]
        if len(acc) < 5:
            return self._reject(cand, "too short")
        pos = _rise_between_rests(acc, n0 + 1, n1 + 1)
        pos_cm = 100.0 * pos
        pk = int(np.argmax(pos_cm))
        height = 100.0 * geo.heel_height_from_ankle_rise_m(float(pos[pk]))
        if height < p.min_lift_cm:
            return self._reject(cand, f"lifted only {height:.1f} cm")
        if pk == 0 or pk == len(pos_cm) - 1:
            return self._reject(cand, "no rise and fall")
        start, top, lower, end, i10, j10, _, _ = _phase_times(tt, np.maximum(pos_cm, 0.0), pk, bounced)
        # The double integration shows that the trunk rose; a matched fit of the rise's acceleration then
        # times the phases and measures the height better (docs/detection.md, item 10, has the figures).
        fl = max(0, cand.not_before_idx - w0)  # never into the previous rep
        fitted, phases, snr = _fit_rep(t_all[fl:], v_all[fl:], (start, top, lower, end), _FIT_REACH_S)
        self._last_fit_idx = self._idx - 1
        if fitted > 0:
            height = fitted
            start, top, lower, end = phases
        if start < self._seg_start_s:
            return self._reject(cand, "began before the data did")  # its start from rest was never seen
        if self._slot_filled and self._set_reps and start < self._set_reps[-1].end_s - 0.3:
            return self._reject(cand, "already counted where the set's rhythm put it")
        faint = snr < _OPEN_MIN_SNR or height < self._params().open_min_cm  # would not pass as a set's first rep
        opens = self._opens_set(start)
        if faint and opens:
            return self._reject(cand, f"too faint to open a set: {height:.1f} cm, {snr:.1f} standard errors")
        at = a0 - first - float(tt[0]) * GRID_HZ  # history position of time 0
        ps, pt = int(round(at + start * GRID_HZ)), int(round(at + top * GRID_HZ))
        rest, behind = None, 0.0
        if opens:
            # A rocking movement (a weight shift) "starts" tilted away from the posture it rocks about, to the
            # side opposite its "top". A raise starts from the posture the set began in.
            rest = self._posture_before(ps)
            behind = 0.0 if rest is None else self._behind_deg(rest, ps, pt)
        elif len(self._set_reps) == 1 and self._set_posture is not None and self._set_behind > _FIRST_BEHIND_DEG:
            behind = self._behind_deg(self._set_posture, ps, pt)
        if behind > _BEHIND_DEG:
            return self._reject(cand, f"started {behind:.1f} deg behind the posture before the set: rocking")
        own = (0.0, 0.0)  # a faint opener's tilt along its own direction (degrees, standard errors)
        if opens and snr < max(_OPEN_TILT_SNR, _HOLD_SNR, _OPEN_HOLD_SNR):
            way = self._tilt_between(0, ps, pt)[1]
            own = self._tilt_along(at, (start, top, lower, end), way, _OPEN_TILT_SHIFTS_S)
        slow_opener = opens and top - start >= _OPEN_TILT_UP_S
        if slow_opener and snr < _OPEN_TILT_SNR and own[0] < _OPEN_TILT_DEG:
            # A slow rise of the trunk tips it with the raise; a noise-made "rise" (25 Hz, sway) does not.
            return self._reject(cand, f"the trunk did not tilt with it: {own[0]:.1f} deg")
        if faint:
            # After a slow rep the lift's high-pass filters ring: its trough recovers like a rise. A candidate
            # whose own fall, without that ringing, would not have reached the entry level is that ringing.
            while self._echo_todo:
                self._add_echo(self._echo_todo.pop(0))
            own_fall = cand.peak - cand.min_after - (self._echo_at(cand.peak_idx) - self._echo_at(cand.min_idx))
            if own_fall < _LIFT_ENTER_CM:
                return self._reject(cand, f"ringing after the last rep: {height:.1f} cm, {snr:.1f} standard errors")
        if top - start < 0.15 or end - lower < 0.15:
            return self._reject(cand, "too fast for a heel raise")
        if top - start > _MAX_RAMP_S or end - lower > _MAX_RAMP_S:
            return self._reject(cand, "too slow for a heel raise")  # the filters settling, a slow lean
        if not opens:
            pair = self._split_in_two(start, end, t_all[fl:], v_all[fl:])
            if pair is not None:
                return pair
        if (
            not opens
            and snr < _NEXT_TILT_SNR
            and end - start >= _NEXT_TILT_MIN_S
            and self._set_dir_n
            and start - _FIT_PAD_S - 0.5 >= self._seg_start_s
        ):
            # A faint lift in a set counts if the trunk tipped with it the way it does with the set's reps
            # (unless its tilt window begins within 0.5 s of a gap's end: the low-pass is still settling).
            _, tilt_t = self._tilt_along(at, (start, top, lower, end), self._set_dir_sum, (0.0,))
            if tilt_t < _NEXT_TILT_T:
                return self._reject(cand, f"the trunk did not tilt the set's way: {tilt_t:.1f} standard errors")
        tempo = self._quick_tempo(start)
        if tempo is not None and (top - start > tempo[0] + 1.0 or end - lower > tempo[2] + 1.0):
            # Reps in a set keep their tempo; a much slower "rep" right after a set is the filters settling.
            return self._reject(cand, "much slower than the set's reps")
        # Activity restarts the lift path, but the activity level lags: a walk's first steps can end a
        # "rep" before they count as walking. Their footfalls' sharp content shows by now.
        since_start = self._idx - (a0 + int((start - float(tt[0])) * GRID_HZ))  # more than the history: all of it
        if self._footfalls(since_start):
            return self._reject(cand, "footfalls: the first steps of a walk")
        # The tilt at the top from the orientation at the start: only those few samples are read.
        off = a0 - first  # history position of the double integration's first sample
        tilt, d = self._tilt_between(off, off + i10, off + pk)
        if opens and rest is not None and tilt >= _SIDEWAYS_DEG and self._sideways_to_last_set(rest, d):
            return self._reject(cand, "tipped the trunk sideways to the last set's reps: a weight shift")
        if opens:
            self._set_posture, self._set_behind = rest, behind
        # A faint opener whose trunk did not tip clearly either, or a slow one that tipped it little, waits
        # for a rep to confirm its set.
        hold = (opens and snr < _HOLD_SNR and own[1] < _HOLD_TILT_T) or (
            slow_opener and snr < _OPEN_HOLD_SNR and own[0] < _OPEN_HOLD_DEG
        )
        self._echo_todo.append((start, top, lower, end, height))
        self._flush_deferred()  # a rep held back before this one goes first
        slots = self._empty_slots(start)
        before = None
        if not slots and opens and not self._force_new_set and end - start >= _BACK_MIN_S:
            # A slow set's first rep is often the one its lift misses: look one cycle before its opener.
            cycle = _BACK_CYCLE * (end - start)
            slots = [_slot_at(start - cycle, (cycle, top - start, lower - top, end - lower))]
            before = (height, d)
        if slots:
            # Emitted once those slots are searched (`_step_deferred`), a fit a step.
            self._deferred = _Deferred(
                slots,
                start + 0.3,
                (start, top, lower, end, height, tilt, bounced, d),
                cand.peak - cand.floor,
                hold,
                before,
            )
            self._slot_due_idx = -1
            return None
        return self._emit_lift(start, top, lower, end, height, tilt, bounced, d, cand.peak - cand.floor, hold)

    def _sideways_to_last_set(self, rest: NDArray[np.float64], d: NDArray[np.float64]) -> bool:
        """Whether an opener's tilt `d` from posture `rest` is sideways to the last set's reps (`_SIDEWAYS_COS`)."""
        axis = self._set_axis() or self._axis  # the set it would end, else the one before
        n = float(np.linalg.norm(d))
        if axis is None or n == 0.0:
            return False
        if self._moved:
            return False  # walked with or handled since the last set's reps: the strap may have moved
        way, posture = axis
        if math.degrees(2.0 * math.asin(min(1.0, 0.5 * float(np.linalg.norm(rest - posture))))) > _MOUNT_DEG:
            return False  # the strap was moved: the axis no longer holds
        u = d / n
        if float(u @ way) >= _SIDEWAYS_COS:
            return False
        if sum(float(u @ v) >= _SIDEWAYS_SAME_COS for v in self._sideways) >= _SIDEWAYS_TRUST:
            # Tipping the same way again: the strap was turned about gravity, not a weight shift.
            self._axis, self._sideways = None, []
            if self._set_dir_n >= 3:
                self._set_dir_sum, self._set_dir_n = np.zeros(3), 0
            return False
        self._sideways = [*self._sideways[-4:], u]
        return True

    def _set_axis(self) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """The current set's mean unit tilt direction and its posture, if the set can vouch for them."""
        if self._set_dir_n < 3 or self._set_posture is None:
            return None
        # Reps that lifted the heel under the placement's least lift are no raises to learn a direction from:
        # data that began mid-set makes a "set" of 0-0.3 cm reps timed from a top, tipping the other way.
        heights = [r.height_cm for r in self._set_reps if r.height_cm is not None]
        if not heights or median(heights) < self._params().min_lift_cm:
            return None
        return self._set_dir_sum / float(np.linalg.norm(self._set_dir_sum)), self._set_posture

    def _quick_tempo(self, start: float) -> tuple[float, float, float] | None:
        """The median up, hold and down of the set's last reps, if a rep at `start` continues a quick set."""
        recent = self._set_reps[-5:] if self._set_reps and start - self._set_reps[-1].end_s < self.rest_s else []
        if len(recent) < 2:
            return None
        up = float(median([r.up_s for r in recent]))
        down = float(median([r.down_s for r in recent]))
        if max(up, down) > _LIFT_RAMP_S:
            return None
        return up, float(median([r.hold_s for r in recent])), down

    def _split_in_two(self, start: float, end: float, tt: NDArray[np.float64], acc: NDArray[np.float64]) -> Rep | None:
        """In a quick set, a "rep" far longer than the set's is two reps run together: fit and emit them."""
        tempo = self._quick_tempo(start)
        if tempo is None or end - start < _SPLIT_MIN * sum(tempo):
            return None
        up, hold, down = tempo
        ref = float(median([r.height_cm for r in self._set_reps[-5:] if r.height_cm is not None] or [0.0]))
        bound = self._set_reps[-1].end_s - 0.3
        # Where the set's tempo puts them: one from the candidate's start, one to its end. Short fits (a quick
        # rep, a small reach): a judgement with all three took at most 0.94 ms (docs/detection.md).
        plan_a = (start, start + up, start + up + hold, start + up + hold + down)
        plan_b = (end - down - hold - up, end - down - hold, end - down, end)
        h_a, ph_a, snr_a = _fit_rep(tt, acc, plan_a, _SPLIT_REACH_S, bound, plan_b[0] + 0.3)
        h_b, ph_b, snr_b = _fit_rep(tt, acc, plan_b, _SPLIT_REACH_S, max(bound, ph_a[3] - 0.3))
        self._last_fit_idx = self._idx - 1
        now_s = self._hist_t[-1]
        found = []
        for h, ph, snr in ((h_a, ph_a, snr_a), (h_b, ph_b, snr_b)):
            timed = 0.15 <= ph[1] - ph[0] <= _MAX_RAMP_S and 0.15 <= ph[3] - ph[2] <= _MAX_RAMP_S and ph[3] < now_s
            if timed and snr >= _SLOT_MIN_SNR and h >= max(_SLOT_MIN_CM, _SPLIT_MIN_FRAC * ref):
                found.append((h, ph))
        if not found or (len(found) == 2 and found[1][1][0] < found[0][1][3] - 0.3):
            return None  # not two reps: the candidate is judged as one
        self._flush_deferred()
        idx = self._idx - 1
        for h, ph in found[:-1]:
            self._queued.append(self._emit_fitted(idx, ph, h, in_rhythm=False))
        return self._emit_fitted(idx, found[-1][1], found[-1][0], in_rhythm=False)

    def _emit_lift(
        self,
        start: float,
        top: float,
        lower: float,
        end: float,
        height: float,
        tilt: float,
        bounced: bool,
        d: NDArray[np.float64],
        amp: float,
        hold: bool,
    ) -> Rep:
        """Emit a chest rep found by the lift; the set's adaptive entry learns its band-passed rise `amp`."""
        rep = self._emit(start, top, lower, end, height, tilt, bounced, d, hold=hold)
        if rep.index == 1:
            self._z_amps = []
        self._z_amps.append(amp)
        self._z_enter = 0.35 * float(median(self._z_amps[:5]))
        return rep

    def _posture_before(self, start: int) -> NDArray[np.float64] | None:
        """The posture (mean gravity direction) over `_POSTURE_S` before history position `start`.

        None without that much data, or if the segment was moving about (walking, sitting down).
        """
        r0 = start - int(_POSTURE_S * GRID_HZ)
        if r0 < 0 or self._hist_t[r0] < self._seg_start_s:
            return None
        before = _rows(self._hist_u, r0, start - int(0.2 * GRID_HZ))
        mean: NDArray[np.float64] = before.mean(axis=0)
        rest = mean / float(np.linalg.norm(mean))
        if float(np.max(np.linalg.norm(before - rest, axis=1))) > _POSTURE_CHORD:
            return None
        return rest

    def _behind_deg(self, rest: NDArray[np.float64], start: int, top: int) -> float:
        """How far (deg) the orientation at history position `start` lies behind `rest` on its way to `top`."""
        top = min(top, len(self._hist_u) - 1)
        if start < 3 or top <= start:
            return 0.0
        u0 = self._orientation_at(start)
        way = _rows(self._hist_u, top, top + 1)[0] - u0
        size = float(np.linalg.norm(way))
        return 0.0 if size < 1e-9 else math.degrees(float((rest - u0) @ way) / size)

    def _echo_at(self, idx: int) -> float:
        """The counted reps' ringing in the lift (cm) at grid index `idx`."""
        echo, j = self._echo, idx - self._echo_idx0
        return 0.0 if echo is None or not 0 <= j < len(echo) else float(echo[j])

    def _add_echo(self, rep: tuple[float, float, float, float, float]) -> None:
        """Add the lift a counted rep (start, top, lower, end, height) leaves, on the grid from its start on.

        The lift is three first-order high-passes around a double integration: the trunk's rise through
        `_ECHO_B / _ECHO_A`. The rise is the fitted rep's: raised-cosine ramps of its heel height's ankle rise.
        """
        start, top, lower, end, height = rep
        idx = self._idx - 1
        now_s = self._hist_t[-1] - _DELAY_S  # the lift lags the signal by the low-pass's delay
        i0 = idx - int(round((now_s - start) * GRID_HZ)) - 1  # a sample at rest before the rise
        n = idx - int(round((now_s - end) * GRID_HZ)) + int(_ECHO_S * GRID_HZ) - i0
        tt = now_s + (np.arange(n) + i0 - idx) * _DT
        rise_cm = 100.0 * geo.ankle_rise_m(math.asin(min(1.0, height / (100.0 * geo.HEEL_TO_BALL_M))))
        up = np.clip((tt - start) / max(top - start, _DT), 0.0, 1.0)
        down = np.clip((tt - lower) / max(end - lower, _DT), 0.0, 1.0)
        rise = 0.5 * rise_cm * (np.cos(np.pi * down) - np.cos(np.pi * up))  # raised-cosine ramps up and down
        echo: NDArray[np.float64] = signal.lfilter(_ECHO_B, _ECHO_A, rise)
        old, o0 = self._echo, self._echo_idx0
        if old is not None and o0 + len(old) > i0:
            # The reps' ringings add (the filters are linear). A rep found in an earlier slot may be added
            # after a later one, whose ringing then runs on past this one's.
            echo = np.concatenate((echo, np.zeros(max(0, o0 + len(old) - i0 - n))))
            lo = max(i0, o0)
            echo[lo - i0 : o0 + len(old) - i0] += old[lo - o0 :]
        self._echo, self._echo_idx0 = echo, i0

    def _rhythm(self) -> tuple[float, float, float, float] | None:
        """The set's cycle (start to start) and its median up, hold and down times, if the set is slow."""
        if self._rhythm_at != len(self._reps):  # once per rep (a rep's block already holds a fit)
            self._rhythm_at, self._rhythm_cache = len(self._reps), self._measure_rhythm()
        return self._rhythm_cache

    def _measure_rhythm(self) -> tuple[float, float, float, float] | None:
        reps = self._set_reps[-6:]
        if len(reps) < _SLOT_MIN_REPS:
            return None
        # The cycle from the set's quickest intervals: a missed rep makes one interval twice as long.
        d = [b.start_s - a.start_s for a, b in pairwise(reps)]
        cycle = float(median([x for x in d if x <= 1.4 * min(d)]))
        if cycle < _SLOT_MIN_CYCLE_S:
            return None
        up = float(median([r.up_s for r in reps]))
        hold = float(median([r.hold_s for r in reps]))
        return cycle, up, hold, float(median([r.down_s for r in reps]))

    def _footfalls(self, n: int) -> bool:
        """Whether the last `n` grid samples (at least one) hold a footfall's sharp content."""
        return max(islice(reversed(self._hist_hf), max(1, n))) >= _STEPS_HF_MG  # read from the newest

    def _footfalls_since(self, idx: int, w0: int, start_s: float) -> bool:
        """Whether a fitted slot holds footfalls: the grid samples from its start (not before `w0`) to `idx`."""
        return self._footfalls(idx - max(w0, idx - int((self._hist_t[-1] - start_s) * GRID_HZ)))

    def _tilt_between(self, lo: int, start: int, top: int) -> tuple[float, NDArray[np.float64]]:
        """Tilt (degrees) and direction change at history position `top` from the orientation at `start`.

        The start orientation is the mean of the 7 samples around it, none before position `lo`.
        """
        d = _rows(self._hist_u, top, top + 1)[0] - self._orientation_at(start, lo)
        return math.degrees(2.0 * math.asin(min(1.0, 0.5 * float(np.linalg.norm(d))))), d

    def _orientation_at(self, pos: int, lo: int = 0) -> NDArray[np.float64]:
        """The mean gravity direction of the 7 samples around history position `pos`, none before `lo`."""
        u: NDArray[np.float64] = _rows(self._hist_u, max(lo, pos - 3), pos + 4).mean(axis=0)
        return u / float(np.linalg.norm(u))

    def _slot_plan(self, k: int) -> tuple[float, float, float, float] | None:
        """Start, top, lower and end of the rep k cycles after the set's last one, if the set is slow."""
        rhythm = self._rhythm()
        if rhythm is None:
            return None
        return _slot_at(self._set_reps[-1].start_s + k * rhythm[0], rhythm)

    def _empty_slots(self, start: float) -> list[tuple[float, float, float, float]]:
        """The slots the set's rhythm left empty before a rep that starts `start` (at most `_SLOT_TRIES`)."""
        rhythm = self._rhythm()
        if self._force_new_set or not self._set_reps:
            return []
        last = self._set_reps[-1]
        gap = start - last.start_s
        if rhythm is None and len(self._set_reps) == 1:
            # A lone slow rep, then a rep a whole number of its cycles later (the rep and a pause of at most
            # half as long): the reps between were missed, and the set goes on through them.
            dur = last.end_s - last.start_s
            n = int(gap // dur)
            cycle = gap / n if n else 0.0
            if 2 <= n <= _SLOT_TRIES + 1 and _SLOT_MIN_CYCLE_S <= cycle <= (1.0 + _LONE_PAUSE_FRAC) * dur:
                rhythm = (cycle, last.up_s, last.hold_s, last.down_s)
        if rhythm is None:
            return []
        cycle = rhythm[0]
        # More missed reps in a row than a set's end is searched for (`_SLOT_TRIES`): the set ended there, and
        # the rep begins the next (once spread over such a rest, the slots joined two sets, 16 of 80 in a test).
        missing = int(round(gap / cycle)) - 1
        if gap < 1.5 * cycle or not 1 <= missing <= _SLOT_TRIES:
            return []
        if any(last.end_s < b and a < start for a, b in self.gaps):
            return []
        # Spread evenly between the two reps: the rhythm holds on both sides of the gap.
        return [_slot_at(last.start_s + j * gap / (missing + 1), rhythm) for j in range(1, missing + 1)]

    def _step_deferred(self, idx: int) -> None:
        """Search the held-back rep's next empty slot; after the last one, emit the rep (into `_queued`)."""
        job = self._deferred
        assert job is not None
        # Reps emitted now belong to the set they were found in, whatever `new_set()` said since.
        force, self._force_new_set = self._force_new_set, False
        if job.slots and job.before is not None:
            rep = self._search_first(idx, job.slots.pop(0), job.before_s, job.before)
            if rep is not None:
                self._queued.append(rep)
        elif job.slots:
            rep = self._search_slot(idx, job.slots.pop(0), self._set_reps[-1], job.before_s)
            if rep is not None:
                self._queued.append(rep)
        if not job.slots:
            # Its emission needs no fit: it goes out in the step of the last search.
            self._deferred = None
            self._queued.append(self._emit_lift(*job.emit, job.amp, job.hold))
        self._force_new_set = force or self._force_new_set

    def _take_queued(self) -> list[Rep]:
        """The reps emitted outside the state machine's step since this was last called."""
        queued, self._queued = self._queued, []
        return queued

    def _flush_deferred(self) -> None:
        """Finish a held-back rep's searches now (the input ended, or another rep is due before them)."""
        while self._deferred is not None:
            self._step_deferred(self._idx - 1)

    def _schedule_slot(self) -> None:
        """Set when to search the next slot the set's rhythm predicts (once its data is in), if any."""
        self._slot_due_idx = -1
        plan = self._slot_plan(self._slot_tries + 1)
        if plan is not None:
            due_s = plan[3] + _SLOT_REACH_S + _FIT_PAD_S + 0.2
            self._slot_due_idx = self._idx - 1 + max(1, math.ceil((due_s - self._hist_t[-1]) * GRID_HZ))

    def _search_due_slot(self, idx: int) -> Rep | None:
        """The set has gone quiet where its rhythm put the next rep: look for it there."""
        plan = self._slot_plan(self._slot_tries + 1)
        self._slot_tries += 1
        self._slot_due_idx = -1
        if plan is None:
            return None
        rep = self._search_slot(idx, plan, self._set_reps[-1], math.inf)
        if rep is None and self._slot_tries < _SLOT_TRIES:
            self._schedule_slot()
        return rep

    def _search_slot(self, idx: int, plan: tuple[float, float, float, float], last: Rep, before_s: float) -> Rep | None:
        """Look for a rep by the matched fit near `plan` (after `last`, ending before `before_s`); emit it if found."""
        first = self._idx - len(self._hist_t)
        now_s = self._hist_t[-1]
        if plan[0] - _SLOT_REACH_S - _FIT_PAD_S < self._hist_t[0]:
            # A slot searched long after it (a rep two long cycles late) may lie before the history kept.
            self._note(0.0, "no rep searched where the set's rhythm put one: the history no longer holds it")
            return None
        w0 = max(first, idx - int(math.ceil((now_s - last.end_s + 0.8) * GRID_HZ)))
        # The rise may not start in the last rep (its lowering can end 0.3 s off, or a fit may have
        # stretched that lowering past the set's usual one): the fit is held after it.
        bound = min(last.end_s, last.lower_s + plan[3] - plan[2]) - 0.3
        height, (start, top, lower, end), snr, timed = self._fit_slot(idx, w0, plan, bound, before_s)
        heights = [r.height_cm for r in self._set_reps[-5:] if r.height_cm is not None]
        ref = float(median(heights)) if heights else 0.0
        frac = _SPLIT_MIN_FRAC if snr >= _SLOT_STRONG_SNR else _SLOT_MIN_FRAC
        ok = timed and snr >= _SLOT_MIN_SNR and height >= max(_SLOT_MIN_CM, frac * ref)
        sure = ok and snr >= _SLOT_SURE_SNR  # else it waits for a later rep (`_SLOT_SURE_SNR`)
        if timed and not ok and snr >= _SLOT_TILT_SNR and height >= _SLOT_TILT_CM and self._set_dir_n:
            # A weaker lift counts if the trunk tilted with it as it does with the set's reps.
            at = idx - first - now_s * GRID_HZ  # history position of time 0
            amp, tsnr = self._tilt_along(at, (start, top, lower, end), self._set_dir_sum, (0.0,))
            usual = float(median([r.peak_tilt_deg for r in self._set_reps[-5:]]))
            ok = tsnr >= _SLOT_TILT_T and amp >= max(_SLOT_TILT_MIN_DEG, _SLOT_TILT_FRAC * usual)
        if ok:
            # Footfalls in the slot: the set is over and a walk has begun.
            ok = not self._footfalls_since(idx, w0, start)
        if not ok:
            self._note(height, f"no rep where the set's rhythm put one ({snr:.1f} standard errors)")
            return None
        return self._emit_fitted(idx, (start, top, lower, end), height, in_rhythm=True, tentative=not sure)

    def _search_first(
        self, idx: int, plan: tuple[float, float, float, float], before_s: float, ref: tuple[float, NDArray[np.float64]]
    ) -> Rep | None:
        """Look for a set's missed first rep near `plan`, a cycle before its opener; emit it if found."""
        first = self._idx - len(self._hist_t)
        now_s = self._hist_t[-1]
        lo_s = plan[0] - _SLOT_REACH_S - _FIT_PAD_S
        if lo_s < self._hist_t[0] or lo_s < self._seg_start_s + 0.5:
            return None
        w0 = max(first, idx - int(math.ceil((now_s - lo_s + 0.2) * GRID_HZ)))
        bound = max(self._seg_start_s, self._set_reps[-1].end_s if self._set_reps else -math.inf)
        height, (start, top, lower, end), snr, timed = self._fit_slot(idx, w0, plan, bound, before_s)
        ref_h, way = ref
        at = idx - first - now_s * GRID_HZ
        ok = (
            timed
            and self._opens_set(start)
            and snr >= _OPEN_MIN_SNR
            and height >= max(self._params().open_min_cm, _SLOT_MIN_FRAC * ref_h)
        )
        if ok:
            # It tips the trunk the opener's way (a weight shift's rocking alternates).
            ok = self._tilt_along(at, (start, top, lower, end), way, (0.0,))[1] >= _NEXT_TILT_T
        if ok:
            ok = not self._footfalls_since(idx, w0, start)
        if ok:
            # A weight shift's rocking starts tilted away from the posture it rocks about (as for an opener).
            ps, pt = int(round(at + start * GRID_HZ)), int(round(at + top * GRID_HZ))
            rest = self._posture_before(ps)
            ok = rest is not None and self._behind_deg(rest, ps, pt) <= _BEHIND_DEG
        if not ok:
            self._note(height, f"no first rep a cycle before the set's opener ({snr:.1f} standard errors)")
            return None
        rep = self._emit_fitted(idx, (start, top, lower, end), height, in_rhythm=False)
        self._z_amps = []  # the new set's adaptive entry learns from its opener's lift on
        return rep

    def _fit_slot(
        self, idx: int, w0: int, plan: tuple[float, float, float, float], bound: float, before_s: float
    ) -> tuple[float, tuple[float, float, float, float], float, bool]:
        """The matched fit near `plan` on grid `w0`..`idx`, from `bound` to `before_s`: height, phases, SNR, timed."""
        first = self._idx - len(self._hist_t)
        t_all = _window(self._hist_t, w0 - first, idx - first + 1)
        v_all = _window(self._hist_v, w0 - first, idx - first + 1) * (geo.G_MPS2 / 1000.0)
        height, phases, snr = _fit_rep(t_all, v_all, plan, _SLOT_REACH_S, bound, before_s)
        self._last_fit_idx = idx
        start, top, lower, end = phases
        timed = (
            start >= bound - 1e-6  # no rise fits after the bound (the fit kept its guess)
            and 0.15 <= top - start <= _MAX_RAMP_S
            and 0.15 <= end - lower <= _MAX_RAMP_S
            and end < min(self._hist_t[-1] - _DELAY_S, before_s)
        )
        return height, phases, snr, timed

    def _emit_fitted(
        self,
        idx: int,
        phases: tuple[float, float, float, float],
        height: float,
        in_rhythm: bool,
        tentative: bool = False,
    ) -> Rep:
        """Emit a rep found by a fit at grid index `idx` (a slot's): its tilt, its end and its ringing are noted."""
        start, top, lower, end = phases
        first = self._idx - len(self._hist_t)
        now_s = self._hist_t[-1]
        i_start = idx - int(round((now_s - start) * GRID_HZ))
        i_top = idx - int(round((now_s - 0.5 * (top + lower)) * GRID_HZ))
        tilt, d = self._tilt_between(0, i_start - first, i_top - first)
        self._last_end_idx = max(self._last_end_idx, idx - int(round((now_s - end) * GRID_HZ)))
        self._echo_todo.append((start, top, lower, end, height))
        return self._emit(start, top, lower, end, height, tilt, False, d, in_rhythm=in_rhythm, tentative=tentative)

    def _tilt_along(
        self,
        at: float,
        phases: tuple[float, float, float, float],
        way: NDArray[np.float64],
        shifts_s: tuple[float, ...],
    ) -> tuple[float, float]:
        """The tilt (degrees, along `way`) that a rep with these phase times explains, and its SNR.

        `at` is the history position of time 0; the best of the phase times shifted by each of `shifts_s`
        is taken (the lift's timing of a slow rep can be off by half a second).
        """
        pad = int(round((_FIT_PAD_S + max(shifts_s)) * GRID_HZ))
        lo = max(0, int(round(at + phases[0] * GRID_HZ)) - pad)
        hi = min(len(self._hist_u), int(round(at + phases[3] * GRID_HZ)) + pad + 1)
        norm = float(np.linalg.norm(way))
        if hi - lo < 10 or norm <= 0:
            return 0.0, 0.0
        tt = _window(self._hist_t, lo, hi, _TILT_STEP) - _DELAY_S
        x = np.degrees(_rows(self._hist_u, lo, hi, _TILT_STEP) @ (way / norm))
        return _trapezoid_fit(tt, x, [tuple(v + d for v in phases) for d in shifts_s])

    def _reanchor(self) -> None:
        # Samples up to now were measured from the old baseline: the rest statistics must not learn them,
        # and the next rep's search for its starting rest must not reach back into them.
        self._busy_mark = self._idx
        self._last_end_idx = self._idx - 1
        if self._hist_dir and self._base is not None:
            dx, dy, dz = self._hist_dir[-1]
            b = [self._base[0] + dx, self._base[1] + dy, self._base[2] + dz]
            norm = math.sqrt(sum(v * v for v in b))
            self._base[:] = [v / norm for v in b]

    # -- a completed excursion -------------------------------------------------------------

    def _finalize(self, cand: _Candidate, end_idx: int, bounced: bool) -> Rep | None:
        p_res = self._resolved
        if p_res is None:
            # Auto placement: a foot pitches tens of degrees, a shin or thigh a few.
            p_res = "foot" if cand.peak >= 12.0 else "shin"
        p = PARAMS[p_res]
        if cand.peak > p.max_peak_deg:
            return self._reject(cand, f"tilt {cand.peak:.1f} deg is too much for a raise at the {p_res}")
        first = self._idx - len(self._hist_r)  # history index of the oldest kept sample
        # After a bounce the rep starts at the turning point; otherwise search back for the rest before it.
        lo = max(first, cand.begin_idx if cand.after_bounce else cand.begin_idx - int(_LOOKBACK_S * GRID_HZ))
        lo = max(lo, cand.not_before_idx)  # never reach back into the previous rep
        # A rep that came down is looked at up to now (its settling rest); a bounce up to its turning point.
        stop = end_idx if bounced else max(end_idx, self._idx - 1)
        r_glob = _window(self._hist_r, lo - first, stop - first + 1)
        tt = _window(self._hist_t, lo - first, stop - first + 1)
        units = _rows(self._hist_u, lo - first, stop - first + 1)
        # The rep is measured as the angle from its own starting orientation, so an error in the
        # tracked baseline (after a weight shift, say) changes when a rep is noticed, not its shape.
        i_rest = int(np.argmin(r_glob[: cand.peak_idx - lo + 1]))
        if r_glob[i_rest] > 0.5 * cand.peak and not cand.after_bounce:
            return self._reject(cand, "did not start from rest")  # noise on the tail of the last rep
        u0 = units[max(0, i_rest - 3) : i_rest + 4].mean(axis=0)
        u0 /= float(np.linalg.norm(u0))
        dev = units - u0
        chord = np.linalg.norm(dev, axis=1)
        r_mag = np.degrees(2.0 * np.arcsin(np.minimum(1.0, 0.5 * chord)))
        pk = i_rest + int(np.argmax(r_mag[i_rest : end_idx - lo + 1]))
        # Signed, along the rep's own direction at its top: a tip the other way (the horizontal
        # deceleration at the bottom of a bouncy rep, sway across) is not part of the rep's shape.
        axis = dev[pk] / max(1e-9, float(chord[pk]))
        r = np.degrees(dev @ axis)
        peak = float(r[pk])
        # Raises tip one way, rep after rep. Tipping the opposite way straight after the last excursion
        # is rocking from foot to foot (a weight shift), however slow and raise-like each half of it is.
        last = self._last_axis
        self._last_axis = (end_idx, axis, peak)
        if (
            p.no_rocking
            and last is not None
            and cand.begin_idx - last[0] <= _ROCK_GAP_S * GRID_HZ
            and float(axis @ last[1]) < _ROCK_DOT
            and min(peak, last[2]) >= _ROCK_SIZE * max(peak, last[2])
        ):
            return self._reject(cand, "tipped the other way straight after the last movement: rocking")
        # Within a set of small raises, a partial rep may fall under the placement's minimum: judge it
        # against the set (its partial flag says the rest).
        min_peak = p.min_peak_deg
        ref = self._ref_cache
        prev = self._set_reps[-1] if self._set_reps else None
        in_set = prev is not None and float(self._hist_t[cand.begin_idx - first]) - prev.end_s < self.rest_s
        if ref and in_set:
            min_peak = min(min_peak, max(0.6 * min_peak, 0.35 * ref))
        if peak < max(min_peak, _PEAK_FLOORS * self._floor_deg):
            return self._reject(cand, f"tilt {peak:.1f} deg from its start is too small for a raise")
        start, top, lower, end, i10, j10, t10u, t10d = _phase_times(tt, r, pk, bounced)
        if top - start < 0.15 or end - lower < 0.15:
            return self._reject(cand, "too fast for a heel raise")  # a knock or a jolt
        opens = self._opens_set(start)
        if not bounced:
            # A raise ends in the posture it started from; sitting down or standing up does not.
            d0 = np.array(self._hist_dir[lo - first + i10])
            d1 = np.array(self._hist_dir[min(len(self._hist_dir) - 1, lo - first + j10)])
            moved_deg = math.degrees(float(np.linalg.norm(d1 - d0)))
            if moved_deg > max(0.35 * peak, p.min_peak_deg):
                return self._reject(cand, f"ended {moved_deg:.1f} deg from where it started")
        dyn = _window(self._hist_dyn, lo - first, end_idx - first + 1)
        if dyn[i10:].max(initial=0.0) >= p.max_dyn_mg:
            return self._reject(cand, "moving about (walking or handling the sensor)")
        # Integrate between the rest points (the estimated start and end), not the 10 % crossings.
        i_rest = i10 - int(round((t10u - start - _DELAY_S) * GRID_HZ))
        j_rest = j10 + int(round((end + _DELAY_S - t10d) * GRID_HZ))
        # Double integration is trustworthy over quick ramps only (drift grows with time cubed), and that is
        # where weight shifts and sway look like raises; slower excursions are judged by their tilt alone.
        # (A seated thigh rises too: its knee comes up with the heel.)
        quick = (top - start <= _LIFT_RAMP_S and end - lower <= _LIFT_RAMP_S) or end - start <= _LIFT_SPAN_S
        if self._resolved is None and p_res == "foot" and quick:
            # Auto placement's first rep tips like a foot: a quick foot raise of 12 degrees lifts a laces sensor
            # 2 cm or more (it turns about the ball of the foot), while a shin tipping as its wearer sits down
            # hardly rises. A foot's own rules never check the lift, so check it here, as the shin's would.
            rise = self._rise_m(lo - first, max(0, i_rest), j_rest)
            if rise is not None and 100.0 * rise < PARAMS["shin"].min_lift_cm:
                return self._reject(cand, f"tipped {peak:.1f} deg but rose only {100 * rise:.1f} cm: not a raise")
        lift: float | None
        # Whether this rep is seated needs its rise (below): the set's reps so far decide whether to fit.
        if peak < p.fit_below_deg and not self._seated(None, in_set):
            # A tilt this small is also what sway does: the matched fit must find the segment rising with it.
            # Read from a sample before the fit's own window (it trims to the rest it needs), not from `lo`.
            w0 = max(lo, first + int((start - _FIT_PAD_S - float(self._hist_t[0])) * GRID_HZ) - 1)
            t_fit = _window(self._hist_t, w0 - first, self._idx - first)
            a_fit = _window(self._hist_v, w0 - first, self._idx - first) * (geo.G_MPS2 / 1000.0)
            # The tilt already times the phases well (median error 0.05 s): a shorter search suffices.
            lift, _, snr = _fit_rep(t_fit, a_fit, (start, top, lower, end), _FIT_REACH_TILT_S)
            # A set's first rep has no set to judge it by: like the chest's, its fit must stand out clearly.
            min_snr = _OPEN_MIN_SNR if opens else _FIT_MIN_SNR
            if lift < (p.min_lift_cm if quick else _FIT_MIN_CM) or snr < min_snr:
                return self._reject(
                    cand, f"tilted {peak:.1f} deg but rose only {lift:.1f} cm ({snr:.1f} standard errors)"
                )
        else:
            lift = None if p_res == "foot" else self._lift_cm(lo - first, max(0, i_rest), j_rest)
            if quick and lift is not None and lift < p.min_lift_cm:
                return self._reject(cand, f"tilted but lifted only {lift:.1f} cm")  # a weight shift or sway
        seat_ratio = None
        if p_res == "thigh" and lift is not None:
            seat_ratio = lift / max(1e-3, _seated_thigh_height_cm(peak))
        seated = self._seated(seat_ratio, in_set)
        height = self._height_cm(p_res, peak, lift, seated)
        if peak < p.min_peak_deg and height is not None:
            # Let in as a partial rep of its set: it must also rise like one.
            set_heights = [r.height_cm for r in self._set_reps[-5:] if r.height_cm is not None]
            if set_heights and height < 0.3 * float(median(set_heights)):
                return self._reject(cand, f"lifted {height:.1f} cm: too little for a partial rep of this set")
        if start < self._seg_start_s:
            return self._reject(cand, "began before the data did")  # its start from rest was never seen
        if opens and height is not None and height < p.open_min_cm:
            # A thigh's idle "reps" (sway timed like a raise at 25 Hz) lift 1-2 cm; a set's first raise lifts
            # 3.5 cm or more in 99 % of the simulated sets, and 3-5 cm even after an Achilles rupture.
            return self._reject(cand, f"lifted {height:.1f} cm: too little to open a set")
        if opens and peak >= _SIDEWAYS_DEG and self._sideways_to_last_set(u0, units[pk] - u0):
            return self._reject(cand, "tipped sideways to the last set's reps: a weight shift")
        if opens:
            self._set_posture = u0
        if self._resolved is None:
            self._resolved = p_res
        return self._emit(start, top, lower, end, height, peak, bounced, units[pk] - u0, seat_ratio)

    def _emit(
        self,
        start: float,
        top: float,
        lower: float,
        end: float,
        height: float | None,
        peak: float,
        bounced: bool,
        d: NDArray[np.float64],
        seat_ratio: float | None = None,
        in_rhythm: bool = False,
        hold: bool = False,
        tentative: bool = False,
    ) -> Rep:
        """Place an accepted rep in its set, flag it and record it."""
        prev = self._set_reps[-1] if self._set_reps else None
        if not in_rhythm and self._opens_set(start):
            if self._held is not None:
                # A faint opener no rep confirmed: not a set (its number goes to this one).
                self._reps = [r for r in self._reps if r is not self._held]
                self._retracted.append(self._held)
                self._set_index -= 1
                self._held = None
            self._drop_held_tail()
            axis = self._set_axis()
            if axis is not None:
                self._axis, self._sideways = axis, []
            self._set_index += 1
            self._set_reps = []
            self._set_seat_ratios = []
            self._set_dir_sum = np.zeros(3)
            self._set_dir_n = 0
            self._ref_cache = None
            self._force_new_set = False
            prev = None
        pause = None if prev is None else max(0.0, start - prev.end_s)
        flags = self._flags(peak, height, pause, bounced or (pause is not None and pause < 0.12), d)
        rep = Rep(
            index=len(self._set_reps) + 1,
            set_index=self._set_index,
            start_s=round(start, 3),
            top_s=round(top, 3),
            lower_s=round(lower, 3),
            end_s=round(end, 3),
            pause_s=None if pause is None else round(pause, 3),
            height_cm=None if height is None else round(height, 2),
            peak_tilt_deg=round(peak, 2),
            flags=flags,
        )
        if hold and prev is None:
            # Still its set's first rep: a rep found in an empty slot before it can have joined it to the last set.
            self._held = rep
        elif tentative:
            self._held_tail.append(rep)
        else:
            if self._held is not None and prev is not None:
                self._confirmed.append((self._held, rep))
                self._held = None
            if self._held_tail:
                self._confirmed += [(h, rep) for h in self._held_tail]
                self._held_tail = []
        self._set_reps.append(rep)
        self._moved = False
        if seat_ratio is not None:
            self._set_seat_ratios.append(seat_ratio)
        self._ref_cache = self._reference_peak()
        self._reps.append(rep)
        if self._lift_path():
            self._slot_filled, self._slot_tries = in_rhythm, 0
            self._schedule_slot()
        return rep

    def _drop_held_tail(self) -> None:
        """The set is over: its faint reps found in rhythm after its last sure one were not reps."""
        if self._held_tail:
            gone = {id(r) for r in self._held_tail}
            self._reps = [r for r in self._reps if id(r) not in gone]
            self._retracted += self._held_tail
            self._held_tail = []

    def _release(self, out: list[Rep]) -> list[Rep]:
        """Hold back a faint set opener, or a faint rep in rhythm, until a later rep in its set confirms it."""
        if self._held is None and not self._held_tail and not self._confirmed and not self._retracted:
            return out
        # Fed in one block, a held rep is in `out` already (before the rep that confirmed it).
        shown = {id(r) for r in out}
        skip = {id(r) for r in self._retracted + self._held_tail + ([] if self._held is None else [self._held])}
        kept = [rep for rep in out if id(rep) not in skip]
        # Reported now, with the rep that confirmed them, in their place by time.
        for held in sorted((h for h, _ in self._confirmed if id(h) not in shown), key=lambda r: r.start_s):
            kept.insert(next((i for i, r in enumerate(kept) if r.start_s > held.start_s), len(kept)), held)
        self._confirmed, self._retracted = [], []
        return kept

    def _opens_set(self, start: float) -> bool:
        """Whether a rep starting at `start` begins a new set: rest, a long gap, or an explicit boundary."""
        prev = self._set_reps[-1] if self._set_reps else None
        if self._force_new_set or prev is None:
            return True
        # Rest is observed time without a rep: time lost in a radio gap is not rest (a long gap already
        # forces a new set by itself).
        unseen = sum(max(0.0, min(b, start) - max(a, prev.end_s)) for a, b in self.gaps)
        return start - prev.end_s - unseen >= self.rest_s

    def _reject(self, cand: _Candidate, reason: str) -> Rep | None:
        """Remember why an excursion was not counted (`Detector.rejected`, for tuning), keeping the last 100."""
        self._note(cand.peak, reason)
        return None

    def _note(self, size: float, reason: str) -> None:
        """Record a rejection: the time, the size of what was rejected, and why."""
        t = self._hist_t[-1] if self._hist_t else 0.0
        self.rejected.append((round(t, 2), round(size, 2), reason))
        del self.rejected[:-100]

    def _seated(self, seat_ratio: float | None, in_set: bool) -> bool:
        """A seated raise: declared, or (thigh) a rise too small for its pitch, judged with its set's reps."""
        if self.exercise is not None:
            return self.exercise == "seated"
        # One rep's rise is noisy (the ranges overlap by a few per cent); a set does not change posture.
        ratios = self._set_seat_ratios[-5:] if in_set else []
        if seat_ratio is not None:
            ratios = [*ratios, seat_ratio]
        return bool(ratios) and float(median(ratios)) < _SEATED_MAX_RATIO

    def _height_cm(self, placement: str, peak_deg: float, lift_cm: float | None, seated: bool) -> float | None:
        """Heel height: from foot pitch, from a seated thigh's pitch, else the double-integrated lift."""
        if placement == "foot":
            return 100.0 * geo.heel_height_from_pitch_m(math.radians(peak_deg))
        if placement == "thigh" and seated:
            return _seated_thigh_height_cm(peak_deg)
        return lift_cm

    def _lift_cm(self, off: int, i10: int, j10: int) -> float | None:
        """Heel height from the segment's rise: double integration between the rest points around the rep."""
        rise = self._rise_m(off, i10, j10)  # a standing thigh rides on the ankle like the shin
        return None if rise is None else 100.0 * geo.heel_height_from_ankle_rise_m(rise)

    def _rise_m(self, off: int, i10: int, j10: int) -> float | None:
        """How far the sensor rose between the rest points around the rep (double integration of |a|)."""
        # Zero velocity and zero height at both rest points.
        pad = int(0.25 * GRID_HZ)
        a0 = max(0, off + i10 - pad)
        a1 = min(len(self._hist_v), off + j10 + pad + 1)
        acc = (_window(self._hist_v, a0, a1) / 1000.0) * geo.G_MPS2
        if len(acc) < 5:
            return None
        return float(_rise_between_rests(acc, pad, pad).max())

    def _flags(
        self, peak: float, height: float | None, pause: float | None, bounce: bool, d: NDArray[np.float64]
    ) -> tuple[str, ...]:
        flags: list[str] = []
        heights = [r.height_cm for r in self._set_reps[:3] if r.height_cm is not None]
        if height is not None and heights:
            reference = float(median(heights))
            if height < 0.7 * reference:
                flags.append("partial")
        # Lean: the direction of this rep's tilt (`d`, top minus start) differs from the set's usual one.
        n = float(np.linalg.norm(d))
        if n > 0:
            u = d / n
            if self._set_dir_n >= 2:
                mean = self._set_dir_sum / max(1e-9, float(np.linalg.norm(self._set_dir_sum)))
                off_axis_deg = math.degrees(2 * math.asin(min(1.0, 0.5 * n))) * math.sqrt(
                    max(0.0, 1 - float(np.dot(u, mean)) ** 2)
                )
                along = [r.peak_tilt_deg for r in self._set_reps[:5]]
                excess = peak - float(median(along)) if along else 0.0
                lim = max(3.0, 0.3 * float(median(along))) if along else 3.0
                if off_axis_deg > lim or (self._resolved in ("shin", "chest") and excess > lim):
                    flags.append("lean")
            if "lean" not in flags:
                self._set_dir_sum = self._set_dir_sum + u
                self._set_dir_n += 1
        if bounce and pause is not None:
            flags.append("bounce")
        return tuple(flags)


def _box_means(
    xt: NDArray[np.float64], xa: NDArray[np.float64], lo: NDArray[np.float64], hi: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Mean of the linearly interpolated signal over each grid interval [lo, hi] (an anti-alias box filter).

    Averaging instead of picking one value keeps the noise reduction of a fast sensor (at 200 Hz, four
    samples per interval halve the noise). Each mean uses only the samples in and around its own
    interval, so the result does not depend on how the input was split into blocks.
    """
    lo = np.maximum(lo, xt[0])  # the first interval after a start is clipped to the data
    inside = xt[(xt > lo[0]) & (xt < hi[-1])]
    pts = np.unique(np.concatenate((inside, lo, hi)))
    vals = np.stack([np.interp(pts, xt, xa[:, k]) for k in range(3)], -1)
    pieces = 0.5 * (vals[:-1] + vals[1:]) * np.diff(pts)[:, None]
    i_lo = np.searchsorted(pts, lo)
    out = np.empty((len(hi), 3))
    width = hi - lo
    ok = width > 1e-9
    if ok.any():
        sums = np.add.reduceat(pieces, i_lo[ok], axis=0) if len(pieces) else np.zeros((int(ok.sum()), 3))
        out[ok] = sums / width[ok, None]
    if not ok.all():
        out[~ok] = np.stack([np.interp(hi[~ok], xt, xa[:, k]) for k in range(3)], -1)
    return out


def _rise_between_rests(acc_mps2: NDArray[np.float64], n_before: int, n_after: int) -> NDArray[np.float64]:
    """Height profile (m) from vertical acceleration, at rest at both ends (zero velocity, zero height).

    The sensor's rest level (bias, scale error) is the mean of the first `n_before` and last `n_after`
    samples; what drift remains is removed linearly from velocity and from height.
    """
    acc = acc_mps2 - 0.5 * (acc_mps2[:n_before].mean() + acc_mps2[len(acc_mps2) - n_after :].mean())
    vel = np.cumsum(acc) * _DT
    vel -= np.linspace(0, vel[-1], len(vel))
    pos: NDArray[np.float64] = np.cumsum(vel) * _DT
    pos -= np.linspace(0, pos[-1], len(pos))
    return pos


def _ramp_templates() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Accelerations of unit raised-cosine rises on the grid, one row per span (k x `_FIT_SPAN_STEP_S`).

    Row k is zero outside its ramp (0 < u < 1); also returns the running sums of each row squared and
    of each row, for g.g and g.1 over however much of a ramp the data holds.
    """
    spans = np.arange(_FIT_SPANS) * _FIT_SPAN_STEP_S
    spans[0] = _FIT_SPAN_STEP_S  # row 0 is never used; keep it finite
    width = int(spans[-1] / _DT) + 2
    u = (np.arange(width) * _DT)[None, :] / spans[:, None]
    tmpl = np.cos(np.pi * u)
    tmpl[u >= 1.0] = 0.0
    tmpl[:, 0] = 0.0
    tmpl *= (0.5 * np.pi**2 / (spans * spans))[:, None]
    return tmpl, np.cumsum(np.stack((tmpl * tmpl, tmpl)), axis=2)


def _ramp_grid(
    data: NDArray[np.float64], n: int, first: int, count: int, spans: NDArray[np.intp], sign: float
) -> NDArray[np.float64]:
    """Dot products of unit raised-cosine ramps' accelerations g with the data, the nuisances and themselves.

    `data` holds the n residual samples y and the slope's unit vector q2, zero-padded past n. Ramps
    start on `count` samples `_FIT_EVERY` apart from `first`, with each of `spans` (in steps of
    `_FIT_SPAN_STEP_S`); `sign` is +1 for a rise, -1 for a fall. Returns (4, starts, spans): g.y, g.q2,
    g.g and g.1.
    """
    width = int(float(spans.max()) * _FIT_SPAN_STEP_S / _DT) + 2
    tmpl = _TEMPLATES[spans, :width]
    # One matrix product over sliding windows gives g.y and g.q2 for every start and span.
    step = data.strides[1]
    wins = np.lib.stride_tricks.as_strided(
        data[:, first:], shape=(2, count, width), strides=(data.strides[0], _FIT_EVERY * step, step), writeable=False
    )
    # g.g and g.1 need no data: running sums of the templates, cut where the data ends.
    inside = np.minimum(width, n - (first + _FIT_EVERY * np.arange(count))) - 1
    sums = _TEMPLATE_SUMS[:, spans][:, :, inside]
    result: NDArray[np.float64] = np.concatenate((sign * (wins @ tmpl.T), sums.transpose(0, 2, 1)))
    result[3] *= sign
    return result


_FIT_SPANS = int(round((_MAX_RAMP_S + 1.0) / _FIT_SPAN_STEP_S)) + 1  # spans the fit may try, in steps
_TEMPLATES, _TEMPLATE_SUMS = _ramp_templates()


@dataclass(frozen=True, slots=True)
class _RaiseFit:
    """A raise fitted to vertical acceleration: its rise and phase times (on the signal's own clock)."""

    rise_m: float
    times: tuple[float, float, float, float]
    snr: float  # the rise over its standard error, with the residual's spread taken as white noise


def _vertex(left: float, mid: float, right: float) -> float:
    """Offset (in steps, within +-0.5) of the top of the parabola through three equally spaced scores."""
    curve = left - 2.0 * mid + right
    if not (math.isfinite(left) and math.isfinite(right)) or curve >= 0:
        return 0.0
    return max(-0.5, min(0.5, 0.5 * (left - right) / curve))


def _fit_raise(
    tt: NDArray[np.float64],
    acc_mps2: NDArray[np.float64],
    guess: tuple[float, float, float, float],
    reach_s: float = _FIT_REACH_S,
    not_before: float = -math.inf,
    not_after: float = math.inf,
) -> _RaiseFit:
    """Least-squares fit of one raise (raised-cosine ramps up and down) plus an offset and a slope.

    A matched fit weighs each sample by what it says about the rise, where double integration lets
    slow noise grow with time squared. The offset and slope take up the sensor's rest level and its
    drift. The rising ramp, then the falling one, is searched over every start and span within
    `reach_s` of `guess` (start, top, lower, end on the 50 Hz grid `tt`), rising no earlier than `not_before`
    and ending no later than `not_after`.
    """
    s0, t0, l0, e0 = guess
    t0 = max(t0, s0 + 0.15)
    l0 = max(l0, t0)
    best = [s0, t0, l0, max(e0, l0 + 0.15)]
    n = len(tt)
    q1 = 1.0 / math.sqrt(n)  # the offset's unit vector is constant
    q2 = tt - float(tt.mean())
    q2 /= max(1e-12, float(np.linalg.norm(q2)))
    # The residual after the offset and slope, and the slope's vector, padded for the longest ramp.
    data = np.zeros((2, n + int((max(t0 - s0, best[3] - l0) + reach_s) / _DT) + 3))
    data[0, :n] = acc_mps2 - float(acc_mps2.mean()) - q2 * float(q2 @ acc_mps2)
    data[1, :n] = q2
    stats = [np.zeros(4), np.zeros(4)]  # g.y, g.q2, g.g, g.1; the rising ramp is found first, as if alone
    reach_k = int(round(reach_s / _FIT_SPAN_STEP_S))
    offs = np.arange(-reach_k, reach_k + 1)
    reach = int(round(reach_s / _DT))
    for ramp in (0, 1):
        a, b = best[2 * ramp], best[2 * ramp + 1]
        # Spans on a fixed grid of steps, so their templates are computed once (a parabola refines between).
        spans = np.unique(np.clip(int(round((b - a) / _FIT_SPAN_STEP_S)) + offs, 2, _FIT_SPANS - 1))
        i_a = int(round((a - float(tt[0])) / _DT))
        first, last = max(0, i_a - reach), min(n - 2, i_a + reach)
        if last < first:
            continue
        count = (last - first) // _FIT_EVERY + 1
        # The two ramps do not overlap, so their dot products add.
        st = _ramp_grid(data, n, first, count, spans, 1.0 - 2.0 * ramp) + stats[1 - ramp][:, None, None]
        gg = np.maximum(st[2] - (q1 * st[3]) ** 2 - st[1] ** 2, 1e-12)  # less what the offset and slope take
        starts = tt[first : first + _FIT_EVERY * count : _FIT_EVERY]
        span_s = spans * _FIT_SPAN_STEP_S
        if ramp == 0:
            ok = (starts[:, None] + span_s[None, :] <= best[2]) & (starts[:, None] >= not_before)
        else:
            ok = (starts[:, None] >= best[1]) & (starts[:, None] + span_s[None, :] <= not_after)
        score = np.where(ok & (st[0] > 0), st[0] ** 2 / gg, -np.inf)  # the variance the raise explains
        pi, ki = divmod(int(np.argmax(score)), len(spans))
        if not math.isfinite(float(score[pi, ki])):
            continue
        stats[ramp] = st[:, pi, ki] - stats[1 - ramp]
        # Between grid points: the vertex of the parabola through the best score and its neighbours.
        at = float(score[pi, ki])
        dp = _vertex(
            float(score[pi - 1, ki]) if pi > 0 else -math.inf,
            at,
            float(score[pi + 1, ki]) if pi + 1 < count else -math.inf,
        )
        dk = _vertex(
            float(score[pi, ki - 1]) if ki > 0 else -math.inf,
            at,
            float(score[pi, ki + 1]) if ki + 1 < len(spans) else -math.inf,
        )
        na = float(starts[pi]) + dp * _FIT_EVERY * _DT
        nb = na + float(span_s[ki]) + dk * _FIT_SPAN_STEP_S
        if (
            nb - na < 0.15
            or (ramp == 0 and (nb > best[2] or na < not_before))
            or (ramp == 1 and (na < best[1] or nb > not_after))
        ):
            na, nb = float(starts[pi]), float(starts[pi]) + float(span_s[ki])
        best[2 * ramp], best[2 * ramp + 1] = na, nb
    tot = stats[0] + stats[1]
    norm2 = max(1e-12, float(tot[2] - (q1 * tot[3]) ** 2 - tot[1] ** 2))
    resid = max(1e-18, (float(data[0, :n] @ data[0, :n]) - float(tot[0]) ** 2 / norm2) / n)
    snr = float(tot[0]) / math.sqrt(norm2 * resid)
    return _RaiseFit(float(tot[0]) / norm2, (best[0], best[1], best[2], best[3]), snr)


def _fit_rep(
    tt: NDArray[np.float64],
    acc_mps2: NDArray[np.float64],
    phases: tuple[float, float, float, float],
    reach_s: float,
    not_before: float = -math.inf,
    not_after: float = math.inf,
) -> tuple[float, tuple[float, float, float, float], float]:
    """The matched fit of a rep timed by `phases`, over it and `_FIT_PAD_S` of rest on each side.

    `tt` and `acc_mps2` are the low-passed |a| on the grid (from where the rep may begin on). A rep between
    two others rises no earlier than `not_before` and ends no later than `not_after`, and the fit reads
    nothing beyond them: the end of a lowering and the start of a rise accelerate the same way, so a
    lowering free to run on takes in the next rep's rise (and then overlaps it). Returns
    the heel height in cm (0 without a rise), the fitted phase times on the input's clock and the fit's
    signal-to-noise ratio; with too little data, 0, `phases` unchanged and 0.
    """
    start, top, lower, end = phases
    i0 = max(0, math.ceil((max(start - _FIT_PAD_S, not_before + _DELAY_S) - float(tt[0])) * GRID_HZ))
    i1 = min(len(tt) - 1, math.floor((min(end + _FIT_PAD_S, not_after) + _DELAY_S - float(tt[0])) * GRID_HZ))
    if i1 - i0 < 10:
        return 0.0, phases, 0.0
    guess = (start + _DELAY_S, top + _DELAY_S, lower + _DELAY_S, end + _DELAY_S)
    fit = _fit_raise(
        tt[i0 : i1 + 1], acc_mps2[i0 : i1 + 1], guess, reach_s, not_before + _DELAY_S, not_after + _DELAY_S
    )
    s0, t0, l0, e0 = fit.times
    times = (s0 - _DELAY_S, t0 - _DELAY_S, l0 - _DELAY_S, e0 - _DELAY_S)
    return 100.0 * geo.heel_height_from_ankle_rise_m(fit.rise_m), times, fit.snr


def _trapezoid_fit(
    tt: NDArray[np.float64], x: NDArray[np.float64], shapes: list[tuple[float, ...]]
) -> tuple[float, float]:
    """Least-squares amplitude of a raise-shaped step in `x` (plus an offset and slope), and its SNR.

    Each of `shapes` (start, top, lower, end) is a raised-cosine rise, a hold and a raised-cosine fall;
    the one that explains the most of `x` wins. The SNR takes the residual as white noise.
    """
    n = len(tt)
    q2 = tt - float(tt.mean())
    q2 /= max(1e-12, float(np.linalg.norm(q2)))
    xr = x - float(x.mean()) - q2 * float(q2 @ x)  # less what the offset and slope take
    s0, t0, l0, e0 = (np.array(v)[:, None] for v in zip(*shapes, strict=True))
    up = np.clip((tt - s0) / np.maximum(t0 - s0, _DT), 0.0, 1.0)
    down = np.clip((tt - l0) / np.maximum(e0 - l0, _DT), 0.0, 1.0)
    p = 0.5 - 0.5 * np.cos(np.pi * np.where(tt < t0, up, 1.0 - down))
    p -= p.mean(axis=1, keepdims=True) + (p @ q2)[:, None] * q2
    pp = np.maximum(np.einsum("ij,ij->i", p, p), 1e-12)
    amp = (p @ xr) / pp
    k = int(np.argmax(amp * np.abs(amp) * pp))  # signed: a tilt the other way explains nothing
    resid = max(1e-18, (float(xr @ xr) - float(amp[k] ** 2 * pp[k])) / n)
    return float(amp[k]), float(amp[k] * math.sqrt(pp[k] / resid))


def _slot_at(start: float, rhythm: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Start, top, lower and end of a rep starting at `start` with the set's (cycle, up, hold, down) times."""
    _, up, hold, down = rhythm
    return start, start + up, start + up + hold, start + up + hold + down


def _window(hist: Iterable[float], start: int, stop: int, step: int = 1) -> NDArray[np.float64]:
    """hist[start:stop:step] as an array, without copying the whole history (the per-rep cost in streaming)."""
    return np.fromiter(islice(hist, max(0, start), max(0, stop), step), dtype=np.float64)


def _rows(hist: Iterable[tuple[float, float, float]], start: int, stop: int, step: int = 1) -> NDArray[np.float64]:
    """hist[start:stop:step] as an (n, 3) array of its vectors, built in one pass."""
    flat = np.fromiter(chain.from_iterable(islice(hist, max(0, start), max(0, stop), step)), dtype=np.float64)
    return flat.reshape(-1, 3)


def _phase_times(
    tt: NDArray[np.float64], r: NDArray[np.float64], pk: int, bounced: bool
) -> tuple[float, float, float, float, int, int, float, float]:
    """Start, top, lower and end of an excursion `r` peaking at `pk`, from its 10 % and 90 % crossings.

    Returns the four times, the indices of the rising 10 % and falling 10 % crossings, and their times.
    """
    peak = float(r[pk])
    # Each ramp is measured from its own rest level: the bottom may sit a little off the start.
    # (Never below the start: a tip the other way at the bottom is not a lower rest.)
    base_up = max(0.0, float(r[: pk + 1].min()))
    base_dn = max(0.0, float(r[pk:].min()))
    lo10u, hi90u = base_up + 0.1 * (peak - base_up), base_up + 0.9 * (peak - base_up)
    lo10d, hi90d = base_dn + 0.1 * (peak - base_dn), base_dn + 0.9 * (peak - base_dn)
    # Rising edge: last sample below 10 % before the peak, first at or above 90 %.
    below = np.flatnonzero(r[:pk] <= lo10u)
    i10 = int(below[-1]) if len(below) else 0
    i90 = i10 + int(np.argmax(r[i10 : pk + 1] >= hi90u))
    above = np.flatnonzero(r[pk:] >= hi90d)
    j90 = pk + int(above[-1])
    after = np.flatnonzero(r[j90:] <= lo10d)
    j10 = j90 + int(after[0]) if len(after) else len(r) - 1
    t10u = _cross(tt, r, i10, lo10u)
    t90u = _cross(tt, r, i90 - 1, hi90u) if i90 > 0 else tt[i90]
    t90d = _cross(tt, r, j90, hi90d)
    t10d = _cross(tt, r, j10 - 1, lo10d) if j10 > j90 else tt[j10]
    up_ramp = max(_DT, (t90u - t10u) / (_U90 - _U10))
    down_ramp = max(_DT, (t10d - t90d) / (_U90 - _U10))
    start = t10u - _U10 * up_ramp - _DELAY_S
    top = t90u + (1 - _U90) * up_ramp - _DELAY_S
    lower = t90d - (1 - _U90) * down_ramp - _DELAY_S
    end = t10d + _U10 * down_ramp - _DELAY_S
    if bounced:
        end = min(end, float(tt[-1]) - _DELAY_S)
    if top > lower:  # no hold: the ramps meet at the peak
        mid = float(tt[pk]) - _DELAY_S
        top = lower = mid
    return start, top, lower, end, i10, j10, t10u, t10d


def _cross(t: NDArray[np.float64], r: NDArray[np.float64], i: int, level: float) -> float:
    """Time where r crosses `level` between samples i and i+1 (linear interpolation)."""
    i = max(0, min(i, len(r) - 2))
    r0, r1 = float(r[i]), float(r[i + 1])
    if r1 == r0:
        return float(t[i])
    f = min(1.0, max(0.0, (level - r0) / (r1 - r0)))
    return float(t[i] + f * (t[i + 1] - t[i]))


def detect(
    time_s: ArrayLike,
    acc_mg: ArrayLike,
    placement: PlacementName = "auto",
    exercise: str | None = None,
    device_model: str | None = None,
    rest_s: float = DEFAULT_REST_S,
) -> Session:
    """Batch detection: the streaming detector fed one block."""
    det = Detector(placement, exercise=exercise, device_model=device_model, rest_s=rest_s)
    det.feed(time_s, acc_mg)
    det.finish()
    return det.session()
