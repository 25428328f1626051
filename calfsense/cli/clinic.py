"""Commands for the clinic: the heel-rise endurance test and the profile its work and norms need."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from calfsense.cli import JSON_OPTION, PLACEMENT_CHOICE, SAVE_OPTION, Finite, _check_new_file, echo_json, fail, main

if TYPE_CHECKING:
    from calfsense.clinic import TestResult
    from calfsense.session.model import LoadedSession

SEXES = ("female", "male")


@main.command("profile")
@click.option("--mass", "mass_kg", type=Finite(20, 300), default=None, help="Body mass in kg (for the test's work).")
@click.option("--age", type=click.IntRange(5, 110), default=None, help="Age in years (for the norms).")
@click.option("--sex", type=click.Choice(SEXES), default=None, help="For the norms (they are by sex).")
@click.option("--clear", is_flag=True, help="Forget the profile.")
@JSON_OPTION
def profile_cmd(mass_kg: float | None, age: int | None, sex: str | None, clear: bool, as_json: bool) -> None:
    """Your body mass, age and sex, kept privately for the heel-rise test (never needed to count reps)."""
    from calfsense.config import load_config, save_config

    cfg = load_config()
    if clear:
        cfg.profile = {}
    for key, value in (("mass_kg", mass_kg), ("age", age), ("sex", sex)):
        if value is not None:
            cfg.profile[key] = value
    if clear or any(v is not None for v in (mass_kg, age, sex)):
        save_config(cfg)
    if as_json:
        echo_json(cfg.profile)
        return
    if not cfg.profile:
        click.echo("no profile: calfsense profile --mass 70 --age 35 --sex female (each optional)")
        return
    click.echo("  ".join(f"{k} {v}" for k, v in cfg.profile.items()))


@main.group("test")
def test_group() -> None:
    """Clinical tests."""


def _simulated_test(tmp: Path, speed: float, both_legs: bool = False) -> tuple[LoadedSession, str]:
    """A whole test played through the virtual sensor and live mode: the left leg strong, the right weaker.

    `both_legs`: a virtual sensor on each leg (each leg's test credited to the leg that moved)."""
    import asyncio
    import dataclasses

    import numpy as np

    from calfsense.dsp.simulate import NOMINAL, Segment, SetPlan, simulate
    from calfsense.live_run import LiveOptions, run_live
    from calfsense.routine import Tempo, load_routine
    from calfsense.session.importers import load
    from calfsense.sources.playback import playback
    from calfsense.sources.synthetic import VERITY, record_simulation

    beat = Tempo(1.0, 0.0, 1.0, 0.0)  # 60 bpm: up on one beat, down on the next
    rng = np.random.default_rng(7)
    plan = [
        Segment("idle", 4.0),
        Segment("set", set_plan=SetPlan("two-leg", 10, beat, height_cm=6.0)),  # the warm-up: sub-maximal
        Segment("idle", 15.0),  # the protocol's rests, shortened: nothing is measured in them
        Segment(
            "set",
            set_plan=SetPlan("single-leg", int(rng.integers(26, 31)), beat, height_cm=9.5, fatigue=0.25, side="left"),
        ),
        Segment("idle", 20.0),  # the protocol's 2 minutes between legs, shortened: nothing is measured in it
        Segment(
            "set",
            set_plan=SetPlan("single-leg", int(rng.integers(18, 22)), beat, height_cm=7.5, fatigue=0.35, side="right"),
        ),
        Segment("idle", 5.0),
    ]
    placement = "foot"
    # A person following the metronome (the simulator's own tempo spread would be a person ignoring it).
    on_the_beat = dataclasses.replace(NOMINAL, tempo_scale=(1.0, 1.0))
    sim = simulate(plan, placement, 200.0, seed=7, ranges=on_the_beat)
    if both_legs:
        from calfsense.sources.playback import LEG_ADDRESSES, leg_playback

        pair = leg_playback(plan, placement, speed, seed=7, ranges=on_the_beat)
        backend, target, legs = pair.backend, None, dict(LEG_ADDRESSES)
    else:
        source = tmp / "simulated-test.csrec.jsonl"
        record_simulation(source, sim, VERITY, routine="heel-rise-test", seed=7)
        played = playback(str(source), speed)
        backend, target, legs = played.backend, played.sensor.name, None
    opts = LiveOptions(
        routine=load_routine("heel-rise-test"),
        placement=placement,
        backend=backend,
        target=target,
        record_dir=tmp,
        plain=True,
        simulated=True,
        time_scale=speed,
        idle_finish_s=1.0,
        legs=legs,
    )
    import io

    recording, _, _ = asyncio.run(run_live(opts, io.StringIO()))
    if recording is None:
        fail("the virtual sensor sent nothing")
    truth = ", ".join(f"{side} {s.reps}" for side, s in zip(("left", "right"), sim.sets[1:], strict=True))
    return load(recording), truth


def _write_page(session: LoadedSession, result: TestResult, path: str, force: bool) -> None:
    """The test as one self-contained HTML page (with its picture when matplotlib is there)."""
    from calfsense import describe
    from calfsense.errors import CalfsenseError
    from calfsense.files import write_private
    from calfsense.html_report import render_test_html

    picture = None
    try:
        from calfsense.plot import test_picture

        picture = test_picture(result)
    except CalfsenseError as exc:
        click.echo(f"calfsense: warning: no picture: {exc.one_line()}", err=True)
    facts = [(line[:16].strip(), line[16:].strip()) for line in describe.lines(session)]
    when = (session.start_wall or "")[:16].replace("T", " ")
    write_private(Path(path), render_test_html(result, facts, picture, when), force)
    click.echo(f"wrote {path}", err=True)


def _save_test(session: LoadedSession, result: TestResult, save: bool | None) -> None:
    """Into the history of tests (a simulated one only when asked), for the progression over weeks."""
    import contextlib
    import datetime as dt

    from calfsense import history

    if save is False or (save is None and session.synthetic):
        if save is None:
            click.echo("not saved to the history: a simulated test (pass --save to keep it)", err=True)
        return
    started = session.start_wall or dt.datetime.now().astimezone().isoformat(timespec="seconds")
    with contextlib.closing(history.connect()) as db:
        test_id = history.save_test(db, history.fingerprint(session.path), session.path, started, result.to_json())
    click.echo(f"saved to the history of tests as test {test_id}", err=True)


@test_group.command("history")
@click.option("--plot", "plot_path", default=None, help="Draw reps and symmetry over the tests to this PNG.")
@click.option("--force", is_flag=True, help="Overwrite the PNG.")
@JSON_OPTION
def test_history(plot_path: str | None, force: bool, as_json: bool) -> None:
    """Heel-rise tests over weeks: reps per leg and the symmetry indices, for return-to-run decisions."""
    import contextlib
    import dataclasses

    from calfsense import history

    _check_new_file(plot_path, force)
    with contextlib.closing(history.connect()) as db:
        rows = history.tests(db)
    if plot_path:
        from calfsense.plot import tests_png

        tests_png(rows, plot_path)
        click.echo(f"wrote {plot_path}", err=True)
    if as_json:
        echo_json([dataclasses.asdict(r) for r in rows])
        return
    if not rows:
        click.echo("no saved tests yet (calfsense test heel-rise FILE saves one)")
        return

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.0f}%" + ("" if v >= 90 else "*")

    click.echo(f"{'id':>4}  {'date':<17}{'left':>6}{'right':>6}{'LSI reps':>10}{'travel':>8}{'work':>8}")
    for r in rows:
        left = "-" if r.left_reps is None else str(r.left_reps)
        right = "-" if r.right_reps is None else str(r.right_reps)
        line = f"{r.id:>4}  {r.started[:16]:<17}{left:>6}{right:>6}{pct(r.lsi_reps):>10}{pct(r.lsi_travel):>8}"
        click.echo(line + f"{pct(r.lsi_work):>8}")
    click.echo("LSI: weaker leg / stronger leg x 100; * under the 90 % line clinicians use for return to running")


