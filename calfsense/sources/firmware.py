"""What each non-Polar sensor's firmware sends for a run of samples: the bytes the virtual sensor notifies
live and the simulator records (sources/virtual.py, sources/synthetic.py), so both speak one protocol the
same way. Polar's frames are `protocol/encode.py`'s."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calfsense.protocol import csimu, metawear, movesense, thingy, witmotion
from calfsense.sources.drivers import BY_PROTOCOL

# A WitMotion's notifications carry its byte stream cut where the radio cuts it: packets split across
# notifications, or several in one (its reader resynchronises on 55 61).
WITMOTION_CHUNK_BYTES = 48


@dataclass(frozen=True, slots=True)
class Emitted:
    """Notifications for a run of samples, on the sensor's data characteristic."""

    data_uuid: str
    notifications: list[bytes]


def samples_per_send(protocol: str, rate_hz: int) -> int:
    """How many samples the firmware sends at a time (a packet, or a connection event's worth)."""
    if protocol == "csimu":
        return csimu.SAMPLES_PER_PACKET
    if protocol == "movesense":
        return movesense.samples_per_packet(rate_hz)
    return max(1, rate_hz // 20)  # one notification a sample, sent in a 50-ms connection event


def emit(
    protocol: str, samples_mg: NDArray[np.float64], first_index: int, device_ns: int, range_g: int, ref: int = 0x63
) -> Emitted:
    """The notifications for samples starting at sample `first_index`, the first taken at the sensor's
    clock `device_ns`."""
    acc = np.asarray(samples_mg, dtype=np.float64).reshape(-1, 3)
    out: list[bytes]
    if protocol == "csimu":
        t_us = (device_ns // 1000) % (1 << 32)  # its microsecond clock wraps every 71.6 min
        out = [csimu.encode_packet(first_index, t_us, csimu.scale_ug(range_g), csimu.counts(acc, range_g))]
    elif protocol == "movesense":
        out = movesense.acc_notifications(ref, device_ns // 1_000_000, acc)
    elif protocol == "metawear":
        out = [metawear.encode_sample(row) for row in metawear.counts(acc, range_g)]
    elif protocol == "witmotion":
        stream = b"".join(witmotion.encode_packet(row) for row in acc)
        out = [stream[i : i + WITMOTION_CHUNK_BYTES] for i in range(0, len(stream), WITMOTION_CHUNK_BYTES)]
    elif protocol == "thingy":
        out = [thingy.encode_raw(row) for row in acc]
    else:
        raise ValueError(f"no firmware emulation for {protocol!r}")
    return Emitted(BY_PROTOCOL[protocol].data_uuid, out)
