"""The `calfsense` command line: thin wrappers over the pure core and the sources."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from calfsense import __version__
from calfsense.errors import CalfsenseError

EXIT_USAGE = 2

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    debug: bool = False


STATE = _State()


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


class CalfsenseGroup(click.Group):
    """A group that turns calfsense errors into one line and exit status 2 (traceback with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CalfsenseError as exc:
            if STATE.debug:
                raise
            fail(exc.one_line())
        except OSError as exc:
            if STATE.debug:
                raise
            fail(f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}")
        except KeyboardInterrupt:
            click.echo("calfsense: interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:
            if STATE.debug:
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
    STATE.debug = debug


@main.group()
def debug() -> None:
    """Tools for people reverse-engineering their sensor."""


@debug.command("decode-pmd")
@click.argument("hex_bytes", metavar="HEX", nargs=-1, required=True)
@click.option("--rate", "rate_hz", type=float, default=None, help="Sample rate (Hz) to spread timestamps.")
@click.option("--factor", type=float, default=1.0, show_default=True, help="FACTOR from the START answer.")
@click.option("--resolution", "resolution_bits", type=int, default=16, show_default=True, help="Bits.")
@click.option("--channels", type=int, default=3, show_default=True)
def decode_pmd(
    hex_bytes: tuple[str, ...], rate_hz: float | None, factor: float, resolution_bits: int, channels: int
) -> None:
    """Decode one PMD data notification given as hex; print one JSON object."""
    from calfsense.protocol.pmd import DecodeContext, decode_frame
    from calfsense.protocol.timestamps import sdk_sample_times

    data = _parse_hex(" ".join(hex_bytes))
    frame = decode_frame(
        data, DecodeContext(resolution_bits=resolution_bits, channels=channels, factor=factor)
    )
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
@click.option(
    "-o", "--output", "output", type=click.Path(dir_okay=False), required=True, help="CSV file to write."
)
@click.option(
    "--placement", type=click.Choice(["foot", "shin", "chest", "thigh"]), default="shin", show_default=True
)
@click.option(
    "--exercise",
    "exercises",
    multiple=True,
    type=click.Choice(["two-leg", "single-leg", "seated"]),
    help="Exercises in order (default: the three of the routine; chest skips seated).",
)
@click.option(
    "--sets", "sets_per_exercise", type=int, default=1, show_default=True, help="Sets per exercise."
)
@click.option("--reps", type=click.IntRange(1, 60), default=12, show_default=True)
@click.option(
    "--tempo",
    type=click.Choice(sorted(["bouncy", "fast", "hret", "article", "seated", "hsr", "eccentric"])),
    default=None,
    help="Tempo preset (default: the article's 2-1-2, 2-1-3 seated).",
)
@click.option("--rest", "rest_s", type=float, default=30.0, show_default=True, help="Rest between sets (s).")
@click.option(
    "--confuser",
    type=click.Choice(["walk", "run", "sway", "sit_down", "stand_up", "weight_shift", "strap"]),
    default=None,
    help="Add a non-exercise movement before the first set.",
)
@click.option("--rate", "rate_hz", type=float, default=100.0, show_default=True)
@click.option(
    "--jitter", type=click.FloatRange(0, 0.5), default=0.0, help="Phone-like timing jitter (0-0.5)."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def simulate(
    output: str,
    placement: str,
    exercises: tuple[str, ...],
    sets_per_exercise: int,
    reps: int,
    tempo: str | None,
    rest_s: float,
    confuser: str | None,
    rate_hz: float,
    jitter: float,
    seed: int,
    force: bool,
) -> None:
    """Simulate a session with known ground truth: CSV samples plus FILE.truth.json beside it."""
    from pathlib import Path

    import numpy as np

    from calfsense.dsp import simulate as sim_mod

    out = Path(output)
    truth_path = out.with_name(out.name + ".truth.json")
    for path in (out, truth_path):
        if path.exists() and not force:
            fail(f"{path} exists (use --force to overwrite)")
    if not 1 <= rate_hz <= 1000:
        fail("--rate must be between 1 and 1000 Hz")
    chosen = exercises or (
        ("two-leg", "single-leg") if placement == "chest" else ("two-leg", "single-leg", "seated")
    )
    if placement == "chest" and "seated" in chosen:
        fail("a chest sensor cannot see a seated calf raise (simulate shin, foot or thigh instead)")
    rng = np.random.default_rng(seed)
    plan = sim_mod.routine_session(
        placement,  # type: ignore[arg-type]
        exercises=chosen,  # type: ignore[arg-type]
        sets_per_exercise=sets_per_exercise,
        reps=reps,
        tempo=sim_mod.TEMPOS[tempo] if tempo else None,
        rest_s=rest_s,
        rng=rng,
        confuser=confuser,
    )
    result = sim_mod.simulate(plan, placement, rate_hz, seed=seed, jitter=jitter)  # type: ignore[arg-type]
    rows = np.column_stack([result.time_s, result.acc_mg])
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(f"# synthetic: calfsense simulate, seed {seed}, placement {placement}\n")
        fh.write("time_s,ax_mg,ay_mg,az_mg\n")
        np.savetxt(fh, rows, fmt=["%.5f", "%.0f", "%.0f", "%.0f"], delimiter=",")
    truth = {
        "synthetic": True,
        "seed": seed,
        "placement": placement,
        "sample_rate_hz": rate_hz,
        "sets": [
            {
                "index": s.index + 1,
                "exercise": s.exercise,
                "start_s": round(s.start_s, 3),
                "end_s": round(s.end_s, 3),
                "reps": s.reps,
            }
            for s in result.sets
        ],
        "reps": [
            {
                "set": r.set_index + 1,
                "start_s": round(r.start_s, 3),
                "top_s": round(r.top_s, 3),
                "lower_s": round(r.lower_s, 3),
                "end_s": round(r.end_s, 3),
                "height_cm": round(r.height_cm, 2),
                "partial": r.partial,
                "lean": r.lean,
                "bounce": r.bounce,
            }
            for r in result.reps
        ],
        "confusers": [
            {"kind": k, "start_s": round(a, 3), "end_s": round(b, 3)} for k, a, b in result.confusers
        ],
    }
    truth_path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    total = sum(s.reps for s in result.sets)
    click.echo(
        f"wrote {out} ({len(rows)} samples, {result.time_s[-1]:.0f} s, {total} reps in "
        f"{len(result.sets)} sets) and {truth_path}"
    )


@main.command()
@click.option(
    "--placement", type=click.Choice(["foot", "shin", "chest", "thigh"]), default="foot", show_default=True
)
@click.option("--reps", type=click.IntRange(1, 60), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def demo(placement: str, reps: int, seed: int) -> None:
    """Simulate a session (no sensor needed), count it, and compare with the simulator's truth."""
    import numpy as np

    from calfsense.dsp import simulate as sim_mod
    from calfsense.dsp.detect import Detector

    exercises = ("two-leg", "single-leg") if placement == "chest" else ("two-leg", "single-leg", "seated")
    plan = sim_mod.routine_session(
        placement,  # type: ignore[arg-type]
        exercises=exercises,  # type: ignore[arg-type]
        reps=reps,
        rest_s=20.0,
        rng=np.random.default_rng(seed),
        confuser="walk",
    )
    sim = sim_mod.simulate(plan, placement, 100.0, seed=seed)  # type: ignore[arg-type]
    click.echo(
        f"simulated {sim.time_s[-1]:.0f} s at 100 Hz on the {placement}: a short walk, then "
        f"{', '.join(exercises)} sets of {reps} at the article's tempo"
    )
    det = Detector(placement)  # type: ignore[arg-type]
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


if __name__ == "__main__":  # pragma: no cover
    main()
