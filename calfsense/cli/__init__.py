"""The `calfsense` command line: thin wrappers over the pure core and the sources."""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from calfsense import __version__
from calfsense.domain import Exercise, Placement, values
from calfsense.errors import CalfsenseError
from calfsense.files import check_new, write_private
from calfsense.samples import DEFAULT_RECORDING, sample_path

if TYPE_CHECKING:  # heavy modules load only in the commands that need them
    from calfsense.report_model import Report
    from calfsense.routine import Routine
    from calfsense.session.model import LoadedSession

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


def _resolve_input(file: str | None, doing: str = "replaying") -> str:
    if file:
        return file
    default = sample_path(DEFAULT_RECORDING)
    if not default.exists():
        fail(f"no FILE given and the bundled {DEFAULT_RECORDING} is not here (pass a recording)")
    click.echo(f"{doing} the bundled sample session {default.name} (synthetic)", err=True)
    return str(default)


def _check_new_file(path: str | None, force: bool) -> None:
    """Refuse an output before any side effect: it exists (without --force), is a directory, has no parent."""
    if path is not None and path != "-":
        check_new(Path(path), force)


def _report(session: LoadedSession, placement: str | None, plan: Routine | None) -> Report:
    """Detect, match to the routine and build the report: what replay does, and live mode at its end."""
    from calfsense.report import analyze, build_report

    return build_report(session, analyze(session, placement, plan), plan)


def _save_to_history(report: Report, recording: str | Path, save: bool | None) -> None:
    """Add a session to the history (once per recording, by its fingerprint) and say what happened.

    `save` None is the default: the user's own sessions are kept, a bundled sample or a simulated session
    only when asked (`--save`), so trying calfsense out leaves no sessions that never happened.
    """
    from calfsense import history
    from calfsense.samples import is_sample

    if save is False:
        return
    sample = is_sample(Path(recording))
    if save is None and (report.source.synthetic or sample):
        what = "a bundled sample" if sample else "a simulated session"
        click.echo(f"not saved to the history: {what} (pass --save to keep it)", err=True)
        return
    with contextlib.closing(history.connect()) as db:
        done, sid = history.save(db, report, history.fingerprint(recording), path=recording)
    if done is history.Saved.NEW:
        click.echo(f"saved to the history as session {sid}", err=True)
    elif done is history.Saved.UPDATED:
        routine = report.summary.routine or "no routine"
        click.echo(f"updated session {sid} in the history (now against {routine})", err=True)


def _write_text(path: str | None, text: str, force: bool) -> None:
    """Print, or write a file that must not exist yet unless --force."""
    if path is None or path == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    p = Path(path)
    write_private(p, text, force)
    click.echo(f"wrote {p}", err=True)


def _run_async(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


BUNDLED = "__bundled__"

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print as JSON.")


def echo_json(obj: object) -> None:
    """Print data as indented JSON (enums as their values)."""
    import json

    click.echo(json.dumps(obj, indent=1, default=str))


SAVE_OPTION = click.option(
    "--save/--no-save",
    default=None,
    help="Add the session to the history (default: yes, except bundled samples and simulated sessions).",
)


# The commands, one module a room; importing them registers them on `main`.
from calfsense.cli import clinic, debugging, plans, sensors, sessions  # noqa: E402

__all__ = ["main", "clinic", "debugging", "plans", "sensors", "sessions"]
