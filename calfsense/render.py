"""The report in colour on a terminal (rich): one table a set, tempo cells green when on tempo.

Pipes and files get `report.format_table`'s plain text instead; JSON and CSV come from `report`.
"""

from __future__ import annotations

from calfsense.report import on_tempo
from calfsense.report_model import Report
from calfsense.routine import PrescribedSet
from calfsense.text import markup_safe


def _tempo_cell(prescribed: PrescribedSet | None, phase: str, value: float | None) -> str:
    """A phase time, green when on tempo (0.25 s + 25 % of the prescription), yellow when not."""
    if value is None:
        return ""
    if prescribed is None:
        return f"{value:.1f}"
    good = on_tempo(value, getattr(prescribed.tempo, f"{phase}_s"))
    return f"[{'green' if good else 'yellow'}]{value:.1f}[/]"


def print_report(report: Report) -> None:
    """The report as coloured tables (terminal only; pipes get the plain text)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    src, summ = report.source, report.summary
    console.print(
        f"[bold]{markup_safe(src.path)}[/]  {src.format}, {markup_safe(src.device or 'unknown device')}, "
        f"{src.placement}, {src.sample_rate_hz} Hz, {src.duration_s or 0:.0f} s"
    )
    if summ.routine and summ.compliance is not None:
        colour = "green" if summ.compliance >= 80 else "yellow" if summ.compliance >= 60 else "red"
        console.print(
            f"routine [bold]{markup_safe(summ.routine)}[/], compliance [{colour}]{summ.compliance:.0f}/100[/]"
        )
    for s in report.sets:
        v = s.verdict
        what = f"{s.exercise or 'set'}{' ' + s.side if s.side else ''}"
        target = f"/{v.reps_prescribed if v.reps_prescribed is not None else 'max'}" if v else ""
        ok = "green" if not v or v.reps_ok else "yellow"
        table = Table(title=f"set {s.index}  {what}: [{ok}]{len(s.reps)}{target} reps[/]", title_justify="left")
        for col in ("rep", "start s", "up s", "hold s", "down s", "pause s", "height cm", "flags"):
            table.add_column(col, justify="right" if col != "flags" else "left")
        for r in s.reps:
            table.add_row(
                str(r.index),
                "" if r.start_s is None else f"{r.start_s:.1f}",
                _tempo_cell(s.prescribed, "up", r.up_s),
                _tempo_cell(s.prescribed, "hold", r.hold_s),
                _tempo_cell(s.prescribed, "down", r.down_s),
                "" if r.pause_s is None else f"{r.pause_s:.1f}",
                "" if r.height_cm is None else f"{r.height_cm:.1f}",
                f"[red]{', '.join(r.flags)}[/]" if r.flags else "",
            )
        console.print(table)
        if v:
            for line in v.coaching:
                console.print(f"  [cyan]- {markup_safe(line)}[/]")
    for m in summ.missing_sets:
        console.print(f"[yellow]missing: set {m.index} {m.exercise}{' ' + m.side if m.side else ''}[/]")
    for w in summ.warnings:
        console.print(f"[yellow]warning: {markup_safe(w)}[/]")
    console.print(f"[bold]total: {summ.reps} reps in {summ.sets} sets[/]")
