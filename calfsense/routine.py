"""Routines: what was prescribed (exercises, sides, sets, reps, tempo, rest), from TOML.

A routine file is a name and a list of `[[block]]` tables, see docs/routines.md. Validation errors
name the file, the line and the field. Built-in routines are the same TOML, in calfsense/routines/.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calfsense.domain import Exercise, Side
from calfsense.errors import RoutineError

EXERCISES = tuple(e.value for e in Exercise)
SIDES = tuple(s.value for s in Side)


@dataclass(frozen=True, slots=True)
class Tempo:
    """Seconds per phase: up, top hold, down, bottom pause (prescribed, or simulated)."""

    up_s: float
    hold_s: float
    down_s: float
    pause_s: float

    @property
    def rep_s(self) -> float:
        """One full cycle."""
        return self.up_s + self.hold_s + self.down_s + self.pause_s

    def label(self) -> str:
        """'2-1-2' style, with the pause when there is one."""
        parts = [self.up_s, self.hold_s, self.down_s] + ([self.pause_s] if self.pause_s else [])
        return "-".join(f"{p:g}" for p in parts)


@dataclass(frozen=True, slots=True)
class Block:
    """One exercise of a routine."""

    exercise: str
    side: str
    sets: int
    reps: int | None  # None: to failure ("max")
    tempo: Tempo
    rest_s: float
    load: str | None
    knee: str | None
    cues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrescribedSet:
    """One set the routine asks for, in order."""

    index: int
    exercise: str
    side: str | None
    reps: int | None
    tempo: Tempo
    rest_s: float
    load: str | None
    knee: str | None
    cues: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The `prescribed` object of the report."""
        return {
            "exercise": self.exercise,
            "side": self.side,
            "reps": self.reps if self.reps is not None else "max",
            "tempo": {
                "up_s": self.tempo.up_s,
                "hold_s": self.tempo.hold_s,
                "down_s": self.tempo.down_s,
                "pause_s": self.tempo.pause_s,
            },
            "rest_s": self.rest_s,
            "load": self.load,
            "knee": self.knee,
            "cues": list(self.cues),
        }


@dataclass(frozen=True, slots=True)
class Routine:
    """A named list of blocks."""

    name: str
    title: str
    description: str
    blocks: tuple[Block, ...]
    source: str

    def prescribed_sets(self) -> list[PrescribedSet]:
        """Every set in order; `alternate` sides go left, right, left, right..."""
        out: list[PrescribedSet] = []
        for b in self.blocks:
            sides: list[str | None]
            if b.side == "alternate":
                sides = [s for _ in range(b.sets) for s in ("left", "right")]
            elif b.side in ("left", "right"):
                sides = [b.side] * b.sets
            else:
                sides = [None] * b.sets
            for side in sides:
                out.append(
                    PrescribedSet(len(out) + 1, b.exercise, side, b.reps, b.tempo, b.rest_s, b.load, b.knee, b.cues)
                )
        return out


ARTICLE_CUES = ("rise straight up", "as high as you can", "lower slowly")


def _builtin() -> dict[str, str]:
    """The built-in routines: TOML files shipped inside the package (calfsense/routines/), by name."""
    from importlib.resources import files

    folder = files("calfsense") / "routines"
    found = {f.name.removesuffix(".toml"): f for f in folder.iterdir() if f.name.endswith(".toml")}
    # Listed from the everyday routine (the default) to the clinic's test; any other file after them.
    order = [*(n for n in _BUILTIN_ORDER if n in found), *sorted(set(found) - set(_BUILTIN_ORDER))]
    return {name: found[name].read_text(encoding="utf-8") for name in order}


_BUILTIN_ORDER = ("runner-calves", "alfredson", "hsr", "heel-rise-test")


BUILTIN: dict[str, str] = _builtin()

DEFAULT_ROUTINE = "runner-calves"


def _line_of(text: str, block: int | None, key: str) -> int:
    """Line number of `key =` in the top level (block None) or the n-th [[block]] (from 0)."""
    lines = text.splitlines()
    current = -1
    for i, line in enumerate(lines, 1):
        if re.match(r"^\s*\[\[\s*block\s*\]\]", line):
            current += 1
            continue
        if re.match(rf"^\s*{re.escape(key)}\s*=", line) and ((block is None and current == -1) or current == block):
            return i
    headers = [i for i, line in enumerate(lines, 1) if re.match(r"^\s*\[\[\s*block\s*\]\]", line)]
    if block is not None and block < len(headers):
        return headers[block]  # the field is missing: point at its block
    return 1


