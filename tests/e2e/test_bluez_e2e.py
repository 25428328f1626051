"""End to end through bleak's real BlueZ D-Bus backend: bluezoo plus an emulated H10 speaking PMD."""

import asyncio

import numpy as np
import pytest

from calfsense.dsp.detect import Detector
from calfsense.dsp.evaluate import match_reps
from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, simulate
from calfsense.sources import ble
from calfsense.sources.faults import Faults
from calfsense.sources.stream import StreamConfig, StreamSession
from calfsense.sources.synthetic import H10
from calfsense.sources.virtual import VirtualSensor, motion_from_simulation

from .conftest import CENTRAL
from .peripheral import Peripheral

REAL_BLUEZ = ble.Backend(kwargs={"bluez": {"adapter": "hci0"}})
H10_200 = H10.with_rate(200)


def _motion(seconds: float, seed: int = 2):
    segs = [Segment("idle", 3.0)]
    while sum(s.duration_s for s in segs) + 30 < seconds:
        segs += [Segment("set", set_plan=SetPlan("two-leg", 6, TEMPOS["hret"])), Segment("idle", 12.0)]
    segs.append(Segment("idle", max(1.0, seconds - sum(s.duration_s for s in segs) - 20)))
    return simulate(segs, "foot", 400.0, seed=seed)


class Sink:
    def __init__(self):
        self.det = Detector("foot")
        self.reps, self.states, self.hr, self.samples, self.times = [], [], [], 0, []

    def on_state(self, state, detail):
        self.states.append(state)

    def on_samples(self, t, a):
        self.samples += len(t)
        self.times.append(t)
        self.reps += self.det.feed(t, a)

    def on_heart_rate(self, bpm, rr):
        self.hr.append(bpm)

    def on_battery(self, pct):
        pass


async def _stream_until(config: StreamConfig, sink: "Sink", seconds: float) -> StreamSession:
    """Stream through real BlueZ until the sensor's data reach `seconds` (30 s at most), then stop cleanly."""
    session = StreamSession(config, sink, REAL_BLUEZ)
    task = asyncio.create_task(session.run())
    for _ in range(300):
        await asyncio.sleep(0.1)
        if sink.times and sink.times[-1][-1] >= seconds:
            break
    session.stop()
    await asyncio.wait_for(task, 10)
    return session


async def _peripheral(sim, speed=1.0, faults=None, profile=H10_200):
    sensor = VirtualSensor(motion_from_simulation(sim), profile, speed=speed, faults=faults)
    p = Peripheral(sensor)
    await p.start()
    return p


async def test_scan_with_service_filter_and_pair(bluez):
    sim = _motion(40)
    p = await _peripheral(sim)
    try:
        found = await ble.scan(0.6, backend=REAL_BLUEZ)
        assert [f.name for f in found] == ["Polar H10 5A1F0C2B"]
        assert found[0].streams == ("ACC", "HR") and found[0].model == "Polar H10"
        paired = await ble.pair("Polar H10", "chest", backend=REAL_BLUEZ)
        assert paired.model == "H10" and paired.firmware == "3.2.0" and paired.battery == 87
        assert paired.acc_rates_hz == (25, 50, 100, 200) and paired.acc_ranges_g == (2, 4, 8)
        assert "ACC" in paired.features
    finally:
        await p.stop()


