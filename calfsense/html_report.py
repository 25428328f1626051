"""A session report as one self-contained HTML page a physio can open, print or email.

Summary first (sets against the routine, compliance and what it means, what to work on), the session
picture embedded as a data URL, each set's reps in a collapsible table, then the device and recording
facts and the words explained. No script, font or picture is fetched from anywhere: the page is the file.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from calfsense.report_model import Report, SetReport
from calfsense.text import total

if TYPE_CHECKING:
    from calfsense.clinic import TestResult
from calfsense.report_text import COMPLIANCE_MEANS, FLAG_MEANS, TEMPO_MEANS, advice, set_line

_STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212529; margin: 2em auto;
       max-width: 1180px; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.1em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.sub { color: #495057; margin-top: 0; }
.score { font-size: 1.25em; font-weight: 600; }
.good { color: #2b8a3e; } .fair { color: #e67700; } .poor { color: #c92a2a; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #dee2e6; text-align: right; }
th { background: #f1f3f5; } td.l, th.l { text-align: left; }
.short { color: #c92a2a; font-weight: 600; } .flags { color: #c92a2a; }
img { max-width: 100%; border: 1px solid #dee2e6; }
details { margin: 0.4em 0; } summary { cursor: pointer; }
.warn { color: #e67700; } .muted { color: #868e96; font-size: 0.9em; }
@media print { details { display: block; } details > summary { display: none; } a { color: inherit; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _sets_table(report: Report) -> str:
    rows = []
    for s in report.sets:
        x = set_line(s)
        rows.append(
            f"<tr><td>{x.index}</td><td class='l'>{_e(x.what)}</td>"
            f"<td class='{'' if x.reps_ok else 'short'}'>{_e(x.reps)}</td><td>{_e(x.on_tempo)}</td>"
            f"<td>{_e(x.height)}</td><td class='l flags'>{_e(x.flags)}</td></tr>"
        )
    head = "<tr><th>set</th><th class='l'>exercise</th><th>reps</th><th>on tempo</th><th>height</th>"
    head += "<th class='l'>flags</th></tr>"
    return f"<table id='sets'>{head}{''.join(rows)}</table>"


def _rep_table(s: SetReport) -> str:
    def cell(v: float | None, unit: str = "") -> str:
        return "" if v is None else f"{v:.1f}{unit}"

    rows = "".join(
        f"<tr><td>{r.index}</td><td>{cell(r.start_s)}</td><td>{cell(r.up_s)}</td><td>{cell(r.hold_s)}</td>"
        f"<td>{cell(r.down_s)}</td><td>{cell(r.pause_s)}</td><td>{cell(r.height_cm, ' cm')}</td>"
        f"<td class='l flags'>{_e(', '.join(r.flags))}</td></tr>"
        for r in s.reps
    )
    head = (
        "<tr><th>rep</th><th>start s</th><th>up s</th><th>hold s</th><th>down s</th><th>pause s</th>"
        "<th>height</th><th class='l'>flags</th></tr>"
    )
    x = set_line(s)
    target = ""
    if s.prescribed is not None:
        target = f", prescribed tempo {_e(s.prescribed.tempo.label())} s"
    summary = f"<summary>set {s.index}: {_e(x.what)}, {_e(x.reps)} reps{target}</summary>"
    return f"<details>{summary}<table>{head}{rows}</table></details>"


def render_html(report: Report, facts: list[tuple[str, str]], picture_png: bytes | None, note: str = "") -> str:
    """The page: `facts` are the recording's (label, value) lines; `picture_png` the session picture, if drawn."""
    src, summ = report.source, report.summary
    when = (src.start_wall or "")[:16].replace("T", " ")
    title = f"Calf session{' ' + when if when else ''}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='sub'>{_e(src.device or 'unknown device')} on the {_e(src.placement)}, "
        f"{(src.duration_s or 0) / 60:.0f} min{' (simulated)' if src.synthetic else ''}</p>",
    ]
    if summ.routine and summ.compliance is not None:
        grade = "good" if summ.compliance >= 80 else "fair" if summ.compliance >= 60 else "poor"
        parts.append(
            f"<p id='summary' class='score'>Routine {_e(summ.routine)}: <span class='{grade}'>"
            f"compliance {summ.compliance:.0f}/100</span>, {total(summ.reps, summ.sets)}</p>"
        )
    else:
        parts.append(f"<p id='summary' class='score'>{total(summ.reps, summ.sets)}</p>")
    parts.append(_sets_table(report))
    if summ.missing_sets:
        missing = ", ".join(f"set {m.index} {m.exercise}{' ' + m.side if m.side else ''}" for m in summ.missing_sets)
        parts.append(f"<p class='warn'>Not done: {_e(missing)}</p>")
    work = advice(report)
    if work:
        parts.append("<h2>What to work on</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in work) + "</ul>")
    if summ.warnings:
        parts.append("<ul class='warn'>" + "".join(f"<li>{_e(w)}</li>" for w in summ.warnings) + "</ul>")
    parts.append("<h2>The session</h2>")
    if picture_png is not None:
        data = base64.b64encode(picture_png).decode("ascii")
        parts.append(
            f"<img id='picture' alt='the session: each set, tempo and height' src='data:image/png;base64,{data}'>"
        )
    elif note:
        parts.append(f"<p class='muted'>{_e(note)}</p>")
    parts.append("<h2>Every rep</h2>" + "".join(_rep_table(s) for s in report.sets))
    parts.append("<h2>Device and recording</h2><table id='facts'>")
    parts.extend(f"<tr><th class='l'>{_e(k)}</th><td class='l'>{_e(v)}</td></tr>" for k, v in facts)
    parts.append("</table><h2>The words</h2><ul class='muted'>")
    glossary = ([COMPLIANCE_MEANS, TEMPO_MEANS] if summ.routine else []) + list(FLAG_MEANS.values())
    parts.extend(f"<li>{_e(line)}</li>" for line in glossary)
    parts.append("</ul><p class='muted'>Made by calfsense from a body-worn motion sensor; heights are estimates.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_test_html(
    result: TestResult, facts: list[tuple[str, str]], picture_png: bytes | None, when: str = ""
) -> str:
    """The heel-rise test's page: each leg, the symmetry, the norms with their sources, the conditions."""
    title = f"Heel-rise endurance test{' ' + when if when else ''}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1><p class='sub'>{_e(result.conditions)}</p>",
        "<table id='legs'><tr><th class='l'>leg</th><th>reps</th><th>heel travel</th><th>peak</th><th>mean</th>"
        "<th>work (heel-based)</th><th>fatigue</th><th class='l'>ended</th></tr>",
    ]
    for leg in result.legs:

        def cm(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f} cm"

        work = "-" if leg.work_j is None else f"{leg.work_j:.0f} J"
        slope = "-" if leg.fatigue_cm_per_rep is None else f"{leg.fatigue_cm_per_rep:+.2f} cm/rep"
        parts.append(
            f"<tr><td class='l'>{_e(leg.side)}</td><td>{leg.reps}</td><td>{leg.displacement_cm:.0f} cm</td>"
            f"<td>{cm(leg.peak_height_cm)}</td><td>{cm(leg.mean_height_cm)}</td><td>{work}</td><td>{slope}</td>"
            f"<td class='l'>{_e(leg.ended.value)}</td></tr>"
        )
    parts.append("</table>")
    sym = result.symmetry
    if sym is not None:

        def pct(v: float | None) -> str:
            if v is None:
                return "-"
            return f"<span class='{'good' if v >= sym.CLINICAL_LINE_PCT else 'poor'}'>{v:.0f} %</span>"

        parts.append(
            f"<p id='symmetry' class='score'>Limb symmetry (weaker / stronger): reps {pct(sym.reps_pct)}, "
            f"heel travel {pct(sym.displacement_pct)}, work {pct(sym.work_pct)}; weaker leg: "
            f"{_e(sym.weaker or 'neither')}. Under 90 % is the usual line before a return to running.</p>"
        )
    if picture_png is not None:
        data = base64.b64encode(picture_png).decode("ascii")
        parts.append(f"<img id='picture' alt='each rise by leg, and the symmetry' src='data:image/png;base64,{data}'>")
    parts.append(
        "<h2>Against the norms</h2><table id='norms'><tr><th class='l'>leg</th><th class='l'>measure</th>"
        "<th>result</th><th>norm</th><th class='l'>band</th><th class='l'>source</th></tr>"
    )
    for side, norms in result.norms.items():
        for n in norms:
            parts.append(
                f"<tr><td class='l'>{_e(side)}</td><td class='l'>{_e(n.label)}</td><td>{n.shown}</td>"
                f"<td>{n.norm:g}</td><td class='l'>{_e(n.band)}</td><td class='l' title='{_e(n.reference)}'>"
                f"{_e(n.source)}</td></tr>"
            )
    parts.append(
        "</table><p class='muted'>Typical: within the test's day-to-day agreement of the norm (6 reps; "
        "the same share of the median for the rest). Heel-based work overestimates the body's by about a "
        "fifth (Andreasen 2021): compare legs and sessions, not people.</p>"
    )
    parts.append("<h2>Recording</h2><table id='facts'>")
    parts.extend(f"<tr><th class='l'>{_e(k)}</th><td class='l'>{_e(v)}</td></tr>" for k, v in facts)
    parts.append("</table></body></html>")
    return "\n".join(parts) + "\n"
