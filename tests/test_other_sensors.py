"""MetaWear, WitMotion and Thingy:52 (firmware_notes/): each protocol's bytes with known answers, a seeded
fuzzer per decoder, the count clock for sensors that stamp nothing, and each one emulated through the BLE
stack into live mode, recorded, and replayed to the same reps; their bundled recordings to their truth."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import numpy as np
import pytest

from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, simulate
from calfsense.errors import FrameError
from calfsense.live_run import run_live
from calfsense.protocol import metawear, thingy, witmotion
from calfsense.protocol.timestamps import CountClock
from calfsense.report import detect_session
from calfsense.session.decode import DECODERS
from calfsense.session.importers import load
from calfsense.sources import ble, synthetic, virtual
from tests.live_helpers import simulated_options

RECORDINGS = Path(__file__).parent.parent / "recordings"
OTHERS = ("metawear", "witmotion", "thingy")


# -- MetaWear --------------------------------------------------------------------------------


def test_metawear_commands_are_the_sdks_bytes_for_each_chip() -> None:
    bmi160 = metawear.AccConfig(metawear.Chip.BMI160, 50, 2)
    assert bmi160.configure() == bytes.fromhex("03032703")  # the SDK's 50 Hz, +-2 g (sensors.md §3.2)
    assert bmi160.start() == [
        bytes.fromhex("03032703"),
        bytes.fromhex("030401"),
        bytes.fromhex("03020100"),
        bytes.fromhex("030101"),
    ]
    bmi270 = metawear.choose(metawear.Chip.BMI270, 100, 8)
    assert bmi270.configure() == bytes.fromhex("03032802") and bmi270.start()[-1] == bytes.fromhex("030102")
    assert metawear.AccConfig.stop() == [bytes.fromhex("030100"), bytes.fromhex("03020001")]
    assert metawear.parse_configure(metawear.Chip.BMI270, bmi270.configure()) == bmi270


def test_metawear_module_info_tells_the_chip_and_refuses_others() -> None:
    assert metawear.parse_info(bytes.fromhex("03800101")) is metawear.Chip.BMI160
    assert metawear.parse_info(bytes.fromhex("03800401")) is metawear.Chip.BMI270
    with pytest.raises(FrameError, match="MMA8452Q"):
        metawear.parse_info(bytes.fromhex("03800001"))


def test_metawear_data_scales_by_the_range() -> None:
    sample = metawear.decode_sample(bytes.fromhex("0304") + np.array([4096, -2048, 0], "<i2").tobytes(), 8)
    assert sample is not None
    np.testing.assert_allclose(sample, [[1000.0, -500.0, 0.0]])
    assert metawear.decode_sample(bytes.fromhex("0380 01 01".replace(" ", "")), 8) is None  # not data


# -- WitMotion -------------------------------------------------------------------------------


def test_witmotion_uuids_are_on_its_own_base_and_its_commands_are_its_bytes() -> None:
    assert witmotion.SERVICE_UUID.endswith("00805f9a34fb")  # 9a, not the SIG's 9b
    assert witmotion.set_rate(100) == bytes.fromhex("ffaa030900")
    assert witmotion.parse_write(witmotion.set_rate(200)) == (0x03, 0x0B)


def test_witmotion_packets_resynchronise_across_cuts_and_junk() -> None:
    rows = np.array([[0.0, 0.0, 1000.0], [500.0, -250.0, 990.0], [-1000.0, 0.0, 0.0]])
    stream = b"\x00\x55" + b"".join(witmotion.encode_packet(r) for r in rows) + b"\x55\x71" + bytes(18)
    reader = witmotion.PacketReader()
    got = [reader.feed(stream[i : i + 7]) for i in range(0, len(stream), 7)]  # cut every 7 bytes
    np.testing.assert_allclose(np.vstack(got), rows, atol=16000 / 32768)
    assert reader.skipped >= 2


# -- Thingy:52 -------------------------------------------------------------------------------


def test_thingy_configuration_and_raw_data_in_its_fixed_point() -> None:
    config = thingy.MotionConfig(100, 100, 100, 100, False)
    assert config.encode() == bytes.fromhex("640064006400640000")
    assert thingy.decode_config(config.encode()) == config
    with pytest.raises(FrameError, match="out of range"):
        thingy.decode_config(thingy.MotionConfig(motion_hz=400).encode())
    raw = np.array([0, 0, 64, 0, 0, 0, 0, 0, 0], "<i2").tobytes()
    np.testing.assert_allclose(thingy.decode_raw(raw), [[0.0, 0.0, 1000.0]])
    assert thingy.rest_check(thingy.decode_raw(raw)) == pytest.approx(1.0)  # |a| = 1 g at rest: Q6 is right


# -- the count clock -------------------------------------------------------------------------


def test_the_count_clock_spaces_samples_at_the_rate_and_turns_a_silence_into_a_gap() -> None:
    clock = CountClock(100.0)
    host = 1_000_000_000
    times = []
    for i in range(50):  # a notification a sample, 10 ms apart, with +-8 ms of arrival jitter
        times.append(clock.last_sample_ns(1, host + i * 10_000_000 + (8_000_000 if i % 3 else 0)))
    assert np.allclose(np.diff(times), 10_000_000)
    after = clock.last_sample_ns(1, host + 49 * 10_000_000 + 1_000_000_000)  # a second of notifications lost
    assert after - times[-1] == pytest.approx(1_000_000_000, abs=20_000_000)


# -- fuzzing every decoder ---------------------------------------------------------------------


@pytest.mark.parametrize("char", sorted(DECODERS))
def test_fuzzed_notifications_raise_only_frame_errors(char: str) -> None:
    rng = np.random.default_rng(len(char))
    decoder = DECODERS[char](100.0, 1.0, 8)
    for i in range(2000):
        data = bytes(rng.integers(0, 256, int(rng.integers(0, 90)), dtype=np.uint8))
        if i % 4 == 0 and data:
            data = bytes([3, 4]) + data[2:]  # MetaWear's and WitMotion's headers now and then
        try:
            decoder.feed(data, 1_000_000 * i)
        except FrameError:
            pass


# -- emulated, live, recorded, replayed ---------------------------------------------------------


def _sensor(key: str, speed: float) -> tuple[ble.Backend, virtual.VirtualSensor, object]:
    segs = [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 8, TEMPOS["hret"], height_cm=8.0)),
        Segment("idle", 4.0),
    ]
    sim = simulate(segs, "foot", 400.0, seed=10)
    sensor = virtual.VirtualSensor(
        virtual.motion_from_simulation(sim), synthetic.PROFILES[key], address="AA:BB:CC:DD:EE:01", speed=speed
    )
    world = virtual.VirtualWorld([sensor])
    return ble.Backend(virtual.VirtualScanner, virtual.VirtualClient, {"world": world}), sensor, sim


@pytest.mark.parametrize("key", OTHERS)
def test_scan_and_pair_know_it_by_its_service(key: str) -> None:
    backend, sensor, _ = _sensor(key, 1.0)
    found = asyncio.run(ble.scan(0.3, False, backend))
    model = synthetic.PROFILES[key].device
    assert [(f.name, f.model, f.streams) for f in found] == [(sensor.name, model.model, ("ACC",))]
    paired = asyncio.run(ble.pair(None, "foot", backend))
    assert paired.acc_rates_hz == model.acc_rates_hz and paired.features == ("ACC",)


@pytest.mark.slow  # each sensor emulated through the BLE stack into live mode
@pytest.mark.parametrize("key", OTHERS)
def test_it_streams_live_and_its_recording_replays_to_the_same_reps(key: str, tmp_path: Path) -> None:
    backend, sensor, sim = _sensor(key, 40.0)
    opts = simulated_options(backend, tmp_path)
    recording, coach, stream = asyncio.run(run_live(opts, io.StringIO()))
    assert recording is not None and stream is not None and stream.protocol == key
    assert stream.stats.corrupt == 0 and stream.settings is not None and stream.settings.sample_rate_hz == 100
    session = load(recording)
    assert abs(session.sample_rate_hz - 100.0) < 1.0 and not session.gaps
    _, sets, _ = detect_session(session, "foot")
    assert [round(r.start_s, 3) for s in sets for r in s.reps] == [round(r.start_s, 3) for r in coach.reps]
    assert len(coach.reps) == len(sim.reps)  # type: ignore[attr-defined]
    if key == "metawear":  # the chip was asked and answered (BMI160) before anything was configured
        from calfsense.session.recording import CHAR_METAWEAR_DATA, iter_notifications, read_raw

        first = next(iter_notifications(read_raw(recording), CHAR_METAWEAR_DATA))[2]
        assert first == metawear.info_answer(metawear.Chip.BMI160)


@pytest.mark.parametrize("key", OTHERS)
def test_its_bundled_recording_replays_to_its_truth(key: str) -> None:
    path = RECORDINGS / f"two-sets-{key}-foot.csrec.jsonl"
    truth = json.loads(path.with_name(path.name + ".truth.json").read_text())
    session = load(path)
    assert session.model == synthetic.PROFILES[key].device.model_number and session.frames_corrupt == 0
    _, sets, _ = detect_session(session, "foot")
    assert [len(s.reps) for s in sets] == [s["reps"] for s in truth["sets"]]
