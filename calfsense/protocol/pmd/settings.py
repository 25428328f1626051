"""Measurement settings: what a sensor allows, what is asked for, and how the two are matched."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from calfsense.errors import FrameError, PmdError
from calfsense.protocol.pmd.types import SETTING_WIDTH_BYTES, SettingType


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
