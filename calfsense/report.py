"""From a loaded session to the report: detection, set matching, verdicts, JSON, CSV and text.

Pure: no I/O. The JSON shape is the contract `calfsense.report/1` (keys may be added, never removed
or renamed). Compliance and tempo tolerance are defined in docs/report.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calfsense.domain import EventKind, Flag
from calfsense.dsp.detect import Detector, Rep, RepSet
from calfsense.dsp.model import Session, group_sets
from calfsense.legs import merge_legs
from calfsense.matching import assessable, continues_set
from calfsense.report_model import (
    MissingSet,
    PhaseStats,
    Report,
    RepReport,
    SetReport,
    SourceInfo,
    Summary,
    TempoVerdict,
    Verdict,
)
from calfsense.routine import PrescribedSet, Routine
from calfsense.session.model import LoadedSession

# A phase is on tempo within 0.25 s + 25 % of its prescription (a metronome beat is hard to hit closer
# by feel; heel-rise test timing agreement is about +-0.1 s, Hoffmann 2024).
TEMPO_ABS_TOL_S = 0.25
TEMPO_REL_TOL = 0.25
RUSHED_FRACTION = 0.6  # up or down faster than 60 % of the prescription is rushed

# The cue for each form flag (the article's form rules), said live and at the head of the report's advice.
FORM_CUES: dict[Flag, str] = {
    Flag.PARTIAL: "as high as you can",
    Flag.LEAN: "rise straight up",
    Flag.RUSHED: "lower slowly",
    Flag.BOUNCE: "pause at the bottom",
}
_FLAG_FINDINGS: dict[Flag, str] = {
    Flag.PARTIAL: "some reps stopped short of your best height",
    Flag.LEAN: "some reps leaned forward or back",
    Flag.RUSHED: "some reps were rushed",
    Flag.BOUNCE: "some reps bounced straight into the next",
}
COACHING = {flag: f"{cue}: {_FLAG_FINDINGS[flag]}" for flag, cue in FORM_CUES.items()}


@dataclass(frozen=True, slots=True)
class Analysis:
    """Detection results plus the matching against a routine."""

    placement: str
    sets: tuple[RepSet, ...]
    matched: tuple[tuple[RepSet | None, PrescribedSet | None], ...]
    warnings: tuple[str, ...]


def detect_session(session: LoadedSession, placement: str | None = None) -> tuple[str, tuple[RepSet, ...], list[str]]:
    """Run the streaming detector over a loaded session, honouring its set boundary events.

    Returns the placement used, the sets, and warnings: what could not be counted, or that nothing was found.
    """
    chosen = placement or session.placement or "auto"
    det = Detector(chosen, device_model=session.model)
    guessing = det.resolved_placement == "auto"  # neither given nor told by the device (an H10 is a chest strap)
    boundaries = sorted(e.time_s for e in session.events if e.kind == "set_started")
    feed_with_boundaries(det, session.time_s, session.acc_mg, boundaries)
    det.finish()
    found = det.session()
    if session.other is not None:
        # A sensor on each leg: each leg counted on its own, the reps credited to the leg that moved.
        other = Detector(chosen, device_model=session.other.model)
        feed_with_boundaries(other, session.other.time_s, session.other.acc_mg, boundaries)
        other.finish()
        legs = {session.side or "left": found.reps, session.other.side or "right": other.reps}
        reps = tuple(r.rep for r in merge_legs(legs.get("left", ()), legs.get("right", ()), boundaries))
        found = Session(found.placement, reps, group_sets(reps), found.gaps)
    warnings: list[str] = []
    sets, paused = _outside_pauses(found.sets, session)
    if paused:
        warnings.append(f"{paused} rep(s) made while the routine was paused are not credited to a set")
    if not found.reps:
        warnings.append(_nothing_found(session, found.placement))
    elif guessing and found.placement != "auto":
        # bench/bench_accuracy.py: auto takes some shins for feet and cannot tell a chest from a thigh.
        warnings.append(
            f"where the sensor was worn was not given: taken as the {found.placement} from the first reps' tilt, "
            "a guess a chest strap or a thigh can fool; pass --placement (foot, shin, chest or thigh)"
        )
    return found.placement, sets, warnings


def feed_with_boundaries(
    det: Detector, time_s: NDArray[np.float64], acc_mg: NDArray[np.float64], boundaries: list[float]
) -> None:
    """Feed a detector, starting a new set after each boundary time (the rule live mode's boundaries follow)."""
    start = 0
    for b in boundaries:
        # Live mode records the sensor time of the last sample before the boundary: split right after it.
        i = int(np.searchsorted(time_s, b, side="right"))
        if i < start:
            continue
        det.feed(time_s[start:i], acc_mg[start:i])
        det.new_set()
        start = i
    det.feed(time_s[start:], acc_mg[start:])


def _outside_pauses(sets: tuple[RepSet, ...], session: LoadedSession) -> tuple[tuple[RepSet, ...], int]:
    """The sets without the reps begun while live mode was paused (as live credited them), and how many those were."""
    spans: list[tuple[float, float]] = []
    began: float | None = None
    for e in sorted(session.events, key=lambda e: e.time_s):
        if e.kind == EventKind.PAUSED and began is None:
            began = e.time_s
        elif e.kind == EventKind.RESUMED and began is not None:
            spans.append((began, e.time_s))
            began = None
    if began is not None:
        spans.append((began, math.inf))
    if not spans:
        return sets, 0
    # A rep whose end falls in a pause was made (or finished) while paused: live mode (LiveCoach) judges
    # by the same rule, whenever the detector hands the rep over.
    kept: list[RepSet] = []
    dropped = 0
    for s in sets:
        reps = tuple(r for r in s.reps if not any(a <= r.end_s < b for a, b in spans))
        dropped += len(s.reps) - len(reps)
        if reps:
            kept.append(RepSet(len(kept) + 1, reps))
    return tuple(kept), dropped


def match_sets(
    found: tuple[RepSet, ...], prescribed: list[PrescribedSet], placement: str
) -> tuple[list[tuple[RepSet | None, PrescribedSet | None]], list[str]]:
    """Pair detected sets with prescribed ones in order; merge a set split by a short pause.

    Prescribed sets this placement cannot see (a chest strap and seated raises) are reported, not
    matched. Detected sets beyond the prescription are extra; prescribed sets never done are missing.
    """
    plan = assessable(prescribed, placement)
    visible = list(plan.sets)
    merged: list[RepSet] = []
    for s in found:
        if merged and visible:
            k = len(merged) - 1
            target = visible[k] if k < len(visible) else None
            prev = merged[-1]
            if (
                continues_set(len(prev.reps), target, s.start_s - prev.end_s)
                and target is not None
                and target.reps is not None
                and len(prev.reps) + len(s.reps) <= target.reps
            ):
                # One prescribed set interrupted by a short break: count it as one set.
                merged[-1] = RepSet(prev.index, prev.reps + s.reps)
                continue
        merged.append(s)
    pairs: list[tuple[RepSet | None, PrescribedSet | None]] = []
    for i in range(max(len(merged), len(visible))):
        pairs.append((merged[i] if i < len(merged) else None, visible[i] if i < len(visible) else None))
    return pairs, list(plan.notes)


def _nothing_found(session: LoadedSession, placement: str) -> str:
    """Why a recording may show no raise, with what to try (a silent zero reads as a broken tool)."""
    what = f"no heel raises found in {session.duration_s:.0f} s of data"
    if placement == "auto":
        return f"{what}; where the sensor was worn could not be told, so pass --placement (foot, shin, chest or thigh)"
    return f"{what} for a {placement} sensor; if you did raises, check --placement and that the sensor sat firmly"


def analyze(session: LoadedSession, placement: str | None = None, routine: Routine | None = None) -> Analysis:
    """Detect reps and sets, and match them to the routine when one is given."""
    resolved, sets, found = detect_session(session, placement)
    warnings = list(session.warnings) + found
    if routine is None:
        return Analysis(resolved, sets, tuple((s, None) for s in sets), tuple(warnings))
    pairs, w = match_sets(sets, routine.prescribed_sets(), resolved)
    warnings += w
    return Analysis(resolved, sets, tuple(pairs), tuple(warnings))


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), nd)


