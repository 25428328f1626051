"""Commands on sessions in files: demo, replay, info, export, simulate."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from calfsense.cli import (
    EXERCISE_CHOICE,
    JSON_OPTION,
    PLACEMENT_CHOICE,
    SAVE_OPTION,
    WORN_CHOICE,
    Finite,
    _check_new_file,
    _report,
    _resolve_input,
    _save_to_history,
    _write_text,
    echo_json,
    fail,
    main,
)
from calfsense.files import check_new, write_private

if TYPE_CHECKING:
    from calfsense.routine import Routine
    from calfsense.session.model import LoadedSession


@main.command()
@click.option("--placement", type=WORN_CHOICE, default="foot", show_default=True)
@click.option("--reps", type=click.IntRange(1, 60), default=10, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@JSON_OPTION
def demo(placement: str, reps: int, seed: int, as_json: bool) -> None:
    """Simulate a session (no sensor needed), count it, and compare with the simulator's truth."""
    import numpy as np

    from calfsense.dsp import simulate as sim_mod
    from calfsense.dsp.detect import Detector, detect

    exercises = ("two-leg", "single-leg") if placement == "chest" else ("two-leg", "single-leg", "seated")
    plan = sim_mod.routine_session(
        placement,
        exercises=exercises,
        reps=reps,
        rest_s=20.0,
        rng=np.random.default_rng(seed),
        confuser="walk",
    )
    sim = sim_mod.simulate(plan, placement, 100.0, seed=seed)
    if as_json:
        found_sets = detect(sim.time_s, sim.acc_mg, placement).sets
        echo_json(
            {
                "placement": placement,
                "duration_s": round(float(sim.time_s[-1]), 3),
                "sample_rate_hz": 100.0,
                "reps_per_set": [len(s.reps) for s in found_sets],
                "truth_reps_per_set": [s.reps for s in sim.sets],
                "reps": [
                    {
                        "set": r.set_index,
                        "index": r.index,
                        "start_s": round(r.start_s, 3),
                        "up_s": round(r.up_s, 3),
                        "hold_s": round(r.hold_s, 3),
                        "down_s": round(r.down_s, 3),
                        "height_cm": None if r.height_cm is None else round(r.height_cm, 2),
                        "flags": list(r.flags),
                    }
                    for s in found_sets
                    for r in s.reps
                ],
            }
        )
        return
    click.echo(
        f"simulated {sim.time_s[-1]:.0f} s at 100 Hz on the {placement}: a short walk, then "
        f"{', '.join(exercises)} sets of {reps} at the article's tempo"
    )
    det = Detector(placement)
    # Stream it as a sensor would: 36-sample notifications.
    for i in range(0, len(sim.time_s), 36):
        for rep in det.feed(sim.time_s[i : i + 36], sim.acc_mg[i : i + 36]):
            flags = f"  [{', '.join(rep.flags)}]" if rep.flags else ""
            height = "  -  " if rep.height_cm is None else f"{rep.height_cm:4.1f} cm"
            click.echo(
                f"  set {rep.set_index} rep {rep.index:2d} at {rep.start_s:6.1f} s: up {rep.up_s:.1f} s, "
                f"hold {rep.hold_s:.1f} s, down {rep.down_s:.1f} s, height {height}{flags}"
            )
    session = det.session()
    truth = [s.reps for s in sim.sets]
    found = [len(s.reps) for s in session.sets]
    click.echo(f"counted {found} reps per set; the simulator did {truth}")


def _plan_for(session: LoadedSession, routine: str | None) -> Routine | None:
    """The routine asked for, else the built-in one the recording names (with a warning for any other)."""
    from calfsense.routine import BUILTIN, load_routine

    if routine:
        return load_routine(routine)
    if not session.routine:
        return None
    # Only a built-in routine is taken from a recording (a file is never opened on a recording's say-so: a
    # path there could be anything, a FIFO or /dev/zero).
    if session.routine in BUILTIN:
        return load_routine(session.routine)
    click.echo(
        f"calfsense: warning: the recording names the routine {session.routine[:60]!r}, which is not built "
        "in: pass --routine FILE to report against it",
        err=True,
    )
    return None


