"""Byte-exact notification streams from the simulator, as a Polar H10 or Verity Sense sends them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from calfsense import devices
from calfsense.devices import DeviceModel
from calfsense.dsp.simulate import Segment, SetPlan, Simulation
from calfsense.protocol.encode import chunk_frames
from calfsense.protocol.gatt import encode_heart_rate
from calfsense.protocol.pmd import H10_DEFAULT_CLOCK_NS, MeasurementSettings
from calfsense.routine import Routine
from calfsense.session.recording import RecordingHeader, RecordingWriter, now_wall
from calfsense.sources import firmware
from calfsense.sources.drivers import BY_PROTOCOL


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """A sensor as emulated: its model (`devices.py`), its advertised name and the settings it streams with."""

    device: DeviceModel
    name: str
    rate_hz: int
    settings: MeasurementSettings

    @property
    def model(self) -> str:
        """What its Device Information service says ("H10", "Polar Sense")."""
        return self.device.model_number

    @property
    def compressed(self) -> bool:
        """Whether it sends delta-compressed frames."""
        return self.device.compressed

    @property
    def firmware(self) -> str:
        """Its firmware version."""
        return self.device.firmware

    def with_rate(self, rate_hz: int) -> DeviceProfile:
        """The same sensor streaming at another rate (an H10 offers 25, 50, 100 and 200 Hz)."""
        return replace(self, rate_hz=rate_hz, settings=replace(self.settings, sample_rate_hz=rate_hz))


def _profile(device: DeviceModel, serial: str) -> DeviceProfile:
    rate = device.acc_default_rate_hz
    settings = MeasurementSettings(rate, 16, max(device.acc_ranges_g), device.acc_channels)
    return DeviceProfile(device, f"{device.name_prefix} {serial}", rate, settings)


H10 = _profile(devices.H10, "5A1F0C2B")
VERITY = _profile(devices.VERITY, "A40F6F28")
# A DIY board on the calfsense IMU profile, at its default 100 Hz and +-8 g (firmware_notes/diy-imu.md).
CSIMU = replace(_profile(devices.CSIMU, "7F3A"), settings=MeasurementSettings(100, 16, 8, 3, 1.0))
# A Movesense at 52 Hz (firmware_notes/movesense.md).
MOVESENSE = replace(_profile(devices.MOVESENSE, "174630000192"), settings=MeasurementSettings(52, 32, 8, 3, 1.0))
# A MetaMotion (BMI160) at 100 Hz, +-8 g; a WitMotion at 100 Hz (its packets scale +-16 g); a Thingy:52 at 100 Hz.
METAWEAR = replace(_profile(devices.METAWEAR, ""), name="MetaWear", settings=MeasurementSettings(100, 16, 8, 3, 1.0))
WITMOTION = replace(
    _profile(devices.WITMOTION, ""), name="WT901BLE67", settings=MeasurementSettings(100, 16, 16, 3, 1.0)
)
THINGY = replace(_profile(devices.THINGY, ""), name="Thingy", settings=MeasurementSettings(100, 16, 8, 3, 1.0))
PROFILES = {p.device.key: p for p in (H10, VERITY, CSIMU, MOVESENSE, METAWEAR, WITMOTION, THINGY)}


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification as the host receives it: host monotonic time, characteristic, payload."""

    mono_ns: int
    char: str
    data: bytes


