"""Pure byte-level protocol layer: Polar PMD and Bluetooth SIG services (no I/O)."""

from __future__ import annotations

from calfsense.protocol.encode import chunk_frames, encode_acc_compressed, encode_acc_raw
from calfsense.protocol.gatt import DeviceInformation, HeartRate, decode_battery_level, decode_heart_rate
from calfsense.protocol.pmd import (
    DecodeContext,
    MeasurementSettings,
    MeasurementType,
    PmdFrame,
    PmdStatus,
    decode_frame,
    negotiate_settings,
    parse_control_point,
)
from calfsense.protocol.timestamps import ClockMap, FrameTimer

__all__ = [
    "ClockMap",
    "DecodeContext",
    "DeviceInformation",
    "FrameTimer",
    "HeartRate",
    "MeasurementSettings",
    "MeasurementType",
    "PmdFrame",
    "PmdStatus",
    "chunk_frames",
    "decode_battery_level",
    "decode_frame",
    "decode_heart_rate",
    "encode_acc_compressed",
    "encode_acc_raw",
    "negotiate_settings",
    "parse_control_point",
]
