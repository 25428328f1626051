"""The virtual sensor's firmware for the sensors that are not Polar's: a DIY board on the calfsense IMU
profile, Movesense, MetaWear, WitMotion and Thingy:52. Their GATT tables, and how each answers reads,
writes and subscriptions; what each streams is `firmware.py`'s. The sensor itself (clock, stream, link,
faults) is `virtual.py`'s `VirtualSensor`, the `host` here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bleak.exc import BleakError

from calfsense.protocol import csimu, gatt, metawear, movesense, thingy, witmotion
from calfsense.sources.drivers import BY_PROTOCOL

if TYPE_CHECKING:
    from calfsense.sources.virtual import VirtualSensor

Layout = list[tuple[str, list[tuple[str, list[str]]]]]

# A DIY board on the calfsense IMU profile (firmware_notes/diy-imu.md): device information, battery, and
# the profile's service; no heart rate.
CSIMU_LAYOUT: Layout = [
    (gatt.DEVICE_INFORMATION_SERVICE_UUID, [(u, ["read"]) for u in gatt.DEVICE_INFORMATION_UUIDS.values()]),
    (gatt.BATTERY_SERVICE_UUID, [(gatt.BATTERY_LEVEL_UUID, ["read", "notify"])]),
    (
        csimu.SERVICE_UUID,
        [
            (csimu.DATA_UUID, ["notify"]),
            (csimu.SETTINGS_UUID, ["read", "write"]),
            (csimu.CONTROL_UUID, ["write"]),
        ],
    ),
]


# A Movesense running gatt_sensordata_app (firmware_notes/movesense.md): the protocol's service; no heart rate.
MOVESENSE_LAYOUT: Layout = [
    (gatt.DEVICE_INFORMATION_SERVICE_UUID, [(u, ["read"]) for u in gatt.DEVICE_INFORMATION_UUIDS.values()]),
    (gatt.BATTERY_SERVICE_UUID, [(gatt.BATTERY_LEVEL_UUID, ["read", "notify"])]),
    (
        movesense.SERVICE_UUID,
        [(movesense.COMMAND_UUID, ["write", "write-without-response"]), (movesense.DATA_UUID, ["notify"])],
    ),
]


_INFO_AND_BATTERY: Layout = [
    (gatt.DEVICE_INFORMATION_SERVICE_UUID, [(u, ["read"]) for u in gatt.DEVICE_INFORMATION_UUIDS.values()]),
    (gatt.BATTERY_SERVICE_UUID, [(gatt.BATTERY_LEVEL_UUID, ["read", "notify"])]),
]
# MetaWear: one command characteristic and one notify characteristic under its service.
METAWEAR_LAYOUT = _INFO_AND_BATTERY + [
    (
        metawear.SERVICE_UUID,
        [(metawear.COMMAND_UUID, ["write", "write-without-response"]), (metawear.NOTIFY_UUID, ["notify"])],
    )
]
# WitMotion: ffe4 notify and ffe9 write, on its 9a-based UUIDs.
WITMOTION_LAYOUT = _INFO_AND_BATTERY + [
    (witmotion.SERVICE_UUID, [(witmotion.NOTIFY_UUID, ["notify"]), (witmotion.WRITE_UUID, ["write"])])
]
# Thingy:52: the motion service's configuration and raw data.
THINGY_LAYOUT = _INFO_AND_BATTERY + [
    (thingy.SERVICE_UUID, [(thingy.CONFIG_UUID, ["read", "write"]), (thingy.RAW_UUID, ["notify"])])
]


OTHER_LAYOUTS: dict[str, Layout] = {
    "csimu": CSIMU_LAYOUT,
    "movesense": MOVESENSE_LAYOUT,
    "metawear": METAWEAR_LAYOUT,
    "witmotion": WITMOTION_LAYOUT,
    "thingy": THINGY_LAYOUT,
}
# The service each one advertises (what `scan` recognises it by).
ADVERTISED = {protocol: driver.service_uuid for protocol, driver in BY_PROTOCOL.items()}


class OtherFirmware:
    """One emulated non-Polar sensor's firmware state and its answers."""

    def __init__(self, host: VirtualSensor) -> None:
        self.host = host
        self.protocol = host.profile.device.protocol
        self.board_settings = csimu.ImuSettings(host.profile.rate_hz, 8)  # a DIY board's, until written
        self.ref = 0  # a Movesense's subscriber's reference, carried by its data
        self.metawear_config = metawear.AccConfig(metawear.Chip.BMI160, 100, 8)
        self.witmotion_unlocked = False
        self.thingy_config = thingy.MotionConfig(motion_hz=host.profile.rate_hz)

    def read(self, uuid: str) -> bytes | None:
        """Its own characteristics' reads (None: a standard one, the host answers)."""
        if self.protocol == "csimu" and uuid == csimu.SETTINGS_UUID:
            return self.board_settings.encode_read()
        if self.protocol == "thingy" and uuid == thingy.CONFIG_UUID:
            return self.thingy_config.encode()
        return None

    def write(self, uuid: str, data: bytes) -> None:
        """A write to it."""
        {
            "csimu": self._board_write,
            "movesense": self._movesense_write,
            "metawear": self._metawear_write,
            "witmotion": self._witmotion_write,
            "thingy": self._thingy_write,
        }[self.protocol](uuid, data)

    def subscribed(self, uuid: str) -> None:
        """A client turned notifications on: a WitMotion or a Thingy streams from then on."""
        host = self.host
        if self.protocol == "witmotion" and uuid == witmotion.NOTIFY_UUID and not host.measuring:
            host.begin(host.settings.sample_rate_hz if host.settings else 10, witmotion.RANGE_G)
        elif self.protocol == "thingy" and uuid == thingy.RAW_UUID and not host.measuring:
            host.begin(self.thingy_config.motion_hz, 8)

    def _board_write(self, uuid: str, data: bytes) -> None:
        """The calfsense IMU profile: settings (a rate or range it lacks is a GATT error), START and STOP."""
        if uuid == csimu.SETTINGS_UUID:
            try:
                wanted = csimu.decode_settings(data)
            except Exception:
                raise BleakError("settings write of the wrong length (ATT error 0x0d)") from None
            if wanted.rate_hz not in csimu.RATES_HZ or wanted.range_g not in csimu.RANGES_G:
                raise BleakError("settings out of range (ATT error 0x13, value not allowed)")
            if not self.host.measuring:
                self.board_settings = csimu.ImuSettings(wanted.rate_hz, wanted.range_g)
            return
        if uuid != csimu.CONTROL_UUID:
            raise BleakError(f"characteristic {uuid} cannot be written")
        if data == csimu.START:
            s = self.board_settings
            self.board_settings = csimu.ImuSettings(s.rate_hz, s.range_g, streaming=True)
            self.host.begin(s.rate_hz, s.range_g)
        elif data == csimu.STOP:
            self.host.halt()
            self.board_settings = csimu.ImuSettings(self.board_settings.rate_hz, self.board_settings.range_g)
        else:
            raise BleakError(f"unknown control command {data.hex()} (ATT error 0x13)")

    def _movesense_write(self, uuid: str, data: bytes) -> None:
        """gatt_sensordata_app: HELLO, SUBSCRIBE /Meas/Acc/<rate> (a rate it lacks: 404), UNSUBSCRIBE."""
        if uuid != movesense.COMMAND_UUID:
            raise BleakError(f"characteristic {uuid} cannot be written")
        try:
            command = movesense.parse_command(data)
        except Exception:
            raise BleakError("not a command (ATT error 0x0e)") from None
        answer: bytes
        if command.cmd == movesense.HELLO:
            answer = bytes([movesense.RESULT, command.ref]) + b"Hello"
        elif command.cmd == movesense.SUBSCRIBE:
            rate = movesense.acc_rate(command.path)
            if rate is None or rate not in movesense.RATES_HZ:
                answer = movesense.result(command.ref, 404)
            else:
                self.ref = command.ref
                self.host.begin(rate, 8, resolution=32)
                answer = movesense.result(command.ref, 200)
        else:
            self.host.halt()
            answer = movesense.result(command.ref, 200)
        self.host.notify_later(movesense.DATA_UUID, answer)

    def _metawear_write(self, uuid: str, data: bytes) -> None:
        """A MetaWear board with a BMI160: module info, configure, subscribe, enable, start and stop."""
        if uuid != metawear.COMMAND_UUID or len(data) < 2 or data[0] != metawear.ACC_MODULE:
            return  # other modules' commands: the board takes them silently
        chip = metawear.Chip.BMI270 if "270" in self.host.profile.firmware else metawear.Chip.BMI160
        register = data[1]
        if register == metawear.INFO:
            self.host.notify_later(metawear.NOTIFY_UUID, metawear.info_answer(chip))
        elif register == metawear.DATA_CONFIG:
            try:
                self.metawear_config = metawear.parse_configure(chip, data)
            except Exception:
                return  # a configuration the chip lacks: ignored, as the board ignores it
        elif register == metawear.POWER:
            power_on = 2 if chip is metawear.Chip.BMI270 else 1
            if len(data) == 3 and data[2] == power_on:
                self.host.begin(self.metawear_config.rate_hz, self.metawear_config.range_g)
            elif len(data) == 3 and data[2] == 0:
                self.host.halt()

    def _witmotion_write(self, uuid: str, data: bytes) -> None:
        """A WitMotion: register writes after the unlock; it streams whenever connected, at its output rate."""
        if uuid != witmotion.WRITE_UUID:
            raise BleakError(f"characteristic {uuid} cannot be written")
        if data == witmotion.UNLOCK:
            self.witmotion_unlocked = True
            return
        try:
            register, value = witmotion.parse_write(data)
        except Exception:
            return
        if register == witmotion.RATE_REGISTER and self.witmotion_unlocked:
            rate = {code: hz for hz, code in witmotion.RATE_CODES.items()}.get(value)
            if rate is not None:
                self.host.halt()
                self.host.recount(rate)  # the count goes on at the new rate
                self.host.begin(rate, witmotion.RANGE_G)

    def _thingy_write(self, uuid: str, data: bytes) -> None:
        """A Thingy:52: the motion configuration (the raw stream runs at its processing frequency)."""
        if uuid != thingy.CONFIG_UUID:
            raise BleakError(f"characteristic {uuid} cannot be written")
        try:
            self.thingy_config = thingy.decode_config(data)
        except Exception:
            raise BleakError("configuration out of range (ATT error 0x13)") from None
