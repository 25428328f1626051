"""A virtual Polar H10 / Verity Sense as a bleak custom backend (bleak 3's `backend=`).

It speaks the real byte protocol: a 17-byte feature read on the PMD control point, GET/START/STOP
answered as indications with the real status codes, ACC frames at the negotiated rate (raw int16 for
an H10, delta-compressed for a Verity Sense) stamped with the device clock, heart rate with RR
intervals, battery and device information. Motion comes from the simulator or a recording, played in
real time or faster. Faults can be injected: drop the link at given times, lose frames, delay the
first frame, refuse START with a status code.

Use: `BleakScanner(backend=VirtualScanner, world=world)` and `BleakClient(dev, backend=VirtualClient,
world=world)`; nothing else in calfsense knows it is not talking to a radio.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from numpy.typing import NDArray

from calfsense.devices import DeviceModel
from calfsense.protocol import gatt, pmd
from calfsense.protocol.encode import encode_acc_compressed, encode_acc_raw
from calfsense.sources import firmware
from calfsense.sources.faults import Faults, connect_error
from calfsense.sources.synthetic import H10, DeviceProfile
from calfsense.sources.virtual_others import ADVERTISED, OTHER_LAYOUTS, OtherFirmware


def _acc_options(device: DeviceModel) -> dict[pmd.SettingType, tuple[int, ...]]:
    """What the sensor answers to GET ACC settings, from the device registry."""
    options = {
        pmd.SettingType.SAMPLE_RATE: device.acc_rates_hz,
        pmd.SettingType.RESOLUTION: (16,),
        pmd.SettingType.RANGE: device.acc_ranges_g,
    }
    if device.acc_channels is not None:
        options[pmd.SettingType.CHANNELS] = (device.acc_channels,)
    return options


# The emulated sensor's GATT table: (service, [(characteristic, properties)]) as an H10 exposes it.
GATT_LAYOUT: list[tuple[str, list[tuple[str, list[str]]]]] = [
    (gatt.DEVICE_INFORMATION_SERVICE_UUID, [(u, ["read"]) for u in gatt.DEVICE_INFORMATION_UUIDS.values()]),
    (gatt.BATTERY_SERVICE_UUID, [(gatt.BATTERY_LEVEL_UUID, ["read", "notify"])]),
    (gatt.HEART_RATE_SERVICE_UUID, [(gatt.HEART_RATE_MEASUREMENT_UUID, ["notify"])]),
    (
        pmd.PMD_SERVICE_UUID,
        [(pmd.PMD_CONTROL_POINT_UUID, ["read", "write", "indicate"]), (pmd.PMD_DATA_UUID, ["notify"])],
    ),
]


def gatt_layout(profile: DeviceProfile) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """The GATT table a sensor of this profile exposes (the other sensors': sources/virtual_others.py)."""
    return OTHER_LAYOUTS.get(profile.device.protocol, GATT_LAYOUT)


@dataclass
class Motion:
    """Acceleration (mG) and heart rate (bpm) over sensor time, from the simulator or a recording."""

    time_s: NDArray[np.float64]
    acc_mg: NDArray[np.float64]
    hr_time_s: NDArray[np.float64]
    hr_bpm: NDArray[np.float64]
    gaps: tuple[tuple[float, float], ...] = ()  # radio losses in the source: those frames are lost again

    def in_gap(self, t_s: float) -> bool:
        """True when the source had no data at this time."""
        return any(a <= t_s < b for a, b in self.gaps)

    @property
    def duration_s(self) -> float:
        """Length of the motion."""
        return float(self.time_s[-1])

    def acc_at(self, t_s: NDArray[np.float64]) -> NDArray[np.int64]:
        """Integer mG at the sensor's sample times (held at the ends)."""
        cols = [np.interp(t_s, self.time_s, self.acc_mg[:, k]) for k in range(3)]
        result: NDArray[np.int64] = np.round(np.stack(cols, -1)).astype(np.int64)
        return result

    def hr_at(self, t_s: float) -> float:
        """Heart rate at a time (the last reading)."""
        if len(self.hr_bpm) == 0:
            return 70.0
        i = int(np.searchsorted(self.hr_time_s, t_s, side="right")) - 1
        return float(self.hr_bpm[max(0, i)])


class VirtualSensor:
    """The sensor's state machine: GATT table, PMD control point, streaming and faults."""

    def __init__(
        self,
        motion: Motion,
        profile: DeviceProfile = H10,
        address: str = "A0:9E:1A:5A:1F:0C",
        speed: float = 1.0,
        faults: Faults | None = None,
        battery: int = 87,
        rssi: int = -58,
    ) -> None:
        self.motion = motion
        self.profile = profile
        self.address = address
        self.name = profile.name
        self.speed = speed
        self.faults = faults or Faults()
        self.failed_since_drop = 0  # connect attempts failed on purpose since the last drop (Faults.errors_per_drop)
        self.battery = battery
        self.rssi = rssi
        self.connected = False
        self.reachable = True
        self.measuring = False
        self.settings: pmd.MeasurementSettings | None = None
        self.frames_sent = 0
        self.frames_lost = 0
        self.frames_reordered = 0  # sent after the frame that followed them
        self._held: bytes | None = None
        self.notify: dict[str, Callable[[bytes], None]] = {}
        self.on_disconnect: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._rng = np.random.default_rng(7)
        self._sensor_t0: float | None = None  # host monotonic when the measurement first started
        self._next_sample = 0
        self._starts = 0
        self._drops_done = 0
        self.device_epoch_ns = pmd.H10_DEFAULT_CLOCK_NS + 7_200_000_000_000
        self.indications: list[bytes] = []  # every control-point answer, for tests
        self.hr_task: asyncio.Task[None] | None = None
        # Not a Polar: the other sensor's firmware answers reads and writes (sources/virtual_others.py).
        self.firmware = OtherFirmware(self) if profile.device.protocol != "pmd" else None

    # -- GATT ------------------------------------------------------------------------------

    def read(self, uuid: str) -> bytes:
        """Answer a characteristic read."""
        if self.firmware is not None:
            answer = self.firmware.read(uuid)
            if answer is not None:
                return answer
        if uuid == pmd.PMD_CONTROL_POINT_UUID and self.firmware is None:
            return pmd.encode_features(self.profile.device.measurements)
        if uuid == gatt.BATTERY_LEVEL_UUID:
            return bytes([self.battery])
        info = {
            "manufacturer": self.profile.device.manufacturer,
            "model": self.profile.model,
            "serial": self.name.split()[-1],
            "hardware_revision": "39044024.10",
            "firmware_revision": "5.0.0" if self.profile.model == "H10" else self.profile.firmware,
            "software_revision": self.profile.firmware,
        }
        for key, char_uuid in gatt.DEVICE_INFORMATION_UUIDS.items():
            if uuid == char_uuid:
                return info[key].encode()
        raise BleakError(f"characteristic {uuid} cannot be read")

    def write(self, uuid: str, data: bytes) -> None:
        """A control-point write: answer with an indication, as the sensor does."""
        if self.firmware is not None:
            self.firmware.write(uuid, data)
            return
        if uuid != pmd.PMD_CONTROL_POINT_UUID:
            raise BleakError(f"characteristic {uuid} cannot be written")
        if pmd.PMD_CONTROL_POINT_UUID not in self.notify:
            # The SDK refuses commands before indications are on; the sensor would never answer.
            raise BleakError("control point indications are not enabled")
        try:
            op, meas, params = pmd.parse_request(data)
        except Exception:
            self._indicate(pmd.build_response(data[0] if data else 0, 0, pmd.PmdStatus.ERROR_INVALID_OP_CODE))
            return
        if meas is not pmd.MeasurementType.ACC:
            self._indicate(pmd.build_response(op, int(meas), pmd.PmdStatus.ERROR_NOT_SUPPORTED))
            return
        options = _acc_options(self.profile.device)
        if op is pmd.OpCode.GET_MEASUREMENT_SETTINGS:
            body = pmd.encode_settings_options(options)
            half = len(body) // 2
            # Long answers come in two indications joined by the `more` flag, as the SDK expects.
            self._indicate(pmd.build_response(op, int(meas), 0, body[:half], more=True))
            self._indicate(pmd.build_response(op, int(meas), 0, body[half:]))
        elif op is pmd.OpCode.REQUEST_MEASUREMENT_START:
            self._start(op, meas, params, options)
        elif op is pmd.OpCode.STOP_MEASUREMENT:
            self._stop()
            self._indicate(pmd.build_response(op, int(meas), 0))
        else:
            self._indicate(pmd.build_response(op, int(meas), pmd.PmdStatus.ERROR_NOT_SUPPORTED))

    def begin(self, rate_hz: int, range_g: int, resolution: int = 16) -> None:
        """Start streaming at a rate (what the other sensors' firmware does when told: virtual_others.py)."""
        self._starts += 1
        self.settings = pmd.MeasurementSettings(rate_hz, resolution, range_g, 3)
        self.measuring = True
        if self._sensor_t0 is None:
            self._sensor_t0 = time.monotonic() + self.faults.first_frame_delay_s / self.speed
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._stream())

    def halt(self) -> None:
        """Stop streaming."""
        self._stop()

    def recount(self, rate_hz: int) -> None:
        """The sample count goes on at a new rate from now (a WitMotion's rate changed while it streams)."""
        self._next_sample = int(self.sensor_time_s() * rate_hz)

    def notify_later(self, uuid: str, data: bytes) -> None:
        """A notification, sent as the sensor would: after the write that caused it returns."""
        cb = self.notify.get(uuid)
        if cb is not None:
            asyncio.get_running_loop().call_soon(cb, data)

    def subscribed(self, uuid: str) -> None:
        """A client turned notifications on (a WitMotion or a Thingy streams from then on)."""
        if self.firmware is not None:
            self.firmware.subscribed(uuid)

    def _start(
        self, op: pmd.OpCode, meas: pmd.MeasurementType, params: bytes, options: dict[pmd.SettingType, tuple[int, ...]]
    ) -> None:
        self._starts += 1
        refuse = self.faults.refuse_start or (self.faults.refuse_start_once if self._starts == 1 else None)
        if refuse is not None:
            self._indicate(pmd.build_response(op, int(meas), refuse))
            return
        if self.measuring:
            self._indicate(pmd.build_response(op, int(meas), pmd.PmdStatus.ERROR_ALREADY_IN_STATE))
            return
        try:
            chosen = pmd.parse_settings(params)
        except Exception:
            self._indicate(pmd.build_response(op, int(meas), pmd.PmdStatus.ERROR_INVALID_LENGTH))
            return
        # A partial settings set is refused, as real sensors do (sdk#124).
        for setting in options:
            if setting not in chosen or len(chosen[setting]) != 1 or chosen[setting][0] not in options[setting]:
                code = {
                    pmd.SettingType.SAMPLE_RATE: pmd.PmdStatus.ERROR_INVALID_SAMPLE_RATE,
                    pmd.SettingType.RESOLUTION: pmd.PmdStatus.ERROR_INVALID_RESOLUTION,
                    pmd.SettingType.RANGE: pmd.PmdStatus.ERROR_INVALID_RANGE,
                    pmd.SettingType.CHANNELS: pmd.PmdStatus.ERROR_INVALID_NUMBER_OF_CHANNELS,
                }[setting]
                self._indicate(pmd.build_response(op, int(meas), code))
                return
        rate = int(chosen[pmd.SettingType.SAMPLE_RATE][0])
        self.settings = pmd.MeasurementSettings(
            rate,
            16,
            int(chosen[pmd.SettingType.RANGE][0]),
            int(chosen[pmd.SettingType.CHANNELS][0]) if pmd.SettingType.CHANNELS in chosen else None,
        )
        self.measuring = True
        # An H10 answers with a one-byte reserved block; this Verity firmware sends no FACTOR (mG frames).
        self._indicate(pmd.build_response(op, int(meas), 0, b"\x01" if self.profile.model == "H10" else b""))
        if self._sensor_t0 is None:
            self._sensor_t0 = time.monotonic() + self.faults.first_frame_delay_s / self.speed
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._stream())

    def _stop(self) -> None:
        self.measuring = False

    def _indicate(self, data: bytes) -> None:
        self.indications.append(data)
        cb = self.notify.get(pmd.PMD_CONTROL_POINT_UUID)
        if cb is not None:
            asyncio.get_running_loop().call_soon(cb, data)

    def sensor_time_s(self) -> float:
        """Seconds of motion played since the measurement first started."""
        if self._sensor_t0 is None:
            return 0.0
        return max(0.0, (time.monotonic() - self._sensor_t0) * self.speed)

    async def _stream(self) -> None:
        """Send frames on the negotiated schedule while measuring (and while connected)."""
        assert self.settings is not None
        protocol = self.profile.device.protocol
        while True:
            # Read each time: a WitMotion's rate can be changed while it streams.
            rate = self.settings.sample_rate_hz
            polar_frame = 57 if self.profile.compressed else 36
            per_frame = firmware.samples_per_send(protocol, rate) if protocol != "pmd" else polar_frame
            if not self.measuring:
                await asyncio.sleep(0.02)
                if not self.measuring and not self.connected:
                    return
                continue
            now = self.sensor_time_s()
            due = (self._next_sample + per_frame) / rate
            if now < due:
                await asyncio.sleep(min(0.05, (due - now) / self.speed))
                continue
            if due > self.motion.duration_s:
                return  # the motion is over: the sensor falls silent
            self._check_drop(due)
            n0 = self._next_sample
            t = (np.arange(n0, n0 + per_frame) / rate).astype(np.float64)
            samples = self.motion.acc_at(t)
            last_ns = self.device_epoch_ns + int(round(t[-1] * 1e9))
            self._next_sample += per_frame
            lost = self.motion.in_gap(float(t[-1])) or self.motion.in_gap(float(t[0]))
            if lost or (self.faults.lose_frame_prob and self._rng.random() < self.faults.lose_frame_prob):
                self.frames_lost += 1
                continue
            parts: list[bytes]
            if protocol != "pmd":
                # Another sensor's firmware (sources/firmware.py): its own clock, packets and units.
                first_ns = self.device_epoch_ns + int(round(t[0] * 1e9))
                ref = self.firmware.ref if self.firmware is not None else 0
                sent = firmware.emit(protocol, samples.astype(np.float64), n0, first_ns, self.settings.range or 8, ref)
                parts, data_uuid = sent.notifications, sent.data_uuid
            else:
                parts = [
                    encode_acc_compressed(samples, last_ns)
                    if self.profile.compressed
                    else encode_acc_raw(samples, last_ns)
                ]
                data_uuid = pmd.PMD_DATA_UUID
            cb = self.notify.get(data_uuid)
            if not (self.connected and cb is not None):
                continue
            if len(parts) > 1:  # a send in several notifications goes out as one, in order
                self.frames_sent += 1
                for part in parts:
                    cb(part)
                continue
            frame = parts[0]
            if self._held is None and self.faults.reorder_prob and self._rng.random() < self.faults.reorder_prob:
                self._held = frame  # sent after the next one: out of order
                continue
            self.frames_sent += 1
            cb(frame)
            if self._held is not None:
                held, self._held = self._held, None
                self.frames_sent += 1
                self.frames_reordered += 1
                cb(held)

    def _check_drop(self, t_s: float) -> None:
        drops = self.faults.drop_link_at_s
        if self._drops_done < len(drops) and t_s >= drops[self._drops_done]:
            self._drops_done += 1
            self.drop_link()

    def drop_link(self) -> None:
        """The sensor ends the connection (out of range, strap off); reachable again after a while."""
        if not self.connected:
            return
        self.connected = False
        self.reachable = False
        self.notify.clear()
        if not self.faults.keep_streaming_after_drop:
            self.measuring = False
        self.failed_since_drop = 0
        if self._held is not None:  # the frame held back to be sent late never goes out
            self._held = None
            self.frames_lost += 1
        if self.faults.clock_reset_on_drop:
            self.device_epoch_ns = pmd.H10_DEFAULT_CLOCK_NS - int(round(self.sensor_time_s() * 1e9))
        cb, self.on_disconnect = self.on_disconnect, None
        loop = asyncio.get_running_loop()
        if cb is not None:
            loop.call_soon(cb)
        loop.call_later(self.faults.link_down_s / max(1.0, self.speed) + 0.05, self._reachable_again)

    def _reachable_again(self) -> None:
        self.reachable = True

    async def _heart_rate(self) -> None:
        """1 Hz heart rate with RR intervals while connected and subscribed."""
        while self.connected:
            cb = self.notify.get(gatt.HEART_RATE_MEASUREMENT_UUID)
            if cb is not None:
                bpm = self.motion.hr_at(self.sensor_time_s())
                rr = int(round(60.0 / max(30.0, bpm) * 1024))
                cb(gatt.encode_heart_rate(int(round(bpm)), [rr]))
            await asyncio.sleep(1.0 / self.speed)

    def advertisement(self) -> AdvertisementData:
        """What a scan sees."""
        protocol = self.profile.device.protocol
        uuids = (
            [ADVERTISED[protocol]] if protocol in ADVERTISED else [gatt.HEART_RATE_SERVICE_UUID, pmd.PMD_SERVICE_UUID]
        )
        polar = protocol == "pmd"
        return AdvertisementData(
            local_name=self.name,
            manufacturer_data={pmd.POLAR_MANUFACTURER_ID: b"\x3f\x00\x00\x00"} if polar else {},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=self.rssi,
            platform_data=(),
        )


