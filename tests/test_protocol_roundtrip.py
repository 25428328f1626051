"""Encoder/decoder round trips (hypothesis) and a seeded fuzzer: only FrameError may escape."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from calfsense.errors import FrameError
from calfsense.protocol.encode import chunk_frames, encode_acc_compressed, encode_acc_raw
from calfsense.protocol.gatt import decode_heart_rate
from calfsense.protocol.pmd import DecodeContext, decode_frame, parse_control_point, parse_settings
from calfsense.protocol.timestamps import FrameTimer
from tests.mutate import mutate_bytes

int16_samples = arrays(
    np.int64,
    st.tuples(st.integers(1, 60), st.just(3)),
    elements=st.integers(-32768, 32767),
)
# Realistic accelerations: a walk around gravity with small steps, as a sensor produces.
smooth_samples = st.builds(
    lambda start, steps: np.clip(np.cumsum(np.vstack([start, steps]), axis=0), -32768, 32767),
    arrays(np.int64, (1, 3), elements=st.integers(-16000, 16000)),
    arrays(np.int64, st.tuples(st.integers(0, 80), st.just(3)), elements=st.integers(-300, 300)),
)


@given(int16_samples, st.integers(0, 2**64 - 1))
def test_raw_round_trip(samples: np.ndarray, ts: int) -> None:
    frame = decode_frame(encode_acc_raw(samples, ts))
    assert frame.timestamp_ns == ts and frame.frame_type == 1
    assert np.array_equal(frame.samples, samples)


@given(st.one_of(int16_samples, smooth_samples), st.integers(0, 2**64 - 1))
@settings(max_examples=200)
def test_compressed_round_trip(samples: np.ndarray, ts: int) -> None:
    data = encode_acc_compressed(samples, ts)
    frame = decode_frame(data)
    assert frame.frame_type == 0x81 and frame.timestamp_ns == ts
    assert np.array_equal(frame.samples, samples)


def test_compressed_uses_several_block_widths() -> None:
    # Ten quiet samples then a burst: the optimal split is a narrow block then a wide one (#443-like).
    quiet = np.array([[750, -481, -126]] * 11) + np.arange(11)[:, None]
    burst = quiet[-1] + np.cumsum(np.full((47, 3), 300) * np.resize([1, -1], (47, 1)), axis=0)
    samples = np.vstack([quiet, burst])
    data = encode_acc_compressed(samples, 7)
    widths = []
    pos = 16
    while pos < len(data):
        w, c = data[pos], data[pos + 1]
        widths.append((w, c))
        pos += 2 + (w * c * 3 + 7) // 8
    assert len(widths) >= 2 and widths[0][0] < widths[-1][0]
    assert np.array_equal(decode_frame(data).samples, samples)


def test_chunking_like_a_sensor() -> None:
    rng = np.random.default_rng(3)
    samples = np.cumsum(rng.integers(-40, 40, size=(500, 3)), axis=0) + [0, 0, 1000]
    times = np.arange(1, 501, dtype=np.int64) * 10_000_000
    raw = list(chunk_frames(samples, times, compressed=False))
    assert all(len(f) <= 229 for f in raw) and len(decode_frame(raw[0])) == 36
    comp = list(chunk_frames(samples, times, compressed=True))
    assert all(len(f) <= 229 for f in comp)
    for frames in (raw, comp):
        decoded = [decode_frame(f) for f in frames]
        assert np.array_equal(np.vstack([d.samples for d in decoded]), samples)
        assert [d.timestamp_ns for d in decoded][-1] == times[-1]


def test_frame_timer_treats_lost_frame_as_gap() -> None:
    timer = FrameTimer(100)
    period = 10_000_000
    t1 = timer.times(36 * period, 36)
    assert t1.gap_before is None
    t2 = timer.times(72 * period, 36)
    assert t2.gap_before is None and t2.times_ns[0] == 37 * period
    # Frame 3 is lost; frame 4 must not be stretched over 72 samples.
    t4 = timer.times(144 * period, 36)
    assert t4.gap_before is not None
    assert np.allclose(np.diff(t4.times_ns), period, atol=2)
    assert t4.times_ns[0] == 109 * period


def _pmd_fields(rng: random.Random, data: bytearray) -> None:
    """What a PMD decoder branches on: the frame type byte (9) and the measurement type byte (0)."""
    if len(data) > 10 and rng.random() < 0.6:
        data[9] = rng.choice([0, 1, 2, 3, 0x80, 0x81, 0x82, 0xFF])
    elif data:
        data[0] = rng.choice([0, 2, 5, 6, 9, 0x3F, 0x82])


def test_fuzz_decoders_only_raise_frame_error() -> None:
    seed = int(os.environ.get("FUZZ_SEED", random.randrange(2**32)))
    print(f"FUZZ_SEED={seed}")
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    seeds = [
        encode_acc_raw(nprng.integers(-2000, 2000, (36, 3)), 2_000_000_000),
        encode_acc_compressed(np.cumsum(nprng.integers(-50, 50, (57, 3)), axis=0), 5),
        bytes.fromhex("05010000000000000080EAFF08000D000301DF00"),
    ]
    contexts = [
        DecodeContext(),
        DecodeContext(resolution_bits=8),
        DecodeContext(resolution_bits=24, factor=2.4e-4),
        DecodeContext(channels=1),
        DecodeContext(resolution_bits=0),
        DecodeContext(channels=0),
    ]
    decoded = 0
    for i in range(3000):
        if i % 3 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        else:
            data = mutate_bytes(rng, rng.choice(seeds), _pmd_fields)
        for decoder in (
            lambda d: decode_frame(d, rng.choice(contexts)),
            parse_control_point,
            parse_settings,
            decode_heart_rate,
        ):
            try:
                decoder(data)
                decoded += 1
            except FrameError:
                pass
            except Exception as exc:  # pragma: no cover - the assertion is the point
                pytest.fail(f"FUZZ_SEED={seed}: {type(exc).__name__} escaped for {data.hex()}: {exc}")
    assert decoded > 100  # the fuzzer also reached the happy paths


def test_clock_map_recovers_offset_and_drift_despite_latency() -> None:
    from calfsense.protocol.timestamps import ClockMap

    rng = np.random.default_rng(9)
    cmap = ClockMap()
    drift = 40e-6  # host runs 40 ppm fast relative to the sensor
    offset_ns = 5_000_000_000
    dev = np.arange(0, 600_000_000_000, 360_000_000, dtype=np.int64) + 599_616_000_000_000_000
    for d in dev:
        latency = int(rng.exponential(20_000_000)) + 8_000_000
        host = int((d - dev[0]) * (1 + drift)) + int(dev[0]) + offset_ns + latency
        cmap.observe(int(d), host)
    assert abs(cmap.drift_ppm - 40) < 10  # the running estimate, refitted as frames double
    cmap.fit()
    assert abs(cmap.drift_ppm - 40) < 5
    mapped = cmap.to_host_ns(dev[-1])
    truth = (dev[-1] - dev[0]) * (1 + drift) + dev[0] + offset_ns + 8_000_000
    assert abs(float(mapped) - truth) < 5_000_000  # within 5 ms of the true offset + minimum latency


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), -1.0, 0.0])
def test_a_factor_that_is_no_scale_is_a_frame_error(bad: float) -> None:
    import struct

    from calfsense.errors import FrameError
    from calfsense.protocol import pmd

    data = bytes((pmd.SettingType.FACTOR, 1)) + struct.pack("<f", bad)
    with pytest.raises(FrameError):
        pmd.parse_settings_options(data)
    answer = pmd.ControlPointResponse(
        op_code=2, measurement=2, status=pmd.PmdStatus.SUCCESS, more=False, parameters=b"\x00" + data
    )
    assert answer.factor() == 1.0  # the SDK's default, never NaN scaling every sample


def _frames(count: int, n: int = 36, rate_hz: float = 100.0, t0_ns: int = 10**12) -> list[tuple[int, np.ndarray]]:
    period = 1e9 / rate_hz
    return [(t0_ns + round(((k + 1) * n - 1) * period), np.full((n, 3), float(k))) for k in range(count)]


def test_stream_clock_puts_a_late_frame_back_in_order() -> None:
    from calfsense.protocol.timestamps import StreamClock

    frames = _frames(6)
    order = [0, 1, 3, 2, 4, 5]  # frame 2 arrives after frame 3
    clock = StreamClock(100.0)
    out = []
    for i, k in enumerate(order):
        out += clock.push(frames[k][0], frames[k][1], host_ns=i * 360_000_000)
    out += clock.flush()
    assert [int(f.samples[0, 0]) for f in out] == [0, 1, 2, 3, 4, 5]
    times = np.concatenate([f.times_ns for f in out])
    assert np.all(np.diff(times) == 10_000_000) and all(f.gap_before is None for f in out)
    assert len(clock.out_of_order) == 1 and clock.set_aside == 0


def test_stream_clock_sets_aside_what_is_too_late_and_marks_a_real_loss() -> None:
    from calfsense.protocol.timestamps import StreamClock

    frames = _frames(8)
    clock = StreamClock(100.0)
    out = []
    for i, k in enumerate([0, 1, 3, 4, 2, 5, 7]):  # 2 comes after 3 and 4: too late; 6 is lost
        out += clock.push(frames[k][0], frames[k][1], host_ns=i * 360_000_000)
    out += clock.flush()
    assert [int(f.samples[0, 0]) for f in out] == [0, 1, 3, 4, 5, 7]
    assert clock.set_aside == 1
    gaps = [f.gap_before for f in out if f.gap_before is not None]
    assert len(gaps) == 2 and all(350_000_000 < b - a < 380_000_000 for a, b in gaps)  # one frame each
    assert np.all(np.diff(np.concatenate([f.times_ns for f in out])) > 0)


def test_stream_clock_undoes_a_clock_reset_and_keeps_time_moving_forward() -> None:
    from calfsense.protocol.timestamps import StreamClock

    frames = _frames(4)
    clock = StreamClock(100.0)
    out = clock.push(frames[0][0], frames[0][1], host_ns=0)
    out += clock.push(frames[1][0], frames[1][1], host_ns=360_000_000)
    clock.restart()  # a reconnect 0.1 s later (host), and the sensor's clock back at 2019-01-01
    out += clock.push(1_546_300_800 * 10**9, frames[2][1], host_ns=460_000_000)
    out += clock.push(1_546_300_800 * 10**9 + 360_000_000, frames[3][1], host_ns=820_000_000)
    out += clock.flush()
    times = np.concatenate([f.times_ns for f in out])
    # By host time only 0.1 s passed, less than the frame spans: it starts after the last sample instead.
    assert len(clock.resets) == 1 and np.all(np.diff(times) > 0)
