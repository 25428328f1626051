"""Decoding a native recording: its raw notifications, through the same decoders and frame clock as live
mode, into a `LoadedSession` (one sensor, or a sensor on each leg on one clock). The file format itself,
writing and reading it raw, is `recording.py`; docs/recording-format.md describes both."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import FrameError, InputFileError
from calfsense.protocol import csimu, metawear, movesense, thingy, witmotion
from calfsense.protocol.gatt import decode_heart_rate
from calfsense.protocol.pmd import DecodeContext, MeasurementType, decode_frames
from calfsense.protocol.timestamps import ClockContinuity, ClockMap, SampleTimes, StreamClock, TimedFrame, spread_times
from calfsense.session.model import Event, LoadedSession
from calfsense.session.recording import (
    CHAR_CSIMU_DATA,
    CHAR_HR,
    CHAR_METAWEAR_DATA,
    CHAR_MOVESENSE_DATA,
    CHAR_PHYPHOX_GET,
    CHAR_PMD_DATA,
    CHAR_THINGY_DATA,
    CHAR_WITMOTION_DATA,
    RawRecording,
    payloads,
    read_raw,
)


class FrameDecoder(Protocol):
    """A stream's notifications to timed frames: (the last sample's device ns, samples in mG)."""

    def feed(self, data: bytes | bytearray | memoryview, host_ns: int = 0) -> list[tuple[int, NDArray[np.float64]]]:
        """One notification and when it arrived (a sensor that stamps nothing is timed by it)."""


# How each such stream is read back, by its characteristic's name; made with the stream's sample rate, time
# scale (sensor seconds per host second) and range (g).
DECODERS: dict[str, Callable[[float, float, int], FrameDecoder]] = {
    CHAR_CSIMU_DATA: csimu.StreamDecoder,
    CHAR_MOVESENSE_DATA: movesense.StreamDecoder,
    CHAR_METAWEAR_DATA: metawear.StreamDecoder,
    CHAR_WITMOTION_DATA: witmotion.StreamDecoder,
    CHAR_THINGY_DATA: thingy.StreamDecoder,
}


def split_legs(raw: RawRecording) -> dict[str, RawRecording]:
    """A two-sensor recording as one recording per leg: its device, its notifications and link events, and
    the session's events (set boundaries, pauses). Empty for a one-sensor recording."""
    legs = raw.header.streams
    if not legs:
        return {}
    devices = {r.get("s"): r for r in raw.records if r.get("k") == "stream"}
    out: dict[str, RawRecording] = {}
    for side in legs:
        info = devices.get(side) or {}
        device: dict[str, Any] = info["device"] if isinstance(info.get("device"), dict) else {}
        settings: dict[str, Any] = info["settings"] if isinstance(info.get("settings"), dict) else {}
        header = dataclasses.replace(
            raw.header,
            device_name=device.get("name"),
            model=device.get("model"),
            address=device.get("address"),
            firmware=device.get("firmware"),
            serial=device.get("serial"),
            settings=settings,
            streams=(),
        )
        records = [r for r in raw.records if r.get("k") in ("n", "e") and r.get("s", side) == side]
        out[side] = RawRecording(header, records, list(raw.warnings))
    return out


