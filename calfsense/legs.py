"""Two sensors, one per leg: each leg's reps merged into the session's, credited to the leg that moved.

Each leg's detector runs on its own sensor. A rep one leg's sensor saw while the other's saw one at the
same time (overlapping by at least `overlap` of the shorter) was made by both legs (a two-leg or seated
raise): one rep, "both", with the mean of the two legs' times and heights. Otherwise it was that leg's
alone (a single-leg raise). A rep is decided once the other leg's data has run `wait_s` past its end (its
detector has spoken by then: 0.5 s at most on a leg), or at once while the other leg has no link. The
decisions depend on the reps' times alone, so live mode and a replay of its recording agree.

Sets are the session's: a rest longer than `rest_s` between reps, or an explicit boundary, starts one.
Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from statistics import mean

from calfsense.clinic import Symmetry
from calfsense.dsp.model import Rep
from calfsense.dsp.params import DEFAULT_REST_S

SIDES = ("left", "right")
BOTH = "both"


def other_side(side: str) -> str:
    """The other leg."""
    return SIDES[1] if side == SIDES[0] else SIDES[0]


@dataclass(frozen=True, slots=True)
class LegRep:
    """A rep of the session and what each leg's sensor saw of it (None: that leg did not move)."""

    rep: Rep
    left: Rep | None
    right: Rep | None

    def of(self, side: str) -> Rep | None:
        """What one leg's sensor saw."""
        return self.left if side == SIDES[0] else self.right


def _overlap_s(a: Rep, b: Rep) -> float:
    return min(a.end_s, b.end_s) - max(a.start_s, b.start_s)


def _mean_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return mean(known) if known else None


@dataclass
class LegMerger:
    """Merges the two legs' reps as they come (`feed`, `link`, `finish`) into the session's, in time order."""

    rest_s: float = DEFAULT_REST_S
    wait_s: float = 1.5
    overlap: float = 0.5
    merged: list[LegRep] = field(default_factory=list, init=False)
    _pending: dict[str, list[Rep]] = field(default_factory=lambda: {s: [] for s in SIDES}, init=False)
    _clock: dict[str, float] = field(default_factory=lambda: {s: -math.inf for s in SIDES}, init=False)
    _linked: dict[str, bool] = field(default_factory=lambda: {s: False for s in SIDES}, init=False)
    _boundaries: list[float] = field(default_factory=list, init=False)
    _set_index: int = field(default=0, init=False)

    def boundary(self, t_s: float) -> None:
        """A rep starting after `t_s` opens a set (space pressed, or the recorded event)."""
        self._boundaries.append(t_s)

    def link(self, side: str, up: bool) -> list[LegRep]:
        """A leg's link came up or went down: while it is down, the other leg's reps need not wait for it."""
        self._linked[side] = up
        return self._decide(final=False)

    def feed(self, side: str, reps: list[Rep], clock_s: float) -> list[LegRep]:
        """A leg's new reps, and how far its data has come (its last sample's time)."""
        self._pending[side].extend(reps)
        self._clock[side] = max(self._clock[side], clock_s)
        return self._decide(final=False)

    def finish(self) -> list[LegRep]:
        """End of the session: everything still waiting is decided."""
        return self._decide(final=True)

    def _decide(self, final: bool) -> list[LegRep]:
        out: list[LegRep] = []
        while True:
            heads = [(self._pending[s][0].start_s, s) for s in SIDES if self._pending[s]]
            if not heads:
                return out
            _, side = min(heads)
            rep = self._pending[side][0]
            other = other_side(side)
            if not final and self._linked[other] and self._clock[other] < rep.end_s + self.wait_s:
                return out  # the other leg's detector may yet report a rep made at the same time
            self._pending[side].pop(0)
            mate = next(
                (
                    r
                    for r in self._pending[other]
                    if _overlap_s(rep, r) >= self.overlap * min(rep.end_s - rep.start_s, r.end_s - r.start_s)
                ),
                None,
            )
            if mate is not None:
                self._pending[other].remove(mate)
            left, right = (rep, mate) if side == SIDES[0] else (mate, rep)
            out.append(self._add(left, right))

    def _add(self, left: Rep | None, right: Rep | None) -> LegRep:
        seen = [r for r in (left, right) if r is not None]
        if len(seen) == 2:
            start = mean(r.start_s for r in seen)
            base = replace(
                seen[0],
                start_s=start,
                top_s=mean(r.top_s for r in seen),
                lower_s=mean(r.lower_s for r in seen),
                end_s=mean(r.end_s for r in seen),
                height_cm=_mean_or_none([r.height_cm for r in seen]),
                peak_tilt_deg=mean(r.peak_tilt_deg for r in seen),
                flags=tuple(sorted({f for r in seen for f in r.flags})),
                side=BOTH,
            )
        else:
            base = replace(seen[0], side=SIDES[0] if left is not None else SIDES[1])
        last = self.merged[-1].rep if self.merged else None
        opens = (
            last is None
            or base.start_s - last.end_s > self.rest_s
            or any(last.start_s < b <= base.start_s for b in self._boundaries)
        )
        if opens:
            self._set_index += 1
        index = 1 if opens or last is None else last.index + 1
        pause = None if opens or last is None else max(0.0, base.start_s - last.end_s)
        rep = replace(base, index=index, set_index=self._set_index, pause_s=pause)
        legged = LegRep(rep, left, right)
        self.merged.append(legged)
        return legged


