"""The audible metronome as sound: which cue when, and the samples each cue is made of (numpy only).

A runner at a wall looks at the wall, so the prescribed tempo is heard: a distinct tone where each phase
begins (rise, top, lower, bottom), a count after each rep, ticks in the last seconds of a rest and a
"go" at its end. `schedule` lays the cues of a set on a time line; `render` turns any cue list into
samples (what the live player plays and what the tests check, written as a WAV by `write_wav`).
"""

from __future__ import annotations

import enum
import math
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calfsense.routine import Tempo

AUDIO_RATE_HZ = 22_050


class Cue(enum.Enum):
    """What a sound means; its tone is in `TONES`."""

    RISE = "rise"
    TOP = "top"
    LOWER = "lower"
    BOTTOM = "bottom"
    COUNT = "count"  # a rep was counted
    TICK = "tick"  # the last seconds of a rest
    GO = "go"  # the rest is over


@dataclass(frozen=True, slots=True)
class Tone:
    """A short tone: from `start_hz` gliding to `end_hz` over `duration_s` (a rise sounds rising)."""

    start_hz: float
    end_hz: float
    duration_s: float
    level: float = 0.5


# Rise glides up and lower glides down; top and bottom are steady and far apart in pitch, so each phase is
# told by ear alone. A count is a high double blip; ticks are short and quiet, "go" long and bright.
TONES: dict[Cue, tuple[Tone, ...]] = {
    Cue.RISE: (Tone(440.0, 880.0, 0.16),),
    Cue.TOP: (Tone(988.0, 988.0, 0.10),),
    Cue.LOWER: (Tone(660.0, 330.0, 0.16),),
    Cue.BOTTOM: (Tone(262.0, 262.0, 0.10),),
    Cue.COUNT: (Tone(1319.0, 1319.0, 0.05, 0.35), Tone(0.0, 0.0, 0.04, 0.0), Tone(1568.0, 1568.0, 0.05, 0.35)),
    Cue.TICK: (Tone(1760.0, 1760.0, 0.03, 0.25),),
    Cue.GO: (Tone(784.0, 1175.0, 0.35, 0.6),),
}
_FADE_S = 0.008  # no click at a tone's edges


def phase_cues(tempo: Tempo) -> list[tuple[float, Cue]]:
    """The cues of one rep, from its start: a phase of zero length has no cue of its own (the next one sounds)."""
    out: list[tuple[float, Cue]] = [(0.0, Cue.RISE)]
    t = tempo.up_s
    if tempo.hold_s > 0:
        out.append((t, Cue.TOP))
    t += tempo.hold_s
    out.append((t, Cue.LOWER))
    t += tempo.down_s
    if tempo.pause_s > 0:
        out.append((t, Cue.BOTTOM))
    return out


def schedule(tempo: Tempo, reps: int, start_s: float = 0.0) -> list[tuple[float, Cue]]:
    """Every phase cue of a set of `reps` at `tempo`, from `start_s`."""
    cycle = tempo.rep_s
    return [(start_s + k * cycle + t, cue) for k in range(reps) for t, cue in phase_cues(tempo)]


def rest_cues(rest_s: float, start_s: float = 0.0, ticks: int = 3) -> list[tuple[float, Cue]]:
    """A tick in each of the last `ticks` seconds of a rest, then "go" when it is over."""
    end = start_s + rest_s
    return [(end - k, Cue.TICK) for k in range(ticks, 0, -1) if end - k >= start_s] + [(end, Cue.GO)]


def tone_samples(cue: Cue, rate_hz: int = AUDIO_RATE_HZ) -> NDArray[np.float32]:
    """The samples of one cue (mono, -1..1)."""
    parts = []
    for tone in TONES[cue]:
        n = int(round(tone.duration_s * rate_hz))
        t = np.arange(n) / rate_hz
        # A linear glide: the phase is the integral of the frequency.
        freq = tone.start_hz + (tone.end_hz - tone.start_hz) * t / max(tone.duration_s, 1e-9)
        phase = 2 * math.pi * np.cumsum(freq) / rate_hz
        fade = np.clip(np.minimum(t, tone.duration_s - t) / _FADE_S, 0.0, 1.0)
        parts.append(tone.level * fade * np.sin(phase))
    return np.concatenate(parts).astype(np.float32)


def render(cues: list[tuple[float, Cue]], rate_hz: int = AUDIO_RATE_HZ, tail_s: float = 0.5) -> NDArray[np.float32]:
    """A cue track: each cue's tone mixed in at its time (a cue at a negative time is left out)."""
    if not cues:
        return np.zeros(0, dtype=np.float32)
    length = int(math.ceil((max(t for t, _ in cues) + tail_s) * rate_hz))
    track = np.zeros(length, dtype=np.float32)
    for t, cue in cues:
        if t < 0:
            continue
        tone = tone_samples(cue, rate_hz)
        i = int(round(t * rate_hz))
        n = min(len(tone), length - i)
        track[i : i + n] += tone[:n]
    out: NDArray[np.float32] = np.clip(track, -1.0, 1.0)
    return out


def write_wav(path: Path, samples: NDArray[np.float32], rate_hz: int = AUDIO_RATE_HZ) -> None:
    """16-bit mono WAV."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())
