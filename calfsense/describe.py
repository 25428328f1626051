"""What `calfsense info` says about a loaded recording or export: as JSON, and as lines for the terminal."""

from __future__ import annotations

import json
from typing import Any

from calfsense.session.model import LoadedSession
from calfsense.text import printable


def as_json(s: LoadedSession) -> dict[str, Any]:
    """Device, settings, duration, rates, frames, gaps, heart rate, events and warnings."""
    return {
        "path": s.path,
        "format": s.format,
        "device": s.device,
        "model": s.model,
        "placement": s.placement,
        "routine": s.routine,
        "synthetic": s.synthetic,
        "start_wall": s.start_wall,
        "settings": s.settings,
        "duration_s": round(s.duration_s, 2),
        "samples": int(len(s.time_s)),
        "sample_rate_hz": round(s.sample_rate_hz, 3),
        "nominal_rate_hz": s.nominal_rate_hz,
        "frames": s.frames_total,
        "frames_lost": s.frames_lost,
        "frames_corrupt": s.frames_corrupt,
        "gaps": [{"start_s": round(a, 3), "end_s": round(b, 3)} for a, b in s.gaps],
        "heart_rate_readings": int(len(s.hr_bpm)),
        "events": [{"time_s": round(e.time_s, 3), "kind": e.kind, "text": e.text} for e in s.events],
        "warnings": list(s.warnings),
    }


def lines(s: LoadedSession) -> list[str]:
    """The same, one fact a line, with outside text made printable."""
    data = as_json(s)
    out = [f"{key:<16}{printable(data[key])}" for key in ("path", "format", "device", "model", "placement",
                                                         "routine", "start_wall") if data[key]]  # fmt: skip
    if s.synthetic:
        out.append(f"{'synthetic':<16}yes (made by the simulator)")
    if s.settings:
        out.append(f"{'settings':<16}{json.dumps(s.settings)}")
    nominal = f" (nominal {s.nominal_rate_hz:g} Hz)" if s.nominal_rate_hz else ""
    out.append(f"{'duration':<16}{s.duration_s:.1f} s, {len(s.time_s)} samples")
    out.append(f"{'sample rate':<16}{s.sample_rate_hz:.3f} Hz measured{nominal}")
    if s.frames_total:
        out.append(f"{'frames':<16}{s.frames_total} received, {s.frames_lost} lost, {s.frames_corrupt} corrupt")
    out.append(f"{'gaps':<16}{len(s.gaps)}" + "".join(f"  [{a:.1f}-{b:.1f} s]" for a, b in s.gaps[:5]))
    out.append(f"{'heart rate':<16}{len(s.hr_bpm)} readings")
    for e in s.events:
        out.append(f"{'event':<16}{e.time_s:8.1f} s  {printable(e.kind)} {printable(e.text)}".rstrip())
    for w in s.warnings:
        out.append(f"{'warning':<16}{printable(w)}")
    return out
