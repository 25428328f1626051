"""Movesense's GATT SensorData Protocol (firmware_notes/movesense.md): the commands' bytes, data and its
second parts (cut mid-sample too), a seeded fuzzer, and a virtual Movesense through the BLE stack into
live mode, recorded and replayed."""

from __future__ import annotations

import asyncio
import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, simulate
from calfsense.errors import FrameError
from calfsense.live_run import run_live
from calfsense.protocol import movesense
from calfsense.report import detect_session
from calfsense.session.importers import load
from calfsense.sources import ble, virtual
from calfsense.sources.synthetic import MOVESENSE
from tests.live_helpers import simulated_options

RECORDING = Path(__file__).parent.parent / "recordings" / "two-sets-movesense-foot.csrec.jsonl"


def test_commands_and_results_are_the_protocols_bytes() -> None:
    assert movesense.hello(0x63) == bytes.fromhex("0063")
    assert movesense.subscribe_acc(0x63, 52) == bytes.fromhex("0163") + b"/Meas/Acc/52"
    assert movesense.unsubscribe(0x63) == bytes.fromhex("0263")
    assert movesense.parse_result(bytes.fromhex("016300c8")) == movesense.Result(0x63, 200)
    assert movesense.parse_result(bytes.fromhex("016301fb")) == movesense.Result(0x63, 507)  # big-endian
    assert movesense.parse_result(b"\x01\x63Hello") == movesense.Result(0x63, 200)
    assert movesense.choose_rate(50) == 52 and movesense.choose_rate(100) == 104
    with pytest.raises(FrameError, match="no 50 Hz"):
        movesense.subscribe_acc(0x63, 50)


def test_data_in_m_per_s2_becomes_mg_with_the_first_samples_clock() -> None:
    body = struct.pack("<I", 123456) + np.array([[0.0, 0.0, 9.80665], [1.0, -1.0, 0.0]], dtype="<f4").tobytes()
    part = movesense.AccDecoder().feed(bytes([2, 0x63]) + body)
    assert isinstance(part, movesense.AccPart) and part.t_ms == 123456 and part.first_index == 0
    np.testing.assert_allclose(part.acc_mg, [[0, 0, 1000.0], [101.97, -101.97, 0]], atol=0.01)


@pytest.mark.parametrize("rate", [52, 104, 208, 416])
def test_a_packet_in_two_parts_joins_even_when_cut_mid_sample(rate: int) -> None:
    per = movesense.samples_per_packet(rate)
    acc = np.random.default_rng(rate).normal(0, 500, (per, 3))
    parts = movesense.acc_notifications(0x63, 5000, acc)
    assert len(parts) == (1 if rate == 52 else 2) and all(len(p) <= 158 for p in parts)
    stream = movesense.StreamDecoder(float(rate))
    frames = [f for p in parts for f in stream.feed(p)]
    got = np.vstack([f[1] for f in frames])
    np.testing.assert_allclose(got, acc, rtol=1e-6, atol=1e-3)  # float32 on the wire
    last_ns = frames[-1][0]
    assert last_ns == 5000 * 1_000_000 + round((per - 1) * 1e9 / rate)


def test_a_second_part_for_another_reference_or_junk_is_refused() -> None:
    dec = movesense.AccDecoder()
    dec.feed(bytes([2, 0x63]) + struct.pack("<I", 1) + bytes(12))
    with pytest.raises(FrameError, match="second part"):
        dec.feed(bytes([3, 0x64]) + bytes(12))
    with pytest.raises(FrameError, match="beyond"):
        dec.feed(bytes([2, 0x63]) + struct.pack("<I", 1) + np.array([1e9, 0, 0], dtype="<f4").tobytes())


def test_fuzzed_notifications_raise_only_frame_errors() -> None:
    rng = np.random.default_rng(1)
    valid = movesense.acc_notifications(0x63, 77, rng.normal(0, 800, (16, 3)))
    for _ in range(3000):
        dec = movesense.StreamDecoder(104.0)
        for _ in range(3):
            if rng.random() < 0.4:
                data = bytes(rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8))
            else:
                chosen = bytearray(valid[int(rng.integers(0, len(valid)))])
                for _ in range(int(rng.integers(0, 4))):
                    chosen[int(rng.integers(0, len(chosen)))] = int(rng.integers(0, 256))
                data = bytes(chosen[: int(rng.integers(0, len(chosen) + 1))])
            try:
                dec.feed(data)
            except FrameError:
                pass
        try:
            movesense.parse_command(data)
        except FrameError:
            pass


