"""Polar Measurement Data (PMD): control-point requests and responses, settings and data frames.

Pure and strict: bytes in, typed values out. Every malformed input raises `FrameError`;
nothing else escapes a decoder. Facts and vectors: polar-ble-sdk (see firmware_notes/polar-pmd.md).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import FrameError, PmdError

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
_MEASUREMENT_TYPE_MASK = 0x3F
_COMPRESSED_BIT = 0x80


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


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True, slots=True)
class SettingsOptions:
    """The values a sensor allows per setting, from a GET_MEASUREMENT_SETTINGS answer."""

    values: Mapping[SettingType, tuple[int, ...]]

    def get(self, setting: SettingType) -> tuple[int, ...]:
        """Allowed values of one setting, empty when the sensor did not list it."""
        return tuple(self.values.get(setting, ()))


@dataclass(frozen=True, slots=True)
class MeasurementSettings:
    """One chosen value per setting, as sent in START; `factor` comes from the START answer."""

    sample_rate_hz: int
    resolution_bits: int
    range: int | None = None
    channels: int | None = None
    factor: float = 1.0

    def to_tlv(self) -> bytes:
        """Serialise every chosen setting with count 1; FACTOR is never sent."""
        parts = [
            _tlv(SettingType.SAMPLE_RATE, self.sample_rate_hz),
            _tlv(SettingType.RESOLUTION, self.resolution_bits),
        ]
        if self.range is not None:
            parts.append(_tlv(SettingType.RANGE, self.range))
        if self.channels is not None:
            parts.append(_tlv(SettingType.CHANNELS, self.channels))
        return b"".join(parts)

    def as_dict(self) -> dict[str, int | float | None]:
        """Plain values for recordings and JSON."""
        return {
            "sample_rate_hz": self.sample_rate_hz,
            "resolution_bits": self.resolution_bits,
            "range": self.range,
            "channels": self.channels,
            "factor": self.factor,
        }


def _tlv(setting: SettingType, value: int) -> bytes:
    width = SETTING_WIDTH_BYTES[setting]
    return bytes((int(setting), 1)) + int(value).to_bytes(width, "little", signed=False)


def parse_settings(data: bytes) -> dict[SettingType, tuple[float | int, ...]]:
    """Parse a settings TLV sequence; FACTOR values come back as floats."""
    out: dict[SettingType, tuple[float | int, ...]] = {}
    i = 0
    n = len(data)
    while i < n:
        if i + 2 > n:
            raise FrameError(f"settings truncated at byte {i} of {n}")
        try:
            setting = SettingType(data[i])
        except ValueError:
            raise FrameError(f"unknown PMD setting type {data[i]} at byte {i}") from None
        count = data[i + 1]
        width = SETTING_WIDTH_BYTES[setting]
        end = i + 2 + count * width
        if end > n:
            raise FrameError(f"setting {setting.name} wants {count}x{width} bytes, frame ends early")
        values: list[float | int] = []
        for k in range(count):
            raw = data[i + 2 + k * width : i + 2 + (k + 1) * width]
            if setting is SettingType.FACTOR:
                factor = struct.unpack("<f", raw)[0]
                # A scale of samples to mG: positive and finite, or every sample would come out absurd.
                if not (math.isfinite(factor) and factor > 0.0):
                    raise FrameError(f"setting FACTOR is {factor}, not a positive finite scale")
                values.append(factor)
            elif setting is SettingType.RANGE_MILLIUNIT:
                values.append(int.from_bytes(raw, "little", signed=True))
            elif setting is SettingType.SECURITY:
                values.append(int.from_bytes(raw, "little"))
            else:
                values.append(int.from_bytes(raw, "little"))
        out[setting] = tuple(values)
        i = end
    return out


def parse_settings_options(data: bytes) -> SettingsOptions:
    """Parse the parameters of a GET answer into allowed values per setting."""
    parsed = parse_settings(data)
    return SettingsOptions({k: tuple(int(v) for v in vs) for k, vs in parsed.items()})


def encode_settings_options(values: Mapping[SettingType, Iterable[int]]) -> bytes:
    """Serialise allowed values per setting (the virtual sensor's GET answer)."""
    out = bytearray()
    for setting, vals in values.items():
        items = list(vals)
        width = SETTING_WIDTH_BYTES[setting]
        out += bytes((int(setting), len(items)))
        for v in items:
            out += int(v).to_bytes(width, "little")
    return bytes(out)


def _nearest(options: tuple[int, ...], wish: int) -> int:
    # Ties go to the larger value: more range or rate is the safer error for a rep counter.
    return min(options, key=lambda v: (abs(v - wish), -v))


def negotiate_settings(
    options: SettingsOptions,
    sample_rate_hz: int,
    range_g: int | None = None,
) -> MeasurementSettings:
    """Pick the supported values nearest a wish; always a full set (partial sets fail: sdk#124)."""
    rates = options.get(SettingType.SAMPLE_RATE)
    resolutions = options.get(SettingType.RESOLUTION)
    if not rates or not resolutions:
        raise PmdError(
            "the sensor did not list sample rates and resolutions",
            "re-pair the sensor; its settings answer was incomplete",
        )
    ranges = options.get(SettingType.RANGE)
    channels = options.get(SettingType.CHANNELS)
    chosen_range: int | None = None
    if ranges:
        chosen_range = _nearest(ranges, range_g if range_g is not None else max(ranges))
    return MeasurementSettings(
        sample_rate_hz=_nearest(rates, sample_rate_hz),
        resolution_bits=max(resolutions),
        range=chosen_range,
        channels=max(channels) if channels else None,
    )


# ---------------------------------------------------------------------------------------------
# Requests


def build_get_settings(measurement: MeasurementType, offline: bool = False) -> bytes:
    """GET_MEASUREMENT_SETTINGS for one measurement type."""
    return bytes((OpCode.GET_MEASUREMENT_SETTINGS, int(measurement) | (0x80 if offline else 0)))


def build_start(measurement: MeasurementType, settings: MeasurementSettings, offline: bool = False) -> bytes:
    """REQUEST_MEASUREMENT_START with the full settings set."""
    head = bytes((OpCode.REQUEST_MEASUREMENT_START, int(measurement) | (0x80 if offline else 0)))
    return head + settings.to_tlv()


def build_stop(measurement: MeasurementType) -> bytes:
    """STOP_MEASUREMENT for one measurement type."""
    return bytes((OpCode.STOP_MEASUREMENT, int(measurement)))


def parse_request(data: bytes) -> tuple[OpCode, MeasurementType, bytes]:
    """Split a control-point write into op code, measurement type and parameters (virtual sensor)."""
    if len(data) < 1:
        raise FrameError("empty control-point write")
    try:
        op = OpCode(data[0])
    except ValueError:
        raise FrameError(f"unknown control-point op code 0x{data[0]:02x}") from None
    if len(data) < 2:
        return op, MeasurementType.UNKNOWN, b""
    try:
        measurement = MeasurementType(data[1] & _MEASUREMENT_TYPE_MASK)
    except ValueError:
        measurement = MeasurementType.UNKNOWN
    return op, measurement, bytes(data[2:])


# ---------------------------------------------------------------------------------------------
# Responses


@dataclass(frozen=True, slots=True)
class ControlPointResponse:
    """One `F0` answer (after `more` reassembly): op echo, type echo, status and parameters."""

    op_code: int
    measurement: int
    status: int
    more: bool
    parameters: bytes

    @property
    def ok(self) -> bool:
        """True for SUCCESS."""
        return self.status == PmdStatus.SUCCESS

    def message(self) -> str:
        """The status in words with advice."""
        return status_message(self.status)

    def factor(self) -> float:
        """The FACTOR setting of a START answer, 1.0 when absent (as the SDK defaults)."""
        # H10 answers `F0 02 02 00 00 01`: a one-byte "reserved" block the SDK ignores.
        if len(self.parameters) <= 1:
            return 1.0
        try:
            values = parse_settings(self.parameters)
        except FrameError:
            return 1.0
        factors = values.get(SettingType.FACTOR)
        return float(factors[0]) if factors else 1.0


@dataclass(frozen=True, slots=True)
class MeasurementStopped:
    """Unsolicited `01 <types…>`: the device stopped these streams by itself."""

    measurements: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FeatureEcho:
    """A feature packet surfacing on the control point (BlueZ echoes reads as notifications)."""

    features: Features


ControlPointMessage = ControlPointResponse | MeasurementStopped | FeatureEcho


def parse_control_point(data: bytes) -> ControlPointMessage:
    """Classify and parse one control-point indication."""
    if not data:
        raise FrameError("empty control-point indication")
    head = data[0]
    if head == CONTROL_POINT_RESPONSE:
        if len(data) < 4:
            raise FrameError(f"control-point response too short: {bytes(data).hex()}")
        more = len(data) > 4 and data[4] != 0
        params = bytes(data[5:]) if len(data) > 5 else b""
        return ControlPointResponse(data[1], data[2], data[3], more, params)
    if head == FEATURE_PACKET:
        return FeatureEcho(parse_features(data))
    if head == UnsolicitedCode.ONLINE_MEASUREMENT_STOPPED:
        return MeasurementStopped(tuple(b & _MEASUREMENT_TYPE_MASK for b in data[1:]))
    raise FrameError(f"unknown control-point message 0x{head:02x}")


@dataclass
class ResponseAssembler:
    """Reassemble `more`-continued responses; feed indications, get whole messages back."""

    _pending: ControlPointResponse | None = None
    _parts: list[bytes] = field(default_factory=list)

    def feed(self, data: bytes) -> ControlPointMessage | None:
        """Return a complete message, or None while a continuation is pending."""
        msg = parse_control_point(data)
        if not isinstance(msg, ControlPointResponse):
            return msg
        if self._pending is not None and msg.op_code == self._pending.op_code:
            self._parts.append(msg.parameters)
        else:
            self._pending = msg
            self._parts = [msg.parameters]
        if msg.more:
            return None
        first = self._pending
        whole = ControlPointResponse(first.op_code, first.measurement, first.status, False, b"".join(self._parts))
        self._pending = None
        self._parts = []
        return whole


def build_response(op: int, measurement: int, status: int, parameters: bytes = b"", more: bool = False) -> bytes:
    """Build an `F0` answer (used by the virtual sensor)."""
    if status != PmdStatus.SUCCESS:
        return bytes((CONTROL_POINT_RESPONSE, op, measurement, status))
    return bytes((CONTROL_POINT_RESPONSE, op, measurement, status, 1 if more else 0)) + parameters


def build_factor_parameter(factor: float) -> bytes:
    """The `05 01 <float32>` FACTOR block of a START answer."""
    return bytes((SettingType.FACTOR, 1)) + struct.pack("<f", factor)


# ---------------------------------------------------------------------------------------------
# Data frames


UNITS: dict[MeasurementType, str] = {
    MeasurementType.ACC: "mG",
    MeasurementType.GYRO: "deg/s",
    MeasurementType.MAG: "G",
}


@dataclass(frozen=True, slots=True)
class DecodeContext:
    """What a decoder needs beyond the bytes: the negotiated resolution, channels and factor."""

    resolution_bits: int = 16
    channels: int = 3
    factor: float = 1.0


DEFAULT_CONTEXT = DecodeContext()


@dataclass(frozen=True, slots=True, eq=False)
class PmdFrame:
    """One decoded data notification.

    `samples` has shape (n, channels); ACC is int64 mG, GYRO deg/s and MAG gauss as float64 when
    a factor applies. `timestamp_ns` is the device clock of the *last* sample.
    """

    measurement: MeasurementType
    timestamp_ns: int
    frame_type: int
    samples: NDArray[np.int64] | NDArray[np.float64]

    @property
    def compressed(self) -> bool:
        """True for delta-compressed frames."""
        return bool(self.frame_type & _COMPRESSED_BIT)

    @property
    def unit(self) -> str:
        """The unit of `samples`."""
        return UNITS.get(self.measurement, "raw")

    def __len__(self) -> int:
        return int(self.samples.shape[0])


_HEADER = struct.Struct("<BQB")
# The measurements whose frames decode here, by code (a dict: an enum lookup per frame costs 2 us).
_DECODED = {m.value: m for m in (MeasurementType.ACC, MeasurementType.GYRO, MeasurementType.MAG)}
_RAW_ACC_DTYPES: dict[int, tuple[str, int]] = {0x00: ("<i1", 1), 0x01: ("<i2", 2), 0x02: ("i3", 3)}


def decode_frame(data: bytes | bytearray | memoryview, context: DecodeContext = DEFAULT_CONTEXT) -> PmdFrame:
    """Decode one PMD data notification (ACC, GYRO or MAG); only `FrameError` can escape."""
    try:
        return _decode_frame(bytes(data), context)
    except FrameError:
        raise
    except Exception as exc:  # a decoder bug must still surface as a FrameError, never crash a stream
        raise FrameError(f"undecodable frame ({type(exc).__name__}: {exc})") from exc


def _decode_frame(data: bytes, context: DecodeContext) -> PmdFrame:
    if len(data) < FRAME_HEADER_BYTES:
        raise FrameError(f"frame truncated: {len(data)} bytes, the header alone is {FRAME_HEADER_BYTES}")
    type_byte, timestamp_ns, frame_type = _HEADER.unpack_from(data)
    code = type_byte & _MEASUREMENT_TYPE_MASK
    measurement = _DECODED.get(code)
    if measurement is None:
        raise FrameError(f"unsupported PMD measurement type {code} (calfsense decodes ACC, GYRO and MAG)")
    channels = context.channels
    if channels < 1 or channels > 16:
        raise FrameError(f"impossible channel count {channels}")
    factor = context.factor
    if frame_type & _COMPRESSED_BIT:
        kind = frame_type & 0x7F
        if kind > 1:
            raise FrameError(f"unknown compressed frame type 0x{frame_type:02x}")
        ints = decode_delta_content(data, FRAME_HEADER_BYTES, context.resolution_bits, channels)
        if measurement is MeasurementType.ACC:
            if kind == 0:
                # Type 0 arrives in G: x FACTOR x 1000 to mG, truncated as the SDK's toInt() does.
                mg = np.trunc(ints * (factor * 1000.0)).astype(np.int64)
                return PmdFrame(measurement, timestamp_ns, frame_type, mg)
            if factor != 1.0:
                return PmdFrame(measurement, timestamp_ns, frame_type, np.trunc(ints * factor).astype(np.int64))
            return PmdFrame(measurement, timestamp_ns, frame_type, ints)
        if factor != 1.0:
            scaled: NDArray[np.float64] = ints.astype(np.float64) * factor
            return PmdFrame(measurement, timestamp_ns, frame_type, scaled)
        return PmdFrame(measurement, timestamp_ns, frame_type, ints)
    if measurement is not MeasurementType.ACC:
        raise FrameError(f"uncompressed {measurement.name} frames (type 0x{frame_type:02x}) are not supported")
    spec = _RAW_ACC_DTYPES.get(frame_type)
    if spec is None:
        raise FrameError(f"unknown ACC frame type 0x{frame_type:02x}")
    dtype, width = spec
    content = len(data) - FRAME_HEADER_BYTES
    stride = width * channels
    if content == 0 or content % stride:
        raise FrameError(f"ACC type {frame_type} content of {content} bytes is not a whole number of samples")
    if width == 3:
        samples = _int24(data, FRAME_HEADER_BYTES).reshape(-1, channels)
    else:
        samples = np.frombuffer(data, dtype=dtype, offset=FRAME_HEADER_BYTES).astype(np.int64).reshape(-1, channels)
    return PmdFrame(measurement, timestamp_ns, frame_type, samples)


def _int24(data: bytes, offset: int) -> NDArray[np.int64]:
    b = np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(-1, 3).astype(np.int64)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    result: NDArray[np.int64] = np.where(v >= 1 << 23, v - (1 << 24), v)
    return result


@lru_cache(maxsize=64)
def _bit_weights(width: int) -> NDArray[np.int64]:
    # Two's complement as a dot product: the top bit weighs -2^(w-1), so sign extension is free.
    w = np.left_shift(np.ones(width, dtype=np.int64), np.arange(width, dtype=np.int64))
    w[-1] = -w[-1]
    return w


def decode_delta_content(data: bytes, offset: int, resolution_bits: int, channels: int) -> NDArray[np.int64]:
    """Decode delta-compressed content starting at `offset` into (n, channels) integers."""
    if resolution_bits < 1 or resolution_bits > 64:
        raise FrameError(f"impossible resolution {resolution_bits} bits")
    ref_bytes = (resolution_bits + 7) // 8
    n = len(data)
    pos = offset + ref_bytes * channels
    if pos > n:
        raise FrameError(f"compressed frame truncated inside the reference sample ({n - offset} content bytes)")
    ref = [
        int.from_bytes(data[offset + c * ref_bytes : offset + (c + 1) * ref_bytes], "little", signed=True)
        for c in range(channels)
    ]
    rows: list[NDArray[np.int64]] = [np.array([ref], dtype=np.int64)]
    raw = np.frombuffer(data, dtype=np.uint8)
    while pos < n:
        if pos + 2 > n:
            raise FrameError(f"delta block header truncated at byte {pos - offset}")
        width = data[pos]
        count = data[pos + 1]
        pos += 2
        if width < 1 or width > 32:
            raise FrameError(f"impossible delta bit width {width}")
        if count == 0:
            raise FrameError("delta block with zero samples")
        fields = count * channels
        nbytes = (width * fields + 7) // 8
        if pos + nbytes > n:
            raise FrameError(f"delta block of {count}x{width} bits needs {nbytes} bytes, {n - pos} left")
        bits = np.unpackbits(raw[pos : pos + nbytes], bitorder="little", count=width * fields)
        deltas = bits.reshape(fields, width).astype(np.int64) @ _bit_weights(width)
        rows.append(deltas.reshape(count, channels))
        pos += nbytes
    stacked = np.concatenate(rows) if len(rows) > 1 else rows[0]
    result: NDArray[np.int64] = np.cumsum(stacked, axis=0)
    return result