def notifications(
    sim: Simulation, profile: DeviceProfile, seed: int = 0, host_start_ns: int = 10_000_000_000
) -> Iterator[Notification]:
    """Frames at the profile's rate (resampled from the simulation), heart rate at 1 Hz, in arrival order."""
    rng = np.random.default_rng(seed)
    rate = profile.rate_hz
    # The sensor's crystal runs a little off nominal (~20 ppm); its clock starts at the H10 default.
    drift = 1.0 + rng.uniform(-30e-6, 30e-6)
    n = int(sim.time_s[-1] * rate)
    t_dev_s = np.arange(n) / rate * drift
    acc = np.stack([np.interp(t_dev_s, sim.time_s, sim.acc_mg[:, k]) for k in range(3)], -1)
    acc_i = np.round(acc).astype(np.int64)
    keep = np.ones(n, dtype=bool)
    for g0, g1 in sim.gaps:  # radio gaps lose whole frames, as the sensor sends them
        keep &= ~((t_dev_s >= g0) & (t_dev_s < g1))
    dev_ns = (H10_DEFAULT_CLOCK_NS + 3_600_000_000_000 + t_dev_s * 1e9).astype(np.int64)
    out: list[Notification] = []
    protocol = profile.device.protocol
    if protocol != "pmd":
        # Another sensor: its firmware's notifications for each send (sources/firmware.py), each at the host
        # time it would arrive; its own clock started 7 s before the session.
        per = firmware.samples_per_send(protocol, rate)
        range_g = profile.settings.range or 8
        for i in range(0, n - per + 1, per):
            last = i + per - 1
            if not keep[last] or not keep[i]:
                continue
            sent = firmware.emit(protocol, acc[i : i + per], i, 7_000_000_000 + int(dev_ns[i] - dev_ns[0]), range_g)
            host = host_start_ns + int(dev_ns[last] - dev_ns[0]) + int(8e6 + rng.exponential(12e6))
            for k, part in enumerate(sent.notifications):
                out.append(Notification(host + k * 1000, BY_PROTOCOL[protocol].data_char, part))
    frames = chunk_frames(acc_i, dev_ns, compressed=profile.compressed) if profile.device.protocol == "pmd" else []
    for frame in frames:
        last_ns = int.from_bytes(frame[1:9], "little")
        i = int(np.searchsorted(dev_ns, last_ns))
        if not keep[min(i, n - 1)]:
            continue
        latency_ns = int(8e6 + rng.exponential(12e6))
        host = host_start_ns + (last_ns - int(dev_ns[0])) + latency_ns
        out.append(Notification(host, "pmd_data", frame))
    heart_rates = range(len(sim.hr_bpm)) if profile.device.protocol == "pmd" else range(0)  # a board has none
    for sec in heart_rates:
        bpm = float(sim.hr_bpm[sec])
        rr = int(round(60.0 / max(30.0, bpm) * 1024))
        host = host_start_ns + int(sec * 1e9) + int(rng.uniform(0, 2e7))
        out.append(Notification(host, "hr", encode_heart_rate(int(round(bpm)), [rr])))
    out.sort(key=lambda x: x.mono_ns)
    yield from out


def plan_from_routine(
    routine: Routine,
    placement: str,
    rng: np.random.Generator,
    rest_s: float | None = None,
    confuser: str | None = None,
) -> list[Segment]:
    """A simulated session that follows a routine (sitting down around seated sets)."""
    segs = [Segment("idle", 4.0)]
    if confuser:
        segs += [Segment(confuser, 10.0), Segment("idle", 6.0)]
    seated = False
    base_height = float(rng.uniform(6.5, 9.5))
    for pres in routine.prescribed_sets():
        if pres.exercise == "seated" and not seated:
            segs += [Segment("sit_down", 2.5), Segment("idle", 3.0)]
            seated = True
        elif pres.exercise != "seated" and seated:
            segs += [Segment("stand_up", 2.5), Segment("idle", 3.0)]
            seated = False
        tp = pres.tempo
        reps = pres.reps if pres.reps is not None else int(rng.integers(18, 30))
        height = base_height * (0.7 if pres.exercise == "seated" else 1.0)
        plan = SetPlan(
            pres.exercise,
            reps,
            tp,
            height_cm=height,
            fatigue=float(rng.uniform(0.05, 0.25)),
            partial_prob=0.05,
            lean_prob=0.05,
            side=pres.side,
        )
        segs += [
            Segment("set", set_plan=plan),
            Segment("idle", rest_s if rest_s is not None else pres.rest_s),
        ]
    return segs


def record_simulation(
    path: str | Path,
    sim: Simulation,
    profile: DeviceProfile,
    routine: str | None = None,
    seed: int = 0,
    force: bool = False,
) -> int:
    """Write a simulated session as a native recording of byte-exact sensor notifications."""
    wall, zone = now_wall()
    header = RecordingHeader(
        device_name=profile.name,
        model=profile.model,
        address="A0:9E:1A:00:00:00",
        firmware=profile.firmware,
        serial=profile.name.split()[-1],
        placement=sim.placement,
        settings={"acc": profile.settings.as_dict()},
        routine=routine,
        start_wall=wall,
        timezone=zone,
        synthetic=True,
        note=f"calfsense simulate, seed {sim.seed}, placement {sim.placement}",
    )
    wall0 = time.time_ns()
    host0 = 10_000_000_000
    count = 0
    with RecordingWriter(path, header, force=force) as writer:
        writer.event("connected", host0 - 1_000_000_000, wall0 - 1_000_000_000)
        for note in notifications(sim, profile, seed=seed, host_start_ns=host0):
            writer.notification(note.char, note.data, note.mono_ns, wall0 + (note.mono_ns - host0))
            count += 1
        writer.event("stopped", host0 + int(sim.time_s[-1] * 1e9) + 500_000_000, wall0 + int(sim.time_s[-1] * 1e9))
    return count


