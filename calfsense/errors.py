"""The project-wide exception tree; every error carries one line of advice."""

from __future__ import annotations

SENSOR_NOT_FOUND_ADVICE = (
    "wear the strap and moisten its electrodes (an H10 sleeps off the body), close other apps holding the "
    "sensor (Polar Beat, Flow, Elite HRV), allow two connections in Polar Flow, and move closer"
)
NO_ADAPTER_ADVICE = "turn Bluetooth on (and check the adapter: `bluetoothctl show` on Linux)"
PAIR_FIRST_ADVICE = "pair the sensor first: `calfsense pair` (Windows needs bonding for the PMD service)"


class CalfsenseError(Exception):
    """Root of every error calfsense raises on purpose."""

    advice: str = ""

    def __init__(self, message: str, advice: str | None = None) -> None:
        super().__init__(message)
        if advice is not None:
            self.advice = advice

    def one_line(self) -> str:
        """The message and its advice on one line, for the CLI."""
        text = str(self)
        return f"{text} ({self.advice})" if self.advice else text


class FrameError(CalfsenseError):
    """A notification payload that cannot be decoded (truncated, unknown type, impossible field)."""

    advice = ""


class PmdError(CalfsenseError):
    """The sensor answered a control-point command with an error status."""


class InputFileError(CalfsenseError):
    """A recording or export file that cannot be read."""


class RoutineError(CalfsenseError):
    """A routine file or prescription that is invalid."""


class PlacementError(CalfsenseError):
    """The sensor placement cannot see the requested exercise."""


# Links and files: what a live session meets at its edges.


class SensorNotFoundError(CalfsenseError):
    """No matching sensor answered the scan."""

    advice = SENSOR_NOT_FOUND_ADVICE


class NoAccelerationError(CalfsenseError):
    """The sensor offers no acceleration stream (an H9 or any plain heart-rate strap)."""

    advice = "use a Polar H10, Verity Sense or OH1 for rep counting, or a phone with phyphox (live --phyphox)"


class SensorBusyError(CalfsenseError):
    """Another app holds the sensor's connection."""

    advice = "close other apps holding the sensor (Polar Beat, Flow, Elite HRV), or allow two connections in Polar Flow"


class BluetoothUnavailableError(CalfsenseError):
    """No adapter, or Bluetooth is off."""

    advice = NO_ADAPTER_ADVICE


class ConnectionLostError(CalfsenseError):
    """The sensor went away and could not be reached again in time."""

    advice = "move closer and check the strap; the recording keeps everything received"


class NoDataError(CalfsenseError):
    """The measurement started but no frame arrived."""

    advice = (
        "some sensors take 15-30 s to send the first frame; if it never comes, take the sensor off and on "
        "again (an H10 needs skin contact), then retry"
    )


class DiskFullError(CalfsenseError):
    """The disk filled up while recording."""

    advice = "free some space; everything received until now is in the recording"