def merge_legs(
    left: Sequence[Rep],
    right: Sequence[Rep],
    boundaries: Sequence[float] = (),
    rest_s: float = DEFAULT_REST_S,
) -> list[LegRep]:
    """The whole session at once (a replay): the same rule, with every rep known."""
    merger = LegMerger(rest_s=rest_s)
    for b in boundaries:
        merger.boundary(b)
    for side in SIDES:
        merger.link(side, True)  # nothing is decided before both legs' reps are in
    merger.feed(SIDES[0], list(left), math.inf)
    merger.feed(SIDES[1], list(right), math.inf)
    merger.finish()
    return list(merger.merged)


@dataclass(frozen=True, slots=True)
class LegTally:
    """Left against right so far: single-leg reps, every rep's height, and the limb symmetry index."""

    reps: dict[str, int]
    height_cm: dict[str, float | None]

    @property
    def reps_lsi_pct(self) -> float | None:
        """Single-leg reps, weaker over stronger (100 % is even; the clinic's line is 90 %); None until both legs
        have done some (a leg not yet tested is no asymmetry yet)."""
        a, b = self.reps[SIDES[0]], self.reps[SIDES[1]]
        return None if min(a, b) == 0 else 100.0 * min(a, b) / max(a, b)

    @property
    def height_lsi_pct(self) -> float | None:
        """Mean heel height, lower over higher."""
        a, b = self.height_cm[SIDES[0]], self.height_cm[SIDES[1]]
        return None if a is None or b is None or max(a, b) <= 0 else 100.0 * min(a, b) / max(a, b)


def tally(reps: list[LegRep]) -> LegTally:
    """Each leg's single-leg reps and mean height over every rep it made (two-leg ones too)."""
    counts = {s: sum(1 for r in reps if r.rep.side == s) for s in SIDES}
    heights: dict[str, float | None] = {}
    for s in SIDES:
        heights[s] = _mean_or_none([seen.height_cm for r in reps if (seen := r.of(s)) is not None])
    return LegTally(counts, heights)


def legs_summary(t: LegTally) -> str:
    """'left 24 single-leg reps (7.1 cm), right 20 (6.2 cm): symmetry 83 % (under the clinic's 90 %)'."""

    def height(side: str) -> str:
        h = t.height_cm[side]
        return "" if h is None else f" ({h:.1f} cm)"

    text = f"left {t.reps[SIDES[0]]} single-leg reps{height(SIDES[0])}, right {t.reps[SIDES[1]]}{height(SIDES[1])}"
    lsi = t.reps_lsi_pct
    if lsi is not None:
        text += f": symmetry {lsi:.0f} %" + (" (under the clinic's 90 %)" if lsi < Symmetry.CLINICAL_LINE_PCT else "")
    return text
