"""A recording of a phone through phyphox's remote access, decoded as live mode decoded it while it ran.

The recording holds /config and every /get answer raw with its host time (`sources/phyphox.py`); the same
`PhyphoxStream` takes them in the same order, so replay finds exactly the samples, gaps and reps live
mode found.
"""

from __future__ import annotations

import numpy as np

from calfsense.errors import FrameError, InputFileError
from calfsense.protocol.phyphox import PhyphoxStream, check_config
from calfsense.session.decode import session_events
from calfsense.session.model import LoadedSession
from calfsense.session.recording import CHAR_PHYPHOX_CONFIG, CHAR_PHYPHOX_GET, RawRecording, iter_notifications

_GAP_S = 0.5  # samples this far apart (the phone's rate is 50-500 Hz) had the link or the run stopped between them


def decode_phyphox(raw: RawRecording, path: str = "") -> LoadedSession:
    """Samples on the session's time line, with gaps, events and the phone's facts."""
    header = raw.header
    configs = list(iter_notifications(raw, CHAR_PHYPHOX_CONFIG))
    if not configs:
        raise InputFileError(f"{path or 'recording'}: a phyphox recording without its /config")
    try:
        experiment = check_config(configs[0][2])
    except FrameError as exc:
        raise InputFileError(f"{path or 'recording'}: its phyphox /config cannot be read: {exc}") from None
    stream = PhyphoxStream(experiment, time_scale=header.time_scale)
    times: list[np.ndarray] = []
    samples: list[np.ndarray] = []
    marks: list[tuple[int, float]] = []  # (host ns, time line s) after each answer with data
    corrupt = total = 0
    for mono, _wall, body in iter_notifications(raw, CHAR_PHYPHOX_GET):
        total += 1
        try:
            block = stream.push(body, mono)
        except FrameError:
            corrupt += 1
            continue
        if len(block.time_s):
            times.append(block.time_s)
            samples.append(block.acc_mg)
            marks.append((mono, float(block.time_s[-1])))
    if not times:
        raise InputFileError(f"{path or 'recording'}: no acceleration in the phyphox recording")
    t = np.concatenate(times)
    acc = np.vstack(samples)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.01
    holes = np.flatnonzero(np.diff(t) > max(_GAP_S, 5 * step))
    gaps = tuple((float(t[i]), float(t[i + 1])) for i in holes)
    host = np.array([m for m, _ in marks], dtype=np.float64)
    line = np.array([s for _, s in marks])

    def host_to_s(ns: int) -> float:
        return float(np.interp(float(ns), host, line))

    events = session_events(raw.records, host_to_s)
    warnings = list(raw.warnings)
    if corrupt:
        warnings.append(f"{corrupt} unreadable phyphox answer(s) skipped")
    return LoadedSession(
        path=path,
        format="calfsense",
        time_s=t,
        acc_mg=acc,
        device=header.device_name or header.model,
        model=header.model,
        placement=header.placement,
        routine=header.routine,
        events=events,
        gaps=gaps,
        frames_total=total,
        frames_corrupt=corrupt,
        settings=dict(header.settings),
        start_wall=header.start_wall or None,
        synthetic=header.synthetic,
        warnings=tuple(warnings),
    )
