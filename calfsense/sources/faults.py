"""What goes wrong with the virtual sensor: link drops, failing reconnects, clock resets, lost or late frames.

The same faults for the tests, `bench/bench_faults.py` and anyone evaluating calfsense
(`calfsense live --simulate --faults SPEC`, docs/faults.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from bleak.exc import BleakError

from calfsense.errors import CalfsenseError


@dataclass
class Faults:
    """What goes wrong, in sensor seconds since the measurement first started."""

    drop_link_at_s: list[float] = field(default_factory=list)
    link_down_s: float = 1.0  # how long the sensor stays unreachable after a drop
    lose_frame_prob: float = 0.0
    reorder_prob: float = 0.0  # each frame is sent after the next one with this probability
    first_frame_delay_s: float = 0.0
    refuse_start: int | None = None  # status code for every START, e.g. 13 (in the charger)
    refuse_start_once: int | None = None  # status code for the first START only
    keep_streaming_after_drop: bool = True  # an H10 keeps measuring: a restart answers ALREADY_IN_STATE
    # The sensor shut down while the link was down, so its clock restarted at the H10's default 2019-01-01.
    clock_reset_on_drop: bool = False
    # How the next connect attempts fail, one each, in order (then they succeed): the everyday BlueZ errors.
    connect_errors: list[str] = field(default_factory=list)  # names in CONNECT_ERRORS
    errors_per_drop: int | None = None  # at most this many of them after each drop (None: all in a row)
    disk_full_after_bytes: int | None = None  # the recording's disk fills up after this many bytes


def connect_error(name: str) -> BaseException:
    """The exception BlueZ (through bleak) raises for a failed connect attempt of this kind."""
    from bleak.exc import BleakDBusError

    errors: dict[str, Callable[[], BaseException]] = {
        "timeout": lambda: TimeoutError("connect timed out"),
        "abort": lambda: BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"]),
        "software-abort": lambda: BleakDBusError("org.bluez.Error.Failed", ["Software caused connection abort"]),
        "not-connected": lambda: BleakError("Not connected"),
        "eof": lambda: EOFError("D-Bus connection closed"),
        "busy": lambda: BleakError("device is busy: already connected to another client"),
    }
    if name not in errors:
        raise ValueError(f"unknown connect error {name!r} (one of {', '.join(errors)})")
    return errors[name]()


CONNECT_ERRORS = ("timeout", "abort", "software-abort", "not-connected", "eof", "busy")

FAULTS_HELP = (
    "comma-separated: drop-every=S (drop the link every S sensor seconds), drop-at=S[+S...], down=S (how long "
    "it stays down), connect-errors=NAME[+NAME...] (how the next connects fail: "
    + ", ".join(CONNECT_ERRORS)
    + "), clock-reset (the clock restarts at 2019-01-01 on each drop), lose=P (each frame lost with probability P), "
    "reorder=P (each frame sent after the next one with probability P), disk-full=BYTES (the recording's disk is "
    "full after BYTES), first-frame-delay=S, refuse-start=CODE"
)


def parse_faults(spec: str, duration_s: float) -> Faults:
    """Faults from a spec such as "drop-every=60,down=5,connect-errors=timeout+abort,clock-reset" (FAULTS_HELP)."""
    faults = Faults()

    def number(key: str, text: str, lo: float, hi: float) -> float:
        try:
            value = float(text)
        except ValueError:
            raise CalfsenseError(f"--faults: {key}={text!r} is not a number", FAULTS_HELP) from None
        if not (math.isfinite(value) and lo <= value <= hi):
            raise CalfsenseError(f"--faults: {key}={text} is not between {lo:g} and {hi:g}", FAULTS_HELP)
        return value

    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, _, value = item.partition("=")
        if key == "drop-every":
            every = number(key, value, 1.0, 86_400.0)
            faults.drop_link_at_s += [every * k for k in range(1, int(duration_s // every) + 1)]
        elif key == "drop-at":
            faults.drop_link_at_s += [number(key, v, 0.0, 86_400.0) for v in value.split("+")]
        elif key == "down":
            faults.link_down_s = number(key, value, 0.0, 3_600.0)
        elif key == "connect-errors":
            names = value.split("+")
            unknown = [n for n in names if n not in CONNECT_ERRORS]
            if unknown:
                raise CalfsenseError(f"--faults: unknown connect error {unknown[0]!r}", FAULTS_HELP)
            faults.connect_errors += names
        elif key == "clock-reset" and not value:
            faults.clock_reset_on_drop = True
        elif key == "lose":
            faults.lose_frame_prob = number(key, value, 0.0, 1.0)
        elif key == "reorder":
            faults.reorder_prob = number(key, value, 0.0, 1.0)
        elif key == "disk-full":
            faults.disk_full_after_bytes = int(number(key, value, 0.0, 1e15))
        elif key == "first-frame-delay":
            faults.first_frame_delay_s = number(key, value, 0.0, 600.0)
        elif key == "refuse-start":
            faults.refuse_start = int(number(key, value, 1.0, 255.0))
        else:
            raise CalfsenseError(f"--faults: unknown fault {item!r}", FAULTS_HELP)
    faults.drop_link_at_s.sort()
    return faults