@main.command("report")
@click.argument("file", required=False, type=click.Path())
@click.option("--html", "html_path", required=True, help="Write the page to this file.")
@click.option("--placement", type=PLACEMENT_CHOICE, default=None, help="Where the sensor was worn.")
@click.option("--routine", default=None, help="Built-in routine name or TOML file to compare against.")
@click.option("--force", is_flag=True, help="Overwrite the page.")
def report_cmd(file: str | None, html_path: str, placement: str | None, routine: str | None, force: bool) -> None:
    """One self-contained HTML page of a session to open, print or email: summary, pictures, reps, device."""
    from calfsense import describe
    from calfsense.errors import CalfsenseError
    from calfsense.html_report import render_html
    from calfsense.session.importers import load

    _check_new_file(html_path, force)
    session = load(_resolve_input(file, "reporting on"))
    report = _report(session, placement, _plan_for(session, routine))
    picture: bytes | None = None
    note = ""
    try:
        from calfsense.plot import session_picture

        picture = session_picture(session, report)
    except CalfsenseError as exc:  # matplotlib missing: the page still says everything in words
        note = f"no picture: {exc.one_line()}"
        click.echo(f"calfsense: warning: {note}", err=True)
    facts = [(line[:16].strip(), line[16:].strip()) for line in describe.lines(session)]
    write_private(Path(html_path), render_html(report, facts, picture, note), force)
    click.echo(f"wrote {html_path}", err=True)


@main.command()
@click.argument("file", required=False, type=click.Path())
@click.option("--placement", type=PLACEMENT_CHOICE, default=None, help="Where the sensor was worn.")
@click.option("--routine", default=None, help="Built-in routine name or TOML file to compare against.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (calfsense.report/1).")
@click.option("--csv", "as_csv", is_flag=True, help="Print one CSV row per rep.")
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
@click.option("--plot", "plot_path", default=None, help="Also draw the session to this PNG (needs calfsense[plot]).")
@click.option("--details", is_flag=True, help="Add a table of reps for each set after the summary.")
@SAVE_OPTION
@click.option("--force", is_flag=True, help="Overwrite output files.")
def replay(
    file: str | None,
    placement: str | None,
    routine: str | None,
    as_json: bool,
    as_csv: bool,
    output: str | None,
    plot_path: str | None,
    details: bool,
    save: bool | None,
    force: bool,
) -> None:
    """Analyse a recording (ours or another app's) through the live pipeline.

    \b
    What the report says (docs/report.md has the exact rules):
      reps        done / prescribed ("max": as many as you can)
      on tempo    reps whose rise and lowering were within 0.25 s + 25 % of the prescription
      height      the heel's rise, mean of the set (cm)
      compliance  0-100: half reps done, a quarter tempo kept, a quarter clean form; 80+ is as prescribed
      partial     below 70 % of the set's usual height
      lean        the body tipped instead of rising straight up
      bounce      no pause at the bottom before the rep
      rushed      rise or lowering under 60 % of the prescribed time
    """
    from calfsense.report import csv_rows
    from calfsense.report_text import format_report
    from calfsense.session.importers import load

    if as_json and as_csv:
        fail("choose one of --json and --csv")
    for out in (plot_path, output):
        _check_new_file(out, force)
    path = _resolve_input(file)
    session = load(path)
    plan = _plan_for(session, routine)
    report = _report(session, placement, plan)
    if plot_path:
        from calfsense.plot import session_png

        session_png(session, report, plot_path)
        click.echo(f"wrote {plot_path}", err=True)
    if as_json:
        _write_text(output, json.dumps(report.to_json(), indent=1) + "\n", force)
    elif as_csv:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(csv_rows(report))
        _write_text(output, buf.getvalue(), force)
    elif output is None and sys.stdout.isatty():
        from calfsense.render import print_report

        print_report(report, details)
    else:
        _write_text(output, format_report(report, details) + "\n", force)
    # Saved last: a session is in the history only once every output asked for was written.
    if Path(path).is_file():
        _save_to_history(report, path, save)


