"""Sound out of the speaker for live mode: the cue player and the caller that says when each cue is due.

The edge of `cues.py`: `Player` mixes cue tones into one output stream (sounddevice, the optional
`calfsense[sound]` extra, over PortAudio) and speaks with pyttsx3 in voice mode; `PaceCaller` watches
the coach's pace guide, rest clock and reps and hands the player a cue the moment one is due, so the
sound follows exactly what the screen shows (and stops while paused).
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calfsense.cues import AUDIO_RATE_HZ, Cue, tone_samples
from calfsense.errors import CalfsenseError
from calfsense.live import LiveCoach


class SoundMode(enum.StrEnum):
    """`live --sound`: silence, the tone metronome, or tones with the count spoken."""

    OFF = "off"
    TONES = "tones"
    VOICE = "voice"


SOUND_EXTRA_ADVICE = "install the sound extra: python3 -m pip install 'calfsense[sound]' (and PortAudio: libportaudio2)"
_BEAT_CUES = {"up": Cue.RISE, "hold": Cue.TOP, "down": Cue.LOWER, "pause": Cue.BOTTOM}


class Player:
    """Mixes cues into one output stream as they are played (a cue never cuts the one before it)."""

    def __init__(self, mode: SoundMode) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:  # OSError: the PortAudio library itself is missing
            raise CalfsenseError(f"no sound: {exc}", SOUND_EXTRA_ADVICE) from None
        self._lock = threading.Lock()
        self._playing: list[NDArray[np.float32]] = []
        self._tones = {cue: tone_samples(cue) for cue in Cue}
        self._speak: Callable[[str], None] | None = _voice() if mode == SoundMode.VOICE else None
        try:
            self._stream: Any = sounddevice.OutputStream(
                samplerate=AUDIO_RATE_HZ, channels=1, dtype="float32", callback=self._fill
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError: no output device, or it is busy
            raise CalfsenseError(f"no sound: cannot open the audio output ({exc})", "check the speaker") from None

    def _fill(self, out: NDArray[np.float32], frames: int, _time: object, _status: object) -> None:
        # The audio thread: mix what is playing into this block.
        mixed = np.zeros(frames, dtype=np.float32)
        with self._lock:
            keep = []
            for buf in self._playing:
                n = min(frames, len(buf))
                mixed[:n] += buf[:n]
                if len(buf) > frames:
                    keep.append(buf[frames:])
            self._playing = keep
        out[:, 0] = np.clip(mixed, -1.0, 1.0)

    def play(self, cue: Cue) -> None:
        """Start a cue now."""
        with self._lock:
            self._playing.append(self._tones[cue])

    def say(self, text: str) -> None:
        """Speak (voice mode), else nothing."""
        if self._speak is not None:
            self._speak(text)

    def close(self) -> None:
        """Stop the output stream."""
        self._stream.stop()
        self._stream.close()


def _voice() -> Callable[[str], None]:
    """A speaker on its own thread (text to speech blocks while it talks)."""
    try:
        import pyttsx3
    except ImportError:
        raise CalfsenseError("no voice: pyttsx3 is not installed", SOUND_EXTRA_ADVICE) from None
    try:
        engine = pyttsx3.init()
    except Exception as exc:  # no speech engine (espeak-ng on Linux)
        raise CalfsenseError(f"no voice: {exc}", "install espeak-ng, or use --sound tones") from None
    pending: list[str] = []
    wake = threading.Event()

    def talk() -> None:
        while True:
            wake.wait()
            wake.clear()
            while pending:
                engine.say(pending.pop(0))
                engine.runAndWait()

    threading.Thread(target=talk, daemon=True, name="calfsense-voice").start()

    def speak(text: str) -> None:
        pending[:] = [text]  # only the latest count matters: never fall behind the reps
        wake.set()

    return speak


@dataclass
class PaceCaller:
    """Decides which cues are due from the coach's state; `poll` is called often (every 10 ms or so)."""

    coach: LiveCoach
    play: Callable[[Cue], None]
    say: Callable[[str], None] = lambda text: None
    _beat: str = field(default="", init=False)
    _rest_tick: int | None = field(default=None, init=False)
    _reps_heard: int = field(default=0, init=False)

    def poll(self, now_mono: float | None = None) -> None:
        """Play what became due since the last poll."""
        now = time.monotonic() if now_mono is None else now_mono
        c = self.coach
        counted = len(c.reps)
        if counted > self._reps_heard:
            self._reps_heard = counted
            self.play(Cue.COUNT)
            self.say(str(c.reps_in_set or counted))
        if c.paused or c.finished or c.routine_done or not c.ready:
            self._beat = ""
            return
        rest = c.rest_left_s(now)
        if rest is not None and c.reps_in_set == 0:
            left = int(np.ceil(rest))
            if self._rest_tick is not None and left < self._rest_tick:
                if left <= 0 < self._rest_tick:
                    self.play(Cue.GO)
                    self.say("go")
                elif 0 < left <= 3:
                    self.play(Cue.TICK)
            self._rest_tick = left
            self._beat = ""
            return
        self._rest_tick = None
        beat, _ = c.pace_position(now)
        if beat and beat != self._beat:
            self.play(_BEAT_CUES[beat])
        self._beat = beat
