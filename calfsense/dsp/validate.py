"""Validation: whether a measured candidate is a heel raise, by physics and by its set's other reps.

Physics first (any placement, any person): a rep lasts `min_rep_s`-`max_rep_s`, tips the segment less
than `max_tilt_deg` and lifts it less than `max_lift_cm`, is smooth, comes back to where it started (a
posture change does not), and, where its lift was measured well enough to tell, goes up more than down, by
at least `min_lift_per_deg` for every degree it tipped (a squat tips a shank far and lowers it), and, where
tilt alone cannot tell a raise (`tilt_alone` off: the chest), an opener shows a measured lift. Then the
set: an opener must stand out (`open_min` typical reps); a later rep must look like its set's reps
(`in_set_min` of their median rise, within `duration_spread` of their duration). The second rep is judged
as an opener, but may show its rise by being like the first (tipping the same way): one clear rep shows what the
set's reps look like.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from calfsense.dsp.measure import Measured
from calfsense.dsp.params import DetectorParams
from calfsense.dsp.segment import Candidate


class Rejection(Enum):
    """Why a candidate was not counted."""

    DURATION = "too short or too long for a rep"
    TILT = "tipped further than a raise can"
    LIFT = "lifted further than a raise can"
    ROUGH = "footsteps or handling"
    NO_RETURN = "did not come back: a posture change"
    NO_LIFT = "tipped without rising: not a raise"
    WENT_PAST = "went on past where it began: a posture change"
    LOW = "the heel hardly rose"
    WEAK = "too faint to open a set"
    CUT = "already under way when the data resumed after a gap"
    UNSEEN_LIFT = "its lift could not be measured, and tilt alone opens no set here"
    UNLIKE_SET = "unlike its set's reps"


@dataclass(frozen=True, slots=True)
class SetContext:
    """What the current set's reps so far look like (medians)."""

    reps: int
    rise: float
    duration_s: float
    way: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the mean of their unit tilt directions


def return_tolerance_deg(peak_tilt_deg: float, params: DetectorParams) -> float:
    """How far from where it began a rep may end (or go on past it): `return_frac` of its tilt, or sway and lean."""
    return max(params.return_frac * peak_tilt_deg, params.tilt_floor_deg)


def judge(
    m: Measured,
    cand: Candidate,
    ctx: SetContext | None,
    params: DetectorParams,
    height_cm: float,
    tilt_noise_deg: float = 0.0,
) -> Rejection | None:
    """None if the candidate is a rep, else why not.

    `height_cm` is the heel height it implies; `tilt_noise_deg` the session's tilt noise (sway) now.
    """
    p = params
    if not p.min_rep_s <= m.duration_s <= p.max_rep_s:
        return Rejection.DURATION
    if m.peak_tilt_deg > p.max_tilt_deg:
        return Rejection.TILT
    if m.lift_cm - 2.0 * m.lift_se_cm > p.max_lift_cm:
        return Rejection.LIFT
    if m.rough_mg > p.max_rough_mg:
        return Rejection.ROUGH
    # The segmenter gives up on a lowering slower than any it allows (`returned` False); the measurement
    # decides: back within `return_frac` of its peak tilt it came back (a slow lowering), else it is a
    # new posture. One that came back in time may end a little further off (sway, lean: `tilt_floor_deg`).
    back = p.return_frac * m.peak_tilt_deg
    if m.end_tilt_deg > (back if not cand.returned else return_tolerance_deg(m.peak_tilt_deg, p)):
        return Rejection.NO_RETURN
    slow = m.top_s - m.start_s >= p.slow_rise_s
    if m.lift_cm + m.lift_se_cm < (p.min_lift_per_deg_slow if slow else p.min_lift_per_deg) * m.peak_tilt_deg:
        return Rejection.NO_LIFT
    if m.lift_trusted(p.lift_snr) and m.drop_cm > m.lift_cm:
        return Rejection.NO_LIFT
    if height_cm < p.min_height_cm and (p.height_from_tilt or m.lift_trusted(p.lift_snr)):
        return Rejection.LOW
    if ctx is None or ctx.reps < 2:  # one rep is no pattern yet: which of the two would be the odd one?
        # What would open a set and went on past where it began is a posture change (standing up); within a set,
        # a quick rep's braking tips the apparent gravity past for a moment, and its set decides.
        if m.past_deg > return_tolerance_deg(m.peak_tilt_deg, p):
            return Rejection.WENT_PAST
        # An opener stands out, and shows it rose in its own measurement: by its lift, or by its tilt alone.
        lifted = m.lift_trusted(p.lift_snr) and m.lift_cm > m.drop_cm
        tipped = m.peak_tilt_deg >= p.open_tilt_snr * tilt_noise_deg
        # The set's second rep may show its rise by being like the first, tipping the same way (a slower one's
        # lift is not measured), but stands out as much.
        like_first = (
            ctx is not None
            and sum(a * b for a, b in zip(m.tilt_dir, ctx.way, strict=True)) > 0.0
            and like_set(m, cand, ctx, p)
        )
        if too_faint_to_open(cand, p) or not (lifted or tipped or like_first):
            return Rejection.WEAK
        # Where tilt alone is no raise, a set opens with a lift measured (its later reps may be slower).
        return Rejection.UNSEEN_LIFT if not (lifted or p.tilt_alone or like_first) else None
    return None if like_set(m, cand, ctx, p) else Rejection.UNLIKE_SET


def too_faint_to_open(cand: Candidate, p: DetectorParams) -> bool:
    """Whether a candidate stands out too little to open a set (`open_min`), whatever its measurement says."""
    return cand.rise < p.open_min


def like_set(m: Measured, cand: Candidate, ctx: SetContext, p: DetectorParams) -> bool:
    """Whether a candidate looks like its set's reps so far: as strong (`in_set_min`), as long (`duration_spread`)."""
    spread = p.duration_spread
    return cand.rise >= p.in_set_min * ctx.rise and ctx.duration_s / spread <= m.duration_s <= ctx.duration_s * spread
