"""Sensors that are not Polar's: how to start and stop each over GATT, and which decoder reads its data.

A DIY board on the calfsense IMU profile, Movesense, MetaWear / MetaMotion, WitMotion and Thingy:52.

Polar's PMD lives in `sources/stream.py` (its control point, settings negotiation and factor); every other
sensor is a `Driver` here, picked by the service it offers. A driver subscribes its data characteristic
through the session's `enqueue` (so every notification is recorded raw under `data_char`), configures and
starts the sensor, and stops it on the way out. Its frames are decoded by the pure protocol module's
`StreamDecoder`, the same one `session/decode.py` replays the recording with (`DECODERS`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from calfsense.errors import FrameError, PmdError
from calfsense.protocol import csimu, metawear, movesense, thingy, witmotion
from calfsense.protocol.pmd import MeasurementSettings
from calfsense.session.decode import DECODERS, FrameDecoder
from calfsense.session.recording import (
    CHAR_CSIMU_DATA,
    CHAR_METAWEAR_DATA,
    CHAR_MOVESENSE_DATA,
    CHAR_THINGY_DATA,
    CHAR_WITMOTION_DATA,
)

Notify = Callable[[Any, bytearray], None]
Enqueue = Callable[[str], Notify]  # the session's: a notification callback that records under a name


class Driver(Protocol):
    """How to stream acceleration from one family of sensors."""

    protocol: str  # its name in recordings' settings ("csimu", "movesense")
    service_uuid: str  # what it offers that tells it apart
    data_uuid: str  # the characteristic its data come on
    data_char: str  # the recording's name for its data notifications

    async def start(
        self, client: Any, enqueue: Callable[[str], Notify], rate_hz: int, range_g: int
    ) -> MeasurementSettings:
        """Subscribe, configure and start; the settings it streams at."""

    async def stop(self, client: Any) -> None:
        """Stop streaming (quitting)."""


def decoder(driver: Driver, settings: MeasurementSettings, time_scale: float = 1.0) -> FrameDecoder:
    """The decoder for a driver's data at the settings it took (`time_scale`: a virtual sensor's speed)."""
    return DECODERS[driver.data_char](float(settings.sample_rate_hz), time_scale, settings.range or 8)


@dataclass
class CsImuDriver:
    """A DIY board on the calfsense IMU profile (firmware_notes/diy-imu.md)."""

    protocol: str = "csimu"
    service_uuid: str = csimu.SERVICE_UUID
    data_uuid: str = csimu.DATA_UUID
    data_char: str = CHAR_CSIMU_DATA

    async def start(
        self, client: Any, enqueue: Callable[[str], Notify], rate_hz: int, range_g: int
    ) -> MeasurementSettings:
        """Settings written and read back (what it took times the samples), data subscribed, START."""
        chosen = csimu.choose_settings(rate_hz, range_g)
        await client.write_gatt_char(csimu.SETTINGS_UUID, chosen.encode(), response=True)
        taken = csimu.decode_settings(bytes(await client.read_gatt_char(csimu.SETTINGS_UUID)))
        await client.start_notify(csimu.DATA_UUID, enqueue(self.data_char))
        await client.write_gatt_char(csimu.CONTROL_UUID, csimu.START, response=True)
        return MeasurementSettings(taken.rate_hz, 16, taken.range_g, 3, 1.0)

    async def stop(self, client: Any) -> None:
        """STOP (a board streams until told, or until its battery dies)."""
        await client.write_gatt_char(csimu.CONTROL_UUID, csimu.STOP, response=True)


@dataclass
class MovesenseDriver:
    """A Movesense on its GATT SensorData Protocol (firmware_notes/movesense.md)."""

    protocol: str = "movesense"
    service_uuid: str = movesense.SERVICE_UUID
    data_uuid: str = movesense.DATA_UUID
    data_char: str = CHAR_MOVESENSE_DATA
    ref: int = 0x63  # our client reference: its data and results carry it back

    async def start(
        self, client: Any, enqueue: Callable[[str], Notify], rate_hz: int, range_g: int
    ) -> MeasurementSettings:
        """HELLO answered, then SUBSCRIBE /Meas/Acc/<rate> answered 200 (its range is fixed by the app: +-8 g)."""
        rate = movesense.choose_rate(rate_hz)
        record = enqueue(self.data_char)
        results: asyncio.Queue[movesense.Result] = asyncio.Queue()

        def on_data(sender: Any, data: bytearray) -> None:
            record(sender, data)
            if data and data[0] == movesense.RESULT:
                with contextlib.suppress(Exception):
                    results.put_nowait(movesense.parse_result(bytes(data)))

        await client.start_notify(movesense.DATA_UUID, on_data)
        for command, what in (
            (movesense.hello(self.ref), "HELLO"),
            (movesense.subscribe_acc(self.ref, rate), "SUBSCRIBE"),
        ):
            await client.write_gatt_char(movesense.COMMAND_UUID, command, response=True)
            try:
                answer = await asyncio.wait_for(results.get(), 5.0)
            except TimeoutError:
                raise PmdError(f"the Movesense did not answer {what}", "is gatt_sensordata_app on it?") from None
            if answer.status != 200:
                raise PmdError(f"the Movesense refused {what} (status {answer.status})", "update its firmware")
        return MeasurementSettings(rate, 32, 8, 3, 1.0)

    async def stop(self, client: Any) -> None:
        """UNSUBSCRIBE."""
        await client.write_gatt_char(movesense.COMMAND_UUID, movesense.unsubscribe(self.ref), response=True)


@dataclass
class MetaWearDriver:
    """An MbientLab MetaWear / MetaMotion board's accelerometer module (firmware_notes/metawear.md)."""

    protocol: str = "metawear"
    service_uuid: str = metawear.SERVICE_UUID
    data_uuid: str = metawear.NOTIFY_UUID
    data_char: str = CHAR_METAWEAR_DATA

    async def start(self, client: Any, enqueue: Enqueue, rate_hz: int, range_g: int) -> MeasurementSettings:
        """The module info read first (BMI160 or BMI270: their codes differ), then configure, subscribe, start."""
        record = enqueue(self.data_char)
        answers: asyncio.Queue[bytes] = asyncio.Queue()

        def on_data(sender: Any, data: bytearray) -> None:
            record(sender, data)
            if len(data) >= 2 and data[0] == metawear.ACC_MODULE and data[1] == metawear.INFO:
                answers.put_nowait(bytes(data))

        await client.start_notify(metawear.NOTIFY_UUID, on_data)
        await client.write_gatt_char(metawear.COMMAND_UUID, metawear.read_info(), response=False)
        try:
            chip = metawear.parse_info(await asyncio.wait_for(answers.get(), 5.0))
        except TimeoutError:
            raise PmdError("the MetaWear did not say which accelerometer it has", "restart the board") from None
        except FrameError as exc:
            raise PmdError(str(exc), "calfsense streams from BMI160 and BMI270 boards (MetaMotion)") from None
        config = metawear.choose(chip, rate_hz, range_g)
        for command in config.start():
            await client.write_gatt_char(metawear.COMMAND_UUID, command, response=False)
        return MeasurementSettings(config.rate_hz, 16, config.range_g, 3, 1.0)

    async def stop(self, client: Any) -> None:
        """Stop the accelerometer and its data interrupt."""
        for command in metawear.AccConfig.stop():
            await client.write_gatt_char(metawear.COMMAND_UUID, command, response=False)


