"""Bluetooth SIG services: Heart Rate Measurement, Battery Level and Device Information."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from calfsense.errors import FrameError


def sig_uuid(short: int) -> str:
    """Expand a 16-bit SIG UUID to the 128-bit form bleak reports."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


HEART_RATE_SERVICE_UUID = sig_uuid(0x180D)
HEART_RATE_MEASUREMENT_UUID = sig_uuid(0x2A37)
BODY_SENSOR_LOCATION_UUID = sig_uuid(0x2A38)
BATTERY_SERVICE_UUID = sig_uuid(0x180F)
BATTERY_LEVEL_UUID = sig_uuid(0x2A19)
DEVICE_INFORMATION_SERVICE_UUID = sig_uuid(0x180A)

DEVICE_INFORMATION_UUIDS: dict[str, str] = {
    "manufacturer": sig_uuid(0x2A29),
    "model": sig_uuid(0x2A24),
    "serial": sig_uuid(0x2A25),
    "hardware_revision": sig_uuid(0x2A27),
    "firmware_revision": sig_uuid(0x2A26),
    "software_revision": sig_uuid(0x2A28),
}

_FLAG_UINT16 = 0x01
_FLAG_CONTACT_STATUS = 0x02
_FLAG_CONTACT_SUPPORTED = 0x04
_FLAG_ENERGY = 0x08
_FLAG_RR = 0x10


@dataclass(frozen=True, slots=True)
class HeartRate:
    """One Heart Rate Measurement notification; RR intervals oldest first, in ms."""

    heart_rate_bpm: int
    contact: bool | None  # None when the sensor does not report contact (an H10 never does)
    energy_kj: int | None
    rr_ms: tuple[int, ...]

    def as_dict(self) -> dict[str, object]:
        """The JSON shape `calfsense debug decode-hr` prints."""
        return {
            "heart_rate_bpm": self.heart_rate_bpm,
            "contact": self.contact,
            "energy_kj": self.energy_kj,
            "rr_ms": list(self.rr_ms),
        }


def rr_1024_to_ms(value: int) -> int:
    """RR in 1/1024 s to ms, rounded half to even like the SDK's mapRr1024ToRrMs."""
    return round(value * 1000 / 1024)


def decode_heart_rate(data: bytes | bytearray) -> HeartRate:
    """Decode Heart Rate Measurement 0x2A37 for every flag combination."""
    if len(data) < 2:
        raise FrameError(f"heart-rate packet too short: {len(data)} bytes")
    flags = data[0]
    pos = 1
    if flags & _FLAG_UINT16:
        if len(data) < 3:
            raise FrameError("heart-rate packet truncated in its 16-bit rate")
        hr = data[1] | data[2] << 8
        pos = 3
    else:
        hr = data[1]
        pos = 2
    contact: bool | None = None
    if flags & _FLAG_CONTACT_SUPPORTED:
        contact = bool(flags & _FLAG_CONTACT_STATUS)
    energy: int | None = None
    if flags & _FLAG_ENERGY:
        if len(data) < pos + 2:
            raise FrameError("heart-rate packet truncated in its energy field")
        energy = data[pos] | data[pos + 1] << 8
        pos += 2
    rr: tuple[int, ...] = ()
    if flags & _FLAG_RR:
        rest = len(data) - pos
        if rest % 2:
            raise FrameError("heart-rate packet has an odd number of RR bytes")
        raw = struct.unpack_from(f"<{rest // 2}H", data, pos)
        rr = tuple(rr_1024_to_ms(v) for v in raw)
    return HeartRate(hr, contact, energy, rr)


def encode_heart_rate(
    heart_rate_bpm: int,
    rr_1024: Iterable[int] = (),
    contact: bool | None = None,
    energy_kj: int | None = None,
) -> bytes:
    """Build a Heart Rate Measurement (the virtual sensor's; an H10 sends flags 0x10)."""
    rr = list(rr_1024)
    flags = 0
    body = bytearray()
    if heart_rate_bpm > 255:
        flags |= _FLAG_UINT16
        body += struct.pack("<H", heart_rate_bpm)
    else:
        body.append(heart_rate_bpm)
    if contact is not None:
        flags |= _FLAG_CONTACT_SUPPORTED | (_FLAG_CONTACT_STATUS if contact else 0)
    if energy_kj is not None:
        flags |= _FLAG_ENERGY
        body += struct.pack("<H", energy_kj)
    if rr:
        flags |= _FLAG_RR
        body += struct.pack(f"<{len(rr)}H", *rr)
    return bytes((flags,)) + bytes(body)


def decode_battery_level(data: bytes | bytearray) -> int:
    """Battery Level 0x2A19: one byte, 0-100 %."""
    if len(data) < 1:
        raise FrameError("empty battery-level value")
    level = data[0]
    if level > 100:
        raise FrameError(f"battery level {level}% is out of range")
    return level


def decode_utf8(data: bytes | bytearray) -> str:
    """Device Information strings: UTF-8, trailing NULs stripped, bad bytes replaced."""
    return bytes(data).rstrip(b"\x00").decode("utf-8", errors="replace").strip()


@dataclass(frozen=True, slots=True)
class DeviceInformation:
    """Device Information Service strings (any may be missing)."""

    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    hardware_revision: str | None = None
    firmware_revision: str | None = None
    software_revision: str | None = None

    @property
    def firmware(self) -> str | None:
        """The version users should quote: an H10 reports the real one as software revision (sdk#414)."""
        return self.software_revision or self.firmware_revision

    @classmethod
    def from_raw(cls, raw: Mapping[str, bytes]) -> DeviceInformation:
        """Build from field name to characteristic bytes."""
        return cls(**{k: decode_utf8(v) for k, v in raw.items() if k in DEVICE_INFORMATION_UUIDS})
