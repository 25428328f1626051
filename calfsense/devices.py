"""What calfsense knows about each sensor model, in one place: how to recognise it, what it streams,
its acceleration rates and ranges, and where it is worn. BLE, the virtual sensor, the simulator and the
detector all read it here (facts and sources: ../shared/reference/sensors.md §2, firmware_notes/)."""

from __future__ import annotations

from dataclasses import dataclass

from calfsense.domain import Placement
from calfsense.protocol.pmd import MeasurementType


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """One sensor model."""

    key: str  # its short name on the command line (`--device h10`)
    model: str  # what people call it, as `scan` shows it
    model_number: str  # what its Device Information service says (the virtual sensor answers the same)
    name_prefix: str  # how its advertised name starts ("Polar H10 5A1F0C2B")
    measurements: tuple[MeasurementType, ...]  # what its PMD features list, in the sensor's order
    acc_rates_hz: tuple[int, ...]  # acceleration rates it offers (none: heart rate only)
    acc_ranges_g: tuple[int, ...]
    acc_default_rate_hz: int  # the rate asked for unless the user says otherwise
    acc_channels: int | None  # sent with START when the sensor needs it (a Verity Sense does)
    compressed: bool  # delta-compressed frames (Verity, OH1) or raw int16 (H10)
    wear: Placement  # where it is worn unless the user says otherwise
    firmware: str = ""  # the firmware the virtual sensor reports
    protocol: str = "pmd"  # how it streams: Polar's PMD, or "csimu" (the calfsense IMU profile, a DIY board)
    manufacturer: str = "Polar Electro Oy"
    name_glued: bool = False  # its advertised name runs on from the prefix without a space ("WT901BLE67")

    @property
    def streams_acceleration(self) -> bool:
        """Whether it can stream acceleration at all (an H9 cannot)."""
        return MeasurementType.ACC in self.measurements


H10 = DeviceModel(
    key="h10",
    model="Polar H10",
    model_number="H10",
    name_prefix="Polar H10",
    measurements=(MeasurementType.ECG, MeasurementType.ACC),
    acc_rates_hz=(25, 50, 100, 200),
    acc_ranges_g=(2, 4, 8),
    acc_default_rate_hz=100,
    acc_channels=None,
    compressed=False,
    wear=Placement.CHEST,  # a chest strap by construction
    firmware="3.2.0",
)
VERITY = DeviceModel(
    key="verity",
    model="Polar Verity Sense",
    model_number="Polar Sense",
    name_prefix="Polar Sense",
    measurements=(
        MeasurementType.PPG,
        MeasurementType.ACC,
        MeasurementType.PPI,
        MeasurementType.GYRO,
        MeasurementType.MAG,
    ),
    acc_rates_hz=(52,),  # default mode; SDK mode offers 26-416 Hz but turns the heart rate off
    acc_ranges_g=(8,),
    acc_default_rate_hz=52,
    acc_channels=3,
    compressed=True,
    wear=Placement.SHIN,  # an arm band: on the shank it sees every raise, seated ones too
    firmware="2.1.0",
)
OH1 = DeviceModel(
    key="oh1",
    model="Polar OH1",
    model_number="OH1",
    name_prefix="Polar OH1",
    measurements=(MeasurementType.PPG, MeasurementType.ACC, MeasurementType.PPI),
    acc_rates_hz=(50,),
    acc_ranges_g=(8,),
    acc_default_rate_hz=50,
    acc_channels=None,
    compressed=True,
    wear=Placement.SHIN,
)
H9 = DeviceModel(
    key="h9",
    model="Polar H9",
    model_number="H9",
    name_prefix="Polar H9",
    measurements=(),  # heart rate only: no PMD service
    acc_rates_hz=(),
    acc_ranges_g=(),
    acc_default_rate_hz=0,
    acc_channels=None,
    compressed=False,
    wear=Placement.CHEST,
)

# A DIY board (ESP32, nRF52) speaking the open calfsense IMU profile (firmware_notes/diy-imu.md).
CSIMU = DeviceModel(
    key="csimu",
    model="calfsense IMU (DIY)",
    model_number="calfsense-imu",
    name_prefix="CS-IMU",
    measurements=(MeasurementType.ACC,),
    acc_rates_hz=(25, 50, 100, 200, 400),
    acc_ranges_g=(2, 4, 8, 16),
    acc_default_rate_hz=100,
    acc_channels=3,
    compressed=False,
    wear=Placement.FOOT,  # on the laces: the foot sees every raise best (firmware_notes/diy-imu.md)
    firmware="1.0.0",
    protocol="csimu",
    manufacturer="calfsense DIY",
)

