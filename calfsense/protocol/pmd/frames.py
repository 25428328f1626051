"""Data frames: the 10-byte header, raw and delta-compressed samples, scaled to units."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import FrameError
from calfsense.protocol.pmd.types import COMPRESSED_BIT, FRAME_HEADER_BYTES, MEASUREMENT_TYPE_MASK, MeasurementType

UNITS: dict[MeasurementType, str] = {
    MeasurementType.ACC: "mG",
    MeasurementType.GYRO: "deg/s",
    MeasurementType.MAG: "G",
}


@dataclass(frozen=True, slots=True)
class DecodeContext:
    """What a decoder needs beyond the bytes: the negotiated resolution, channels and factor."""

    resolution_bits: int = 16
    channels: int = 3
    factor: float = 1.0


DEFAULT_CONTEXT = DecodeContext()


@dataclass(frozen=True, slots=True, eq=False)
class PmdFrame:
    """One decoded data notification.

    `samples` has shape (n, channels); ACC is int64 mG, GYRO deg/s and MAG gauss as float64 when
    a factor applies. `timestamp_ns` is the device clock of the *last* sample.
    """

    measurement: MeasurementType
    timestamp_ns: int
    frame_type: int
    samples: NDArray[np.int64] | NDArray[np.float64]

    @property
    def compressed(self) -> bool:
        """True for delta-compressed frames."""
        return bool(self.frame_type & COMPRESSED_BIT)

    @property
    def unit(self) -> str:
        """The unit of `samples`."""
        return UNITS.get(self.measurement, "raw")

    def __len__(self) -> int:
        return int(self.samples.shape[0])


_HEADER = struct.Struct("<BQB")
# The measurements whose frames decode here, by code (a dict: an enum lookup per frame costs 2 us).
_DECODED = {m.value: m for m in (MeasurementType.ACC, MeasurementType.GYRO, MeasurementType.MAG)}
_RAW_ACC_DTYPES: dict[int, tuple[str, int]] = {0x00: ("<i1", 1), 0x01: ("<i2", 2), 0x02: ("i3", 3)}


def decode_frame(data: bytes | bytearray | memoryview, context: DecodeContext = DEFAULT_CONTEXT) -> PmdFrame:
    """Decode one PMD data notification (ACC, GYRO or MAG); only `FrameError` can escape."""
    try:
        return _decode_frame(bytes(data), context)
    except FrameError:
        raise
    except Exception as exc:  # a decoder bug must still surface as a FrameError, never crash a stream
        raise FrameError(f"undecodable frame ({type(exc).__name__}: {exc})") from exc


def decode_frames(datas: Sequence[bytes], context: DecodeContext = DEFAULT_CONTEXT) -> list[PmdFrame | FrameError]:
    """`decode_frame` over many notifications (a recording's), each frame or the error it raised.

    Raw ACC frames of one length (an H10's, every one alike) are read in a single numpy pass over all of them:
    a one-hour recording's 20,000 frames cost a few milliseconds instead of a tenth of a second. The same
    values as one by one (tests/test_protocol_vectors.py).
    """
    out: list[PmdFrame | FrameError] = [FrameError("")] * len(datas)
    batches: dict[tuple[int, int], list[int]] = {}
    channels = context.channels
    for k, data in enumerate(datas):
        spec = _RAW_ACC_DTYPES.get(data[9]) if len(data) > FRAME_HEADER_BYTES else None
        content = len(data) - FRAME_HEADER_BYTES
        if (
            spec is not None
            and spec[1] != 3
            and data[0] & MEASUREMENT_TYPE_MASK == MeasurementType.ACC.value
            and 1 <= channels <= 16
            and content % (spec[1] * channels) == 0
        ):
            batches.setdefault((data[9], len(data)), []).append(k)
            continue
        try:
            out[k] = decode_frame(data, context)
        except FrameError as exc:
            out[k] = exc
    for (frame_type, length), members in batches.items():
        dtype, width = _RAW_ACC_DTYPES[frame_type]
        joined = b"".join(datas[k] for k in members)
        rows = np.frombuffer(joined, dtype=np.uint8).reshape(len(members), length)
        stamps = rows[:, 1:9].copy().view("<u8").ravel()
        counts = np.ascontiguousarray(rows[:, FRAME_HEADER_BYTES:]).view(dtype).astype(np.int64)
        counts = counts.reshape(len(members), -1, channels)
        for j, k in enumerate(members):
            out[k] = PmdFrame(MeasurementType.ACC, int(stamps[j]), frame_type, counts[j])
    return out


def _decode_frame(data: bytes, context: DecodeContext) -> PmdFrame:
    if len(data) < FRAME_HEADER_BYTES:
        raise FrameError(f"frame truncated: {len(data)} bytes, the header alone is {FRAME_HEADER_BYTES}")
    type_byte, timestamp_ns, frame_type = _HEADER.unpack_from(data)
    code = type_byte & MEASUREMENT_TYPE_MASK
    measurement = _DECODED.get(code)
    if measurement is None:
        raise FrameError(f"unsupported PMD measurement type {code} (calfsense decodes ACC, GYRO and MAG)")
    channels = context.channels
    if channels < 1 or channels > 16:
        raise FrameError(f"impossible channel count {channels}")
    factor = context.factor
    if frame_type & COMPRESSED_BIT:
        kind = frame_type & 0x7F
        if kind > 1:
            raise FrameError(f"unknown compressed frame type 0x{frame_type:02x}")
        ints = decode_delta_content(data, FRAME_HEADER_BYTES, context.resolution_bits, channels)
        if measurement is MeasurementType.ACC:
            if kind == 0:
                # Type 0 arrives in G: x FACTOR x 1000 to mG, truncated as the SDK's toInt() does.
                mg = np.trunc(ints * (factor * 1000.0)).astype(np.int64)
                return PmdFrame(measurement, timestamp_ns, frame_type, mg)
            if factor != 1.0:
                return PmdFrame(measurement, timestamp_ns, frame_type, np.trunc(ints * factor).astype(np.int64))
            return PmdFrame(measurement, timestamp_ns, frame_type, ints)
        if factor != 1.0:
            scaled: NDArray[np.float64] = ints.astype(np.float64) * factor
            return PmdFrame(measurement, timestamp_ns, frame_type, scaled)
        return PmdFrame(measurement, timestamp_ns, frame_type, ints)
    if measurement is not MeasurementType.ACC:
        raise FrameError(f"uncompressed {measurement.name} frames (type 0x{frame_type:02x}) are not supported")
    spec = _RAW_ACC_DTYPES.get(frame_type)
    if spec is None:
        raise FrameError(f"unknown ACC frame type 0x{frame_type:02x}")
    dtype, width = spec
    content = len(data) - FRAME_HEADER_BYTES
    stride = width * channels
    if content == 0 or content % stride:
        raise FrameError(f"ACC type {frame_type} content of {content} bytes is not a whole number of samples")
    if width == 3:
        samples = _int24(data, FRAME_HEADER_BYTES).reshape(-1, channels)
    else:
        samples = np.frombuffer(data, dtype=dtype, offset=FRAME_HEADER_BYTES).astype(np.int64).reshape(-1, channels)
    return PmdFrame(measurement, timestamp_ns, frame_type, samples)


def _int24(data: bytes, offset: int) -> NDArray[np.int64]:
    b = np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(-1, 3).astype(np.int64)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    result: NDArray[np.int64] = np.where(v >= 1 << 23, v - (1 << 24), v)
    return result


@dataclass(frozen=True, slots=True, eq=False)
class _Gather:
    """Where every field of one compressed layout sits: 8-byte windows and the shifts that cut them."""

    index: NDArray[np.intp]
    left: NDArray[np.int64]
    right: NDArray[np.int64]
    rows: int


_I8 = np.dtype("<i8")


# Layouts repeat frame after frame (a sensor sends the same block widths most of the time), so the
# gather plan is built once per layout and every frame then decodes with a fixed handful of numpy ops.
@lru_cache(maxsize=512)
def _gather_plan(offset: int, ref_bytes: int, channels: int, blocks: tuple[tuple[int, int, int], ...]) -> _Gather:
    starts: list[NDArray[np.int64]] = [np.arange(channels, dtype=np.int64) * (ref_bytes * 8) + offset * 8]
    widths: list[NDArray[np.int64]] = [np.full(channels, ref_bytes * 8, dtype=np.int64)]
    rows = 1
    for pos, width, count in blocks:
        fields = count * channels
        starts.append(np.arange(fields, dtype=np.int64) * width + pos * 8)
        widths.append(np.full(fields, width, dtype=np.int64))
        rows += count
    bit = np.concatenate(starts)
    width_bits = np.concatenate(widths)
    # An 8-byte little-endian window from the field's first byte holds any field of <= 57 bits.
    index = ((bit >> 3)[:, None] + np.arange(8, dtype=np.int64)).astype(np.intp)
    # Shifting the field to the word's top and back arithmetically drops its neighbours and
    # sign-extends it in two operations.
    left = (64 - (bit & 7) - width_bits)[:, None]
    right = (64 - width_bits)[:, None]
    return _Gather(index=index, left=left, right=right, rows=rows)


def decode_delta_content(data: bytes, offset: int, resolution_bits: int, channels: int) -> NDArray[np.int64]:
    """Decode delta-compressed content starting at `offset` into (n, channels) integers."""
    if resolution_bits < 1 or resolution_bits > 56:
        raise FrameError(f"impossible resolution {resolution_bits} bits")
    ref_bytes = (resolution_bits + 7) // 8
    n = len(data)
    pos = offset + ref_bytes * channels
    if pos > n:
        raise FrameError(f"compressed frame truncated inside the reference sample ({n - offset} content bytes)")
    blocks: list[tuple[int, int, int]] = []
    while pos < n:
        if pos + 2 > n:
            raise FrameError(f"delta block header truncated at byte {pos - offset}")
        width = data[pos]
        count = data[pos + 1]
        pos += 2
        if width < 1 or width > 32:
            raise FrameError(f"impossible delta bit width {width}")
        if count == 0:
            raise FrameError("delta block with zero samples")
        nbytes = (width * count * channels + 7) // 8
        if pos + nbytes > n:
            raise FrameError(f"delta block of {count}x{width} bits needs {nbytes} bytes, {n - pos} left")
        blocks.append((pos, width, count))
        pos += nbytes
    plan = _gather_plan(offset, ref_bytes, channels, tuple(blocks))
    raw = np.frombuffer(data + bytes(8), dtype=np.uint8)
    words = raw[plan.index].view(_I8)
    signed = (words << plan.left) >> plan.right
    result: NDArray[np.int64] = np.add.accumulate(signed.reshape(plan.rows, channels), axis=0)
    return result