async def test_sixty_seconds_of_200_hz_acc_and_heart_rate_with_zero_loss(bluez):
    # Sixty seconds of the sensor's data, sent five times faster than it makes them (1,000 samples a second
    # through real BlueZ and D-Bus): the soak's timing in real time is bench/bench_ble.py's.
    sim = _motion(66)
    p = await _peripheral(sim, speed=5.0)
    sink = Sink()
    session = StreamSession(StreamConfig(target="Polar H10", rate_hz=200), sink, REAL_BLUEZ)
    task = asyncio.create_task(session.run())
    try:
        for _ in range(300):
            await asyncio.sleep(0.1)
            if sink.times and sink.times[-1][-1] >= 60.5:
                break
    finally:
        session.stop()
        await task
        await p.stop()
    assert session.settings is not None and session.settings.sample_rate_hz == 200
    assert session.stats.frames == p.sensor.frames_sent >= 330  # 60 s x 200 Hz / 36 samples
    assert session.stats.dropped == 0 and session.stats.corrupt == 0
    t = np.concatenate(sink.times)
    assert np.all(np.diff(t) > 0) and np.max(np.diff(t)) < 0.0051  # in order, no hole
    assert len(sink.hr) >= 55
    truth = [r for r in sim.reps if r.end_s < t[-1] - 0.5]
    m = match_reps(truth, sink.reps)
    assert not m.missed and not m.false


async def test_peripheral_disconnect_reconnects_and_resumes_with_already_in_state(bluez):
    sim = _motion(40)
    p = await _peripheral(sim, speed=2.0, faults=Faults(keep_streaming_after_drop=True))
    sink = Sink()
    session = StreamSession(StreamConfig(target="Polar H10"), sink, REAL_BLUEZ)
    task = asyncio.create_task(session.run())
    try:
        while p.sensor.frames_sent < 10:
            await asyncio.sleep(0.1)
        before = p.sensor.frames_sent
        await p.drop_link(CENTRAL)
        for _ in range(200):
            await asyncio.sleep(0.1)
            if sink.states.count("streaming") >= 2 and p.sensor.frames_sent > before + 10:
                break
    finally:
        session.stop()
        await task
        await p.stop()
    assert session.stats.reconnects == 1 and "reconnecting" in sink.states
    assert sink.states.count("streaming") == 2
    codes = [bytes(i).hex()[:8] for i in p.sensor.indications]
    assert "f0020206" in codes and codes[codes.index("f0020206") + 1] == "f0030200"
    assert p.sensor.frames_sent > before + 10  # the stream resumed


async def test_clean_shutdown_stops_the_measurement(bluez):
    sim = _motion(30)
    p = await _peripheral(sim, speed=4.0)
    sink = Sink()
    session = StreamSession(StreamConfig(target="Polar H10"), sink, REAL_BLUEZ)
    task = asyncio.create_task(session.run())
    try:
        while p.sensor.frames_sent < 5:
            await asyncio.sleep(0.1)
        session.stop()  # what SIGINT and SIGTERM do in live mode
        await asyncio.wait_for(task, 10)
    finally:
        await p.stop()
    assert bytes(p.sensor.indications[-1]).hex().startswith("f00302")  # STOP answered
    assert not p.sensor.measuring and sink.states[-1] == "stopped"


