"""Movesense's GATT SensorData Protocol (the `gatt_sensordata_app` firmware; ../shared/reference/sensors.md
§3.1, firmware_notes/movesense.md): commands, results and acceleration data. Pure; only `FrameError`
escapes a decoder.

Commands (write): `[cmd][ref][payload]`, ref a nonzero client reference: 0 HELLO, 1 SUBSCRIBE with an ASCII
resource path ("/Meas/Acc/52"), 2 UNSUBSCRIBE. Notifications: `[1][ref][status u16 big-endian]` a command's
result (HELLO answers "Hello" instead), `[2][ref][body]` data, `[3][ref][rest of the body]` the second part
of data too long for one notification. An acceleration body is the sensor's millisecond clock at its first
sample (uint32 little-endian) and then x, y, z float32 in m/s² per sample.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import FrameError
from calfsense.protocol.options import at_or_above
from calfsense.protocol.timestamps import WrappingClock

SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
COMMAND_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
DATA_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"
NAME_PREFIX = "Movesense"

HELLO, SUBSCRIBE, UNSUBSCRIBE = 0, 1, 2
RESULT, DATA, DATA_PART2 = 1, 2, 3
RATES_HZ = (13, 26, 52, 104, 208, 416, 833, 1666)
_G = 9.80665
_MAX_PACKET = 158  # what one notification carries at the MTU of 161 the sensor negotiates


def hello(ref: int) -> bytes:
    """HELLO: the sensor answers "Hello" (a link check)."""
    return bytes([HELLO, ref])


def subscribe_acc(ref: int, rate_hz: int) -> bytes:
    """SUBSCRIBE to /Meas/Acc/<rate>."""
    if rate_hz not in RATES_HZ:
        raise FrameError(f"Movesense has no {rate_hz} Hz acceleration (it offers {', '.join(map(str, RATES_HZ))})")
    return bytes([SUBSCRIBE, ref]) + f"/Meas/Acc/{rate_hz}".encode()


def unsubscribe(ref: int) -> bytes:
    """UNSUBSCRIBE what `ref` subscribed."""
    return bytes([UNSUBSCRIBE, ref])


def choose_rate(wish_hz: int) -> int:
    """The sensor's rate nearest the wish from above (52 Hz for 50)."""
    return at_or_above(RATES_HZ, wish_hz)


@dataclass(frozen=True, slots=True)
class Command:
    """A command as the sensor reads it."""

    cmd: int
    ref: int
    path: str


def parse_command(data: bytes | bytearray) -> Command:
    """A command written to the sensor (the emulated sensor's side)."""
    raw = bytes(data)
    if len(raw) < 2 or raw[0] not in (HELLO, SUBSCRIBE, UNSUBSCRIBE) or raw[1] == 0:
        raise FrameError(f"not a command: {raw[:8].hex()}")
    try:
        path = raw[2:].decode("ascii")
    except UnicodeDecodeError:
        raise FrameError("a resource path that is not ASCII") from None
    return Command(raw[0], raw[1], path)


def acc_rate(path: str) -> int | None:
    """The rate of an acceleration resource path ("/Meas/Acc/52": 52), None for another resource."""
    head, _, rate = path.rpartition("/")
    if head.lower() != "/meas/acc" or not rate.isdigit():
        return None
    return int(rate)


def result(ref: int, status: int) -> bytes:
    """A command's result notification."""
    return bytes([RESULT, ref]) + struct.pack(">H", status)


def acc_notifications(ref: int, t_ms: int, acc_mg: NDArray[np.float64]) -> list[bytes]:
    """One acceleration packet as the firmware sends it: one notification, or two when too long for one."""
    floats = (np.asarray(acc_mg, dtype=np.float64) * (_G / 1000.0)).astype("<f4")
    body = struct.pack("<I", t_ms % (1 << 32)) + floats.tobytes()
    first = bytes([DATA, ref]) + body
    if len(first) <= _MAX_PACKET:
        return [first]
    return [first[:_MAX_PACKET], bytes([DATA_PART2, ref]) + first[_MAX_PACKET:]]


@dataclass(frozen=True, slots=True)
class Result:
    """A command's result: its reference and status (200 OK; HELLO's answer reads as 200)."""

    ref: int
    status: int


