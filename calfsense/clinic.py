"""The heel-rise endurance test as clinics run it: termination rules, results per leg, symmetry and norms.

Protocol (Hébert-Losier 2017; Sleeswijk Visser 2025): single leg, 10 degree incline, fingertip support,
metronome at 60 bpm, up on one beat and down on the next (a rep every 2 s), as high as possible, to
failure; 10 bilateral warm-up raises and 2 min between legs. The sensor sees three of the published
termination criteria; each rule here says what it measures and where its threshold comes from. Pure:
reps in, results out (`cli/clinic.py` runs the test, `analyze_test` scores a recording of one).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from calfsense.report_model import Report, RepReport

G_MPS2 = 9.80665


@dataclass(frozen=True, slots=True)
class TestRules:
    """The termination rules and their thresholds."""

    # The metronome: a rep every 2 s (60 bpm, up on one beat, down on the next).
    cycle_s: float = 2.0
    # A rep is off the beat when its cycle (start to next start) misses 2 s by more than half a beat:
    # "the metronome pace cannot be followed" (Sleeswijk Visser 2025, criterion 2). Two in a row end the
    # test: the protocol stops after no response to two consecutive prompts.
    off_beat_s: float = 0.5
    # A rise under half the leg's own first reps (their median) is "the heel can no longer be lifted"
    # (criterion 1) by this sensor's measure; two in a row end the test, as above. The reference is the
    # leg's first three reps because fatigue lowers every later one (Hébert-Losier & Holmberg 2013).
    height_fraction: float = 0.5
    reference_reps: int = 3
    consecutive: int = 2
    # No rep for two cycles: the person stopped.
    stop_after_s: float = 4.0


class Termination(enum.StrEnum):
    """Why a leg's test ended."""

    PACE = "the pace could not be followed (two reps in a row off the beat)"
    HEIGHT = "the heel could no longer be lifted (two rises in a row under half the first ones)"
    STOPPED = "stopped (no rep for two beats' cycles)"
    END = "no more raises after the last counted one (the person stopped)"


@dataclass(frozen=True, slots=True)
class LegResult:
    """One leg's test: the reps that count, and what they add up to."""

    side: str
    reps: int
    displacement_cm: float  # the heel's total vertical travel over the counted reps
    peak_height_cm: float | None
    mean_height_cm: float | None
    work_j: float | None  # heel-based (body mass x g x heel travel): overestimates by about a fifth
    fatigue_cm_per_rep: float | None  # slope of height over rep number (negative: tiring)
    ended: Termination
    ended_at_s: float | None
    reps_detected: int  # all the raises seen, counted or not
    heights_cm: tuple[float, ...] = ()  # each counted rise, in order

    def to_json(self) -> dict[str, object]:
        """The leg's result."""
        return {
            "side": self.side,
            "reps": self.reps,
            "displacement_cm": round(self.displacement_cm, 1),
            "peak_height_cm": _r(self.peak_height_cm),
            "mean_height_cm": _r(self.mean_height_cm),
            "work_j": _r(self.work_j, 0),
            "work_basis": "heel displacement x body mass x g (overestimates by about 21-25 %: Andreasen 2021)",
            "fatigue_cm_per_rep": _r(self.fatigue_cm_per_rep, 3),
            "ended": self.ended.name.lower(),
            "ended_because": self.ended.value,
            "ended_at_s": _r(self.ended_at_s),
            "reps_detected": self.reps_detected,
            "heights_cm": [round(h, 2) for h in self.heights_cm],
        }


class RepLike(Protocol):
    """What the rules read of a rep: a detector's `Rep` live, a report's `RepReport` after."""

    @property
    def start_s(self) -> float | None: ...
    @property
    def end_s(self) -> float | None: ...
    @property
    def up_s(self) -> float | None: ...
    @property
    def hold_s(self) -> float | None: ...
    @property
    def down_s(self) -> float | None: ...
    @property
    def height_cm(self) -> float | None: ...


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


def score_leg(
    side: str, reps: Sequence[RepLike], body_mass_kg: float | None = None, rules: TestRules = TestRules()
) -> LegResult:
    """Apply the termination rules to a leg's raises in order; the reps before the ending ones count."""
    heights = [r.height_cm for r in reps]
    known = [h for h in heights[: rules.reference_reps] if h is not None]
    reference = float(np.median(known)) if known else None
    counted = len(reps)
    ended, at = Termination.END, None
    bad_pace = bad_height = 0
    for i, rep in enumerate(reps):
        last_end = reps[i - 1].end_s if i > 0 else None
        if rep.start_s is not None and last_end is not None and rep.start_s - last_end > rules.stop_after_s:
            counted, ended, at = i, Termination.STOPPED, last_end
            break
        cycle = _cycle_s(reps, i)
        bad_pace = bad_pace + 1 if cycle is not None and abs(cycle - rules.cycle_s) > rules.off_beat_s else 0
        low = reference is not None and rep.height_cm is not None and rep.height_cm < rules.height_fraction * reference
        bad_height = bad_height + 1 if low else 0
        if bad_height >= rules.consecutive or bad_pace >= rules.consecutive:
            counted = i + 1 - rules.consecutive
            ended = Termination.HEIGHT if bad_height >= rules.consecutive else Termination.PACE
            at = reps[counted].start_s
            break
    kept = list(reps[:counted])
    if ended is Termination.END and kept:
        at = kept[-1].end_s
    hs = [r.height_cm for r in kept if r.height_cm is not None]
    travel = float(sum(hs))
    slope = float(np.polyfit(np.arange(len(hs)), hs, 1)[0]) if len(hs) >= 3 else None
    work = body_mass_kg * G_MPS2 * travel / 100.0 if body_mass_kg is not None else None
    return LegResult(
        side=side,
        reps=len(kept),
        displacement_cm=travel,
        peak_height_cm=max(hs) if hs else None,
        mean_height_cm=travel / len(hs) if hs else None,
        work_j=work,
        fatigue_cm_per_rep=slope,
        ended=ended,
        ended_at_s=at,
        reps_detected=len(reps),
        heights_cm=tuple(hs),
    )