def record_phone_simulation(path: str | Path, sim: Simulation, poll_s: float = 0.5, force: bool = False) -> int:
    """Write a simulated session as a recording of a phone running phyphox, polled as `live --phyphox` polls it.

    The /config answer, then one /get answer every `poll_s` of the phone's clock: all the buffers at first,
    then what is new, in the bytes phyphox for Android writes (its 8-digit numbers); each at the host time
    it would have arrived. Returns the number of /get answers.
    """
    import json

    from calfsense.protocol.phyphox import STOCK_CONFIG, encode_get
    from calfsense.session.recording import CHAR_PHYPHOX_CONFIG, CHAR_PHYPHOX_GET

    wall, zone = now_wall()
    header = RecordingHeader(
        device_name="phyphox",
        model="phyphox (phone)",
        address="http://192.168.1.23:8080",
        placement=sim.placement,
        settings={"phyphox": {"url": "http://192.168.1.23:8080", "experiment": STOCK_CONFIG["title"]}},
        start_wall=wall,
        timezone=zone,
        synthetic=True,
        note=f"calfsense simulate, seed {sim.seed}, placement {sim.placement}, a phone through phyphox",
    )
    wall0 = time.time_ns()
    host0 = 10_000_000_000
    phone_t = sim.time_s - sim.time_s[0] + 0.0047  # the experiment's clock: its first event lands a few ms in
    count = 0
    with RecordingWriter(path, header, force=force) as writer:
        writer.notification(CHAR_PHYPHOX_CONFIG, json.dumps(STOCK_CONFIG).encode(), host0, wall0)
        writer.event("connected", host0, wall0, text="phyphox Acceleration with g")
        sent = 0
        poll = 1
        while sent < len(phone_t):
            until = poll * poll_s
            upto = int(np.searchsorted(phone_t, until, side="right"))
            mode = "full" if sent == 0 else "partial"
            body = encode_get(phone_t[sent:upto], sim.acc_mg[sent:upto], mode, "8eac23")
            mono = host0 + int(until * 1e9) + 20_000_000  # the answer takes ~20 ms over Wi-Fi
            writer.notification(CHAR_PHYPHOX_GET, body, mono, wall0 + (mono - host0))
            sent, poll, count = upto, poll + 1, count + 1
        writer.event("stopped", host0 + int(poll * poll_s * 1e9), wall0 + int(poll * poll_s * 1e9))
    return count


def truth_json(sim: Simulation) -> dict[str, object]:
    """The simulator's ground truth, as written beside a simulated recording."""
    return {
        "synthetic": True,
        "seed": sim.seed,
        "placement": sim.placement,
        "sample_rate_hz": sim.rate_hz,
        "sets": [
            {
                "index": s.index + 1,
                "exercise": s.exercise,
                "side": s.side,
                "start_s": round(s.start_s, 3),
                "end_s": round(s.end_s, 3),
                "reps": s.reps,
            }
            for s in sim.sets
        ],
        "reps": [
            {
                "set": r.set_index + 1,
                "start_s": round(r.start_s, 3),
                "top_s": round(r.top_s, 3),
                "lower_s": round(r.lower_s, 3),
                "end_s": round(r.end_s, 3),
                "height_cm": round(r.height_cm, 2),
                "partial": r.partial,
                "lean": r.lean,
                "bounce": r.bounce,
            }
            for r in sim.reps
        ],
        "confusers": [{"kind": k, "start_s": round(a, 3), "end_s": round(b, 3)} for k, a, b in sim.confusers],
        "gaps": [{"start_s": a, "end_s": b} for a, b in sim.gaps],
    }


def write_csv(path: Path, sim: Simulation, note: str, force: bool = False) -> int:
    """A simulation as a generic CSV (time_s, ax/ay/az in mG, a `#` note first), written privately; its rows."""
    import io

    from calfsense.files import write_private

    rows = np.column_stack([sim.time_s, sim.acc_mg])
    buf = io.StringIO()
    buf.write(f"# synthetic: {note}\n")
    buf.write("time_s,ax_mg,ay_mg,az_mg\n")
    np.savetxt(buf, rows, fmt=["%.5f", "%.0f", "%.0f", "%.0f"], delimiter=",")
    write_private(path, buf.getvalue(), force)
    return len(rows)
