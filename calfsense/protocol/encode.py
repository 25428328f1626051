"""PMD ACC frame encoder, the exact inverse of the decoder (simulator and virtual sensor)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calfsense.errors import FrameError
from calfsense.protocol.pmd import FRAME_HEADER_BYTES, FrameType, MeasurementType

_HEADER = struct.Struct("<BQB")
_MAX_BLOCK_SAMPLES = 255  # the count field is one byte


def _as_samples(samples: ArrayLike, channels: int) -> NDArray[np.int64]:
    arr = np.asarray(samples)
    if arr.ndim != 2 or arr.shape[1] != channels or arr.shape[0] == 0:
        raise FrameError(f"samples must have shape (n>0, {channels}), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise FrameError("samples must be whole numbers to encode")
    return arr.astype(np.int64)


def encode_acc_raw(samples: ArrayLike, timestamp_ns: int, measurement: MeasurementType = MeasurementType.ACC) -> bytes:
    """Encode raw type 0x01 (int16 per axis, mG), as an H10 sends it."""
    arr = _as_samples(samples, 3)
    if arr.min() < -32768 or arr.max() > 32767:
        raise FrameError("a sample does not fit int16")
    head = _HEADER.pack(int(measurement), int(timestamp_ns), FrameType.RAW_1)
    return head + arr.astype("<i2").tobytes()


def _signed_width(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """Bits needed per row for the row's widest two's-complement value (at least 1)."""
    mag = np.where(values < 0, -values - 1, values)
    widest = mag.max(axis=1)
    # bit_length(v) + 1 for the sign; frexp gives the exponent without a Python loop.
    _, exp = np.frexp(widest.astype(np.float64))
    result: NDArray[np.int64] = np.maximum(exp.astype(np.int64) + 1, 1)
    return result


def _plan_blocks(widths: NDArray[np.int64], channels: int) -> list[tuple[int, int, int]]:
    """Split deltas into blocks minimising the encoded size: (start, stop, width) each."""
    n = len(widths)
    best = [0] * (n + 1)
    choice = [0] * (n + 1)
    w = widths.tolist()
    for end in range(1, n + 1):
        best_cost = -1
        widest = 0
        start = end
        while start > 0 and end - start < _MAX_BLOCK_SAMPLES:
            start -= 1
            widest = max(widest, w[start])
            cost = best[start] + 2 + (widest * (end - start) * channels + 7) // 8
            if best_cost < 0 or cost < best_cost:
                best_cost, choice[end] = cost, start
        best[end] = best_cost
    plan: list[tuple[int, int, int]] = []
    end = n
    while end > 0:
        start = choice[end]
        plan.append((start, end, max(w[start:end])))
        end = start
    plan.reverse()
    return plan


def encode_acc_compressed(
    samples: ArrayLike,
    timestamp_ns: int,
    resolution_bits: int = 16,
    measurement: MeasurementType = MeasurementType.ACC,
) -> bytes:
    """Encode compressed type 0x81 (mG deltas), as a Verity Sense sends it.

    Blocks are split where a narrower bit width saves bytes (an optimal split, which is never
    larger than the sensor's own), each block at the smallest width that holds its deltas.
    """
    arr = _as_samples(samples, 3)
    channels = 3
    ref_bytes = (resolution_bits + 7) // 8
    lo, hi = -(1 << (8 * ref_bytes - 1)), (1 << (8 * ref_bytes - 1)) - 1
    if arr[0].min() < lo or arr[0].max() > hi:
        raise FrameError(f"the reference sample does not fit {ref_bytes} bytes")
    out = bytearray(_HEADER.pack(int(measurement), int(timestamp_ns), FrameType.COMPRESSED_1))
    for v in arr[0].tolist():
        out += int(v).to_bytes(ref_bytes, "little", signed=True)
    deltas = np.diff(arr, axis=0)
    if len(deltas):
        widths = _signed_width(deltas)
        if widths.max() > 32:
            raise FrameError("a delta does not fit 32 bits")
        for start, stop, width in _plan_blocks(widths, channels):
            fields = deltas[start:stop].ravel().tolist()
            mask = (1 << width) - 1
            acc = 0
            for k, v in enumerate(fields):
                acc |= (v & mask) << (k * width)
            nbytes = (width * len(fields) + 7) // 8
            out += bytes((width, stop - start)) + acc.to_bytes(nbytes, "little")
    return bytes(out)


def max_raw_samples(mtu: int = 232) -> int:
    """Raw int16 samples per notification at this ATT MTU (H10 at 232: 36)."""
    return max(1, (mtu - 3 - FRAME_HEADER_BYTES) // 6)


def chunk_frames(
    samples: NDArray[np.int64],
    last_timestamps_ns: NDArray[np.int64],
    compressed: bool,
    mtu: int = 232,
    max_compressed_samples: int = 57,
) -> Iterator[bytes]:
    """Cut a sample stream into notifications as a sensor does; timestamp = each frame's last sample.

    Compressed frames hold at most `max_compressed_samples` (a Verity Sense sends ~57 at 52 Hz, about
    one frame a second, sdk#443) and fewer when the deltas would overflow the payload.
    """
    n = len(samples)
    if compressed:
        # Grow each frame until the next sample would overflow the payload.
        limit = mtu - 3
        i = 0
        while i < n:
            lo, hi = 1, min(n - i, max_compressed_samples)
            # Binary search on the size, which is monotone in the sample count.
            while lo < hi:
                mid = (lo + hi + 1) // 2
                size = len(encode_acc_compressed(samples[i : i + mid], 0))
                if size <= limit:
                    lo = mid
                else:
                    hi = mid - 1
            yield encode_acc_compressed(samples[i : i + lo], int(last_timestamps_ns[i + lo - 1]))
            i += lo
    else:
        step = max_raw_samples(mtu)
        for i in range(0, n, step):
            j = min(n, i + step)
            yield encode_acc_raw(samples[i:j], int(last_timestamps_ns[j - 1]))