def prompt_for(reps: Sequence[RepLike], rules: TestRules = TestRules()) -> str | None:
    """What the tester says after the last rep, live: the prompt its rule calls for, if it broke one."""
    if not reps:
        return None
    cycle = _cycle_s(reps, len(reps) - 1)
    if cycle is not None and abs(cycle - rules.cycle_s) > rules.off_beat_s:
        return "keep the pace: up on one beat, down on the next"
    known = [r.height_cm for r in reps[: rules.reference_reps] if r.height_cm is not None]
    last = reps[-1].height_cm
    if len(reps) > rules.reference_reps and known and last is not None:
        if last < rules.height_fraction * float(np.median(known)):
            return "as high as you can"
    return None


def _cycle_s(reps: Sequence[RepLike], i: int) -> float | None:
    """A rep's cycle: to the next rep's start, or (the last one) its own rise, hold and lowering."""
    rep = reps[i]
    if i + 1 < len(reps) and rep.start_s is not None and reps[i + 1].start_s is not None:
        nxt = reps[i + 1].start_s
        assert nxt is not None
        return nxt - rep.start_s
    parts = (rep.up_s, rep.hold_s, rep.down_s)
    return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)


@dataclass(frozen=True, slots=True)
class Symmetry:
    """The limb symmetry index: the weaker leg's result as a percentage of the stronger's."""

    reps_pct: float | None
    displacement_pct: float | None
    work_pct: float | None
    weaker: str | None  # the side with fewer reps (then less travel)

    CLINICAL_LINE_PCT = 90.0  # the usual line for return to running and sport after an Achilles injury

    def to_json(self) -> dict[str, object]:
        """The symmetry indices."""
        return {
            "reps_pct": _r(self.reps_pct, 1),
            "displacement_pct": _r(self.displacement_pct, 1),
            "work_pct": _r(self.work_pct, 1),
            "weaker": self.weaker,
            "line_pct": self.CLINICAL_LINE_PCT,
            "definition": "weaker leg / stronger leg x 100 (Silbernagel 2010 uses involved / uninvolved)",
        }