async def test_sigint_stops_the_sensor_and_closes_the_recording(bluez, tmp_path):
    import os
    import signal
    import sys

    from calfsense.session.decode import load_native

    sim = _motion(60)
    p = await _peripheral(sim, speed=2.0)
    env = dict(
        os.environ, CALFSENSE_BLUEZ_ADAPTER="hci0", CALFSENSE_DATA_DIR=str(tmp_path), CALFSENSE_CONFIG_DIR=str(tmp_path)
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "calfsense.cli",
        "live",
        "--plain",
        "--device",
        "Polar H10 5A1F0C2B",
        "--placement",
        "foot",
        "--record-dir",
        str(tmp_path),
        "--no-save",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        for _ in range(300):
            await asyncio.sleep(0.1)
            if p.sensor.frames_sent > 20:
                break
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
        await p.stop()
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "connected:" in text and "finished:" in text
    assert bytes(p.sensor.indications[-1]).hex().startswith("f00302") and not p.sensor.measuring
    recordings = list(tmp_path.glob("session-*.csrec.jsonl"))
    assert len(recordings) == 1
    rec = load_native(recordings[0])
    assert rec.frames_total >= 20 and [e.kind for e in rec.events][-1] == "stopped"


async def test_a_diy_board_on_the_calfsense_imu_profile_scans_streams_and_stops(bluez):
    # The same BlueZ path with the open profile's bytes (firmware_notes/diy-imu.md): settings written and
    # read back, data packets with the board's wrapping microsecond clock, and STOP written on quitting.
    from calfsense.protocol import csimu
    from calfsense.sources.synthetic import CSIMU

    sim = _motion(40)
    p = await _peripheral(sim, speed=4.0, profile=CSIMU)
    sink = Sink()
    try:
        found = await ble.scan(0.6, backend=REAL_BLUEZ)
        # (bluezoo keeps the UUIDs an earlier test's H10 advertised from the same emulated adapter: HR may show.)
        assert [(f.name, f.model, f.streams[0]) for f in found] == [("CS-IMU 7F3A", "calfsense IMU (DIY)", "ACC")]
        session = await _stream_until(StreamConfig(target="CS-IMU"), sink, 30.0)
    finally:
        await p.stop()
    assert session.protocol == "csimu" and session.settings is not None and session.settings.sample_rate_hz == 100
    assert session.stats.frames == p.sensor.frames_sent >= 240 and session.stats.corrupt == 0  # 30 s / 0.12 s
    t = np.concatenate(sink.times)
    assert np.all(np.diff(t) > 0) and np.max(np.diff(t)) < 0.0101  # every 10 ms, no hole
    assert p.sensor.firmware is not None and p.sensor.firmware.board_settings == csimu.ImuSettings(100, 8)
    assert not p.sensor.measuring  # STOP was written
    truth = [r for r in sim.reps if r.end_s < t[-1] - 0.5]
    m = match_reps(truth, sink.reps)
    assert not m.missed and not m.false


async def test_a_movesense_on_its_sensordata_protocol_streams_through_bluez(bluez):
    # HELLO and SUBSCRIBE answered on the data characteristic, packets in two parts at 104 Hz, UNSUBSCRIBE.
    from calfsense.sources.synthetic import MOVESENSE

    sim = _motion(40)
    p = await _peripheral(sim, speed=4.0, profile=MOVESENSE.with_rate(104))
    sink = Sink()
    try:
        session = await _stream_until(StreamConfig(target="Movesense", rate_hz=104), sink, 20.0)
    finally:
        await p.stop()
    assert session.protocol == "movesense" and session.settings is not None and session.settings.sample_rate_hz == 104
    assert session.stats.corrupt == 0 and session.stats.frames == 2 * p.sensor.frames_sent >= 2 * 120
    t = np.concatenate(sink.times)
    assert np.all(np.diff(t) > 0) and np.max(np.diff(t)) < 1.5 / 104
    assert not p.sensor.measuring  # UNSUBSCRIBE was written
    truth = [r for r in sim.reps if r.end_s < t[-1] - 0.5]
    m = match_reps(truth, sink.reps)
    assert not m.missed and not m.false


@pytest.mark.parametrize("key", ["metawear", "witmotion", "thingy"])
async def test_sensors_that_stamp_nothing_stream_through_bluez_in_their_own_bytes(bluez, key):
    # MetaWear (module info, configure, start), WitMotion (unlock, rate, its byte stream cut anywhere), Thingy:52
    # (motion configuration, raw data): timed by their count, nothing lost, every rep found.
    from calfsense.sources.synthetic import PROFILES

    sim = _motion(40)
    p = await _peripheral(sim, speed=4.0, profile=PROFILES[key])
    sink = Sink()
    try:
        session = await _stream_until(StreamConfig(target=p.sensor.name, rate_hz=100), sink, 20.0)
    finally:
        await p.stop()
    assert session.protocol == key and session.settings is not None and session.settings.sample_rate_hz == 100
    assert session.stats.corrupt == 0 and session.stats.dropped == 0
    t = np.concatenate(sink.times)
    assert np.all(np.diff(t) > 0) and sink.samples >= 2000
    truth = [r for r in sim.reps if 1.0 < r.start_s and r.end_s < t[-1] - 0.5]
    m = match_reps(truth, sink.reps)
    assert not m.missed
