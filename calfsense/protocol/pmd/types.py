"""PMD's words: the service's UUIDs, measurement types, op codes, setting types and status codes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from calfsense.errors import FrameError

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
POLAR_MANUFACTURER_ID = 0x006B

# Device clock epoch is 2000-01-01T00:00:00Z; an H10 resets its clock to 2019-01-01 on shutdown.
PMD_EPOCH_UNIX_NS = 946_684_800_000_000_000
H10_DEFAULT_CLOCK_NS = 599_616_000_000_000_000

FRAME_HEADER_BYTES = 10
CONTROL_POINT_RESPONSE = 0xF0
FEATURE_PACKET = 0x0F
MEASUREMENT_TYPE_MASK = 0x3F
COMPRESSED_BIT = 0x80


class MeasurementType(IntEnum):
    """PMD measurement type codes (low 6 bits of the type byte)."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    RFU = 4
    GYRO = 5
    MAG = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14
    UNKNOWN = 0x3F


class OpCode(IntEnum):
    """Control-point op codes, client to device."""

    GET_MEASUREMENT_SETTINGS = 0x01
    REQUEST_MEASUREMENT_START = 0x02
    STOP_MEASUREMENT = 0x03
    GET_SDK_MODE_MEASUREMENT_SETTINGS = 0x04
    GET_MEASUREMENT_STATUS = 0x05
    GET_SDK_MODE_STATUS = 0x06
    GET_OFFLINE_RECORDING_TRIGGER_STATUS = 0x07
    SET_OFFLINE_RECORDING_TRIGGER_MODE = 0x08
    SET_OFFLINE_RECORDING_TRIGGER_SETTINGS = 0x09


class UnsolicitedCode(IntEnum):
    """First byte of device-initiated control-point messages (anything but 0xF0)."""

    ONLINE_MEASUREMENT_STOPPED = 0x01


class FrameType(IntEnum):
    """Data frame type byte: bit 7 marks a delta-compressed frame."""

    RAW_0 = 0x00
    RAW_1 = 0x01
    RAW_2 = 0x02
    COMPRESSED_0 = 0x80
    COMPRESSED_1 = 0x81