def _live_test(
    device: str | None,
    phyphox_url: str | None,
    placement: str | None,
    sound: str,
    plain: bool,
    to_stderr: bool,
    legs: tuple[str | None, str | None] = (None, None),
) -> LoadedSession:
    """The test now, with the live coach: warm-up, then each leg, paced at 60 bpm; its recording."""
    import asyncio

    from calfsense.cli.sensors import build_live_options
    from calfsense.live_run import run_live
    from calfsense.session.importers import load

    click.echo(
        "heel-rise test: 10 easy raises on both legs, then the left leg to failure, 2 minutes' rest, then the "
        "right; up on one beat, down on the next; fingertips on the wall at shoulder height. q ends it.",
        err=True,
    )
    opts = build_live_options(
        device, "heel-rise-test", placement, None, None, None, None, plain, sound, None, phyphox_url, legs[0], legs[1]
    )
    import sys

    # With --json the live lines go to stderr: stdout is the result's JSON alone.
    recording, _, _ = asyncio.run(run_live(opts, sys.stderr if to_stderr else None))
    if recording is None:
        fail("no data was received, so there is nothing to score")
    click.echo(f"recording: {recording}", err=True)
    return load(recording)


def _print_result(result: TestResult) -> None:
    click.echo(f"heel-rise endurance test: {result.conditions}")
    for leg in result.legs:
        work = "-" if leg.work_j is None else f"{leg.work_j:.0f} J (heel-based)"
        peak = "-" if leg.peak_height_cm is None else f"{leg.peak_height_cm:.1f} cm"
        mean = "-" if leg.mean_height_cm is None else f"{leg.mean_height_cm:.1f} cm"
        slope = "-" if leg.fatigue_cm_per_rep is None else f"{leg.fatigue_cm_per_rep:+.2f} cm a rep"
        click.echo(
            f"  {leg.side:<5} {leg.reps:>3} reps, heel travel {leg.displacement_cm:.0f} cm, peak {peak}, mean {mean}, "
            f"work {work}, fatigue {slope}"
        )
        click.echo(f"        ended: {leg.ended.value}")
    sym = result.symmetry
    if sym is not None:
        line = sym.CLINICAL_LINE_PCT

        def mark(v: float | None) -> str:
            return "-" if v is None else f"{v:.0f} %" + ("" if v >= line else " (under 90 %)")

        click.echo(
            f"  symmetry (weaker / stronger): reps {mark(sym.reps_pct)}, travel {mark(sym.displacement_pct)}, "
            f"work {mark(sym.work_pct)}; weaker: {sym.weaker or 'neither'}"
        )
    for side, norms in result.norms.items():
        for n in norms:
            click.echo(f"  {side:<5} {n.label} {n.shown} against {n.norm:g}: {n.band} ({n.source})")
    if result.body_mass_kg is None:
        click.echo("  work needs your body mass: calfsense profile --mass KG (or --mass here)")
    click.echo("  heel-based work overestimates the true work by about a fifth (Andreasen 2021): compare sides")
    click.echo("  typical: within the test's day-to-day agreement of the norm (6 reps; the same share for the rest)")


