"""The report in colour on a terminal (rich): the summary table first, per-rep tables with --details.

Pipes and files get `report_text.format_report`'s plain text (the same words); JSON and CSV come from `report`.
"""

from __future__ import annotations

from calfsense.report import on_tempo
from calfsense.report_model import Report, SetReport
from calfsense.report_text import COMPLIANCE_MEANS, TEMPO_MEANS, advice, headline, set_line, used_flags
from calfsense.routine import PrescribedSet
from calfsense.text import markup_safe, total


def _tempo_cell(prescribed: PrescribedSet | None, phase: str, value: float | None) -> str:
    """A phase time, green when on tempo (0.25 s + 25 % of the prescription), yellow when not."""
    if value is None:
        return ""
    if prescribed is None:
        return f"{value:.1f}"
    good = on_tempo(value, getattr(prescribed.tempo, f"{phase}_s"))
    return f"[{'green' if good else 'yellow'}]{value:.1f}[/]"


def print_report(report: Report, details: bool = False) -> None:
    """The report as coloured tables (terminal only; pipes get the plain text)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summ = report.summary
    first, *rest = headline(report)
    console.print(f"[bold]{markup_safe(first)}[/]")
    if summ.routine and summ.compliance is not None:
        colour = "green" if summ.compliance >= 80 else "yellow" if summ.compliance >= 60 else "red"
        console.print(
            f"routine [bold]{markup_safe(summ.routine)}[/]: compliance [{colour}]{summ.compliance:.0f}/100[/]"
        )
    table = Table(title_justify="left")
    for col in ("set", "exercise", "reps", "on tempo", "height", "flags"):
        table.add_column(col, justify="left" if col in ("exercise", "flags") else "right")
    for s in report.sets:
        x = set_line(s)
        table.add_row(
            str(x.index),
            x.what,
            f"[{'green' if x.reps_ok else 'yellow'}]{x.reps}[/]",
            x.on_tempo,
            x.height,
            f"[red]{x.flags}[/]" if x.flags else "",
        )
    console.print(table)
    console.print(f"[bold]total: {total(summ.reps, summ.sets)}[/]")
    for m in summ.missing_sets:
        console.print(f"[yellow]not done: set {m.index} {m.exercise}{' ' + m.side if m.side else ''}[/]")
    work = advice(report)
    if work:
        console.print("work on:")
        for line in work:
            console.print(f"  [cyan]- {markup_safe(line)}[/]")
    for w in summ.warnings:
        console.print(f"[yellow]warning: {markup_safe(w)}[/]")
    explain = ([COMPLIANCE_MEANS, TEMPO_MEANS] if summ.routine else []) + used_flags(report)
    for line in explain:
        console.print(f"[dim]{markup_safe(line)}[/]")
    if not details:
        console.print("[dim]per-rep tables: --details[/]")
        return
    for s in report.sets:
        console.print(_rep_table(s))


def _rep_table(s: SetReport) -> object:
    from rich.table import Table

    x = set_line(s)
    table = Table(title=f"set {s.index}  {x.what}: {x.reps} reps", title_justify="left")
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
    return table
