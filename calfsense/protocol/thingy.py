"""Nordic Thingy:52's motion service, raw data (../shared/reference/sensors.md §3.4, firmware_notes/thingy52.md).
Pure; only `FrameError` escapes.

UUIDs on the base `EF68xxxx-9B35-4933-9B10-52FFA9740042`: the motion service 0400, its configuration 0401
(9 bytes: step-counter, temperature-compensation and magnetometer-compensation intervals in ms, the
**motion processing frequency** in Hz (5-200), wake-on-motion), and raw data 0406 (notify, 18 bytes: nine
int16 little-endian, accelerometer, gyroscope, compass). The accelerometer is fixed point with 6
fractional bits, in g (Nordic's web app divides by 64), which a sensor at rest confirms: |a| reads 1 g
(`rest_check`). Subscribing starts the stream; nothing stamps the samples: they are timed by their count
(`timestamps.CountClock`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import FrameError
from calfsense.protocol.options import at_or_above
from calfsense.protocol.timestamps import CountClock

SERVICE_UUID = "ef680400-9b35-4933-9b10-52ffa9740042"
CONFIG_UUID = "ef680401-9b35-4933-9b10-52ffa9740042"
RAW_UUID = "ef680406-9b35-4933-9b10-52ffa9740042"
NAME_PREFIX = "Thingy"

ACC_COUNTS_PER_G = 64  # Q6 fixed point
RAW_BYTES = 18
RATES_HZ = (5, 10, 25, 50, 100, 200)
_CONFIG = struct.Struct("<HHHHB")


@dataclass(frozen=True, slots=True)
class MotionConfig:
    """The motion configuration characteristic."""

    step_interval_ms: int = 100
    temperature_interval_ms: int = 100
    compass_interval_ms: int = 100
    motion_hz: int = 100
    wake_on_motion: bool = False

    def encode(self) -> bytes:
        """Its 9 bytes."""
        return _CONFIG.pack(
            self.step_interval_ms,
            self.temperature_interval_ms,
            self.compass_interval_ms,
            self.motion_hz,
            1 if self.wake_on_motion else 0,
        )


def decode_config(data: bytes | bytearray) -> MotionConfig:
    """A configuration read or write; out-of-range values refused as the firmware refuses them."""
    if len(data) != _CONFIG.size:
        raise FrameError(f"a motion configuration of {len(data)} bytes ({_CONFIG.size} expected)")
    step, temp, compass, hz, wake = _CONFIG.unpack(bytes(data))
    if not (100 <= step <= 5000 and 100 <= temp <= 5000 and 100 <= compass <= 1000 and 5 <= hz <= 200):
        raise FrameError(f"a motion configuration out of range: {bytes(data).hex()}")
    return MotionConfig(step, temp, compass, hz, bool(wake))


def choose_rate(wish_hz: int) -> int:
    """The processing frequency at or above the wish (the firmware takes 5-200 Hz; calfsense asks these)."""
    return at_or_above(RATES_HZ, wish_hz)


def encode_raw(acc_mg: NDArray[np.float64]) -> bytes:
    """One raw-data notification for one sample (gyroscope and compass at zero)."""
    counts = np.clip(np.round(np.asarray(acc_mg, dtype=np.float64) / 1000.0 * ACC_COUNTS_PER_G), -32768, 32767)
    return struct.pack("<9h", *(int(v) for v in counts), 0, 0, 0, 0, 0, 0)


def decode_raw(data: bytes | bytearray | memoryview) -> NDArray[np.float64]:
    """A raw-data notification's acceleration, (1, 3) mG."""
    raw = bytes(data)
    if len(raw) != RAW_BYTES:
        raise FrameError(f"raw motion data of {len(raw)} bytes ({RAW_BYTES} expected)")
    x, y, z = struct.unpack_from("<3h", raw)
    return np.array([[x, y, z]], dtype=np.float64) * (1000.0 / ACC_COUNTS_PER_G)


def rest_check(acc_mg: NDArray[np.float64]) -> float:
    """|a| over samples at rest, in g: 1 when the fixed-point format is read right (0.06 or 16 when not)."""
    return float(np.median(np.linalg.norm(np.asarray(acc_mg, dtype=np.float64), axis=1))) / 1000.0


@dataclass
class StreamDecoder:
    """Notifications to timed frames, samples timed by their count (the Thingy stamps nothing)."""

    rate_hz: float
    time_scale: float = 1.0
    range_g: int = 8  # (Q6 g: no range to know)
    clock: CountClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = CountClock(self.rate_hz, self.time_scale)

    def feed(self, data: bytes | bytearray | memoryview, host_ns: int = 0) -> list[tuple[int, NDArray[np.float64]]]:
        """One notification."""
        sample = decode_raw(data)
        return [(self.clock.last_sample_ns(1, host_ns), sample)]
