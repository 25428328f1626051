"""Commands on routines and the history of sessions."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

import click

from calfsense.cli import (
    EXERCISE_CHOICE,
    JSON_OPTION,
    _check_new_file,
    echo_json,
    fail,
    main,
)

if TYPE_CHECKING:
    pass


@main.group()
def routine() -> None:
    """Built-in and custom routines."""


@routine.command("list")
@JSON_OPTION
def routine_list(as_json: bool) -> None:
    """The built-in routines."""
    from calfsense.routine import BUILTIN, DEFAULT_ROUTINE, load_routine

    if as_json:
        echo_json(
            [
                {
                    "name": n,
                    "title": load_routine(n).title,
                    "sets": len(load_routine(n).prescribed_sets()),
                    "default": n == DEFAULT_ROUTINE,
                }
                for n in BUILTIN
            ]
        )
        return
    for name in BUILTIN:
        r = load_routine(name)
        sets = r.prescribed_sets()
        default = "  (default)" if name == DEFAULT_ROUTINE else ""
        click.echo(f"{name:<16}{len(sets):>3} sets  {r.title}{default}")


@routine.command("show")
@click.argument("name")
@JSON_OPTION
def routine_show(name: str, as_json: bool) -> None:
    """Every set of a routine (a built-in name or a TOML file)."""
    from calfsense.routine import load_routine

    r = load_routine(name)
    if as_json:
        sets = [p.as_dict() for p in r.prescribed_sets()]
        echo_json({"name": r.name, "title": r.title, "description": r.description, "sets": sets})
        return
    click.echo(f"{r.name}: {r.title}")
    if r.description:
        click.echo(r.description)
    for p in r.prescribed_sets():
        reps = "max" if p.reps is None else str(p.reps)
        side = f" {p.side}" if p.side else ""
        extra = f"; knee {p.knee}" if p.knee else ""
        click.echo(
            f"  set {p.index:>2}: {p.exercise}{side}, {reps} reps at {p.tempo.label()} "
            f"(up-hold-down-pause s), rest {p.rest_s:g} s; {p.load or 'bodyweight'}{extra}"
        )
    cues = {c for b in r.blocks for c in b.cues}
    if cues:
        click.echo("cues: " + "; ".join(sorted(cues)))


@routine.command("check")
@click.argument("file", type=click.Path())
def routine_check(file: str) -> None:
    """Validate a routine TOML file."""
    from calfsense.routine import load_routine

    r = load_routine(file)
    click.echo(f"{file}: ok, {len(r.blocks)} block(s), {len(r.prescribed_sets())} set(s)")


@main.group("history", invoke_without_command=True)
@click.option("--exercise", type=EXERCISE_CHOICE, default=None)
@click.option("--since", default=None, help="Only sessions from this date on (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--plot", "plot_path", default=None, help="Draw the trend to this PNG (needs calfsense[plot]).")
@click.option("--force", is_flag=True, help="Overwrite the PNG.")
@click.pass_context
def history_cmd(
    ctx: click.Context, exercise: str | None, since: str | None, as_json: bool, plot_path: str | None, force: bool
) -> None:
    """Progression across saved sessions: reps, tempo, height, weekly volume, left/right symmetry.

    `calfsense history delete ID` removes a session (its ID is in the first column and in --json).
    """
    import datetime as dt

    from calfsense import history

    if ctx.invoked_subcommand is not None:
        return

    if since:
        try:
            dt.date.fromisoformat(since)
        except ValueError:
            fail(f"--since wants a date like 2026-11-01, not {since!r}")
    if plot_path:
        _check_new_file(plot_path, force)
    with contextlib.closing(history.connect()) as db:
        rows = history.sessions(db, exercise=exercise, since=since)
        saved = history.count(db)
    weekly = history.weekly_volume(rows)
    if plot_path:
        from calfsense.plot import history_png

        kept = ", ".join(x for x in (f"{exercise} sets" if exercise else "", f"since {since}" if since else "") if x)
        history_png(rows, plot_path, kept)
        click.echo(f"wrote {plot_path}", err=True)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "sessions": [
                        {
                            "id": r.id,
                            "started": r.started,
                            "placement": r.placement,
                            "path": r.path,
                            "routine": r.routine,
                            "reps": r.reps,
                            "sets": r.sets,
                            "on_tempo_pct": r.on_tempo_pct,
                            "height_cm": r.height_cm,
                            "compliance": r.compliance,
                            "left_reps": r.left_reps,
                            "right_reps": r.right_reps,
                            "symmetry_index_pct": r.symmetry_index_pct,
                        }
                        for r in rows
                    ],
                    "weekly_reps": weekly,
                },
                indent=1,
            )
        )
        return
    if not rows:
        if saved:
            click.echo(f"no sessions match (of {saved} saved): try without --since or --exercise")
        else:
            click.echo("no saved sessions yet (calfsense replay or calfsense live save them)")
        return
    head = f"{'id':>4}  {'date':<20}{'reps':>6}{'sets':>6}{'on tempo':>10}{'height':>9}{'score':>7}{'LSI':>7}"
    click.echo(head + "  routine")
    for r in rows:
        tempo = "" if r.on_tempo_pct is None else f"{r.on_tempo_pct:.0f}%"
        height = "" if r.height_cm is None else f"{r.height_cm:.1f} cm"
        score = "" if r.compliance is None else f"{r.compliance:.0f}"
        lsi = "" if r.symmetry_index_pct is None else f"{r.symmetry_index_pct:.0f}%"
        row = f"{r.id:>4}  {r.started[:19]:<20}{r.reps:>6}{r.sets:>6}{tempo:>10}{height:>9}{score:>7}{lsi:>7}"
        click.echo(f"{row}  {r.routine or ''}")
    click.echo("weekly reps: " + ", ".join(f"{k} {v}" for k, v in sorted(weekly.items())))
    click.echo("LSI: limb symmetry index, weaker side / stronger side x 100 of heel travel (single-leg sets)")


@history_cmd.command("delete")
@click.argument("session_id", metavar="ID", type=click.IntRange(min=1))
def history_delete(session_id: int) -> None:
    """Remove one session from the history (its recording file is kept)."""
    from calfsense import history

    with contextlib.closing(history.connect()) as db:
        if not history.delete(db, session_id):
            fail(f"no saved session {session_id} (see `calfsense history` for the IDs)")
    click.echo(f"deleted session {session_id} from the history")
