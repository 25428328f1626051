"""The live options every test of an emulated sensor runs with: plain output, a free session, faster than real time."""

from __future__ import annotations

from pathlib import Path

from calfsense.live_run import LiveOptions
from calfsense.routine import Routine
from calfsense.sources import ble


def simulated_options(
    backend: ble.Backend,
    record_dir: Path,
    speed: float = 40.0,
    routine: Routine | None = None,
    legs: dict[str, str] | None = None,
    placement: str = "foot",
) -> LiveOptions:
    """`calfsense live` against a virtual world: it ends a second after the motion does."""
    return LiveOptions(
        routine=routine,
        placement=placement,
        backend=backend,
        target=None,
        record_dir=record_dir,
        plain=True,
        simulated=True,
        time_scale=speed,
        idle_finish_s=1.0,
        legs=legs,
    )