def rep_flags(rep: Rep, prescribed: PrescribedSet | None) -> list[Flag]:
    """Detector flags plus the routine-aware ones (`rushed`)."""
    flags = [Flag(f) for f in rep.flags]
    if prescribed is not None and (
        rep.up_s < RUSHED_FRACTION * prescribed.tempo.up_s or rep.down_s < RUSHED_FRACTION * prescribed.tempo.down_s
    ):
        flags.append(Flag.RUSHED)
    return flags


def tempo_tolerance_s(target: float) -> float:
    """How far a phase may be from its prescription and still be on tempo: 0.25 s + 25 %."""
    return TEMPO_ABS_TOL_S + TEMPO_REL_TOL * target


def on_tempo(measured: float, target: float) -> bool:
    """A phase is on tempo within `tempo_tolerance_s` of its prescription."""
    return abs(measured - target) <= tempo_tolerance_s(target)


def _phase_stats(values: list[float], target: float | None) -> PhaseStats:
    if not values:
        return PhaseStats(None, None, target, _tolerance(target), None)
    arr = np.array(values)
    on = _r(100.0 * float(np.mean([on_tempo(v, target) for v in values])), 1) if target is not None else None
    return PhaseStats(_r(float(np.mean(arr))), _r(float(np.std(arr))), target, _tolerance(target), on)