@dataclass(frozen=True, slots=True, eq=False)
class AccPart:
    """Acceleration samples with the sensor's clock at the first of them (ms) and the reference they belong to."""

    ref: int
    t_ms: int
    first_index: int  # the position of the first of these samples in the packet (a second part continues it)
    acc_mg: NDArray[np.float64]


def parse_result(data: bytes) -> Result:
    """A result notification."""
    if len(data) >= 7 and data[2:7] == b"Hello":
        return Result(data[1], 200)
    if len(data) != 4:
        raise FrameError(f"a command result of {len(data)} bytes (4 expected)")
    return Result(data[1], struct.unpack_from(">H", data, 2)[0])


@dataclass
class AccDecoder:
    """Notifications to acceleration, joining a packet's second part to its first (bytes cut mid-sample too)."""

    _t_ms: int = 0
    _ref: int = -1
    _count: int = 0  # samples of the current packet given out so far
    _carry: bytes = field(default=b"")  # bytes of a sample cut between the two parts

    def feed(self, data: bytes | bytearray | memoryview) -> Result | AccPart | None:
        """One notification: a result, samples, or None (a part that completed no sample)."""
        raw = bytes(data)
        if len(raw) < 2:
            raise FrameError(f"a notification of {len(raw)} bytes")
        kind, ref = raw[0], raw[1]
        if kind == RESULT:
            return parse_result(raw)
        if kind == DATA:
            if len(raw) < 6:
                raise FrameError("a data notification without its timestamp")
            self._ref, self._count = ref, 0
            self._t_ms = struct.unpack_from("<I", raw, 2)[0]
            self._carry = b""
            return self._samples(ref, raw[6:])
        if kind == DATA_PART2:
            if ref != self._ref:
                raise FrameError(f"a second part for reference {ref} after data for {self._ref}")
            return self._samples(ref, self._carry + raw[2:])
        raise FrameError(f"unknown notification type {kind}")

    def _samples(self, ref: int, body: bytes) -> AccPart | None:
        whole = len(body) // 12 * 12
        self._carry = body[whole:]
        if whole == 0:
            return None
        with np.errstate(invalid="ignore", over="ignore"):  # junk bytes may be NaN or inf: refused just below
            values = np.frombuffer(body[:whole], dtype="<f4").astype(np.float64).reshape(-1, 3)
        if not np.all(np.isfinite(values)) or np.any(np.abs(values) > 1000.0):
            raise FrameError("acceleration beyond any sensor's range (not m/s^2 floats)")
        part = AccPart(ref, self._t_ms, self._count, values * (1000.0 / _G))
        self._count += len(values)
        return part


@dataclass
class MsClock:
    """The sensor's millisecond clock made continuous (it wraps at 2^32 ms, 49.7 days), in ns."""

    rate_hz: float
    _clock: WrappingClock = field(default_factory=WrappingClock)

    def last_sample_ns(self, part: AccPart) -> int:
        """The last sample of `part` on the continuous timeline, ns."""
        last_index = part.first_index + len(part.acc_mg) - 1
        return self._clock.unwrap(part.t_ms) * 1_000_000 + round(last_index * 1e9 / self.rate_hz)


def samples_per_packet(rate_hz: int) -> int:
    """How many samples the firmware puts in one packet at a rate: about 6.5 packets a second, and at most
    16 (198 bytes: two notifications, the longest packet the protocol carries)."""
    return max(1, min(16, round(rate_hz / 6.5)))


@dataclass
class StreamDecoder:
    """A stream's notifications to timed acceleration frames: (last sample's device ns, mG samples)."""

    rate_hz: float
    time_scale: float = 1.0  # (the packets carry the sensor's clock: host time is not needed)
    range_g: int = 8  # (floats in m/s^2: no scale to know)
    acc: AccDecoder = field(default_factory=AccDecoder)
    clock: MsClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = MsClock(self.rate_hz)

    def feed(self, data: bytes | bytearray | memoryview, host_ns: int = 0) -> list[tuple[int, NDArray[np.float64]]]:
        """One notification; results of commands give nothing here."""
        out = self.acc.feed(data)
        if not isinstance(out, AccPart):
            return []
        return [(self.clock.last_sample_ns(out), out.acc_mg)]
