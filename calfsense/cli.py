"""The `calfsense` command line: thin wrappers over the pure core and the sources."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from calfsense import __version__
from calfsense.domain import Exercise, Placement, values
from calfsense.errors import SENSOR_NOT_FOUND_ADVICE, CalfsenseError
from calfsense.files import check_new, write_private
from calfsense.text import printable

if TYPE_CHECKING:  # heavy modules load only in the commands that need them
    from calfsense.report_model import Report
    from calfsense.routine import Routine
    from calfsense.session.model import LoadedSession
    from calfsense.sources.virtual import VirtualSensor

# Choices come from the domain's enums: one list of placements and exercises.
PLACEMENT_CHOICE = click.Choice(values(Placement))
WORN_CHOICE = click.Choice(values(Placement, Placement.AUTO))
EXERCISE_CHOICE = click.Choice(values(Exercise))

EXIT_USAGE = 2

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> NoReturn:
    """Print one line on stderr and exit with status 2."""
    click.echo(f"calfsense: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _parse_hex(text: str) -> bytes:
    cleaned = "".join(text.replace(":", " ").replace("0x", " ").split())
    if not cleaned:
        fail("no hex bytes given (example: 02 00 94 35 77 00 00 00 00 01 ...)")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        fail(f"not hex bytes: {text[:40]!r} (use pairs of hex digits, spaces allowed)")


class Finite(click.FloatRange):
    """A float option that must be a finite number (NaN and inf are usage errors), within a range if given."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class CalfsenseGroup(click.Group):
    """A group that turns calfsense errors into one line and exit status 2 (traceback with --debug)."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> NoReturn:
        """Click's own usage errors as one line too, with where to look (not its three-line usage block)."""
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "calfsense"
            fail(f"{exc.format_message()} (see {command} --help)")
        except click.exceptions.Abort:
            click.echo("calfsense: aborted", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            fail(exc.format_message())
        sys.exit(code if isinstance(code, int) else 0)  # --help and --version return 0; ctx.exit(n) returns n

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))  # the group's own --debug, parsed by now: no global state
        try:
            return super().invoke(ctx)
        except CalfsenseError as exc:
            if debug:
                raise
            fail(exc.one_line())
        except OSError as exc:
            if debug:
                raise
            fail(f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}")
        except KeyboardInterrupt:
            click.echo("calfsense: interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:
            if debug:
                raise
            click.echo(
                f"calfsense: internal error: {type(exc).__name__}: {exc} (rerun with --debug and report it)",
                err=True,
            )
            sys.exit(1)


@click.group(cls=CalfsenseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="calfsense")
@click.option("--debug", is_flag=True, help="Show tracebacks and decoder details.")
def main(debug: bool) -> None:
    """calfsense: count, pace and report calf raises from a BLE sensor you already own."""


@main.group()
def debug() -> None:
    """Tools for people reverse-engineering their sensor."""


@debug.command("decode-pmd")
@click.argument("hex_bytes", metavar="HEX", nargs=-1, required=True)
@click.option("--rate", "rate_hz", type=Finite(), default=None, help="Sample rate (Hz) to spread timestamps.")
@click.option("--factor", type=Finite(), default=1.0, show_default=True, help="FACTOR from the START answer.")
@click.option("--resolution", "resolution_bits", type=int, default=16, show_default=True, help="Bits.")
@click.option("--channels", type=int, default=3, show_default=True)
def decode_pmd(
    hex_bytes: tuple[str, ...], rate_hz: float | None, factor: float, resolution_bits: int, channels: int
) -> None:
    """Decode one PMD data notification given as hex; print one JSON object."""
    from calfsense.protocol.pmd import DecodeContext, decode_frame
    from calfsense.protocol.timestamps import sdk_sample_times

    data = _parse_hex(" ".join(hex_bytes))
    frame = decode_frame(data, DecodeContext(resolution_bits=resolution_bits, channels=channels, factor=factor))
    out: dict[str, Any] = {
        "measurement": frame.measurement.name.lower(),
        "frame_type": frame.frame_type,
        "compressed": frame.compressed,
        "timestamp_ns": frame.timestamp_ns,
        "unit": frame.unit,
        "samples": frame.samples.tolist(),
    }
    if rate_hz:
        out["sample_timestamps_ns"] = sdk_sample_times(frame.timestamp_ns, len(frame), rate_hz, None)
    click.echo(json.dumps(out))


@debug.command("decode-hr")
@click.argument("hex_bytes", metavar="HEX", nargs=-1, required=True)
def decode_hr(hex_bytes: tuple[str, ...]) -> None:
    """Decode one Heart Rate Measurement (0x2A37) given as hex; print one JSON object."""
    from calfsense.protocol.gatt import decode_heart_rate

    click.echo(json.dumps(decode_heart_rate(_parse_hex(" ".join(hex_bytes))).as_dict()))


@main.command()
@click.option("--placement", type=WORN_CHOICE, default="foot", show_default=True)
@click.option("--reps", type=click.IntRange(1, 60), default=10, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
def demo(placement: str, reps: int, seed: int) -> None:
    """Simulate a session (no sensor needed), count it, and compare with the simulator's truth."""
    import numpy as np

    from calfsense.dsp import simulate as sim_mod
    from calfsense.dsp.detect import Detector

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


DEFAULT_RECORDING = "runner-calves-verity-shin.csrec.jsonl"


def _bundled_recordings() -> Path:
    """The repository's recordings/ folder (next to the package in a checkout)."""
    return Path(__file__).resolve().parent.parent / "recordings"


def _resolve_input(file: str | None) -> str:
    if file:
        return file
    default = _bundled_recordings() / DEFAULT_RECORDING
    if not default.exists():
        fail(f"no FILE given and the bundled {DEFAULT_RECORDING} is not here (pass a recording)")
    click.echo(f"replaying the bundled sample session {default.name} (synthetic)", err=True)
    return str(default)


def _check_new_file(path: str | None, force: bool) -> None:
    """Refuse an output before any side effect: it exists (without --force), is a directory, has no parent."""
    if path is not None and path != "-":
        check_new(Path(path), force)


def _report(session: LoadedSession, placement: str | None, plan: Routine | None) -> Report:
    """Detect, match to the routine and build the report: what replay does, and live mode at its end."""
    from calfsense.report import analyze, build_report

    return build_report(session, analyze(session, placement, plan), plan)


def _save_to_history(report: Report, recording: str | Path) -> None:
    """Add a session to the history (once per recording, by its fingerprint)."""
    from calfsense import history

    with contextlib.closing(history.connect()) as db:
        history.save(db, report, history.fingerprint(recording))


def _write_text(path: str | None, text: str, force: bool) -> None:
    """Print, or write a file that must not exist yet unless --force."""
    if path is None or path == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    p = Path(path)
    write_private(p, text, force)
    click.echo(f"wrote {p}", err=True)


@main.command()
@click.argument("file", required=False, type=click.Path())
@click.option("--placement", type=PLACEMENT_CHOICE, default=None, help="Where the sensor was worn.")
@click.option("--routine", default=None, help="Built-in routine name or TOML file to compare against.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (calfsense.report/1).")
@click.option("--csv", "as_csv", is_flag=True, help="Print one CSV row per rep.")
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
@click.option("--plot", "plot_path", default=None, help="Also draw the session to this PNG (needs calfsense[plot]).")
@click.option("--no-save", is_flag=True, help="Do not add the session to the history.")
@click.option("--force", is_flag=True, help="Overwrite output files.")
def replay(
    file: str | None,
    placement: str | None,
    routine: str | None,
    as_json: bool,
    as_csv: bool,
    output: str | None,
    plot_path: str | None,
    no_save: bool,
    force: bool,
) -> None:
    """Analyse a recording (ours or another app's) through the live pipeline."""
    from calfsense.report import csv_rows, format_table
    from calfsense.routine import BUILTIN, load_routine
    from calfsense.session.importers import load

    if as_json and as_csv:
        fail("choose one of --json and --csv")
    for out in (plot_path, output):
        _check_new_file(out, force)
    path = _resolve_input(file)
    session = load(path)
    plan = load_routine(routine) if routine else None
    if plan is None and session.routine:
        # A recording names its routine; only a built-in one is taken from it (a file is never opened on a
        # recording's say-so: a path there could be anything, a FIFO or /dev/zero).
        if session.routine in BUILTIN:
            plan = load_routine(session.routine)
        else:
            click.echo(
                f"calfsense: warning: the recording names the routine {session.routine[:60]!r}, which is not built "
                "in: pass --routine FILE to report against it",
                err=True,
            )
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

        print_report(report)
    else:
        _write_text(output, format_table(report) + "\n", force)
    # Saved last: a session is in the history only once every output asked for was written.
    if not no_save and Path(path).is_file():
        _save_to_history(report, path)


@main.command()
@click.argument("file", required=False, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def info(file: str | None, as_json: bool) -> None:
    """Device, settings, duration, measured and nominal rate, gaps and lost frames."""
    from calfsense import describe
    from calfsense.session.importers import load

    session = load(_resolve_input(file))
    if as_json:
        click.echo(json.dumps(describe.as_json(session), indent=1))
    else:
        click.echo("\n".join(describe.lines(session)))


@main.command()
@click.argument("file", type=click.Path())
@click.option("--csv", "as_csv", is_flag=True, required=True, help="Decoded samples as CSV.")
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
@click.option("--force", is_flag=True, help="Overwrite the output file.")
def export(file: str, as_csv: bool, output: str | None, force: bool) -> None:
    """Export decoded samples: time_s,ax_mg,ay_mg,az_mg (plus hr_bpm when known)."""
    import numpy as np

    from calfsense.session.importers import load

    s = load(file)
    cols = [s.time_s, s.acc_mg[:, 0], s.acc_mg[:, 1], s.acc_mg[:, 2]]
    header = "time_s,ax_mg,ay_mg,az_mg"
    fmt = ["%.4f", "%.0f", "%.0f", "%.0f"]
    if len(s.hr_bpm):
        cols.append(s.hr_at(s.time_s))
        header += ",hr_bpm"
        fmt.append("%.0f")
    buf = io.StringIO()
    buf.write(header + "\n")
    np.savetxt(buf, np.column_stack(cols), fmt=fmt, delimiter=",")
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
@click.option("--device", type=click.Choice(["h10", "verity"]), default="verity", show_default=True)
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
    click.echo(
        f"wrote {out} ({what}, {result.time_s[-1]:.0f} s, {total} reps in {len(result.sets)} sets) and {truth_path}"
    )


@main.group()
def routine() -> None:
    """Built-in and custom routines."""


@routine.command("list")
def routine_list() -> None:
    """The built-in routines."""
    from calfsense.routine import BUILTIN, DEFAULT_ROUTINE, load_routine

    for name in BUILTIN:
        r = load_routine(name)
        sets = r.prescribed_sets()
        default = "  (default)" if name == DEFAULT_ROUTINE else ""
        click.echo(f"{name:<16}{len(sets):>3} sets  {r.title}{default}")


@routine.command("show")
@click.argument("name")
def routine_show(name: str) -> None:
    """Every set of a routine (a built-in name or a TOML file)."""
    from calfsense.routine import load_routine

    r = load_routine(name)
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


@main.command("history")
@click.option("--exercise", type=EXERCISE_CHOICE, default=None)
@click.option("--since", default=None, help="Only sessions from this date on (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--plot", "plot_path", default=None, help="Draw the trend to this PNG (needs calfsense[plot]).")
@click.option("--force", is_flag=True, help="Overwrite the PNG.")
def history_cmd(exercise: str | None, since: str | None, as_json: bool, plot_path: str | None, force: bool) -> None:
    """Progression across saved sessions: reps, tempo, height, weekly volume, left/right symmetry."""
    import datetime as dt

    from calfsense import history

    if since:
        try:
            dt.date.fromisoformat(since)
        except ValueError:
            fail(f"--since wants a date like 2026-11-01, not {since!r}")
    if plot_path:
        _check_new_file(plot_path, force)
    with contextlib.closing(history.connect()) as db:
        rows = history.sessions(db, exercise=exercise, since=since)
    weekly = history.weekly_volume(rows)
    if plot_path:
        from calfsense.plot import history_png

        history_png(rows, plot_path)
        click.echo(f"wrote {plot_path}", err=True)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "sessions": [
                        {
                            "started": r.started,
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
        click.echo("no saved sessions yet (calfsense replay or calfsense live save them)")
        return
    click.echo(f"{'date':<20}{'reps':>6}{'sets':>6}{'on tempo':>10}{'height':>9}{'score':>7}{'LSI':>7}  routine")
    for r in rows:
        tempo = "" if r.on_tempo_pct is None else f"{r.on_tempo_pct:.0f}%"
        height = "" if r.height_cm is None else f"{r.height_cm:.1f} cm"
        score = "" if r.compliance is None else f"{r.compliance:.0f}"
        lsi = "" if r.symmetry_index_pct is None else f"{r.symmetry_index_pct:.0f}%"
        click.echo(
            f"{r.started[:19]:<20}{r.reps:>6}{r.sets:>6}{tempo:>10}{height:>9}{score:>7}{lsi:>7}  {r.routine or ''}"
        )
    click.echo("weekly reps: " + ", ".join(f"{k} {v}" for k, v in sorted(weekly.items())))
    click.echo("LSI: limb symmetry index, weaker side / stronger side x 100 of heel travel (single-leg sets)")


def _run_async(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


@main.command()
@click.option("--timeout", "timeout_s", type=Finite(0.5, 120), default=5.0, show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Show every device, not only heart-rate and Polar sensors.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--simulate", is_flag=True, help="Scan a virtual sensor instead of the radio.")
def scan(timeout_s: float, show_all: bool, as_json: bool, simulate: bool) -> None:
    """Find sensors: name, identifier, signal strength, model and what each can stream."""
    from calfsense.sources import ble
    from calfsense.sources.playback import playback

    backend = playback().backend if simulate else ble.real_backend()
    found = _run_async(ble.scan(timeout_s if not simulate else min(timeout_s, 1.0), show_all, backend))
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in found], indent=1))
        return
    if not found:
        click.echo(f"no sensors found ({SENSOR_NOT_FOUND_ADVICE})")
        return
    click.echo(f"{'name':<26}{'identifier':<40}{'rssi':>6}  {'model':<22}streams")
    for f in found:
        click.echo(f"{printable(f.name):<26}{f.address:<40}{f.rssi:>6}  {f.model:<22}{', '.join(f.streams)}")


@main.command()
@click.argument("target", required=False)
@click.option(
    "--placement",
    type=WORN_CHOICE,
    default=None,
    help="Where you wear it (default: chest for an H10, shin otherwise).",
)
@click.option("--simulate", is_flag=True, help="Pair the virtual sensor.")
def pair(target: str | None, placement: str | None, simulate: bool) -> None:
    """Connect to a sensor (NAME or ADDRESS; default: the nearest Polar), read it and save it as the default."""
    from calfsense.config import load_config, save_config
    from calfsense.devices import recognise
    from calfsense.sources import ble
    from calfsense.sources.playback import playback

    backend = playback().backend if simulate else ble.real_backend()
    chosen = placement
    paired = _run_async(ble.pair(target, chosen or "auto", backend))
    if chosen is None:
        known = recognise(paired.model)
        chosen = known.wear if known is not None else "shin"
    cfg = load_config()
    entry = paired.as_dict()
    entry["placement"] = chosen
    entry["simulated"] = simulate
    cfg.sensors[paired.name] = entry
    cfg.default = paired.name
    path = save_config(cfg)
    battery = f", battery {paired.battery}%" if paired.battery is not None else ""
    click.echo(
        f"paired {printable(paired.name)} ({paired.model}, firmware {printable(paired.firmware or '?')}{battery})"
    )
    click.echo(
        f"  streams: {', '.join(paired.features) or 'heart rate only'}; acceleration at "
        f"{', '.join(map(str, paired.acc_rates_hz)) or '-'} Hz, "
        f"range {', '.join(map(str, paired.acc_ranges_g)) or '-'} G"
    )
    click.echo(f"  worn on the {chosen}; saved as the default sensor in {path}")
    if chosen == "chest":
        click.echo("  note: a chest strap cannot see seated raises; wear a Verity Sense on the shin for those")
        # bench/bench_accuracy.py: the chest counts fast and moderate tempos well, slow (3 s) raises poorly.
        click.echo("  note: on the chest, slow raises (3 s up and down) are often missed; the shin or shoe counts best")


@main.command()
def devices() -> None:
    """Saved sensors (the default is marked)."""
    from calfsense.config import load_config

    cfg = load_config()
    if not cfg.sensors:
        click.echo("no saved sensors: run `calfsense pair` (or `calfsense pair --simulate` to try)")
        return
    for name, s in cfg.sensors.items():
        mark = "*" if name == cfg.default else " "
        sim = " (virtual)" if s.get("simulated") else ""
        fields = (printable(s.get("address", "")), printable(s.get("model", "")), printable(s.get("placement", "")))
        click.echo(f"{mark} {printable(name):<26}{fields[0]:<20}{fields[1]:<14}{fields[2]}{sim}")


@main.command()
@click.argument("name")
def forget(name: str) -> None:
    """Remove a saved sensor."""
    from calfsense.config import load_config, save_config

    cfg = load_config()
    match = [n for n in cfg.sensors if n == name or cfg.sensors[n].get("address", "").lower() == name.lower()]
    if not match:
        fail(f"no saved sensor {name!r} (see `calfsense devices`)")
    del cfg.sensors[match[0]]
    if cfg.default == match[0]:
        cfg.default = next(iter(cfg.sensors), None)
    save_config(cfg)
    click.echo(f"forgot {match[0]}")


BUNDLED = "__bundled__"


@main.command()
@click.option("--device", default=None, help="Sensor name or address (default: the one saved by `calfsense pair`).")
@click.option("--routine", default=None, help="Built-in routine or TOML file (default: runner-calves).")
@click.option("--placement", type=PLACEMENT_CHOICE, default=None, help="Where the sensor is worn.")
@click.option(
    "--simulate",
    "simulate",
    is_flag=False,
    flag_value=BUNDLED,
    default=None,
    metavar="[RECORDING]",
    help="Use the virtual sensor, playing RECORDING (default: the bundled sample session).",
)
@click.option(
    "--replay",
    "replay_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Coach a recording or another app's export as if it were streaming now (no sensor, nothing recorded).",
)
@click.option(
    "--speed",
    type=Finite(0.1, 200),
    default=None,
    help="Virtual sensor or --replay speed (default: 30x).",
)
@click.option(
    "--faults",
    default=None,
    metavar="SPEC",
    help="With --simulate: what goes wrong with the virtual sensor, e.g. drop-every=60,down=5,"
    "connect-errors=timeout+abort,clock-reset (see docs/faults.md).",
)
@click.option("--plain", is_flag=True, help="One line per event (also when the output is not a terminal).")
@click.option("--sound", is_flag=True, help="Ring the terminal bell on every rep.")
@click.option(
    "--record-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where recordings go (default: recordings/ in the user data directory).",
)
@click.option("--no-save", is_flag=True, help="Do not add the session to the history.")
def live(
    device: str | None,
    routine: str | None,
    placement: str | None,
    simulate: str | None,
    replay_file: str | None,
    speed: float | None,
    faults: str | None,
    plain: bool,
    sound: bool,
    record_dir: str | None,
    no_save: bool,
) -> None:
    """Count, pace and coach every rep of the routine as it happens, recording everything."""
    import asyncio

    from calfsense import history
    from calfsense.config import load_config
    from calfsense.live_run import LiveOptions, run_live
    from calfsense.report import format_table
    from calfsense.routine import DEFAULT_ROUTINE, load_routine
    from calfsense.session.importers import load
    from calfsense.sources import ble
    from calfsense.sources.playback import playback

    plan = load_routine(routine or DEFAULT_ROUTINE)
    target = device
    where = placement
    if faults is not None and simulate is None:
        fail("--faults needs --simulate (it says what goes wrong with the virtual sensor)")
    if replay_file is not None and (simulate is not None or device is not None):
        fail("--replay plays a file: leave out --simulate and --device")
    replayed = load(replay_file) if replay_file is not None else None
    sensor: VirtualSensor | None = None
    if replayed is not None:
        backend = ble.real_backend()  # unused: the file is the source
        where = where or replayed.placement or "auto"
        click.echo(f"replaying {Path(replay_file or '').name} at {speed or 30.0:g}x", err=True)
    elif simulate is not None:
        source = str(_bundled_recordings() / DEFAULT_RECORDING) if simulate == BUNDLED else simulate
        if not Path(source).exists():
            fail(f"{source}: no such recording")
        played = playback(source, speed or 30.0, faults)
        backend, sensor, recorded_placement = played.backend, played.sensor, played.placement
        target = sensor.name
        where = where or recorded_placement or "auto"
        click.echo(f"virtual {sensor.profile.model} playing {Path(source).name} at {sensor.speed:g}x", err=True)
    else:
        backend = ble.real_backend()
        cfg = load_config()
        saved = cfg.sensors.get(device or cfg.default or "", {})
        target = device or saved.get("address") or cfg.default
        where = where or saved.get("placement") or "auto"
        if target is None:
            click.echo(
                "no saved sensor: looking for the nearest Polar sensor (run `calfsense pair` to save one)", err=True
            )
    base = Path(record_dir) if record_dir else history.data_dir() / "recordings"
    opts = LiveOptions(
        routine=plan,
        placement=where,
        backend=backend,
        target=target,
        record_dir=base,
        plain=plain or not sys.stdout.isatty(),
        sound=sound,
        simulated=simulate is not None,
        time_scale=(speed or 30.0) if simulate is not None or replayed is not None else 1.0,
        disk_room_bytes=sensor.faults.disk_full_after_bytes if sensor is not None else None,
        replay=replayed,
    )
    recording, coach, session = asyncio.run(run_live(opts))
    if replayed is not None and replay_file is not None:
        # The report is the replay's: the same file through the same detector and rules.
        click.echo("")
        report = _report(replayed, where, plan)
        click.echo(format_table(report))
        if not no_save:
            _save_to_history(report, replay_file)
        return
    if recording is None:
        fail("no data was received, so there is nothing to report")
    click.echo("")
    report = _report(load(recording), where, plan)
    click.echo(format_table(report))
    if session is not None and (session.stats.dropped or session.stats.reconnects):
        click.echo(f"link: {session.stats.reconnects} reconnect(s), {session.stats.dropped} notification(s) dropped")
    click.echo(f"recording: {recording}")
    if not no_save:
        _save_to_history(report, recording)


if __name__ == "__main__":  # pragma: no cover
    main()