def _tolerance(target: float | None) -> float | None:
    return round(tempo_tolerance_s(target), 3) if target is not None else None


def verdict(found: RepSet | None, prescribed: PrescribedSet | None) -> Verdict | None:
    """Reps done against prescribed, tempo per phase, height, flagged reps, compliance and coaching."""
    if prescribed is None:
        return None
    reps = list(found.reps) if found else []
    done = len(reps)
    target = prescribed.reps
    reps_score = min(done, target) / target if target else (1.0 if done else 0.0)
    pauses = [r.pause_s for r in reps if r.pause_s is not None]
    tp = prescribed.tempo
    tempo_ok = [on_tempo(r.up_s, tp.up_s) and on_tempo(r.down_s, tp.down_s) for r in reps]
    flags = [rep_flags(r, prescribed) for r in reps]
    tempo_score = float(np.mean(tempo_ok)) if reps else 0.0
    quality_score = float(np.mean([not f for f in flags])) if reps else 0.0
    compliance = 100.0 * (0.5 * reps_score + 0.25 * tempo_score + 0.25 * quality_score)
    heights = [r.height_cm for r in reps if r.height_cm is not None]
    counts = {k: sum(k in f for f in flags) for k in Flag}
    coaching = [COACHING[k] for k, n in counts.items() if n]
    if target is not None and done < target:
        coaching.insert(0, f"{target - done} rep(s) short of the {target} prescribed")
    mean_h = float(np.mean(heights)) if heights else None
    tempo = TempoVerdict(
        _phase_stats([r.up_s for r in reps], tp.up_s),
        _phase_stats([r.hold_s for r in reps], tp.hold_s),
        _phase_stats([r.down_s for r in reps], tp.down_s),
        _phase_stats(pauses, tp.pause_s),
        _r(100.0 * tempo_score, 1),
    )
    return Verdict(
        reps_done=done,
        reps_prescribed=target,
        reps_ok=done >= target if target is not None else done > 0,
        tempo=tempo,
        height_cm_mean=_r(mean_h, 2),
        height_cv_pct=_r(100.0 * float(np.std(heights)) / mean_h, 1) if heights and mean_h else None,
        flagged=counts,
        compliance=round(compliance, 1),
        coaching=tuple(coaching),
    )


