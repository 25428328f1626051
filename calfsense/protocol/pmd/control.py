"""Control-point requests the client writes and the responses and notices the sensor indicates."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from calfsense.errors import FrameError
from calfsense.protocol.pmd.settings import MeasurementSettings, parse_settings
from calfsense.protocol.pmd.types import (
    CONTROL_POINT_RESPONSE,
    FEATURE_PACKET,
    MEASUREMENT_TYPE_MASK,
    Features,
    MeasurementType,
    OpCode,
    PmdStatus,
    SettingType,
    UnsolicitedCode,
    parse_features,
    status_message,
)


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
        measurement = MeasurementType(data[1] & MEASUREMENT_TYPE_MASK)
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
        return MeasurementStopped(tuple(b & MEASUREMENT_TYPE_MASK for b in data[1:]))
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
