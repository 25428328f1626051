"""calfsense debug: decode single notifications, for people reverse-engineering their sensor."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from calfsense.cli import (
    Finite,
    _parse_hex,
    main,
)

if TYPE_CHECKING:
    pass


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