def _rep_report(k: int, rep: Rep, prescribed: PrescribedSet | None) -> RepReport:
    return RepReport(
        index=k,
        start_s=_r(rep.start_s),
        top_s=_r(rep.top_s),
        lower_s=_r(rep.lower_s),
        end_s=_r(rep.end_s),
        up_s=_r(rep.up_s),
        hold_s=_r(rep.hold_s),
        down_s=_r(rep.down_s),
        pause_s=_r(rep.pause_s) if k > 1 else None,
        height_cm=_r(rep.height_cm, 2),
        flags=tuple(rep_flags(rep, prescribed)),
        side=rep.side,
    )


def build_report(session: LoadedSession, analysis: Analysis, routine: Routine | None = None) -> Report:
    """The report, built once; `Report.to_json()` is the `calfsense.report/1` object (times from the first sample)."""
    sets_out: list[SetReport] = []
    missing: list[MissingSet] = []
    compliances: list[float] = []
    side_notes: list[str] = []
    for found, pres in analysis.matched:
        v = verdict(found, pres)
        if v is not None:
            compliances.append(v.compliance)
        if found is None:
            if pres is not None:
                missing.append(MissingSet(pres.index, pres.exercise, pres.side))
            continue
        reps = tuple(_rep_report(k, rep, pres) for k, rep in enumerate(found.reps, 1))
        done = SetReport(len(sets_out) + 1, _r(found.start_s), _r(found.end_s), pres, v, reps)
        sets_out.append(done)
        if pres is not None and pres.side is not None and done.moved in ("left", "right") and done.moved != pres.side:
            # Two sensors see which leg worked: credited to it, and said (the routine may be done in another order).
            side_notes.append(f"set {done.index}: the {done.moved} leg did it, the routine said {pres.side}")
    all_reps = [r for s in sets_out for r in s.reps]
    heights = [r.height_cm for r in all_reps if r.height_cm is not None]
    summary = Summary(
        reps=len(all_reps),
        sets=len(sets_out),
        routine=routine.name if routine else None,
        missing_sets=tuple(missing),
        extra_sets=sum(1 for s in sets_out if routine is not None and s.prescribed is None),
        compliance=round(float(np.mean(compliances)), 1) if compliances else None,
        height_cm_mean=_r(float(np.mean(heights)), 2) if heights else None,
        flagged_reps=sum(1 for r in all_reps if r.flags),
        warnings=tuple(analysis.warnings) + tuple(side_notes),
    )
    source = SourceInfo(
        path=session.path,
        format=session.format,
        device=session.device,
        placement=analysis.placement,
        sample_rate_hz=_r(session.sample_rate_hz, 2),
        duration_s=_r(session.duration_s, 2),
        nominal_rate_hz=session.nominal_rate_hz,
        synthetic=session.synthetic,
        start_wall=session.start_wall,
        frames_lost=session.frames_lost,
    )
    gaps = tuple((_r(a), _r(b)) for a, b in session.gaps)
    return Report(source, gaps, tuple(sets_out), summary)


CSV_COLUMNS = (
    "set",
    "exercise",
    "side",
    "rep",
    "start_s",
    "top_s",
    "lower_s",
    "end_s",
    "up_s",
    "hold_s",
    "down_s",
    "pause_s",
    "height_cm",
    "flags",
)


_TIME_COLUMNS = CSV_COLUMNS[4:-1]  # start_s ... height_cm, straight from the rep objects


def csv_rows(report: Report) -> list[list[str]]:
    """One row per rep, header first."""
    rows: list[list[str]] = [list(CSV_COLUMNS)]
    for s in report.sets:
        for r in s.reps:
            values = [getattr(r, k) for k in _TIME_COLUMNS]
            rows.append(
                [
                    str(s.index),
                    s.exercise or "",
                    s.side or "",
                    str(r.index),
                    *("" if v is None else f"{v}" for v in values),
                    "|".join(r.flags),
                ]
            )
    return rows
