"""The report as words for a terminal or a file: the answer first, the per-rep tables on request.

One summary line a set (reps done of prescribed, tempo adherence, height, flags), the session's
compliance with one line on what it means, what to work on, then `--details`' tables. The rich
renderer (`render.py`) and the plain text here say the same things in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from calfsense.report_model import Report, SetReport
from calfsense.text import printable, total

COMPLIANCE_MEANS = (
    "compliance: half reps done of prescribed, a quarter tempo kept, a quarter clean form; "
    "80 or more is the session as prescribed"
)
TEMPO_MEANS = "on tempo: reps whose rise and lowering were within 0.25 s + 25 % of the prescription"
# What each flag in the tables means (docs/report.md has the exact rules).
FLAG_MEANS = {
    "partial": "partial: below 70 % of the set's usual height",
    "lean": "lean: the body tipped instead of rising straight up",
    "bounce": "bounce: no pause at the bottom before the rep",
    "rushed": "rushed: rise or lowering under 60 % of the prescribed time",
}


@dataclass(frozen=True, slots=True)
class SetLine:
    """One set, summarised: what a runner or physio reads first."""

    index: int
    what: str
    reps: str  # "15/15", "12/15", "14" (no prescription), "9/max"
    reps_ok: bool
    on_tempo: str  # "93 %" or "" without a routine
    height: str  # "5.6 cm" or ""
    flags: str  # "partial x2, bounce x1" or ""


def set_line(s: SetReport) -> SetLine:
    """The summary of one set."""
    v = s.verdict
    what = f"{s.exercise or 'set'}{' ' + s.side if s.side else ''}"
    if v is None:
        reps, ok, tempo = f"{len(s.reps)}", True, ""
    else:
        target = "max" if v.reps_prescribed is None else str(v.reps_prescribed)
        reps, ok = f"{len(s.reps)}/{target}", v.reps_ok
        tempo = "" if v.tempo.on_tempo_pct is None else f"{v.tempo.on_tempo_pct:.0f} %"
    heights = [r.height_cm for r in s.reps if r.height_cm is not None]
    height = f"{sum(heights) / len(heights):.1f} cm" if heights else ""
    counts: dict[str, int] = {}
    for r in s.reps:
        for f in r.flags:
            counts[str(f)] = counts.get(str(f), 0) + 1
    flags = ", ".join(f"{k} x{n}" for k, n in counts.items())
    return SetLine(s.index, what, reps, ok, tempo, height, flags)


def headline(report: Report) -> list[str]:
    """The source in one line, then the routine and its compliance."""
    src, summ = report.source, report.summary
    minutes = (src.duration_s or 0.0) / 60.0
    lines = [
        f"{printable(src.path)}: {printable(src.device or 'unknown device')} on the {src.placement}, "
        f"{minutes:.0f} min at {src.sample_rate_hz:.0f} Hz ({src.format}{', synthetic' if src.synthetic else ''})"
    ]
    if summ.routine:
        comp = f": compliance {summ.compliance:.0f}/100" if summ.compliance is not None else ""
        lines.append(f"routine {printable(summ.routine)}{comp}")
    return lines


def advice(report: Report) -> list[str]:
    """What to work on, once per kind across the session, with the sets it came from."""
    seen: dict[str, list[int]] = {}
    for s in report.sets:
        for line in s.verdict.coaching if s.verdict else ():
            seen.setdefault(line, []).append(s.index)
    return [f"{line} (set{'s' if len(ix) > 1 else ''} {', '.join(map(str, ix))})" for line, ix in seen.items()]


def used_flags(report: Report) -> list[str]:
    """The meanings of the flags that appear in this report."""
    present = {str(f) for s in report.sets for r in s.reps for f in r.flags}
    return [text for flag, text in FLAG_MEANS.items() if flag in present]


def format_report(report: Report, details: bool = False) -> str:
    """Plain text: the summary (and with `details`, one table of reps a set)."""
    summ = report.summary
    lines = headline(report)
    lines.append("")
    lines.append(f"{'set':>3}  {'exercise':<16}{'reps':>7}  {'on tempo':>8}  {'height':>7}  flags")
    for s in report.sets:
        x = set_line(s)
        lines.append(f"{x.index:>3}  {x.what:<16}{x.reps:>7}  {x.on_tempo:>8}  {x.height:>7}  {x.flags}")
    lines.append(f"total: {total(summ.reps, summ.sets)}")
    if summ.missing_sets:
        lines.append(
            "not done: "
            + ", ".join(f"set {m.index} {m.exercise}{' ' + m.side if m.side else ''}" for m in summ.missing_sets)
        )
    work = advice(report)
    if work:
        lines.append("")
        lines.append("work on:")
        lines.extend(f"  - {w}" for w in work)
    if report.gaps:
        lines.append(f"gaps: {len(report.gaps)} (signal lost; reps there could not be counted)")
    for w in summ.warnings:
        lines.append(f"warning: {w}")
    lines.append("")
    if summ.routine:
        lines.append(COMPLIANCE_MEANS)
        lines.append(TEMPO_MEANS)
    lines.extend(used_flags(report))
    if details:
        for s in report.sets:
            lines.extend(["", *_rep_table(s)])
    else:
        lines.append("per-rep tables: --details")
    return "\n".join(lines)


def _rep_table(s: SetReport) -> list[str]:
    x = set_line(s)
    lines = [f"set {s.index}  {x.what}: {x.reps} reps, {_f1(s.start_s)}-{_f1(s.end_s)} s"]
    v = s.verdict
    if v:
        t = v.tempo
        lines.append(
            f"  tempo up {_f1(t.up.mean_s)} s (target {_g(t.up.target_s)}), hold {_f1(t.hold.mean_s)} s "
            f"({_g(t.hold.target_s)}), down {_f1(t.down.mean_s)} s ({_g(t.down.target_s)}); "
            f"on tempo {x.on_tempo}; compliance {v.compliance:.0f}"
        )
    lines.append(f"  {'rep':>3} {'start s':>7} {'up s':>5} {'hold':>5} {'down':>5} {'pause':>5} {'height':>7}  flags")
    for r in s.reps:
        height = "" if r.height_cm is None else f"{r.height_cm:.1f} cm"
        lines.append(
            f"  {r.index:>3} {_f1(r.start_s):>7} {_f1(r.up_s):>5} {_f1(r.hold_s):>5} {_f1(r.down_s):>5} "
            f"{_f1(r.pause_s):>5} {height:>7}  {', '.join(r.flags)}"
        )
    return lines


def _f1(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