def _sensor(speed: float, rate: int = 104) -> tuple[ble.Backend, virtual.VirtualSensor, object]:
    segs = [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 8, TEMPOS["hret"], height_cm=8.0)),
        Segment("idle", 4.0),
    ]
    sim = simulate(segs, "foot", 400.0, seed=9)
    sensor = virtual.VirtualSensor(
        virtual.motion_from_simulation(sim), MOVESENSE.with_rate(rate), address="0C:8C:DC:00:01:92", speed=speed
    )
    return (
        ble.Backend(virtual.VirtualScanner, virtual.VirtualClient, {"world": virtual.VirtualWorld([sensor])}),
        sensor,
        sim,
    )


def test_scan_and_pair_know_a_movesense_by_its_service() -> None:
    backend, sensor, _ = _sensor(1.0)
    found = asyncio.run(ble.scan(0.3, False, backend))
    assert [(f.name, f.model, f.streams) for f in found] == [("Movesense 174630000192", "Movesense", ("ACC",))]
    paired = asyncio.run(ble.pair(None, "foot", backend))
    assert paired.acc_rates_hz == movesense.RATES_HZ and paired.features == ("ACC",)


@pytest.mark.slow  # a virtual Movesense through the BLE stack into live mode
def test_a_movesense_streams_live_and_its_recording_replays_to_the_same_reps(tmp_path: Path) -> None:
    backend, sensor, sim = _sensor(40.0)
    opts = simulated_options(backend, tmp_path)
    recording, coach, stream = asyncio.run(run_live(opts, io.StringIO()))
    assert recording is not None and stream is not None and stream.protocol == "movesense"
    assert stream.settings is not None and stream.settings.sample_rate_hz == 52  # the model's default rate
    assert stream.stats.corrupt == 0 and stream.stats.frames == sensor.frames_sent
    session = load(recording)
    _, sets, _ = detect_session(session, "foot")
    assert [round(r.start_s, 3) for s in sets for r in s.reps] == [round(r.start_s, 3) for r in coach.reps]
    assert len(coach.reps) == len(sim.reps)  # type: ignore[attr-defined]


def test_the_bundled_movesense_recording_replays_to_its_truth() -> None:
    truth = json.loads(RECORDING.with_name(RECORDING.name + ".truth.json").read_text())
    session = load(RECORDING)
    assert session.model == "Movesense" and session.frames_corrupt == 0 and session.nominal_rate_hz == 52
    _, sets, _ = detect_session(session, "foot")
    assert [len(s.reps) for s in sets] == [s["reps"] for s in truth["sets"]]
    assert '"c":"movesense_data"' in RECORDING.read_text()


class _Sink:
    def __init__(self) -> None:
        self.t: list[np.ndarray] = []

    def on_state(self, state: str, detail: str) -> None:
        pass

    def on_samples(self, t: np.ndarray, a: np.ndarray) -> None:
        self.t.append(t)

    def on_heart_rate(self, bpm: int, rr: tuple[int, ...]) -> None:
        pass

    def on_battery(self, pct: int) -> None:
        pass


def test_at_104_hz_every_packet_comes_in_two_parts_and_none_is_lost() -> None:
    from calfsense.sources.stream import StreamConfig, StreamSession

    backend, sensor, _ = _sensor(20.0)
    sink = _Sink()

    async def run() -> StreamSession:
        session = StreamSession(StreamConfig(target="Movesense", rate_hz=100, time_scale=20.0), sink, backend)
        task = asyncio.create_task(session.run())
        while sum(len(t) for t in sink.t) < 104 * 8:
            await asyncio.sleep(0.02)
        session.stop()
        await task
        return session

    session = asyncio.run(run())
    assert session.settings is not None and session.settings.sample_rate_hz == 104
    assert session.stats.corrupt == 0 and session.stats.frames == 2 * sensor.frames_sent  # two parts a packet
    t = np.concatenate(sink.t)
    assert np.all(np.diff(t) > 0) and np.max(np.diff(t)) < 1.5 / 104