class SettingType(IntEnum):
    """Settings TLV ids; each has a fixed little-endian value width."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5
    SECURITY = 6


SETTING_WIDTH_BYTES: dict[SettingType, int] = {
    SettingType.SAMPLE_RATE: 2,
    SettingType.RESOLUTION: 2,
    SettingType.RANGE: 2,
    SettingType.RANGE_MILLIUNIT: 4,
    SettingType.CHANNELS: 1,  # one byte, not two: bleakheart#10
    SettingType.FACTOR: 4,
    SettingType.SECURITY: 16,
}


class PmdStatus(IntEnum):
    """Control-point response status codes 0-18."""

    SUCCESS = 0
    ERROR_INVALID_OP_CODE = 1
    ERROR_INVALID_MEASUREMENT_TYPE = 2
    ERROR_NOT_SUPPORTED = 3
    ERROR_INVALID_LENGTH = 4
    ERROR_INVALID_PARAMETER = 5
    ERROR_ALREADY_IN_STATE = 6
    ERROR_INVALID_RESOLUTION = 7
    ERROR_INVALID_SAMPLE_RATE = 8
    ERROR_INVALID_RANGE = 9
    ERROR_INVALID_MTU = 10
    ERROR_INVALID_NUMBER_OF_CHANNELS = 11
    ERROR_INVALID_STATE = 12
    ERROR_DEVICE_IN_CHARGER = 13
    ERROR_DISK_FULL = 14
    INVALID_DERIVED_MEASUREMENT_METHOD = 15
    INVALID_SOURCE_MEASUREMENT_TYPE = 16
    INVALID_SOURCE_MEASUREMENT_RATE = 17
    INVALID_DERIVED_MEASUREMENT_SETTINGS_GROUP = 18


# (what happened, what the user should do) for every status code.
STATUS_TEXT: dict[PmdStatus, tuple[str, str]] = {
    PmdStatus.SUCCESS: ("the sensor accepted the command", "nothing to do"),
    PmdStatus.ERROR_INVALID_OP_CODE: (
        "the sensor does not know this command",
        "update the sensor firmware with Polar Flow; PMD streaming needs H10 firmware 3.0 or newer",
    ),
    PmdStatus.ERROR_INVALID_MEASUREMENT_TYPE: (
        "the sensor cannot measure this type",
        "check `calfsense pair` output for what this sensor can stream",
    ),
    PmdStatus.ERROR_NOT_SUPPORTED: (
        "the sensor does not support this request",
        "this model lacks the feature; use a Verity Sense or H10 for acceleration",
    ),
    PmdStatus.ERROR_INVALID_LENGTH: (
        "the command had the wrong length",
        "this is a calfsense bug; please report it with --debug output",
    ),
    PmdStatus.ERROR_INVALID_PARAMETER: (
        "the sensor rejected a setting value",
        "calfsense negotiates from the sensor's own list; re-pair to refresh it",
    ),
    PmdStatus.ERROR_ALREADY_IN_STATE: (
        "the measurement is already running",
        "stop it first (calfsense does this by itself after a reconnect)",
    ),
    PmdStatus.ERROR_INVALID_RESOLUTION: (
        "the sensor rejected the resolution",
        "re-pair so calfsense reads the supported resolutions",
    ),
    PmdStatus.ERROR_INVALID_SAMPLE_RATE: (
        "the sensor rejected the sample rate",
        "pick one of the rates `calfsense pair` lists",
    ),
    PmdStatus.ERROR_INVALID_RANGE: (
        "the sensor rejected the range",
        "pick one of the ranges `calfsense pair` lists",
    ),
    PmdStatus.ERROR_INVALID_MTU: (
        "the Bluetooth link's MTU is too small for streaming",
        "turn Bluetooth off and on, move closer, and reconnect; the sensor needs an MTU of at least 232",
    ),
    PmdStatus.ERROR_INVALID_NUMBER_OF_CHANNELS: (
        "the sensor rejected the channel count",
        "re-pair so calfsense reads the supported settings",
    ),
    PmdStatus.ERROR_INVALID_STATE: (
        "the sensor is not ready for this command",
        "finish the first-time setup in Polar Flow, leave SDK mode, or wait a few seconds and retry",
    ),
    PmdStatus.ERROR_DEVICE_IN_CHARGER: (
        "the sensor is in its charger",
        "take the sensor out of the charger and put it on",
    ),
    PmdStatus.ERROR_DISK_FULL: (
        "the sensor's memory is full",
        "delete offline recordings from the sensor with Polar Flow",
    ),
    PmdStatus.INVALID_DERIVED_MEASUREMENT_METHOD: (
        "the sensor rejected the derived-measurement method",
        "use plain acceleration streaming",
    ),
    PmdStatus.INVALID_SOURCE_MEASUREMENT_TYPE: (
        "the sensor rejected the source measurement type",
        "use plain acceleration streaming",
    ),
    PmdStatus.INVALID_SOURCE_MEASUREMENT_RATE: (
        "the sensor rejected the source measurement rate",
        "pick one of the rates `calfsense pair` lists",
    ),
    PmdStatus.INVALID_DERIVED_MEASUREMENT_SETTINGS_GROUP: (
        "the sensor rejected the derived-measurement settings",
        "use plain acceleration streaming",
    ),
}


def status_message(code: int) -> str:
    """A human sentence with advice for a control-point status code."""
    try:
        status = PmdStatus(code)
    except ValueError:
        return f"the sensor answered with unknown status {code} (update calfsense or the sensor firmware)"
    what, advice = STATUS_TEXT[status]
    return f"{what} ({status.name}, code {int(status)}): {advice}"


# ---------------------------------------------------------------------------------------------
# Features


@dataclass(frozen=True, slots=True)
class Features:
    """Which measurements a sensor offers, from the 17-byte feature read of the control point."""

    measurements: frozenset[MeasurementType]

    def supports(self, measurement: MeasurementType) -> bool:
        """True when the sensor advertises this measurement."""
        return measurement in self.measurements


_FEATURE_BITS: tuple[tuple[int, int, MeasurementType], ...] = (
    (1, 0, MeasurementType.ECG),
    (1, 1, MeasurementType.PPG),
    (1, 2, MeasurementType.ACC),
    (1, 3, MeasurementType.PPI),
    (1, 5, MeasurementType.GYRO),
    (1, 6, MeasurementType.MAG),
    (1, 7, MeasurementType.SKIN_TEMP),
    (2, 1, MeasurementType.SDK_MODE),
    (2, 2, MeasurementType.LOCATION),
    (2, 3, MeasurementType.PRESSURE),
    (2, 4, MeasurementType.TEMPERATURE),
    (2, 5, MeasurementType.OFFLINE_RECORDING),
    (2, 6, MeasurementType.OFFLINE_HR),
)


def parse_features(data: bytes) -> Features:
    """Decode the control-point read (`0F` + bitmask) into the set of offered measurements."""
    if len(data) < 2 or data[0] != FEATURE_PACKET:
        raise FrameError(f"not a PMD feature packet: {bytes(data[:4]).hex()}")
    found = {m for byte, bit, m in _FEATURE_BITS if byte < len(data) and data[byte] >> bit & 1}
    return Features(frozenset(found))


def encode_features(measurements: Iterable[MeasurementType]) -> bytes:
    """Build a 17-byte feature packet (used by the virtual sensor)."""
    out = bytearray(17)
    out[0] = FEATURE_PACKET
    wanted = set(measurements)
    for byte, bit, m in _FEATURE_BITS:
        if m in wanted:
            out[byte] |= 1 << bit
    return bytes(out)