# Movesense (Suunto's open sensor) running gatt_sensordata_app (firmware_notes/movesense.md).
MOVESENSE = DeviceModel(
    key="movesense",
    model="Movesense",
    model_number="Movesense",
    name_prefix="Movesense",
    measurements=(MeasurementType.ACC,),
    acc_rates_hz=(13, 26, 52, 104, 208, 416, 833, 1666),
    acc_ranges_g=(8,),  # the app does not set it: the sensor's default
    acc_default_rate_hz=52,
    acc_channels=3,
    compressed=False,
    wear=Placement.FOOT,  # in a shoe clip: the foot sees every raise (firmware_notes/movesense.md)
    firmware="2.3.0",
    protocol="movesense",
    manufacturer="Movesense Ltd",
)

# MbientLab MetaWear / MetaMotion (BMI160 or BMI270 boards; firmware_notes/metawear.md).
METAWEAR = DeviceModel(
    key="metawear",
    model="MbientLab MetaWear",
    model_number="MetaMotion",
    name_prefix="MetaWear",
    measurements=(MeasurementType.ACC,),
    acc_rates_hz=(25, 50, 100, 200, 400, 800),
    acc_ranges_g=(2, 4, 8, 16),
    acc_default_rate_hz=100,
    acc_channels=3,
    compressed=False,
    wear=Placement.FOOT,
    firmware="1.7.3",
    protocol="metawear",
    manufacturer="MbientLab Inc",
)
# WitMotion BWT901BLE / WT9011DCL (firmware_notes/witmotion.md).
WITMOTION = DeviceModel(
    key="witmotion",
    model="WitMotion BWT901BLE",
    model_number="BWT901BLE",
    name_prefix="WT901BLE",
    measurements=(MeasurementType.ACC,),
    acc_rates_hz=(10, 20, 50, 100, 200),
    acc_ranges_g=(16,),
    acc_default_rate_hz=100,
    acc_channels=3,
    compressed=False,
    wear=Placement.FOOT,
    firmware="5.0",
    protocol="witmotion",
    manufacturer="WitMotion",
    name_glued=True,
)
# Nordic Thingy:52 (firmware_notes/thingy52.md).
THINGY = DeviceModel(
    key="thingy",
    model="Nordic Thingy:52",
    model_number="Thingy:52",
    name_prefix="Thingy",
    measurements=(MeasurementType.ACC,),
    acc_rates_hz=(5, 10, 25, 50, 100, 200),
    acc_ranges_g=(8,),
    acc_default_rate_hz=100,
    acc_channels=3,
    compressed=False,
    wear=Placement.FOOT,
    firmware="2.2.0",
    protocol="thingy",
    manufacturer="Nordic Semiconductor ASA",
)

MODELS: tuple[DeviceModel, ...] = (H10, VERITY, OH1, H9, CSIMU, MOVESENSE, METAWEAR, WITMOTION, THINGY)
BY_KEY = {m.key: m for m in MODELS}


def recognise(name_or_model: str | None) -> DeviceModel | None:
    """The model behind an advertised name, a Device Information model string or a recording's model."""
    text = (name_or_model or "").strip().lower()
    for m in MODELS:
        for known in (m.name_prefix, m.model, m.model_number):
            if text == known.lower() or text.startswith(known.lower() + " "):
                return m
        if m.name_glued and text.startswith(m.name_prefix.lower()):
            return m
    return None


def display_model(name: str | None) -> str:
    """What `scan` shows for an advertised name: the model, or what little the name tells."""
    found = recognise(name)
    if found is not None:
        return found.model
    n = (name or "").lower()
    if "polar" in n:
        return "Polar (unknown model)"
    return "heart-rate sensor" if name else "unknown"


# Motion sensors calfsense recognises by what they advertise but cannot stream from yet, with the service each
# advertises: scan names them instead of hiding them. (Movesense, MetaWear, WitMotion and Thingy:52 stream now:
# sources/drivers.py.)
NOT_YET_SUPPORTED: dict[str, str] = {
    "00030000-78fc-48fe-8e23-433b3a1942d0": "PineTime (InfiniTime)",  # its motion service: a watch, 1 Hz steps
}
NOT_YET_NAMES = {"infinitime": "PineTime (InfiniTime)"}


def unsupported_model(name: str | None, service_uuids: set[str]) -> str | None:
    """A motion sensor calfsense knows of but cannot stream from yet, by its advertised services or name."""
    for uuid in service_uuids:
        if uuid.lower() in NOT_YET_SUPPORTED:
            return NOT_YET_SUPPORTED[uuid.lower()]
    lowered = (name or "").lower()
    return next((model for key, model in NOT_YET_NAMES.items() if key in lowered), None)