@dataclass
class VirtualWorld:
    """The sensors within radio range of the virtual adapter."""

    sensors: list[VirtualSensor] = field(default_factory=list)
    adapter_on: bool = True

    def find(self, address: str) -> VirtualSensor | None:
        """A sensor by address or name."""
        for s in self.sensors:
            if s.address.lower() == address.lower() or s.name == address:
                return s
        return None


class VirtualScanner(BaseBleakScanner):
    """Scanner backend: every reachable, unconnected virtual sensor advertises."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        world: VirtualWorld,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._world = world
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self._world.adapter_on:
            from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason

            raise BleakBluetoothNotAvailableError("Bluetooth is off", BleakBluetoothNotAvailableReason.POWERED_OFF)
        self.seen_devices = {}
        self._task = asyncio.get_running_loop().create_task(self._advertise())

    async def _advertise(self) -> None:
        while True:
            for s in self._world.sensors:
                if s.reachable and not s.connected:
                    adv = s.advertisement()
                    if self.is_allowed_uuid(adv.service_uuids):
                        dev = self.create_or_update_device(s.address, s.address, s.name, s, adv)
                        self.call_detection_callbacks(dev, adv)
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


class VirtualClient(BaseBleakClient):
    """Client backend: connects to a virtual sensor and exposes its GATT table."""

    def __init__(self, address_or_ble_device: BLEDevice | str, *, world: VirtualWorld, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=float(kwargs.get("timeout", 10.0)),
        )
        self._world = world
        self._sensor: VirtualSensor | None = None
        self._chars: dict[str, BleakGATTCharacteristic] = {}

    @property
    def name(self) -> str:
        return self._sensor.name if self._sensor else self.address

    @property
    def mtu_size(self) -> int:
        return 232

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        sensor = self._world.find(self.address)
        if sensor is None or not sensor.reachable:
            raise BleakError(f"Device with address {self.address} was not found")
        limit = sensor.faults.errors_per_drop
        if sensor.faults.connect_errors and sensor._starts > 0 and (limit is None or sensor.failed_since_drop < limit):
            sensor.failed_since_drop += 1  # the first connect works; reconnects fail first
            raise connect_error(sensor.faults.connect_errors.pop(0))
        if sensor.connected:
            raise BleakError("device is busy: already connected to another client")
        await asyncio.sleep(0.01)
        sensor.connected = True
        sensor.on_disconnect = self._remote_disconnect
        self._sensor = sensor
        self.services = self._build_services()
        sensor.hr_task = asyncio.get_running_loop().create_task(sensor._heart_rate())

    def _build_services(self) -> BleakGATTServiceCollection:
        coll = BleakGATTServiceCollection()
        handle = 1
        assert self._sensor is not None
        for svc_uuid, chars in gatt_layout(self._sensor.profile):
            svc = BleakGATTService(None, handle, svc_uuid)
            coll.add_service(svc)
            handle += 1
            for char_uuid, props in chars:
                ch = BleakGATTCharacteristic(None, handle, char_uuid, props, lambda: 229, svc)  # type: ignore[arg-type]
                coll.add_characteristic(ch)
                self._chars[char_uuid] = ch
                handle += 2
        return coll

    def _remote_disconnect(self) -> None:
        self._sensor = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        sensor, self._sensor = self._sensor, None
        if sensor is not None:
            sensor.connected = False
            sensor.on_disconnect = None
            sensor.notify.clear()
            if sensor.hr_task is not None:
                sensor.hr_task.cancel()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        return None  # the virtual sensor needs no bonding

    async def unpair(self) -> None:
        return None

    @property
    def is_connected(self) -> bool:
        return self._sensor is not None and self._sensor.connected

    def _need(self) -> VirtualSensor:
        if self._sensor is None or not self._sensor.connected:
            raise BleakError("Not connected")
        return self._sensor

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        return bytearray(self._need().read(characteristic.uuid))

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any) -> bytearray:
        raise BleakError("no descriptors on the virtual sensor")

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        await asyncio.sleep(0)
        self._need().write(characteristic.uuid, bytes(data))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        raise BleakError("no descriptors on the virtual sensor")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: Callable[[bytearray], None], **kwargs: Any
    ) -> None:
        sensor = self._need()
        sensor.notify[characteristic.uuid] = lambda data: callback(bytearray(data))
        sensor.subscribed(characteristic.uuid)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        if self._sensor is not None:
            self._sensor.notify.pop(characteristic.uuid, None)


def motion_from_simulation(sim: Any) -> Motion:
    """Motion of a `Simulation`."""
    hr_t = np.arange(len(sim.hr_bpm), dtype=np.float64)
    return Motion(
        np.asarray(sim.time_s),
        np.asarray(sim.acc_mg, dtype=np.float64),
        hr_t,
        np.asarray(sim.hr_bpm, dtype=np.float64),
        tuple(sim.gaps),
    )


def motion_from_session(session: Any) -> Motion:
    """Motion of a loaded recording (any format), with its radio gaps."""
    return Motion(
        np.asarray(session.time_s),
        np.asarray(session.acc_mg, dtype=np.float64),
        np.asarray(session.hr_time_s),
        np.asarray(session.hr_bpm),
        tuple(session.gaps),
    )
