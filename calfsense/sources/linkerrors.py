"""What went wrong with a Bluetooth link, in calfsense's terms: which error, its advice, and whether (and
how soon) trying again can help. bleak is imported only when an error is looked at.
"""

from __future__ import annotations

from calfsense.errors import (
    PAIR_FIRST_ADVICE,
    BluetoothUnavailableError,
    CalfsenseError,
    FrameError,
    NoAccelerationError,
    NoDataError,
    PmdError,
    SensorBusyError,
    SensorNotFoundError,
)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
QUICK_RETRY_S = 0.25  # after the link was lost again during the handshake, a D-Bus or GATT timeout
QUICK_RETRIES = 8


# Everyday BlueZ failures while (re)connecting, the link lost again during the handshake: worth a quick retry
# (the classes bleak-retry-connector retries; ../shared/reference/user-pain-points.md sections 1 and 6).
_TRANSIENT_TEXT = (
    "le-connection-abort-by-local",
    "br-connection-canceled",
    "Software caused connection abort",
    "Not connected",
    "In Progress",
    "InProgress",
    "connection slot",
    "available connection",
)


def retry_after_s(exc: BaseException, attempt: int) -> float | None:
    """How long to wait before reconnect attempt `attempt + 1` after `exc`; None: permanent, give up now.

    Gone out of range or not advertising yet: back off from 0.5 s to 30 s. The link lost again during the
    handshake, a D-Bus or GATT timeout, the measurement refused while the sensor settles: retry within
    a second or two, then slower. Bonding refused, another app holding the sensor, no adapter, a sensor
    that cannot stream: no retry helps; its advice is the answer.
    """
    from bleak.exc import BleakError

    if isinstance(exc, SensorBusyError | BluetoothUnavailableError | NoDataError | NoAccelerationError):
        return None
    if isinstance(exc, CalfsenseError) and exc.advice == PAIR_FIRST_ADVICE:
        return None
    growing = min(BACKOFF_MAX_S, BACKOFF_START_S * 2.0 ** max(attempt - 1, 0))
    if isinstance(exc, SensorNotFoundError):
        return growing
    # A run of these is retried every quarter second (as bleak-retry-connector does, up to 9), then slower.
    quick = (
        QUICK_RETRY_S
        if attempt <= QUICK_RETRIES
        else min(BACKOFF_MAX_S, QUICK_RETRY_S * 2.0 ** (attempt - QUICK_RETRIES))
    )
    if isinstance(exc, TimeoutError | EOFError | ConnectionError | PmdError | FrameError):
        return quick
    if isinstance(exc, BleakError | OSError):
        return quick if any(t in str(exc) for t in _TRANSIENT_TEXT) else growing
    if isinstance(exc, CalfsenseError):
        return growing
    return None  # not a link problem: a bug, reported as one


def one_line(exc: BaseException) -> str:
    """An error in a few words for the status line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def translate(exc: BaseException) -> CalfsenseError | None:
    """Map bleak and OS errors to ours, with advice: bleak's typed errors first, then what BlueZ says."""
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakDeviceNotFoundError,
        BleakError,
        BleakGATTProtocolError,
        BleakGATTProtocolErrorCode,
    )

    if isinstance(exc, BleakBluetoothNotAvailableError):
        return BluetoothUnavailableError(f"Bluetooth is not available: {exc}")
    if isinstance(exc, BleakDeviceNotFoundError):
        return SensorNotFoundError(f"sensor not found: {exc.identifier}")
    bonding = {
        BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION,
        BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION,
        BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION_KEY_SIZE,
    }
    if isinstance(exc, BleakGATTProtocolError) and exc.code in bonding:
        return CalfsenseError(f"the sensor needs bonding: {exc}", PAIR_FIRST_ADVICE)
    # BlueZ reports these as D-Bus errors whose text is all there is (its ATT error 0x05 among them).
    text = str(exc)
    if "Insufficient Authentication" in text or "Insufficient Encryption" in text or "0x05" in text:
        return CalfsenseError(f"the sensor needs bonding: {text}", PAIR_FIRST_ADVICE)
    if isinstance(exc, BleakError) and ("not found" in text or "was not found" in text):
        return SensorNotFoundError(f"sensor not found: {text}")
    if isinstance(exc, BleakError) and "busy" in text:
        return SensorBusyError(f"the sensor is busy with another app: {text}")
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError) or "ServiceUnknown" in text:
        return BluetoothUnavailableError(f"no Bluetooth service: {text}")
    return None
