"""MbientLab MetaWear / MetaMotion: its accelerometer module (0x03) as MbientLab's C++ SDK drives it
(../shared/reference/sensors.md §3.2, firmware_notes/metawear.md). Pure; only `FrameError` escapes.

Every packet is `[module][register][data]`. The module-info read (`03 80`) answers which chip the board
carries, BMI160 or BMI270: their configuration codes differ, so it is read first, never assumed. Then
configure (`03 03 <odr | bwp << 4> <range>`), subscribe (`03 04 01`), enable (`03 02 01 00`) and start
(`03 01 01`; a BMI270 board `03 01 02`). Data arrive as `03 04 x y z` (int16 little-endian counts); stop is
`03 01 00` then `03 02 00 01`. The board stamps nothing: samples are timed by their count
(`timestamps.CountClock`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import FrameError
from calfsense.protocol.options import at_or_above
from calfsense.protocol.timestamps import CountClock

SERVICE_UUID = "326a9000-85cb-9195-d9dd-464cfbbae75a"
COMMAND_UUID = "326a9001-85cb-9195-d9dd-464cfbbae75a"
NOTIFY_UUID = "326a9006-85cb-9195-d9dd-464cfbbae75a"
NAME_PREFIX = "MetaWear"

ACC_MODULE = 0x03
POWER, DATA_INTERRUPT_ENABLE, DATA_CONFIG, DATA = 0x01, 0x02, 0x03, 0x04
INFO = 0x80  # a module's info register (read: its implementation and revision)


class Chip(IntEnum):
    """The accelerometer a board carries, as its module info names it."""

    MMA8452Q = 0
    BMI160 = 1
    BMA255 = 3
    BMI270 = 4


RATES_HZ = (25, 50, 100, 200, 400, 800)
RANGES_G = (2, 4, 8, 16)
_ODR_CODE = {12: 5, 25: 6, 50: 7, 100: 8, 200: 9, 400: 10, 800: 11, 1600: 12}  # BMI160 and BMI270 alike
_RANGE_CODE = {Chip.BMI160: {2: 0x3, 4: 0x5, 8: 0x8, 16: 0xC}, Chip.BMI270: {2: 0, 4: 1, 8: 2, 16: 3}}
_LSB_PER_G = {2: 16384, 4: 8192, 8: 4096, 16: 2048}


def read_info() -> bytes:
    """Ask the accelerometer module what it is."""
    return bytes([ACC_MODULE, INFO])


def info_answer(chip: Chip, revision: int = 1) -> bytes:
    """The board's answer to `read_info` (the emulated board's side)."""
    return bytes([ACC_MODULE, INFO, int(chip), revision])


def parse_info(data: bytes | bytearray) -> Chip:
    """Which accelerometer: BMI160 and BMI270 are what calfsense can drive."""
    raw = bytes(data)
    if len(raw) < 3 or raw[0] != ACC_MODULE or raw[1] != INFO:
        raise FrameError(f"not the accelerometer's module info: {raw[:6].hex()}")
    try:
        chip = Chip(raw[2])
    except ValueError:
        raise FrameError(f"unknown accelerometer implementation {raw[2]}") from None
    if chip not in (Chip.BMI160, Chip.BMI270):
        raise FrameError(f"a board with a {chip.name}: calfsense drives the BMI160 and BMI270 (MetaMotion) boards")
    return chip


@dataclass(frozen=True, slots=True)
class AccConfig:
    """Rate and range, for one chip."""

    chip: Chip
    rate_hz: int
    range_g: int

    def configure(self) -> bytes:
        """`03 03 <odr | bwp << 4> <range>` (bwp 2: normal filter, as the SDK sets for 12.5 Hz and up)."""
        return bytes(
            [ACC_MODULE, DATA_CONFIG, _ODR_CODE[self.rate_hz] | (2 << 4), _RANGE_CODE[self.chip][self.range_g]]
        )

    def start(self) -> list[bytes]:
        """Subscribe, enable the data interrupt, start (what the SDK writes, in its order)."""
        power = 2 if self.chip is Chip.BMI270 else 1
        return [
            self.configure(),
            bytes([ACC_MODULE, DATA, 1]),
            bytes([ACC_MODULE, DATA_INTERRUPT_ENABLE, 1, 0]),
            bytes([ACC_MODULE, POWER, power]),
        ]

    @staticmethod
    def stop() -> list[bytes]:
        """Stop, disable the data interrupt."""
        return [bytes([ACC_MODULE, POWER, 0]), bytes([ACC_MODULE, DATA_INTERRUPT_ENABLE, 0, 1])]


def choose(chip: Chip, rate_hz: int, range_g: int) -> AccConfig:
    """The board's rate at or above the wish, and the range that holds `range_g`."""
    return AccConfig(chip, at_or_above(RATES_HZ, rate_hz), at_or_above(RANGES_G, range_g))


def parse_configure(chip: Chip, data: bytes) -> AccConfig:
    """A configure command, read back (the emulated board's side)."""
    if len(data) != 4 or data[:2] != bytes([ACC_MODULE, DATA_CONFIG]):
        raise FrameError(f"not an accelerometer configuration: {data.hex()}")
    rates = {code: hz for hz, code in _ODR_CODE.items()}
    ranges = {code: g for g, code in _RANGE_CODE[chip].items()}
    rate, rng = rates.get(data[2] & 0x0F), ranges.get(data[3])
    if rate is None or rng is None:
        raise FrameError(f"a configuration this {chip.name} lacks: {data.hex()}")
    return AccConfig(chip, rate, rng)


def encode_sample(counts: NDArray[np.int64]) -> bytes:
    """One data notification, `03 04 x y z`."""
    x, y, z = (int(v) for v in np.clip(counts, -32768, 32767))
    return bytes([ACC_MODULE, DATA]) + struct.pack("<hhh", x, y, z)


def counts(acc_mg: NDArray[np.float64], range_g: int) -> NDArray[np.int64]:
    """mG as the chip's counts at a range."""
    out: NDArray[np.int64] = np.clip(np.round(acc_mg / 1000.0 * _LSB_PER_G[range_g]), -32768, 32767).astype(np.int64)
    return out


def decode_sample(data: bytes | bytearray | memoryview, range_g: int) -> NDArray[np.float64] | None:
    """A data notification's sample in mG (None: another module's or register's packet)."""
    raw = bytes(data)
    if len(raw) < 2:
        raise FrameError(f"a packet of {len(raw)} bytes")
    if raw[0] != ACC_MODULE or raw[1] != DATA:
        return None
    if len(raw) != 8:
        raise FrameError(f"acceleration data of {len(raw)} bytes (8 expected)")
    x, y, z = struct.unpack_from("<hhh", raw, 2)
    return np.array([[x, y, z]], dtype=np.float64) * (1000.0 / _LSB_PER_G[range_g])


@dataclass
class StreamDecoder:
    """Notifications to timed frames, each sample timed by its count (the board stamps nothing)."""

    rate_hz: float
    time_scale: float = 1.0
    range_g: int = 8  # what the driver configured (a recording's settings say it): the counts' scale
    clock: CountClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = CountClock(self.rate_hz, self.time_scale)

    def feed(self, data: bytes | bytearray | memoryview, host_ns: int = 0) -> list[tuple[int, NDArray[np.float64]]]:
        """One notification (module info and other registers give nothing)."""
        sample = decode_sample(data, self.range_g)
        if sample is None:
            return []
        return [(self.clock.last_sample_ns(1, host_ns), sample)]
