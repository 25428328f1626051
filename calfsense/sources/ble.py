"""Bluetooth: scan, pair and stream a Polar sensor with bleak, reconnecting with backoff.

bleak is imported lazily: replay and reports never touch the Bluetooth stack. Notification callbacks
only stamp the host clock and enqueue (bounded queue, drops counted); one consumer records the raw
payloads, decodes, and hands samples to the sink. The same code runs against a real adapter and the
virtual sensor (`backend=`), which is how it is tested.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from calfsense.devices import MODELS, display_model, unsupported_model
from calfsense.errors import (
    CalfsenseError,
    FrameError,
    PmdError,
    SensorNotFoundError,
)
from calfsense.protocol import gatt, pmd
from calfsense.sources.drivers import BY_PROTOCOL
from calfsense.sources.linkerrors import translate

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backend:
    """Which bleak backend classes to use (None: the platform's real one) and their extra arguments."""

    scanner: type[Any] | None = None
    client: type[Any] | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


def real_backend() -> Backend:
    """The platform's bleak backend; CALFSENSE_BLUEZ_ADAPTER (e.g. hci1) picks a BlueZ adapter."""
    import os

    adapter = os.environ.get("CALFSENSE_BLUEZ_ADAPTER")
    return Backend(kwargs={"bluez": {"adapter": adapter}}) if adapter else Backend()


REAL = Backend()

# The services a sensor streams acceleration through: Polar's PMD and the other sensors' (sources/drivers.py).
_SERVICE = {protocol: driver.service_uuid for protocol, driver in BY_PROTOCOL.items()}
STREAMING_SERVICES = frozenset({pmd.PMD_SERVICE_UUID, *_SERVICE.values()})


def _scanner_kwargs(backend: Backend) -> dict[str, Any]:
    return ({"backend": backend.scanner} if backend.scanner is not None else {}) | backend.kwargs


def _client_kwargs(backend: Backend) -> dict[str, Any]:
    return ({"backend": backend.client} if backend.client is not None else {}) | backend.kwargs


@dataclass(frozen=True, slots=True)
class FoundSensor:
    """One scan result."""

    name: str
    address: str
    rssi: int
    model: str
    streams: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of `calfsense scan --json`."""
        return {
            "name": self.name,
            "address": self.address,
            "rssi": self.rssi,
            "model": self.model,
            "streams": list(self.streams),
        }


async def scan(timeout_s: float = 5.0, show_all: bool = False, backend: Backend = REAL) -> list[FoundSensor]:
    """Sensors around, strongest first: PMD, Heart Rate service or Polar's manufacturer id (all with show_all)."""
    from bleak import BleakScanner

    try:
        found = await BleakScanner.discover(timeout=timeout_s, return_adv=True, **_scanner_kwargs(backend))
    except Exception as exc:
        mapped = translate(exc)
        if mapped is not None:
            raise mapped from exc
        raise
    out = []
    for dev, adv in found.values():
        uuids = {u.lower() for u in adv.service_uuids}
        polar = pmd.POLAR_MANUFACTURER_ID in adv.manufacturer_data or "polar" in (dev.name or "").lower()
        has_pmd = bool(uuids & STREAMING_SERVICES)  # Polar's PMD, or another sensor's acceleration service
        has_hr = gatt.HEART_RATE_SERVICE_UUID in uuids
        other = unsupported_model(adv.local_name or dev.name, uuids)
        if other is not None:
            # Named, not hidden: a runner with a Movesense should learn it is seen, and not yet supported.
            name = adv.local_name or dev.name or ""
            out.append(FoundSensor(name, dev.address, int(adv.rssi), f"{other} (not supported yet)", ()))
            continue
        if not (show_all or has_pmd or has_hr or polar):
            continue
        by_service = next((m for m in MODELS if _SERVICE.get(m.protocol) in uuids), None)
        model = by_service.model if by_service is not None else display_model(adv.local_name or dev.name)
        streams = []
        if has_pmd or model in ("Polar H10", "Polar Verity Sense", "Polar OH1"):
            streams.append("ACC")
        if has_hr or polar:
            streams.append("HR")
        out.append(FoundSensor(adv.local_name or dev.name or "", dev.address, int(adv.rssi), model, tuple(streams)))
    out.sort(key=lambda s: -s.rssi)
    return out


async def find_sensor(target: str | None, timeout_s: float, backend: Backend) -> Any:
    """A BLEDevice by name, name prefix or address (None: the first sensor with PMD)."""
    from bleak import BleakScanner

    def match(dev: Any, adv: Any) -> bool:
        if target is None:
            return bool(STREAMING_SERVICES & {u.lower() for u in adv.service_uuids})
        t = target.lower()
        name = (adv.local_name or dev.name or "").lower()
        return dev.address.lower() == t or name == t or (len(t) >= 3 and t in name)

    try:
        dev = await BleakScanner.find_device_by_filter(match, timeout=timeout_s, **_scanner_kwargs(backend))
    except Exception as exc:
        mapped = translate(exc)
        if mapped is not None:
            raise mapped from exc
        raise
    if dev is None:
        what = f"sensor {target!r}" if target else "a Polar sensor with acceleration streaming"
        raise SensorNotFoundError(f"no {what} answered a {timeout_s:.0f} s scan")
    return dev


@dataclass(frozen=True, slots=True)
class PairedSensor:
    """What pairing learned and saved."""

    name: str
    address: str
    model: str
    firmware: str | None
    serial: str | None
    battery: int | None
    features: tuple[str, ...]
    acc_rates_hz: tuple[int, ...]
    acc_ranges_g: tuple[int, ...]
    placement: str

    def as_dict(self) -> dict[str, Any]:
        """The config-file table."""
        return {
            "name": self.name,
            "address": self.address,
            "model": self.model,
            "firmware": self.firmware or "",
            "serial": self.serial or "",
            "features": list(self.features),
            "acc_rates_hz": list(self.acc_rates_hz),
            "acc_ranges_g": list(self.acc_ranges_g),
            "placement": self.placement,
        }


class ControlPoint:
    """Send PMD commands and await their indications (reassembling `more` continuations)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._asm = pmd.ResponseAssembler()
        self._waiting: asyncio.Future[pmd.ControlPointResponse] | None = None
        self._op = 0
        self.stopped_by_sensor: list[tuple[int, ...]] = []

    def on_indication(self, data: bytes | bytearray) -> None:
        """Feed every control-point indication here."""
        try:
            msg = self._asm.feed(bytes(data))
        except FrameError:
            return
        if isinstance(msg, pmd.MeasurementStopped):
            self.stopped_by_sensor.append(msg.measurements)
        elif isinstance(msg, pmd.ControlPointResponse):
            if self._waiting is not None and not self._waiting.done() and msg.op_code == self._op:
                self._waiting.set_result(msg)
        # FeatureEcho: BlueZ echoing our read; ignored.

    async def request(self, data: bytes, timeout_s: float = 10.0) -> pmd.ControlPointResponse:
        """Write a command with response and wait for the matching answer."""
        loop = asyncio.get_running_loop()
        self._op = data[0]
        self._waiting = loop.create_future()
        await self._client.write_gatt_char(pmd.PMD_CONTROL_POINT_UUID, data, response=True)
        try:
            return await asyncio.wait_for(self._waiting, timeout_s)
        except TimeoutError:
            raise PmdError(
                f"the sensor did not answer command 0x{data[0]:02x} within {timeout_s:.0f} s",
                "reconnect; if it repeats, restart the sensor",
            ) from None


async def read_info(client: Any) -> tuple[gatt.DeviceInformation, int | None, pmd.Features]:
    """Device information, battery and PMD features (read before any subscription: BlueZ echoes reads)."""
    raw: dict[str, bytes] = {}
    for key, uuid in gatt.DEVICE_INFORMATION_UUIDS.items():
        with contextlib.suppress(Exception):
            raw[key] = bytes(await client.read_gatt_char(uuid))
    battery = None
    with contextlib.suppress(Exception):
        battery = gatt.decode_battery_level(await client.read_gatt_char(gatt.BATTERY_LEVEL_UUID))
    try:
        features = pmd.parse_features(bytes(await client.read_gatt_char(pmd.PMD_CONTROL_POINT_UUID)))
    except Exception:
        features = pmd.Features(frozenset())
    return gatt.DeviceInformation.from_raw(raw), battery, features


async def pair(target: str | None, placement: str, backend: Backend = REAL, timeout_s: float = 10.0) -> PairedSensor:
    """Connect, read information, battery, features and ACC settings; bond where the platform needs it."""
    import sys

    from bleak import BleakClient

    dev = await find_sensor(target, timeout_s, backend)
    # Windows answers "insufficient authentication" on the PMD control point without bonding.
    client = BleakClient(dev, pair=sys.platform == "win32", **_client_kwargs(backend))
    try:
        await client.connect()
        info, battery, features = await read_info(client)
        # What it streams: its PMD measurements and, from its own GATT service, heart rate (as scan lists it).
        has_hr = client.services.get_service(gatt.HEART_RATE_SERVICE_UUID) is not None
        rates: tuple[int, ...] = ()
        ranges: tuple[int, ...] = ()
        other = next(
            (m for m in MODELS if m.protocol != "pmd" and client.services.get_service(_SERVICE[m.protocol])), None
        )
        if other is not None:
            # A sensor that is not Polar's (sources/drivers.py): what its model offers, from the registry.
            features = pmd.Features(frozenset({pmd.MeasurementType.ACC}))
            rates, ranges = other.acc_rates_hz, other.acc_ranges_g
        elif features.supports(pmd.MeasurementType.ACC):
            cp = ControlPoint(client)
            await client.start_notify(pmd.PMD_CONTROL_POINT_UUID, lambda _c, d: cp.on_indication(d))
            await client.start_notify(pmd.PMD_DATA_UUID, lambda _c, d: None)
            answer = await cp.request(pmd.build_get_settings(pmd.MeasurementType.ACC))
            if not answer.ok:
                raise PmdError(f"reading the acceleration settings failed: {answer.message()}")
            opts = pmd.parse_settings_options(answer.parameters)
            rates = opts.get(pmd.SettingType.SAMPLE_RATE)
            ranges = opts.get(pmd.SettingType.RANGE)
    except CalfsenseError:
        raise
    except Exception as exc:
        mapped = translate(exc)
        if mapped is not None:
            raise mapped from exc
        raise
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()
    name = dev.name or target or dev.address
    return PairedSensor(
        name=name,
        address=dev.address,
        model=info.model or display_model(name),
        firmware=info.firmware,
        serial=info.serial,
        battery=battery,
        features=tuple(sorted(m.name for m in features.measurements)) + (("HR",) if has_hr else ()),
        acc_rates_hz=rates,
        acc_ranges_g=ranges,
        placement=placement,
    )