def decode_recording(raw: RawRecording, path: str = "", host0_ns: int | None = None) -> LoadedSession:
    """Decode the raw frames into samples on the host clock (device time, drift-corrected).

    A two-sensor recording decodes to the left leg's session with the right leg's as its `other`. `host0_ns`
    (one leg of one): the samples are timed from then, on the host's clock, rather than from the first.
    """
    legs = split_legs(raw)
    if legs:
        sessions = [
            dataclasses.replace(decode_recording(leg, path, raw.header.host0_ns or 0), side=side)
            for side, leg in legs.items()
        ]
        first = sessions[0]
        other = sessions[1] if len(sessions) > 1 else None
        named = " + ".join(f"{x.device or 'a sensor'} ({x.side})" for x in sessions)
        return dataclasses.replace(first, other=other, device=named)
    # One pass sorts the records by kind and characteristic (each later loop then sees only its own).
    notes: dict[str, list[dict[str, Any]]] = {}
    event_records: list[dict[str, Any]] = []
    for r in raw.records:
        kind = r.get("k")
        if kind == "n":
            notes.setdefault(r.get("c", ""), []).append(r)
        elif kind == "e":
            event_records.append(r)
    if CHAR_PHYPHOX_GET in notes:
        from calfsense.session.phyphox_rec import decode_phyphox

        return decode_phyphox(raw, path)
    header = raw.header
    acc = header.settings.get("acc") or {}
    rate = float(acc.get("sample_rate_hz") or 0) or None
    ctx = DecodeContext(
        resolution_bits=int(acc.get("resolution_bits") or 16),
        channels=int(acc.get("channels") or 3),
        factor=float(acc.get("factor") or 1.0),
    )
    warnings = list(raw.warnings)
    # Reconnects restart the sensor's stream: the timestamp spreader restarts with them.
    restarts = sorted(int(r["m"]) for r in event_records if r.get("e") == "reconnected")
    frames: list[tuple[int, int, np.ndarray]] = []  # (host ns, device last ns, samples)
    corrupt = 0
    total = 0
    for char, make in DECODERS.items():
        if char not in notes:
            continue
        # A sensor that is not Polar's: its own decoder, the same one live mode used (sources/drivers.py).
        reader = make(float(rate or 100.0), header.time_scale, int(acc.get("range") or 8))
        for mono, _wall, data in payloads(notes[char]):
            total += 1
            try:
                decoded = reader.feed(data, mono)
            except FrameError:
                corrupt += 1
                continue
            frames += [(mono, last_ns, samples) for last_ns, samples in decoded]
    pmd_notes = list(payloads(notes.get(CHAR_PMD_DATA, [])))
    total += len(pmd_notes)
    for (mono, _wall, _data), frame in zip(pmd_notes, decode_frames([n[2] for n in pmd_notes], ctx), strict=True):
        if isinstance(frame, FrameError):
            corrupt += 1
            continue
        if frame.measurement is not MeasurementType.ACC:
            continue
        frames.append((mono, frame.timestamp_ns, frame.samples))  # to float once, all together
    if not frames:
        raise InputFileError(f"{path or 'recording'}: no acceleration frames in the recording")
    if rate is None:
        continuous = ClockContinuity()
        first_ns = continuous.device_ns(frames[0][1], frames[0][0])
        last_ns = first_ns
        for mono, dev, _ in frames[1:]:
            last_ns = continuous.device_ns(dev, mono)
        count = sum(len(f[2]) for f in frames[1:])
        rate = count * 1e9 / (last_ns - first_ns) if last_ns > first_ns else 50.0
    # The same frame clock as live mode (clock resets, restarts, frames out of order), in arrival order.
    stream = StreamClock(rate, time_scale=header.time_scale)
    clock = ClockMap()
    times: list[SampleTimes] = []
    kept: list[np.ndarray] = []
    lost = 0
    gaps: list[tuple[int, int]] = []
    next_restart = 0
    timed: list[TimedFrame] = []
    for mono, dev, samples in frames:
        while next_restart < len(restarts) and restarts[next_restart] <= mono:
            stream.restart()
            next_restart += 1
        try:
            timed += stream.push(dev, samples, mono)
        except FrameError:
            corrupt += 1
    timed += stream.flush()
    for tf in timed:
        clock.observe(tf.times.last_ns, tf.host_ns)
        hole = tf.gap_before
        if hole is not None:
            lost += max(1, round((hole[1] - hole[0]) / stream.period_ns / max(1, len(tf.samples))))
            gaps.append(hole)
        times.append(tf.times)
        kept.append(tf.samples)
    clock.fit()
    if stream.resets:
        warnings.append(
            f"the sensor's clock jumped {len(stream.resets)} time(s) (it restarted): re-anchored to the host's"
        )
    if stream.out_of_order:
        warnings.append(
            f"{len(stream.out_of_order)} frame(s) arrived out of order: {stream.set_aside} of them too late to count"
        )
    if corrupt:
        warnings.append(f"{corrupt} corrupt frame(s) skipped")
    if not times:
        raise InputFileError(f"{path or 'recording'}: no acceleration frames could be timed")
    dev_ns = spread_times(times)
    acc_mg = np.vstack(kept).astype(np.float64)
    ok = np.isfinite(dev_ns)
    # Samples are timed by the sensor's own clock (the best sample clock, and the same causal rule
    # live mode uses, so live and replay find the same reps); host times (heart rate, events) are
    # mapped onto it.
    dev0 = float(dev_ns[ok][0])
    # Two legs share one clock: each leg's from when its first sample was taken, by the host's clock (the
    # rule live mode applies as the first frame arrives: `leg_offset_s`).
    offset_s = 0.0 if host0_ns is None else leg_offset_s(timed[0], host0_ns, header.time_scale)
    time_s = ((dev_ns[ok] - dev0) / 1e9 + offset_s).astype(np.float64, copy=False)
    gap_s = tuple(((a - dev0) / 1e9 + offset_s, (b - dev0) / 1e9 + offset_s) for a, b in gaps)

    def host_to_s(host: int) -> float:
        return (float(clock.to_device_ns(host)) - dev0) / 1e9 + offset_s

    hr_t: list[float] = []
    hr_v: list[float] = []
    for mono, _wall, data in payloads(notes.get(CHAR_HR, [])):
        try:
            hr = decode_heart_rate(data)
        except FrameError:
            continue
        hr_t.append(host_to_s(mono))
        hr_v.append(float(hr.heart_rate_bpm))
    events = session_events(event_records, host_to_s)
    device = header.device_name or header.model
    return LoadedSession(
        path=path,
        format="calfsense",
        time_s=time_s,
        acc_mg=acc_mg[ok],
        device=device,
        model=header.model,
        placement=header.placement,
        routine=header.routine,
        nominal_rate_hz=rate if acc.get("sample_rate_hz") else None,
        hr_time_s=np.array(hr_t),
        hr_bpm=np.array(hr_v),
        events=events,
        gaps=gap_s,
        frames_total=total,
        frames_lost=lost,
        frames_corrupt=corrupt,
        settings=dict(header.settings),
        start_wall=header.start_wall or None,
        synthetic=header.synthetic,
        warnings=tuple(warnings),
    )


def leg_offset_s(first: TimedFrame, host0_ns: int, time_scale: float = 1.0) -> float:
    """Where a leg's first sample falls on a two-sensor session's clock: its frame's arrival less the frame's
    own span, from `host0_ns`, in sensor seconds (a virtual sensor's clock runs `time_scale` times the host's)."""
    span_ns = first.times.last_ns - first.times.first_sample_ns
    return ((first.host_ns - host0_ns) * time_scale - span_ns) / 1e9


def session_events(records: Iterable[dict[str, Any]], host_to_s: Callable[[int], float]) -> tuple[Event, ...]:
    """Event records as session events: at the sensor time they carry (live set boundaries and pauses keep it
    exactly), else at their host time mapped onto the session's clock."""
    return tuple(
        Event(
            float(r["t_s"]) if isinstance(r.get("t_s"), int | float) else host_to_s(int(r["m"])),
            str(r.get("e")),
            str(r.get("text", "")),
        )
        for r in records
        if r.get("k") == "e" and "m" in r
    )


def load_native(path: str | Path) -> LoadedSession:
    """Read and decode a native recording."""
    return decode_recording(read_raw(path), str(path))
