"""The calfsense IMU profile (a DIY board, firmware_notes/diy-imu.md): the spec's vectors, a seeded fuzzer,
the wrapping clock, and a virtual board through the BLE stack into live mode, recorded and replayed."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import numpy as np
import pytest
from bleak.exc import BleakError

from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, simulate
from calfsense.errors import FrameError
from calfsense.live_run import run_live
from calfsense.protocol import csimu
from calfsense.report import detect_session
from calfsense.session.importers import load
from calfsense.sources import ble, virtual
from calfsense.sources.synthetic import CSIMU
from tests.live_helpers import simulated_options

VECTOR = bytes.fromhex("01 02 34 12 ef cd ab 89 f4 00 01 00 fe ff 00 10 00 80 ff 7f 00 00")
RECORDING = Path(__file__).parent.parent / "recordings" / "two-sets-diy-foot.csrec.jsonl"


def test_the_specs_vectors_decode_and_encode_both_ways() -> None:
    packet = csimu.decode_packet(VECTOR)
    assert (packet.counter, packet.t_us, packet.scale_ug) == (0x1234, 0x89ABCDEF, 244)
    assert packet.samples.tolist() == [[1, -2, 4096], [-32768, 32767, 0]]
    np.testing.assert_allclose(packet.acc_mg, [[0.244, -0.488, 999.424], [-7995.392, 7995.148, 0.0]])
    assert csimu.encode_packet(0x1234, 0x89ABCDEF, 244, packet.samples) == VECTOR
    assert csimu.ImuSettings(100, 8).encode() == bytes.fromhex("640008")
    assert csimu.decode_settings(bytes.fromhex("64000801")) == csimu.ImuSettings(100, 8, streaming=True)
    assert [csimu.scale_ug(g) for g in csimu.RANGES_G] == [61, 122, 244, 488]
    assert csimu.choose_settings(60, 6) == csimu.ImuSettings(100, 8)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (VECTOR[:9], "header alone"),
        (b"\x02" + VECTOR[1:], "version 2"),
        (VECTOR[:1] + b"\x00" + VECTOR[2:], "0 samples"),
        (VECTOR[:8] + b"\x00\x00" + VECTOR[10:], "scale is 0"),
        (VECTOR + b"\x00", "23 bytes for 2 samples"),
    ],
)
def test_malformed_packets_are_refused_with_the_reason(data: bytes, why: str) -> None:
    with pytest.raises(FrameError, match=why.split()[0]):
        csimu.decode_packet(data)


def test_fuzzed_packets_and_settings_raise_only_frame_errors() -> None:
    rng = np.random.default_rng(36)
    for _ in range(3000):
        if rng.random() < 0.5:
            data = bytes(rng.integers(0, 256, int(rng.integers(0, 260)), dtype=np.uint8))
        else:
            data = bytearray(VECTOR)
            for _ in range(int(rng.integers(1, 4))):
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
            data = bytes(data[: int(rng.integers(0, len(data) + 1))])
        for decoder in (csimu.decode_packet, csimu.decode_settings):
            try:
                decoder(data)
            except FrameError:
                pass


def test_the_boards_clock_is_continuous_across_its_wrap_and_a_late_packet() -> None:
    clock = csimu.PacketClock(100.0)
    samples = np.zeros((12, 3), dtype=np.int64)
    wrap = 1 << 32
    times = [wrap - 150_000, wrap - 30_000, 90_000, 210_000]  # 0.12 s apart, across the wrap
    last = [clock.last_sample_ns(csimu.ImuPacket(0, t, 244, samples)) for t in times]
    assert np.allclose(np.diff(last), 120_000_000)
    late = clock.last_sample_ns(csimu.ImuPacket(0, 90_000, 244, samples))  # a packet repeated a little late
    assert late == last[2]


def _board(speed: float, faults: str | None = None) -> tuple[ble.Backend, virtual.VirtualSensor, object]:
    segs = [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 8, TEMPOS["hret"], height_cm=8.0)),
        Segment("idle", 12.0),
        Segment("set", set_plan=SetPlan("single-leg", 6, TEMPOS["hret"], height_cm=7.0)),
        Segment("idle", 4.0),
    ]
    sim = simulate(segs, "foot", 200.0, seed=8)
    motion = virtual.motion_from_simulation(sim)
    from calfsense.sources.faults import parse_faults

    chosen = parse_faults(faults, motion.duration_s) if faults else None
    board = virtual.VirtualSensor(motion, CSIMU, address="C5:F5:00:00:7F:3A", speed=speed, faults=chosen)
    world = virtual.VirtualWorld([board])
    return ble.Backend(virtual.VirtualScanner, virtual.VirtualClient, {"world": world}), board, sim


def test_scan_and_pair_know_a_diy_board_by_what_it_advertises() -> None:
    backend, board, _ = _board(1.0)
    found = asyncio.run(ble.scan(0.3, False, backend))
    assert [(f.name, f.model, f.streams) for f in found] == [("CS-IMU 7F3A", "calfsense IMU (DIY)", ("ACC",))]
    paired = asyncio.run(ble.pair(None, "foot", backend))
    assert paired.model == "calfsense-imu" and paired.acc_rates_hz == csimu.RATES_HZ and paired.features == ("ACC",)
    # The board refuses a rate it lacks, as its firmware must (ATT error 0x13).
    with pytest.raises(BleakError, match="0x13"):
        board.write(csimu.SETTINGS_UUID, csimu.ImuSettings(120, 8).encode())


@pytest.mark.slow  # a virtual board through the BLE stack into live mode
def test_a_diy_board_streams_live_and_its_recording_replays_to_the_same_reps(tmp_path: Path) -> None:
    # The link drops in the rest between the sets (24 s in) and the board is back for the second.
    backend, board, sim = _board(40.0, faults="drop-every=24,down=1")
    opts = simulated_options(backend, tmp_path)
    out = io.StringIO()
    recording, coach, stream = asyncio.run(run_live(opts, out))
    assert recording is not None and stream is not None and stream.protocol == "csimu"
    assert stream.settings is not None and stream.settings.sample_rate_hz == 100 and stream.stats.reconnects >= 1
    session = load(recording)
    assert session.model == "calfsense-imu" and abs(session.sample_rate_hz - 100.0) < 0.5
    assert '"c":"csimu_data"' in recording.read_text()
    _, sets, _ = detect_session(session, "foot")
    live = [round(r.start_s, 3) for r in coach.reps]
    assert [round(r.start_s, 3) for s in sets for r in s.reps] == live
    assert len(live) == len(sim.reps)  # type: ignore[attr-defined]
    assert "reconnect" in out.getvalue()


def test_the_bundled_diy_recording_is_the_boards_bytes_and_replays_to_its_truth() -> None:
    truth = json.loads(RECORDING.with_name(RECORDING.name + ".truth.json").read_text())
    session = load(RECORDING)
    assert session.model == "calfsense-imu" and session.frames_total > 500 and session.frames_corrupt == 0
    _, sets, _ = detect_session(session, "foot")
    assert [len(s.reps) for s in sets] == [s["reps"] for s in truth["sets"]]
    first = next(json.loads(line) for line in RECORDING.read_text().splitlines() if '"csimu_data"' in line)
    import base64

    assert base64.b64decode(first["d"])[:2] == bytes([1, csimu.SAMPLES_PER_PACKET])
