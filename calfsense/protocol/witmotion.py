"""WitMotion BWT901BLE / WT9011DCL (../shared/reference/sensors.md §3.3, firmware_notes/witmotion.md).
Pure; only `FrameError` escapes.

Its UUIDs sit on a non-standard base (`...-0000-1000-8000-00805f9a34fb`, 9a, not the SIG's 9b): service
ffe5, notify ffe4, write ffe9. It sends 20-byte packets `55 61` + nine int16 little-endian (acceleration in
units of 16 g / 32768, then rotation rate and angles), back to back: a notification may hold part of one,
or several, so the reader resynchronises on `55 61`. Registers: unlock `FF AA 69 88 B5`, write `FF AA
<reg> <lo> <hi>`, save `FF AA 00 00 00`; the output rate is register 0x03. The sensor stamps nothing:
samples are timed by their count (`timestamps.CountClock`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import FrameError
from calfsense.protocol.options import at_or_above
from calfsense.protocol.timestamps import CountClock

SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"
NAME_PREFIXES = ("WT901BLE", "WT9011DCL")

HEADER = b"\x55\x61"
PACKET_BYTES = 20
UNLOCK = bytes.fromhex("ffaa6988b5")
SAVE = bytes.fromhex("ffaa000000")
RATE_REGISTER = 0x03
RATE_CODES = {10: 0x06, 20: 0x07, 50: 0x08, 100: 0x09, 200: 0x0B}
RATES_HZ = tuple(RATE_CODES)
RANGE_G = 16  # the packet's scale: 16 g over 32768


def write_register(register: int, value: int) -> bytes:
    """`FF AA <reg> <lo> <hi>`."""
    return bytes([0xFF, 0xAA, register]) + struct.pack("<H", value)


def set_rate(rate_hz: int) -> bytes:
    """The output rate command (register 0x03)."""
    if rate_hz not in RATE_CODES:
        raise FrameError(f"WitMotion has no {rate_hz} Hz output (it offers {', '.join(map(str, RATES_HZ))})")
    return write_register(RATE_REGISTER, RATE_CODES[rate_hz])


def parse_write(data: bytes | bytearray) -> tuple[int, int]:
    """A register write as the sensor reads it: (register, value)."""
    raw = bytes(data)
    if len(raw) != 5 or raw[:2] != b"\xff\xaa":
        raise FrameError(f"not a register write: {raw[:8].hex()}")
    return raw[2], struct.unpack_from("<H", raw, 3)[0]


def choose_rate(wish_hz: int) -> int:
    """The sensor's rate at or above the wish."""
    return at_or_above(RATES_HZ, wish_hz)


def encode_packet(acc_mg: NDArray[np.float64]) -> bytes:
    """One 20-byte packet for one sample (rotation rate and angles left at zero)."""
    counts = np.clip(np.round(np.asarray(acc_mg, dtype=np.float64) / 1000.0 * 32768 / RANGE_G), -32768, 32767)
    return HEADER + struct.pack("<9h", *(int(v) for v in counts), 0, 0, 0, 0, 0, 0)


@dataclass
class PacketReader:
    """Bytes as they come (packets split across notifications or several in one) to samples in mG."""

    _buffer: bytearray = field(default_factory=bytearray)
    skipped: int = 0  # bytes dropped while resynchronising

    def feed(self, data: bytes | bytearray | memoryview) -> NDArray[np.float64]:
        """The samples completed by this notification, (n, 3) mG."""
        self._buffer += bytes(data)
        out: list[tuple[int, int, int]] = []
        while True:
            at = self._buffer.find(HEADER)
            if at < 0:
                # Keep a trailing 0x55: it may be the start of the next header.
                keep = 1 if self._buffer.endswith(b"\x55") else 0
                self.skipped += len(self._buffer) - keep
                del self._buffer[: len(self._buffer) - keep]
                break
            if at:
                self.skipped += at
                del self._buffer[:at]
            if len(self._buffer) < PACKET_BYTES:
                break
            out.append(struct.unpack_from("<3h", self._buffer, 2))
            del self._buffer[:PACKET_BYTES]
        return np.array(out, dtype=np.float64).reshape(-1, 3) * (1000.0 * RANGE_G / 32768)


@dataclass
class StreamDecoder:
    """Notifications to timed frames, samples timed by their count (the sensor stamps nothing)."""

    rate_hz: float
    time_scale: float = 1.0
    range_g: int = RANGE_G  # (the packet's scale is fixed)
    reader: PacketReader = field(default_factory=PacketReader)
    clock: CountClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = CountClock(self.rate_hz, self.time_scale)

    def feed(self, data: bytes | bytearray | memoryview, host_ns: int = 0) -> list[tuple[int, NDArray[np.float64]]]:
        """One notification: the samples it completed, if any."""
        samples = self.reader.feed(data)
        if len(samples) == 0:
            return []
        return [(self.clock.last_sample_ns(len(samples), host_ns), samples)]
