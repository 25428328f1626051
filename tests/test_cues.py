"""The audible metronome: the cue track rendered to a WAV file, its onsets and tones checked against the
prescription, and the caller that plays live cues from the coach's pace guide, rest clock and reps."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from calfsense.audio import PaceCaller, Player, SoundMode
from calfsense.cues import AUDIO_RATE_HZ, Cue, render, rest_cues, schedule, write_wav
from calfsense.errors import CalfsenseError
from calfsense.routine import Tempo, parse_routine


def _onsets(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Where sound starts after silence (s), read back from the WAV as any audio tool would, and the samples."""
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) / 32767
    loud = np.abs(x) > 0.02
    # An onset: loud after at least 30 ms of quiet (the gaps inside a count's double blip are 40 ms).
    quiet_before = np.convolve(loud, np.ones(int(0.03 * rate)), mode="full")[: len(x)]
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    starts = [i for i in starts if quiet_before[i - 1] == 0]
    return np.array(starts) / rate, x


def _pitch_hz(x: np.ndarray, at_s: float, span_s: float = 0.03) -> float:
    i = int(at_s * AUDIO_RATE_HZ)
    seg = x[i : i + int(span_s * AUDIO_RATE_HZ)] * np.hanning(int(span_s * AUDIO_RATE_HZ))
    spec = np.abs(np.fft.rfft(seg, 1 << 14))
    return float(np.fft.rfftfreq(1 << 14, 1 / AUDIO_RATE_HZ)[np.argmax(spec)])


@pytest.mark.parametrize(
    ("tempo", "beats"),
    [
        (Tempo(2.0, 1.0, 2.0, 0.5), [Cue.RISE, Cue.TOP, Cue.LOWER, Cue.BOTTOM]),  # the runner routine's 2-1-2
        (Tempo(1.0, 0.0, 1.0, 0.0), [Cue.RISE, Cue.LOWER]),  # the heel-rise test's 60 bpm: up one beat, down the next
    ],
)
def test_the_cue_track_sounds_each_phase_on_time_with_its_own_tone(
    tmp_path: Path, tempo: Tempo, beats: list[Cue]
) -> None:
    cues = schedule(tempo, reps=5, start_s=1.0)
    path = tmp_path / "cues.wav"
    write_wav(path, render(cues))
    onsets, x = _onsets(path)
    expected = np.array([t for t, _ in cues])
    assert len(onsets) == len(expected) and np.max(np.abs(onsets - expected)) < 0.005
    assert [c for _, c in cues] == beats * 5
    if tempo.hold_s == 0:
        assert np.allclose(np.diff(onsets), 1.0, atol=0.005)  # one cue a second: 60 bpm
    for t, cue in cues[: len(beats)]:
        first, last = _pitch_hz(x, t + 0.01), _pitch_hz(x, t + 0.12) if cue in (Cue.RISE, Cue.LOWER) else None
        if cue == Cue.RISE:
            assert last is not None and 400 < first < last < 900  # a rise sounds rising
        elif cue == Cue.LOWER:
            assert last is not None and 680 > first > last > 300  # and a lowering falling
        elif cue == Cue.TOP:
            assert abs(first - 988) < 15
        else:
            assert abs(first - 262) < 15


def test_a_rest_ends_with_three_ticks_and_go(tmp_path: Path) -> None:
    path = tmp_path / "rest.wav"
    write_wav(path, render(rest_cues(10.0, start_s=0.5)))
    onsets, x = _onsets(path)
    assert np.allclose(onsets, [7.5, 8.5, 9.5, 10.5], atol=0.005)
    assert abs(_pitch_hz(x, 7.51, 0.02) - 1760) < 25 and 700 < _pitch_hz(x, 10.52) < 900


ROUTINE = parse_routine(
    """name = "pace"
[[block]]
exercise = "two-leg"
sets = 2
reps = 3
tempo = { up = 2, hold = 1, down = 2, pause = 1 }
rest = 8
"""
)


def test_the_live_caller_plays_the_prescribed_beat_counts_reps_and_stops_when_paused() -> None:
    from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, simulate
    from calfsense.live import LiveCoach

    four = SetPlan("two-leg", 4, TEMPOS["article"])
    plan = [Segment("idle", 3.0), Segment("set", set_plan=four), Segment("idle", 25)]
    sim = simulate(plan, "foot", 100.0, seed=2)
    coach = LiveCoach(ROUTINE, "foot")
    mono = 0.0
    heard: list[tuple[float, float, Cue]] = []  # (host time, routine clock, cue)
    caller = PaceCaller(coach, lambda cue: heard.append((mono, coach.clock_s(mono), cue)))
    paused_at = resumed_at = -1.0
    i = 0
    while i < len(sim.time_s):
        # Samples arrive in 0.5-s notifications (as a Verity Sense sends them); the caller polls every 10 ms.
        j = int(np.searchsorted(sim.time_s, sim.time_s[i] + 0.5))
        coach.on_samples(sim.time_s[i:j], sim.acc_mg[i:j])
        coach.last_data_mono = mono
        for _ in range(50):
            caller.poll(mono)
            mono += 0.01
        if paused_at < 0 and coach.clock_s(mono) >= 13.0:
            coach.toggle_pause()
            paused_at = mono
        elif resumed_at < 0 <= paused_at and mono >= paused_at + 3.0:
            coach.toggle_pause()
            resumed_at = mono
        i = j
    beats = [(m, t, c) for m, t, c in heard if c in (Cue.RISE, Cue.TOP, Cue.LOWER, Cue.BOTTOM)]
    # The second cycle (6-12 s of the routine clock): in the prescribed order, each phase as long as prescribed.
    cycle = [(t, c) for _, t, c in beats if 5.9 < t < 12.1]
    assert [c for _, c in cycle] == [Cue.RISE, Cue.TOP, Cue.LOWER, Cue.BOTTOM, Cue.RISE]
    assert np.allclose(np.diff([t for t, _ in cycle]), [2.0, 1.0, 2.0, 1.0], atol=0.02)
    # Silent while paused; on again after.
    assert paused_at > 0 and resumed_at > paused_at
    assert not [b for b in beats if paused_at < b[0] < resumed_at] and any(b[0] > resumed_at for b in beats)
    # A blip a counted rep (none for the one made while paused), and the rest ends in three ticks and "go".
    assert sum(c == Cue.COUNT for _, _, c in heard) == len(coach.reps) == 3 and len(coach.paused_reps) == 1
    rest = [c for _, _, c in heard if c in (Cue.TICK, Cue.GO)]
    assert rest == [Cue.TICK, Cue.TICK, Cue.TICK, Cue.GO]


def test_without_the_sound_extra_the_message_says_what_to_install() -> None:
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError):
        with pytest.raises(CalfsenseError) as exc:
            Player(SoundMode.TONES)
        assert "calfsense[sound]" in exc.value.one_line()
    else:
        pytest.skip("sounddevice is installed here")
