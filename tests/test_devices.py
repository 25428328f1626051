"""The device registry against the vendors' own answers, and the virtual sensor that emulates from it."""

from __future__ import annotations

import pytest

from calfsense import devices
from calfsense.protocol import pmd
from calfsense.sources import synthetic
from calfsense.sources.virtual import _acc_options

# GET ACC settings answers as the sensors send them (../shared/reference/sensors.md §2, PMD-SPEC).
GET_ACC_ANSWERS = {
    "h10": "F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00",
    "verity": "F0 01 02 00 00 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03",
}


@pytest.mark.parametrize("key", list(GET_ACC_ANSWERS))
def test_registry_rates_and_ranges_are_what_the_sensor_answers(key: str) -> None:
    answer = pmd.parse_control_point(bytes.fromhex(GET_ACC_ANSWERS[key]))
    assert isinstance(answer, pmd.ControlPointResponse)
    options = pmd.parse_settings_options(answer.parameters)
    device = devices.BY_KEY[key]
    assert options.get(pmd.SettingType.SAMPLE_RATE) == device.acc_rates_hz
    assert options.get(pmd.SettingType.RANGE) == device.acc_ranges_g
    assert device.acc_default_rate_hz in device.acc_rates_hz
    channels = options.get(pmd.SettingType.CHANNELS)
    assert (channels[0] if channels else None) == device.acc_channels
    # The virtual sensor answers the same, from the registry.
    assert dict(_acc_options(device)) == {k: tuple(v) for k, v in options.values.items()}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Polar H10 BA2B0B2D", "h10"),  # advertised names
        ("Polar Sense A40F6F28", "verity"),
        ("Polar OH1 1A2B3C4D", "oh1"),
        ("Polar H9 1A2B3C4D", "h9"),
        ("H10", "h10"),  # Device Information model strings
        ("Polar Sense", "verity"),
        ("Polar Verity Sense", "verity"),  # what scan shows
        ("Garmin HRM-Pro", None),
        ("Polar H100", None),  # not an H10
        ("", None),
    ],
)
def test_models_are_recognised_by_name_not_by_substring(text: str, key: str | None) -> None:
    found = devices.recognise(text)
    assert (found.key if found else None) == key


def test_every_emulated_profile_is_a_registered_model_that_streams_acceleration() -> None:
    for key, profile in synthetic.PROFILES.items():
        assert devices.BY_KEY[key] is profile.device and profile.device.streams_acceleration
        assert (
            profile.rate_hz == profile.device.acc_default_rate_hz and devices.recognise(profile.name) is profile.device
        )
    assert not devices.H9.streams_acceleration


def test_the_simulate_command_offers_exactly_the_emulated_models() -> None:
    from calfsense.cli.sessions import simulate

    (option,) = [p for p in simulate.params if p.name == "device"]
    assert list(option.type.choices) == list(synthetic.PROFILES)  # type: ignore[attr-defined]


def test_motion_sensors_not_supported_yet_are_named_by_what_they_advertise() -> None:
    from calfsense.devices import unsupported_model
    from calfsense.sources.drivers import driver_for

    # Movesense, MetaWear, WitMotion and Thingy:52 stream now (sources/drivers.py), picked by their service.
    for uuid, protocol in [
        ("34802252-7185-4d5d-b431-630e7050e8f0", "movesense"),
        ("326a9000-85cb-9195-d9dd-464cfbbae75a", "metawear"),
        ("0000ffe5-0000-1000-8000-00805f9a34fb", "witmotion"),
        ("ef680400-9b35-4933-9b10-52ffa9740042", "thingy"),
    ]:
        assert unsupported_model("", {uuid}) is None
        found = driver_for({uuid})
        assert found is not None and found.protocol == protocol
    # WitMotion's UUIDs use a non-standard base (...9a34fb): the standard one (...9b34fb) is someone else's.
    assert driver_for({"0000ffe5-0000-1000-8000-00805f9b34fb"}) is None
    assert unsupported_model("", {"00030000-78fc-48fe-8e23-433b3a1942d0"}) == "PineTime (InfiniTime)"
    assert unsupported_model("Polar H10 5A1F0C2B", {"fb005c80-02e7-f387-1cad-8acd2d8df0c8"}) is None
