"""The calfsense IMU profile: an open, small GATT service a DIY board (ESP32, nRF52) implements in an
afternoon to stream acceleration into calfsense. The specification is firmware_notes/diy-imu.md; this
module is its reference codec (pure: bytes in, typed values out; only `FrameError` escapes a decoder).

Data packet (notify, little-endian):

    offset size  field
    0      1     version (1)
    1      1     n: samples in the packet (1-40)
    2      2     counter: index of the packet's first sample, uint16, wrapping
    4      4     t_us: the sensor's clock at the first sample, microseconds, uint32, wrapping (71.6 min)
    8      2     scale_ug: micro-g per count of the samples, uint16 (a +-4 g 16-bit part: 122)
    10     6n    samples: x, y, z int16 each

Settings (read/write): rate_hz uint16, range_g uint8 (+ a status byte on read: bit 0 streaming).
Control (write): 0x01 start, 0x00 stop.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import FrameError
from calfsense.protocol.options import at_or_above
from calfsense.protocol.timestamps import WrappingClock

SERVICE_UUID = "c5f50001-6c73-4b39-9a3e-6d6b2a1e0c5d"
DATA_UUID = "c5f50002-6c73-4b39-9a3e-6d6b2a1e0c5d"
SETTINGS_UUID = "c5f50003-6c73-4b39-9a3e-6d6b2a1e0c5d"
CONTROL_UUID = "c5f50004-6c73-4b39-9a3e-6d6b2a1e0c5d"
NAME_PREFIX = "CS-IMU"
MODEL_NUMBER = "calfsense-imu"

VERSION = 1
HEADER_BYTES = 10
MAX_SAMPLES = 40  # 250 bytes: what an MTU of 247 carries, less nothing: boards send fewer
RATES_HZ = (25, 50, 100, 200, 400)
RANGES_G = (2, 4, 8, 16)
START = b"\x01"
STOP = b"\x00"

_HEADER = struct.Struct("<BBHIH")
_SETTINGS = struct.Struct("<HB")
_COUNTER_WRAP = 1 << 16
_TIME_WRAP_US = 1 << 32


@dataclass(frozen=True, slots=True)
class ImuSettings:
    """What the board streams at: sample rate and range."""

    rate_hz: int
    range_g: int
    streaming: bool = False

    def encode(self) -> bytes:
        """The 3 bytes written to the settings characteristic."""
        return _SETTINGS.pack(self.rate_hz, self.range_g)

    def encode_read(self) -> bytes:
        """The 4 bytes the board answers a read with."""
        return _SETTINGS.pack(self.rate_hz, self.range_g) + bytes([1 if self.streaming else 0])


def decode_settings(data: bytes | bytearray) -> ImuSettings:
    """A settings read (4 bytes) or write (3 bytes)."""
    if len(data) not in (3, 4):
        raise FrameError(f"settings of {len(data)} bytes (3 or 4 expected)")
    rate, range_g = _SETTINGS.unpack_from(bytes(data))
    if rate == 0 or range_g == 0:
        raise FrameError(f"impossible settings: {rate} Hz, +-{range_g} g")
    return ImuSettings(rate, range_g, len(data) == 4 and bool(data[3] & 1))


def choose_settings(rate_hz: int, range_g: int) -> ImuSettings:
    """The profile's rate nearest the wish (not below it when one is) and the range that holds `range_g`."""
    return ImuSettings(at_or_above(RATES_HZ, rate_hz), at_or_above(RANGES_G, range_g))


@dataclass(frozen=True, slots=True, eq=False)
class ImuPacket:
    """One data notification."""

    counter: int
    t_us: int
    scale_ug: int
    samples: NDArray[np.int64]  # (n, 3) counts

    @property
    def acc_mg(self) -> NDArray[np.float64]:
        """The samples in mG."""
        scaled: NDArray[np.float64] = self.samples.astype(np.float64) * (self.scale_ug / 1000.0)
        return scaled

    def __len__(self) -> int:
        return int(self.samples.shape[0])


def encode_packet(counter: int, t_us: int, scale_ug: int, samples: NDArray[np.int64]) -> bytes:
    """A data notification (the firmware's side; the virtual board and the tests use it)."""
    counts = np.asarray(samples, dtype=np.int64).reshape(-1, 3)
    n = len(counts)
    if not 1 <= n <= MAX_SAMPLES:
        raise FrameError(f"a packet holds 1-{MAX_SAMPLES} samples, not {n}")
    clipped = np.clip(counts, -32768, 32767).astype("<i2")
    header = _HEADER.pack(VERSION, n, counter % _COUNTER_WRAP, t_us % _TIME_WRAP_US, scale_ug)
    return header + clipped.tobytes()


def decode_packet(data: bytes | bytearray | memoryview) -> ImuPacket:
    """Decode one data notification; only `FrameError` escapes."""
    raw = bytes(data)
    if len(raw) < HEADER_BYTES:
        raise FrameError(f"packet of {len(raw)} bytes: the header alone is {HEADER_BYTES}")
    version, n, counter, t_us, scale_ug = _HEADER.unpack_from(raw)
    if version != VERSION:
        raise FrameError(f"packet version {version} (calfsense reads version {VERSION})")
    if not 1 <= n <= MAX_SAMPLES:
        raise FrameError(f"packet says {n} samples (1-{MAX_SAMPLES})")
    if scale_ug == 0:
        raise FrameError("packet scale is 0 micro-g per count")
    if len(raw) != HEADER_BYTES + 6 * n:
        raise FrameError(f"packet of {len(raw)} bytes for {n} samples ({HEADER_BYTES + 6 * n} expected)")
    samples = np.frombuffer(raw, dtype="<i2", offset=HEADER_BYTES).astype(np.int64).reshape(n, 3)
    return ImuPacket(counter, t_us, scale_ug, samples)


@dataclass
class PacketClock:
    """The board's wrapping microsecond clock made continuous, in ns: each packet's last sample's time.

    The clock wraps every 71.6 min (`timestamps.WrappingClock`).
    """

    rate_hz: float
    _clock: WrappingClock = field(default_factory=WrappingClock)

    def last_sample_ns(self, packet: ImuPacket) -> int:
        """The packet's last sample on the continuous timeline, ns."""
        return self._clock.unwrap(packet.t_us) * 1000 + round((len(packet) - 1) * 1e9 / self.rate_hz)


SAMPLES_PER_PACKET = 12  # 82 bytes: fits the 185-byte MTU phones negotiate, and a packet every 0.12 s at 100 Hz


def scale_ug(range_g: int) -> int:
    """Micro-g per count of a 16-bit part at `range_g` (+-4 g: 122)."""
    return round(range_g * 1_000_000 / 32768)


def counts(acc_mg: NDArray[np.float64], range_g: int) -> NDArray[np.int64]:
    """mG as the part's counts at `range_g`, clipped as it clips."""
    out: NDArray[np.int64] = np.clip(np.round(acc_mg * 1000.0 / scale_ug(range_g)), -32768, 32767).astype(np.int64)
    return out


@dataclass
class StreamDecoder:
    """A stream's packets to timed acceleration frames: (last sample's device ns, mG samples)."""

    rate_hz: float
    time_scale: float = 1.0  # (the packets carry the board's clock: host time is not needed)
    range_g: int = 8  # (each packet says its scale)
    clock: PacketClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = PacketClock(self.rate_hz)

    def feed(self, data: bytes | bytearray | memoryview, host_ns: int = 0) -> list[tuple[int, NDArray[np.float64]]]:
        """One packet."""
        packet = decode_packet(data)
        return [(self.clock.last_sample_ns(packet), packet.acc_mg)]
