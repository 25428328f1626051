"""The report as typed values, built once (`report.build_report`); the terminal, JSON, CSV, pictures and
history render from it. `Report.to_json()` is the `calfsense.report/1` contract (docs/report.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from calfsense.domain import Flag
from calfsense.routine import PrescribedSet

SCHEMA = "calfsense.report/1"


@dataclass(frozen=True, slots=True)
class PhaseStats:
    """One tempo phase over a set's reps, against its prescription."""

    mean_s: float | None
    sd_s: float | None
    target_s: float | None = None
    tolerance_s: float | None = None
    on_tempo_pct: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The phase object (target keys only when a target was prescribed)."""
        out: dict[str, Any] = {"mean_s": self.mean_s, "sd_s": self.sd_s}
        if self.target_s is not None:
            out.update(target_s=self.target_s, tolerance_s=self.tolerance_s, on_tempo_pct=self.on_tempo_pct)
        return out


@dataclass(frozen=True, slots=True)
class TempoVerdict:
    """The four phases and the share of reps on tempo (rise and lowering both)."""

    up: PhaseStats
    hold: PhaseStats
    down: PhaseStats
    pause: PhaseStats
    on_tempo_pct: float | None

    def to_json(self) -> dict[str, Any]:
        """The tempo object."""
        phases = {"up": self.up, "hold": self.hold, "down": self.down, "pause": self.pause}
        return {**{k: v.to_json() for k, v in phases.items()}, "on_tempo_pct": self.on_tempo_pct}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A set against its prescription: reps, tempo, height, flags, compliance and what to work on."""

    reps_done: int
    reps_prescribed: int | None  # None: as many as possible ("max")
    reps_ok: bool
    tempo: TempoVerdict
    height_cm_mean: float | None
    height_cv_pct: float | None
    flagged: dict[Flag, int]
    compliance: float
    coaching: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The verdict object."""
        return {
            "reps_done": self.reps_done,
            "reps_prescribed": self.reps_prescribed if self.reps_prescribed is not None else "max",
            "reps_ok": self.reps_ok,
            "tempo": self.tempo.to_json(),
            "height_cm": {"mean": self.height_cm_mean, "cv_pct": self.height_cv_pct},
            "flagged": {str(k): n for k, n in self.flagged.items()},
            "compliance": self.compliance,
            "coaching": list(self.coaching),
        }


@dataclass(frozen=True, slots=True)
class RepReport:
    """One rep as reported: times from the first sample, phases, height and flags."""

    index: int
    start_s: float | None
    top_s: float | None
    lower_s: float | None
    end_s: float | None
    up_s: float | None
    hold_s: float | None
    down_s: float | None
    pause_s: float | None  # None for a set's first rep
    height_cm: float | None
    flags: tuple[Flag, ...]
    side: str | None = None  # a sensor on each leg: the leg that moved (left, right, both); else None

    def phase_s(self, phase: str) -> float | None:
        """A phase's duration by name (up, hold, down, pause)."""
        value: float | None = getattr(self, f"{phase}_s")
        return value

    def to_json(self) -> dict[str, Any]:
        """The rep object."""
        return {
            "index": self.index,
            "start_s": self.start_s,
            "top_s": self.top_s,
            "lower_s": self.lower_s,
            "end_s": self.end_s,
            "up_s": self.up_s,
            "hold_s": self.hold_s,
            "down_s": self.down_s,
            "pause_s": self.pause_s,
            "height_cm": self.height_cm,
            "flags": [str(f) for f in self.flags],
            "side": self.side,
        }


@dataclass(frozen=True, slots=True)
class SetReport:
    """A detected set, the prescribed set it was matched to (if any) and its verdict."""

    index: int
    start_s: float | None
    end_s: float | None
    prescribed: PrescribedSet | None
    verdict: Verdict | None
    reps: tuple[RepReport, ...]

    @property
    def exercise(self) -> str | None:
        """The prescribed exercise, when matched."""
        return self.prescribed.exercise if self.prescribed else None

    @property
    def moved(self) -> str | None:
        """A sensor on each leg: the leg most of the set's reps were made with (left, right, both); else None."""
        sides = [r.side for r in self.reps if r.side is not None]
        return max(sorted(set(sides)), key=sides.count) if sides else None

    @property
    def side(self) -> str | None:
        """The leg the set was done with: the one that moved (two sensors), else the prescribed one."""
        moved = self.moved
        if moved is not None:
            return moved if moved in ("left", "right") else None
        return self.prescribed.side if self.prescribed else None

    def to_json(self) -> dict[str, Any]:
        """The set object."""
        return {
            "index": self.index,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "exercise": self.exercise,
            "side": self.side,
            "moved": self.moved,
            "prescribed": self.prescribed.as_dict() if self.prescribed else None,
            "verdict": self.verdict.to_json() if self.verdict else None,
            "reps": [r.to_json() for r in self.reps],
        }


@dataclass(frozen=True, slots=True)
class MissingSet:
    """A prescribed set that was not found."""

    index: int
    exercise: str
    side: str | None

    def to_json(self) -> dict[str, Any]:
        """The missing-set object."""
        return {"index": self.index, "exercise": self.exercise, "side": self.side}


@dataclass(frozen=True, slots=True)
class Summary:
    """The session in numbers, and what the user should know about it."""

    reps: int
    sets: int
    routine: str | None
    missing_sets: tuple[MissingSet, ...]
    extra_sets: int
    compliance: float | None
    height_cm_mean: float | None
    flagged_reps: int
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The summary object."""
        return {
            "reps": self.reps,
            "sets": self.sets,
            "routine": self.routine,
            "missing_sets": [m.to_json() for m in self.missing_sets],
            "extra_sets": self.extra_sets,
            "compliance": self.compliance,
            "height_cm_mean": self.height_cm_mean,
            "flagged_reps": self.flagged_reps,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where the data came from."""

    path: str
    format: str
    device: str | None
    placement: str
    sample_rate_hz: float | None
    duration_s: float | None
    nominal_rate_hz: float | None
    synthetic: bool
    start_wall: str | None
    frames_lost: int

    def to_json(self) -> dict[str, Any]:
        """The source object."""
        return {
            "path": self.path,
            "format": self.format,
            "device": self.device,
            "placement": self.placement,
            "sample_rate_hz": self.sample_rate_hz,
            "duration_s": self.duration_s,
            "nominal_rate_hz": self.nominal_rate_hz,
            "synthetic": self.synthetic,
            "start_wall": self.start_wall,
            "frames_lost": self.frames_lost,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """A session's report: source, signal gaps, sets with their verdicts, and the summary."""

    source: SourceInfo
    gaps: tuple[tuple[float | None, float | None], ...]  # (start s, end s) where the signal was lost
    sets: tuple[SetReport, ...]
    summary: Summary

    def to_json(self) -> dict[str, Any]:
        """The `calfsense.report/1` JSON object."""
        return {
            "schema": SCHEMA,
            "source": self.source.to_json(),
            "gaps": [{"start_s": a, "end_s": b} for a, b in self.gaps],
            "sets": [s.to_json() for s in self.sets],
            "summary": self.summary.to_json(),
        }