def _lsi(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or max(a, b) <= 0:
        return None
    return 100.0 * min(a, b) / max(a, b)


def symmetry(left: LegResult, right: LegResult) -> Symmetry:
    """Weaker / stronger x 100 for reps, travel and work."""
    weaker = None
    if (left.reps, left.displacement_cm) != (right.reps, right.displacement_cm):
        weaker = "left" if (left.reps, left.displacement_cm) < (right.reps, right.displacement_cm) else "right"
    return Symmetry(
        _lsi(left.reps, right.reps),
        _lsi(left.displacement_cm, right.displacement_cm),
        _lsi(left.work_j, right.work_j),
        weaker,
    )


# --- norms -----------------------------------------------------------------------------------

HEBERT_LOSIER_2017 = (
    "Hébert-Losier et al. 2017, Physiotherapy 103:446 (n=566, single leg, 10 deg incline, 60 bpm); "
    "by decade as summarised by naasphysiotherapy.ie"
)
# Typical reps by age band and sex: (lowest age, highest age) -> (men, women).
REPS_BY_AGE: dict[tuple[int, int], tuple[int, int]] = {
    (20, 29): (37, 30),
    (30, 39): (32, 27),
    (40, 49): (28, 24),
    (50, 59): (23, 21),
    (60, 69): (19, 19),
    (70, 81): (14, 16),
}
RETEST_LOA_REPS = 6.2  # 95 % limits of agreement between two days (Hébert-Losier 2017)
SLEESWIJK_VISSER_2025 = (
    "Sleeswijk Visser et al. 2025, Braz J Phys Ther 101188 (n=500, Calf Raise App); medians, dominant leg"
)
# Medians for the dominant leg of the general population (the non-dominant: 24 reps, 1325 J, 186 cm, 9.6 cm).
GENERAL_MEDIANS = {"reps": 25.0, "work_j": 1374.0, "displacement_cm": 192.0, "peak_height_cm": 9.3}


MEASURE_WORDS = {
    "reps": "reps",
    "displacement_cm": "heel travel (cm)",
    "work_j": "work (J)",
    "peak_height_cm": "peak (cm)",
}


@dataclass(frozen=True, slots=True)
class NormComparison:
    """One result against a published value: where it stands, and the source and conditions."""

    measure: str
    value: float
    norm: float
    band: str  # "below typical", "typical", "above typical"
    source: str  # short: who and which group
    reference: str  # the full reference and its conditions

    @property
    def label(self) -> str:
        """The measure in words, with its unit."""
        return MEASURE_WORDS.get(self.measure, self.measure)

    @property
    def shown(self) -> str:
        """The value as shown: whole reps, cm and J; a peak height to a millimetre."""
        return f"{self.value:.1f}" if self.measure == "peak_height_cm" else f"{self.value:.0f}"

    def to_json(self) -> dict[str, object]:
        """The comparison."""
        return {
            "measure": self.measure,
            "value": round(self.value, 1),
            "norm": self.norm,
            "band": self.band,
            "source": self.source,
            "reference": self.reference,
        }


def _band(value: float, norm: float, width: float) -> str:
    if value < norm - width:
        return "below typical"
    if value > norm + width:
        return "above typical"
    return "typical"


def age_band(age: int) -> tuple[int, int] | None:
    """The decade band an age falls in (20-81 in the study), or None outside it."""
    return next((band for band in REPS_BY_AGE if band[0] <= age <= band[1]), None)


def compare_to_norms(leg: LegResult, age: int | None = None, sex: str | None = None) -> list[NormComparison]:
    """The leg's reps against its age band and sex (when known), and its results against the general medians.

    Bands: within the test's day-to-day agreement (6 reps; for the other measures the same share of the
    median, a quarter) is typical; the studies publish medians, not percentiles.
    """
    out = []
    band = age_band(age) if age is not None else None
    if band is not None and sex in ("male", "female"):
        norm = REPS_BY_AGE[band][0 if sex == "male" else 1]
        group = f"{'men' if sex == 'male' else 'women'} {band[0]}-{band[1]}"
        band_name = _band(leg.reps, norm, RETEST_LOA_REPS)
        source = f"Hébert-Losier 2017, {group}"
        out.append(NormComparison("reps", float(leg.reps), float(norm), band_name, source, HEBERT_LOSIER_2017))
    share = RETEST_LOA_REPS / GENERAL_MEDIANS["reps"]
    values = {"reps": float(leg.reps), "displacement_cm": leg.displacement_cm, "work_j": leg.work_j}
    values["peak_height_cm"] = leg.peak_height_cm
    for measure, value in values.items():
        if value is None or (measure == "reps" and out):
            continue
        median = GENERAL_MEDIANS[measure]
        band_name = _band(value, median, share * median)
        source = "Sleeswijk Visser 2025, general population median"
        out.append(NormComparison(measure, value, median, band_name, source, SLEESWIJK_VISSER_2025))
    return out


# --- a whole test ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TestResult:
    """Both legs (or the one tested), their symmetry and norms."""

    legs: tuple[LegResult, ...]
    symmetry: Symmetry | None
    norms: dict[str, tuple[NormComparison, ...]]
    body_mass_kg: float | None
    conditions: str = "single leg, metronome 60 bpm (up one beat, down the next), to failure"

    def to_json(self) -> dict[str, object]:
        """The test's result (`calfsense test heel-rise --json`)."""
        return {
            "schema": "calfsense.heel-rise-test/1",
            "conditions": self.conditions,
            "body_mass_kg": self.body_mass_kg,
            "legs": [leg.to_json() for leg in self.legs],
            "symmetry": None if self.symmetry is None else self.symmetry.to_json(),
            "norms": {side: [n.to_json() for n in ns] for side, ns in self.norms.items()},
        }


def score_test(
    report: Report,
    body_mass_kg: float | None = None,
    age: int | None = None,
    sex: str | None = None,
    rules: TestRules = TestRules(),
) -> TestResult:
    """A test's legs from a report: each side's longest set (a set matched to no prescription is the next leg
    untested; the warm-up's two-leg set is none)."""
    by_side: dict[str, list[RepReport]] = {}
    # The warm-up (both legs) is no leg's test; a set matched to nothing may be one.
    free = [s for s in report.sets if s.side not in ("left", "right") and s.exercise is None]
    for s in report.sets:
        if s.side in ("left", "right") and len(s.reps) > len(by_side.get(s.side, [])):
            by_side[s.side] = list(s.reps)
    for s in free:
        side = "left" if "left" not in by_side else "right" if "right" not in by_side else None
        if side is not None:
            by_side[side] = list(s.reps)
    legs = tuple(score_leg(side, by_side[side], body_mass_kg, rules) for side in ("left", "right") if side in by_side)
    sym = symmetry(legs[0], legs[1]) if len(legs) == 2 else None
    norms = {leg.side: tuple(compare_to_norms(leg, age, sex)) for leg in legs}
    return TestResult(legs, sym, norms, body_mass_kg)