@dataclass
class WitMotionDriver:
    """A WitMotion BWT901BLE / WT9011DCL (firmware_notes/witmotion.md)."""

    protocol: str = "witmotion"
    service_uuid: str = witmotion.SERVICE_UUID
    data_uuid: str = witmotion.NOTIFY_UUID
    data_char: str = CHAR_WITMOTION_DATA

    async def start(self, client: Any, enqueue: Enqueue, rate_hz: int, range_g: int) -> MeasurementSettings:
        """Unlock and set the output rate (not saved: the sensor keeps its own default); it streams at once."""
        rate = witmotion.choose_rate(rate_hz)
        await client.start_notify(witmotion.NOTIFY_UUID, enqueue(self.data_char))
        await client.write_gatt_char(witmotion.WRITE_UUID, witmotion.UNLOCK, response=True)
        await client.write_gatt_char(witmotion.WRITE_UUID, witmotion.set_rate(rate), response=True)
        return MeasurementSettings(rate, 16, witmotion.RANGE_G, 3, 1.0)

    async def stop(self, client: Any) -> None:
        """Back to its 10 Hz default (it streams whenever connected; unsubscribing follows)."""
        await client.write_gatt_char(witmotion.WRITE_UUID, witmotion.set_rate(10), response=True)


@dataclass
class ThingyDriver:
    """A Nordic Thingy:52's raw motion data (firmware_notes/thingy52.md)."""

    protocol: str = "thingy"
    service_uuid: str = thingy.SERVICE_UUID
    data_uuid: str = thingy.RAW_UUID
    data_char: str = CHAR_THINGY_DATA

    async def start(self, client: Any, enqueue: Enqueue, rate_hz: int, range_g: int) -> MeasurementSettings:
        """The motion processing frequency written (the other intervals kept), then raw data subscribed."""
        rate = thingy.choose_rate(rate_hz)
        current = thingy.decode_config(bytes(await client.read_gatt_char(thingy.CONFIG_UUID)))
        wanted = thingy.MotionConfig(
            current.step_interval_ms, current.temperature_interval_ms, current.compass_interval_ms, rate, False
        )
        await client.write_gatt_char(thingy.CONFIG_UUID, wanted.encode(), response=True)
        await client.start_notify(thingy.RAW_UUID, enqueue(self.data_char))
        return MeasurementSettings(rate, 16, 8, 3, 1.0)

    async def stop(self, client: Any) -> None:
        """Nothing to stop: unsubscribing ends the stream."""


DRIVERS: tuple[Driver, ...] = (CsImuDriver(), MovesenseDriver(), MetaWearDriver(), WitMotionDriver(), ThingyDriver())
# By protocol name: what scan, the virtual sensor and the simulator read each one's UUIDs and names from.
BY_PROTOCOL: dict[str, Driver] = {d.protocol: d for d in DRIVERS}


def driver_for(services: set[str]) -> Driver | None:
    """The driver for a connected sensor's services, if any (None: Polar's PMD, or nothing known)."""
    return next((d for d in DRIVERS if d.service_uuid in services), None)
