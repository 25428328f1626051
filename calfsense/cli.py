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


if __name__ == "__main__":  # pragma: no cover
    main()