@test_group.command("heel-rise")
@click.argument("file", required=False, type=click.Path())
@click.option("--simulate", is_flag=True, help="Run a whole simulated test (both legs, one weaker) through live mode.")
@click.option(
    "--live",
    "guided",
    is_flag=True,
    help="Run the test now with your sensor: the warm-up, then each leg to failure, with the live coach.",
)
@click.option("--device", default=None, help="With --live: the sensor (default: the paired one).")
@click.option("--left", default=None, metavar="DEVICE", help="With --live: a sensor on each leg, the left one.")
@click.option("--right", default=None, metavar="DEVICE", help="With --live: a sensor on each leg, the right one.")
@click.option(
    "--both-legs", is_flag=True, help="With --simulate: a virtual sensor on each leg (credited to the leg that moved)."
)
@click.option("--phyphox", "phyphox_url", default=None, metavar="URL", help="With --live: a phone running phyphox.")
@click.option(
    "--sound",
    type=click.Choice(["off", "tones", "voice"]),
    default="tones",
    show_default=True,
    help="With --live: the 60-bpm metronome (needs calfsense[sound]; the screen paces it always).",
)
@click.option("--plain", is_flag=True, help="With --live: one line per event instead of the full screen.")
@click.option("--placement", type=PLACEMENT_CHOICE, default=None, help="Where the sensor was worn (a recording).")
@click.option("--mass", "mass_kg", type=Finite(20, 300), default=None, help="Body mass in kg (default: the profile).")
@click.option("--age", type=click.IntRange(5, 110), default=None, help="Age (default: the profile).")
@click.option("--sex", type=click.Choice(SEXES), default=None, help="Sex (default: the profile).")
@click.option("--speed", type=Finite(1, 200), default=60.0, show_default=True, help="With --simulate: how fast.")
@click.option("--html", "html_path", default=None, help="Also write the result as one page to open, print or email.")
@click.option("--force", is_flag=True, help="Overwrite the page.")
@SAVE_OPTION
@JSON_OPTION
def heel_rise(
    file: str | None,
    simulate: bool,
    guided: bool,
    device: str | None,
    left: str | None,
    right: str | None,
    both_legs: bool,
    phyphox_url: str | None,
    sound: str,
    plain: bool,
    placement: str | None,
    mass_kg: float | None,
    age: int | None,
    sex: str | None,
    speed: float,
    html_path: str | None,
    force: bool,
    save: bool | None,
    as_json: bool,
) -> None:
    """The heel-rise endurance test: reps, heel travel, work, fatigue, symmetry and norms, per leg.

    \b
    FILE is a recording of the test (the heel-rise-test routine: 10 bilateral warm-up raises, then the left
    leg, then the right); --live runs the test now with your sensor; --simulate runs a simulated one. Each
    leg ends by the published criteria the sensor can see: two reps in a row off the 60-bpm beat, two
    rises in a row under half the leg's first ones, or no rep for two cycles.
    """
    from calfsense.clinic import score_test
    from calfsense.config import load_config
    from calfsense.report import analyze, build_report
    from calfsense.routine import load_routine
    from calfsense.session.importers import load

    if sum((simulate, guided, file is not None)) != 1:
        fail("give a recording of the test, or --live (with your sensor), or --simulate")
    if both_legs and not simulate:
        fail("--both-legs is for --simulate; with your own sensors give --live --left DEVICE --right DEVICE")
    if (left is not None or right is not None) and not guided:
        fail("--left and --right are the sensors for --live")
    _check_new_file(html_path, force)
    profile = load_config().profile
    mass = mass_kg if mass_kg is not None else profile.get("mass_kg")
    years = age if age is not None else profile.get("age")
    who = sex if sex is not None else profile.get("sex")
    routine = load_routine("heel-rise-test")
    truth = ""
    with tempfile.TemporaryDirectory(prefix="calfsense-test-") as tmp:
        if simulate:
            session, truth = _simulated_test(Path(tmp), speed, both_legs)
        elif guided:
            session = _live_test(device, phyphox_url, placement, sound, plain, as_json, (left, right))
        else:
            assert file is not None
            session = load(file)
        where = placement or session.placement
        report = build_report(session, analyze(session, where, routine), routine)
        result = score_test(report, float(mass) if mass is not None else None, years, who)
        if not result.legs:
            fail("no heel raises found in the recording: was it the test, and the placement right?")
        if html_path:
            _write_page(session, result, html_path, force)
        _save_test(session, result, save)
    if as_json:
        data = result.to_json()
        if truth:
            data["simulated_reps"] = truth
        echo_json(data)
        return
    _print_result(result)
    if truth:
        click.echo(f"  (simulated: {truth} reps were done)")