def parse_routine(text: str, source: str = "<routine>") -> Routine:
    """Parse and validate routine TOML; errors say `file:line: field: problem`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        text_msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", text_msg)
        where = f":{m.group(1)}" if m else ""
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", text_msg)
        col = f" (column {m.group(2)})" if m else ""
        raise RoutineError(f"{source}{where}: {detail}{col}", "fix the TOML syntax (see docs/routines.md)") from None

    def fail(block: int | None, key: str, problem: str) -> RoutineError:
        where = f"block {block + 1} " if block is not None else ""
        return RoutineError(
            f"{source}:{_line_of(text, block, key)}: {where}{key}: {problem}",
            "see docs/routines.md for the fields",
        )

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail(None, "name", "a routine needs a name")
    raw_blocks = data.get("block")
    if not isinstance(raw_blocks, list) or not raw_blocks:
        raise RoutineError(f"{source}:1: no [[block]] tables", "a routine needs at least one exercise block")
    blocks: list[Block] = []
    for i, b in enumerate(raw_blocks):
        unknown = set(b) - {"exercise", "side", "sets", "reps", "tempo", "rest", "load", "knee", "cues"}
        if unknown:
            key = sorted(unknown)[0]
            raise fail(i, key, "unknown field (known: exercise, side, sets, reps, tempo, rest, load, knee, cues)")
        ex = b.get("exercise")
        if ex not in EXERCISES:
            raise fail(i, "exercise", f"{ex!r} is not one of {', '.join(EXERCISES)}")
        side = b.get("side", "both")
        if side not in SIDES:
            raise fail(i, "side", f"{side!r} is not one of {', '.join(SIDES)}")
        sets = b.get("sets", 1)
        if not isinstance(sets, int) or isinstance(sets, bool) or not 1 <= sets <= 20:
            raise fail(i, "sets", "must be a whole number from 1 to 20")
        reps = b.get("reps")
        if reps == "max":
            reps_v: int | None = None
        elif isinstance(reps, int) and not isinstance(reps, bool) and 1 <= reps <= 200:
            reps_v = reps
        else:
            raise fail(i, "reps", 'must be a whole number from 1 to 200, or "max" for to failure')
        tempo = b.get("tempo", {})
        if not isinstance(tempo, dict):
            raise fail(i, "tempo", "must be a table like { up = 2, hold = 1, down = 2, pause = 0 }")
        bad = set(tempo) - {"up", "hold", "down", "pause"}
        if bad:
            raise fail(i, "tempo", f"unknown phase {sorted(bad)[0]!r} (use up, hold, down, pause)")
        vals = {}
        for ph, default in (("up", 1.0), ("hold", 0.0), ("down", 1.0), ("pause", 0.0)):
            v = tempo.get(ph, default)
            if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= 20:
                raise fail(i, "tempo", f"{ph} must be seconds from 0 to 20")
            vals[ph] = float(v)
        if vals["up"] <= 0 or vals["down"] <= 0:
            raise fail(i, "tempo", "up and down must be longer than 0 s")
        rest = b.get("rest", 60)
        if not isinstance(rest, int | float) or isinstance(rest, bool) or not 0 <= rest <= 1800:
            raise fail(i, "rest", "must be seconds from 0 to 1800")
        cues = b.get("cues", [])
        if not isinstance(cues, list) or not all(isinstance(c, str) for c in cues):
            raise fail(i, "cues", "must be a list of strings")
        load = b.get("load")
        knee = b.get("knee")
        for key, val in (("load", load), ("knee", knee)):
            if val is not None and not isinstance(val, str):
                raise fail(i, key, "must be a string")
        blocks.append(
            Block(
                ex,
                side,
                sets,
                reps_v,
                Tempo(vals["up"], vals["hold"], vals["down"], vals["pause"]),
                float(rest),
                load,
                knee,
                tuple(cues),
            )
        )
    return Routine(name.strip(), str(data.get("title", name)), str(data.get("description", "")), tuple(blocks), source)


def load_routine(name_or_path: str) -> Routine:
    """A built-in routine by name, or a TOML file."""
    if name_or_path in BUILTIN:
        return parse_routine(BUILTIN[name_or_path], f"built-in:{name_or_path}")
    p = Path(name_or_path)
    if not p.exists():
        raise RoutineError(
            f"no routine {name_or_path!r}",
            f"use a built-in ({', '.join(BUILTIN)}) or the path of a TOML file",
        )
    if p.is_dir():
        raise RoutineError(f"{p} is a directory", "give a routine TOML file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RoutineError(f"{p}: not a text file", "give a routine TOML file") from None
    return parse_routine(text, str(p))