@main.command()
@click.argument("file", required=False, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def info(file: str | None, as_json: bool) -> None:
    """Device, settings, duration, measured and nominal rate, gaps and lost frames."""
    from calfsense import describe
    from calfsense.session.importers import load

    session = load(_resolve_input(file, "describing"))
    if as_json:
        click.echo(json.dumps(describe.as_json(session), indent=1))
    else:
        click.echo("\n".join(describe.lines(session)))


@main.command()
@click.argument("file", type=click.Path())
@click.option("--csv", "as_csv", is_flag=True, required=True, help="Decoded samples as CSV.")
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
@click.option("--force", is_flag=True, help="Overwrite the output file.")
@click.option(
    "--leg",
    type=click.Choice(["left", "right"]),
    default=None,
    help="A recording with a sensor on each leg: which leg's samples (default: the left; export each in turn).",
)
def export(file: str, as_csv: bool, output: str | None, force: bool, leg: str | None) -> None:
    """Export decoded samples: time_s,ax_mg,ay_mg,az_mg (plus hr_bpm readings when known).

    `calfsense info` on the export shows what it shows on the original: samples, rate, gaps, heart rate.
    """
    import numpy as np

    from calfsense.session.importers import load

    s = load(file)
    if s.other is not None:
        if leg == "right":
            s = s.other
        click.echo(f"a sensor on each leg: exporting the {s.side} leg's samples (--leg for the other)", err=True)
    elif leg is not None:
        fail(f"{file} has one sensor: leave out --leg")
    cols = [s.time_s, s.acc_mg[:, 0], s.acc_mg[:, 1], s.acc_mg[:, 2]]
    header = "time_s,ax_mg,ay_mg,az_mg"
    fmt = ["%.6f", "%.0f", "%.0f", "%.0f"]
    rows = np.column_stack(cols)
    if len(s.hr_bpm):
        # Each reading on the sample nearest it, the other cells empty, so that re-imported the readings come
        # back as they were (not one a sample); a reading with no sample near it (in a gap) gets a row of its
        # own with empty acceleration cells. A gap stays a hole in the time column.
        near = np.clip(np.searchsorted(s.time_s, s.hr_time_s), 1, len(s.time_s) - 1)
        near -= (s.hr_time_s - s.time_s[near - 1]) < (s.time_s[near] - s.hr_time_s)
        alone = np.abs(s.time_s[near] - s.hr_time_s) > 1.5 / s.sample_rate_hz
        alone |= np.concatenate(([False], near[1:] == near[:-1]))
        hr = np.full(len(s.time_s), np.nan)
        hr[near[~alone]] = s.hr_bpm[~alone]
        extra = np.full((int(alone.sum()), 5), np.nan)
        extra[:, 0], extra[:, 4] = s.hr_time_s[alone], s.hr_bpm[alone]
        rows = np.vstack((np.column_stack((rows, hr)), extra))
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        header += ",hr_bpm"
        fmt.append("%.0f")
    buf = io.StringIO()
    buf.write(header + "\n")
    np.savetxt(buf, rows, fmt=fmt, delimiter=",")
    _write_text(output, buf.getvalue().replace(",nan", ","), force)


@main.command()
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), required=True, help="File to write.")
@click.option("--placement", type=WORN_CHOICE, default="shin", show_default=True)
@click.option("--routine", default=None, help="Follow a routine (built-in name or TOML file).")
@click.option(
    "--exercise",
    "exercises",
    multiple=True,
    type=EXERCISE_CHOICE,
    help="Exercises in order, without --routine (default: all three; chest skips seated).",
)
@click.option("--sets", "sets_per_exercise", type=click.IntRange(1, 10), default=1, show_default=True)
@click.option("--reps", type=click.IntRange(1, 60), default=12, show_default=True)
@click.option(
    "--tempo",
    type=click.Choice(["bouncy", "fast", "hret", "article", "seated", "hsr", "eccentric"]),
    default=None,
    help="Tempo preset (default: the article's 2-1-2, 2-1-3 seated).",
)
@click.option("--rest", "rest_s", type=Finite(0, 600), default=30.0, show_default=True)
@click.option(
    "--confuser",
    type=click.Choice(["walk", "run", "sway", "sit_down", "stand_up", "weight_shift", "strap"]),
    default=None,
    help="Add a non-exercise movement before the first set.",
)
@click.option(
    "--device",
    type=click.Choice(["h10", "verity", "csimu", "movesense", "metawear", "witmotion", "thingy"]),
    default="verity",
    show_default=True,
    help="The sensor whose bytes the recording holds (csimu: a DIY board on the calfsense IMU profile; "
    "movesense, metawear, witmotion, thingy).",
)
@click.option("--format", "fmt", type=click.Choice(["native", "csv"]), default="native", show_default=True)
@click.option(
    "--rate",
    "rate_hz",
    type=Finite(10, 1000),
    default=100.0,
    show_default=True,
    help="Sample rate of --format csv (native uses the device's).",
)
@click.option("--jitter", type=Finite(0, 0.5), default=0.0, help="Phone-like timing jitter (csv).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@JSON_OPTION
def simulate(
    output: str,
    placement: str,
    routine: str | None,
    exercises: tuple[str, ...],
    sets_per_exercise: int,
    reps: int,
    tempo: str | None,
    rest_s: float,
    confuser: str | None,
    device: str,
    fmt: str,
    rate_hz: float,
    jitter: float,
    seed: int,
    force: bool,
    as_json: bool,
) -> None:
    """Simulate a session with known truth: a recording plus FILE.truth.json beside it."""
    import numpy as np

    from calfsense.dsp import simulate as sim_mod
    from calfsense.routine import load_routine
    from calfsense.sources import synthetic

    out = Path(output)
    truth_path = out.with_name(out.name + ".truth.json")
    for path in (out, truth_path):
        check_new(path, force)
    rng = np.random.default_rng(seed)
    profile = synthetic.PROFILES[device]
    if routine:
        plan = synthetic.plan_from_routine(load_routine(routine), placement, rng, rest_s=rest_s, confuser=confuser)
    else:
        default = ("two-leg", "single-leg") if placement == "chest" else ("two-leg", "single-leg", "seated")
        chosen = exercises or default
        if placement == "chest" and "seated" in chosen:
            fail("a chest sensor cannot see a seated calf raise (simulate shin, foot or thigh instead)")
        plan = sim_mod.routine_session(
            placement,
            exercises=chosen,
            sets_per_exercise=sets_per_exercise,
            reps=reps,
            tempo=sim_mod.TEMPOS[tempo] if tempo else None,
            rest_s=rest_s,
            rng=rng,
            confuser=confuser,
        )
    # Native recordings resample the simulation at the device's own rate and frame it as it does.
    sample_rate = rate_hz if fmt == "csv" else 200.0
    result = sim_mod.simulate(
        plan,
        placement,
        sample_rate,
        seed=seed,
        jitter=jitter if fmt == "csv" else 0.0,
    )
    if fmt == "csv":
        count = synthetic.write_csv(out, result, f"calfsense simulate, seed {seed}, placement {placement}", force)
        what = f"{count} samples"
    else:
        count = synthetic.record_simulation(out, result, profile, routine=routine, seed=seed, force=force)
        what = f"{count} {profile.model} notifications"
    write_private(truth_path, json.dumps(synthetic.truth_json(result), indent=1) + "\n", force)
    total = sum(s.reps for s in result.sets)
    if as_json:
        echo_json(
            {
                "recording": str(out),
                "truth": str(truth_path),
                "format": fmt,
                "written": count,
                "duration_s": round(float(result.time_s[-1]), 3),
                "reps": total,
                "sets": len(result.sets),
            }
        )
        return
    click.echo(
        f"wrote {out} ({what}, {result.time_s[-1]:.0f} s, {total} reps in {len(result.sets)} sets) and {truth_path}"
    )
