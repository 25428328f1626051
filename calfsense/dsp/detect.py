"""The streaming detector: a small facade over the named stages, same reps for any block split.

input hygiene and resampling (`grid`) -> evidence: tilt along the raise axis and lift (`signals`) ->
segmentation (`segment`) -> measurement (`measure`) -> validation (`validate`) -> set consistency and
learning (`sets`) -> a `Rep` with its phases, height and flags. docs/detection.md is the specification.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from statistics import median

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calfsense.devices import recognise
from calfsense.domain import Flag, Placement
from calfsense.dsp.grid import Gap, GridRun, Resampler
from calfsense.dsp.lookback import find_earlier, tilt_along
from calfsense.dsp.measure import Measured, measure
from calfsense.dsp.model import Rep, RepSet, Session, group_sets
from calfsense.dsp.orientation import ScaleModel
from calfsense.dsp.params import (
    DEFAULT_REST_S,
    GAP_S,
    GRID_HZ,
    PARAMS,
    PLACEMENT_NAMES,
    VISIBLE,
    DetectorParams,
    check_visible,
    rise_too_slow,
)
from calfsense.dsp.segment import Candidate, Segmenter
from calfsense.dsp.sets import RepStats, SetTracker
from calfsense.dsp.signals import SignalBank, Signals
from calfsense.dsp.validate import Rejection, SetContext, judge, like_set, return_tolerance_deg, too_faint_to_open
from calfsense.errors import CalfsenseError

__all__ = [
    "GAP_S",
    "GRID_HZ",
    "PARAMS",
    "PLACEMENT_NAMES",
    "VISIBLE",
    "Detector",
    "DetectorParams",
    "Rep",
    "RepSet",
    "Session",
    "check_visible",
    "detect",
    "group_sets",
    "rise_too_slow",
]

_HISTORY_S = 40.0  # grid kept for measuring a candidate (the longest rep and its padding)
_CHUNK = int(5 * GRID_HZ)  # grid samples written to the history at a time
_BATCH = 1 << 16  # input samples taken at a time from a long block (5 minutes at 200 Hz)


@dataclass
class _History:
    """The last `_HISTORY_S` of grid samples, raw and low-passed, by absolute grid index."""

    cap: int
    acc: NDArray[np.float64] = field(init=False)
    lp: NDArray[np.float64] = field(init=False)
    run_first: int = field(default=0, init=False)  # first index of the current run (since the last gap)
    top: int = field(default=0, init=False)  # one past the last index written

    def __post_init__(self) -> None:
        self.acc = np.zeros((self.cap, 3))
        self.lp = np.zeros((self.cap, 3))

    def write(self, first: int, acc: NDArray[np.float64], sig: Signals) -> None:
        """Store a block starting at grid index `first`."""
        if first != self.top:
            self.run_first = first
        pos = np.arange(first, first + len(acc)) % self.cap
        self.acc[pos], self.lp[pos] = acc, sig.lowpass_mg
        self.top = first + len(acc)

    def lowpass(self, i0: int, i1: int) -> NDArray[np.float64] | None:
        """Low-passed samples [i0, i1) if all of them are in the current run and kept."""
        if i0 < max(self.run_first, self.top - self.cap) or i1 > self.top:
            return None
        return self.lp[np.arange(i0, i1) % self.cap]

    def window(self, i0: int, i1: int) -> tuple[int, NDArray[np.float64]]:
        """Grid samples [i0, i1) clamped to the current run and what is kept: (first index, values)."""
        i0 = max(i0, self.run_first, self.top - self.cap)
        pos = np.arange(i0, max(i0, i1)) % self.cap
        return i0, self.acc[pos]


@dataclass
class Detector:
    """Streaming detector: `feed(t_s, acc_mg)` returns the reps completed by that block."""

    placement: Placement | str = Placement.AUTO
    exercise: str | None = None
    device_model: str | None = None
    rest_s: float = DEFAULT_REST_S
    params: DetectorParams | None = None  # default: PARAMS[placement]

    gaps: list[tuple[float, float]] = field(default_factory=list, init=False)
    # The last 200 candidates not counted, for tuning: (time s, rise over the noise, reason).
    rejected: list[tuple[float, float, str]] = field(default_factory=list, init=False)
    _reps: list[Rep] = field(default_factory=list, init=False)
    _resolved: Placement | None = field(default=None, init=False)
    _samples: int = field(default=0, init=False)  # grid samples seen
    _warm: list[GridRun] = field(default_factory=list, init=False)  # a run's first samples, held back
    # Candidates in a row the current set's pattern rejected, as (candidate, measurement, height).
    _unlike: list[tuple[Candidate, Measured, float]] = field(default_factory=list, init=False)
    # A candidate waiting for `after_s` of data after its end, or a lowering given up on for `return_wait_s`
    # (measured when judged): (candidate, measurement, judged at index).
    _held: tuple[Candidate, Measured | None, int] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENT_NAMES:
            raise CalfsenseError(f"unknown placement {self.placement!r}", f"use one of {', '.join(PLACEMENT_NAMES)}")
        self.placement = Placement(self.placement)
        known = recognise(self.device_model)
        if self.placement == Placement.AUTO and known is not None and known.wear == Placement.CHEST:
            self._resolved = Placement.CHEST  # an H10 is a chest strap by construction
        elif self.placement != Placement.AUTO:
            self._resolved = Placement(self.placement)
        check_visible(self._resolved or "auto", self.exercise)
        self._p = self.params or PARAMS[self._resolved or "auto"]
        self._grid = Resampler(GRID_HZ, GAP_S)
        self._bank = SignalBank(self._p, GRID_HZ)
        self._sets = SetTracker(self._p, self.rest_s)
        self._seg = Segmenter(self._p, GRID_HZ)
        self._hist = _History(int(_HISTORY_S * GRID_HZ))
        self._scale = ScaleModel(self._p, GRID_HZ)

    # -- public API ------------------------------------------------------------------------

    @property
    def resolved_placement(self) -> Placement:
        """The placement in use; `auto` names one from its first reps' tilt, else stays `auto`."""
        return self._resolved or Placement.AUTO

    @property
    def ready(self) -> bool:
        """Whether reps count yet (after half a second of data, once the filters have settled)."""
        return self._samples >= int(0.5 * GRID_HZ)

    def phase(self) -> str:
        """Where the current movement is: rising, top, lowering or bottom (for the live pace guide)."""
        return self._seg.phase().value

    def new_set(self) -> None:
        """Start a new set with the next rep (an explicit boundary from live mode)."""
        self._sets.new_set()

    def feed(self, time_s: ArrayLike, acc_mg: ArrayLike) -> list[Rep]:
        """Process a block of samples (any size); return reps completed in it, in order."""
        t = np.asarray(time_s, dtype=np.float64).reshape(-1)
        a = np.asarray(acc_mg, dtype=np.float64).reshape(-1, 3)
        if len(t) != len(a):
            raise CalfsenseError("time and acceleration blocks differ in length")
        # A long block goes through a few minutes at a time: the same reps, in memory that stays flat.
        out: list[Rep] = []
        for i in range(0, len(t), _BATCH):
            out += self._consume(self._grid.push(t[i : i + _BATCH], a[i : i + _BATCH]))
        return out

    def finish(self) -> list[Rep]:
        """End of input: judge a rep waiting for its data; one still in progress is not counted."""
        return self._consume(self._grid.flush()) + self._judge_waiting()

    def _judge_waiting(self) -> list[Rep]:
        """The data stop (a gap, the end): judge the candidates waiting, on the data there is."""
        out = self._judge_held(self._hist.top)
        cand = self._seg.take_pending()
        m = None if cand is None else self._measure(cand, self._hist.top)
        if cand is not None and m is not None:
            out += self._counted(self._judge(cand, m, self._hist.top))
        return out

    @property
    def reps(self) -> list[Rep]:
        """The reps reported so far."""
        return list(self._reps)

    def session(self) -> Session:
        """Everything found so far."""
        reps = tuple(self._reps)
        return Session(self.resolved_placement, reps, group_sets(reps), tuple(self.gaps))

    # -- stages ----------------------------------------------------------------------------

    def _consume(self, items: list[GridRun | Gap]) -> list[Rep]:
        out: list[Rep] = []
        for item in items:
            if isinstance(item, Gap):
                # A rep that ended as the data stopped is judged on what came (it was waiting to settle).
                out += self._judge_waiting()
                self._warm = []
                self.gaps.append((item.start_s, item.end_s))
                self._seg.restart()
                # The time without data is no rest: the set's way of tipping is kept that much longer (else it
                # would be forgotten as the data resumes, mid-rep, and tilt measured from that pose).
                self._seg.axis_until += round((item.end_s - item.start_s) * GRID_HZ)
                self._bank.restart()
            else:
                out += self._run(item)
        return out

    def _run(self, run: GridRun) -> list[Rep]:
        # A run's filters start from its first samples' mean: hold them back until there are enough.
        if self._warm or run.first != self._hist.top or self._samples == 0:
            if self._warm and run.first != self._warm[-1].first + len(self._warm[-1].values):
                self._warm = []
            self._warm.append(run)
            if sum(len(w.values) for w in self._warm) < self._bank.warm:
                return []
            run = GridRun(self._warm[0].first, np.concatenate([w.values for w in self._warm]))
            self._warm = []
        sig = self._bank.process(run.values)
        self._samples += len(run.values)
        out: list[Rep] = []
        # The history holds `_HISTORY_S`: a long block goes through it a few seconds at a time.
        for c0 in range(0, len(run.values), _CHUNK):
            c1 = min(len(run.values), c0 + _CHUNK)
            first = run.first + c0
            if first != self._hist.top:
                self._scale.skip_to(first)
            part = Signals(sig.up[c0:c1], sig.lift_cm[c0:c1], sig.lowpass_mg[c0:c1], sig.busy[c0:c1])
            self._hist.write(first, run.values[c0:c1], part)
            out += self._segment(first, part)
        return out

    def _segment(self, first: int, sig: Signals) -> list[Rep]:
        up, lift, busy = sig.up.tolist(), sig.lift_cm.tolist(), sig.busy.tolist()
        n = len(lift)
        out: list[Rep] = []
        i = 0
        while True:
            # A candidate measured is judged once `after_s` of data follow its measured end (where the segment
            # went on to shows a posture change); the segmenter runs no further than that before it is judged.
            at = None if self._held is None else self._held[2]
            stop = n if at is None else min(n, max(i, at - first))
            i, cand = self._seg.advance(up, lift, busy, first, i, stop)
            if at is not None and (cand is not None or first + i >= at):
                out += self._judge_held(first + i, None if cand is None else cand.start)
            if cand is not None and self._cannot_open(cand):
                # Too faint to open a set, and no set is under way: not worth measuring (a quarter of the
                # candidates of a session; `judge` would say the same).
                self.rejected = self.rejected[-199:] + [(cand.start / GRID_HZ, cand.rise, Rejection.WEAK.value)]
            elif cand is not None and not cand.returned:
                # The segmenter gave up on its lowering as too slow: measured once `return_wait_s` more has come,
                # a slow lowering has come back meanwhile (then its rep ends later: nothing is late for waiting).
                self._held = (cand, None, cand.due + round(self._p.return_wait_s * GRID_HZ))
            elif cand is not None:
                m = self._measure(cand, cand.due)
                if m is not None:
                    # A set under way has shown what its reps are: they are judged at once. What would open a set
                    # waits (it may be a posture change; the first rep comes later, by at most `after_s`).
                    ctx = self._sets.context(m.start_s)
                    wait = (ctx is None or ctx.reps < 2) and self._heading_past(m, cand.due)
                    at = max(cand.due, math.ceil((m.end_s + self._p.after_s) * GRID_HZ)) if wait else cand.due
                    self._held = (cand, m, at)
            elif i >= n:
                self._scale.update(self._hist.lowpass, self._hist.top)
                return out

    def _cannot_open(self, cand: Candidate) -> bool:
        """Whether a candidate would be rejected as too faint to open a set, whatever its measurement."""
        if not too_faint_to_open(cand, self._p) or not self._seg.anchor_sure:
            return False  # (one that went down first may move an anchor not yet sure: it is measured)
        # Its measured start is at most `pad_s` before its trough: no set is under way there either.
        return self._sets.opens_set(cand.start / GRID_HZ - self._p.pad_s) or self._sets.reps_in_set() < 2

    def _judge_held(self, seen: int, next_start: int | None = None) -> list[Rep]:
        """Judge the candidate waiting (measured, or to be measured now), on the grid seen up to `seen`; the next
        candidate, if one came meanwhile, starts at `next_start`."""
        if self._held is None:
            return []
        (cand, m, _), self._held = self._held, None
        if m is None:  # a lowering given up on: it ends at the latest where the data seen end, or the next begins
            last = seen - 1 if next_start is None else min(seen - 1, next_start)
            cand = replace(cand, end=max(cand.end, last), due=seen)
            m = self._measure(cand, seen)
            if m is None:
                return []
        return self._counted(self._judge(cand, m, seen))

    def _counted(self, reps: list[Rep]) -> list[Rep]:
        """Reps just counted: the set's way of tipping, known from them, is where tilt is measured along."""
        if reps:
            axis = self._sets.axis()
            self._seg.axis = None if axis is None else (float(axis[0]), float(axis[1]), float(axis[2]))
            self._seg.axis_until = round((reps[-1].end_s + self.rest_s) * GRID_HZ)
        return reps

    def _measure(self, cand: Candidate, until: int) -> Measured | None:
        """Measure a candidate with the grid up to `until`; None if its start is not in the data."""
        i0, acc = self._hist.window(cand.start - int(self._p.pad_s * GRID_HZ), until)
        if cand.start < i0 or cand.end >= i0 + len(acc) or len(acc) < 8:
            return None  # its start fell before the data kept (or a gap)
        if cand.start - self._hist.run_first < round(self._p.resumed_s * GRID_HZ) and self._hist.run_first > 0:
            # It was already under way when the data resumed after a gap: its start is unseen, and what is
            # seen is the end of one rep and the start of the next.
            self.rejected = self.rejected[-199:] + [(cand.start / GRID_HZ, cand.rise, Rejection.CUT.value)]
            return None
        self._scale.update(self._hist.lowpass, until)
        return measure(
            acc,
            i0 / GRID_HZ,
            GRID_HZ,
            cand.start - i0,
            cand.peak - i0,
            cand.end - i0,
            self._sets.axis(),
            self._scale,
            self._p,
        )

    def _judge(self, cand: Candidate, m: Measured, seen: int) -> list[Rep]:
        """Validate and, if it is a rep, count a measured candidate, with the grid seen up to `seen`."""
        self._scale.update(self._hist.lowpass, seen)  # what the look-back measures with: the same for any blocks
        m = replace(m, past_deg=self._went_past(m, seen))
        height = self._height_cm(m)
        ctx = self._sets.context(m.start_s)
        why = judge(m, cand, ctx, self._p, height, self._seg.noise()[0])
        if ctx is None:
            self._unlike = []
        if why is Rejection.UNLIKE_SET:
            self._unlike.append((cand, m, height))
            if ctx is not None and self._run_is_the_set(ctx.reps):
                # The set's first reps were the odd ones (two reps merged, a movement before the set): the run
                # is the set, and its reps count now, the earlier ones late.
                run, self._unlike = self._unlike, []
                self._sets.reform()
                return [self._count(c, mm, h) for c, mm, h in run]
        if why is not None:
            self.rejected = self.rejected[-199:] + [(m.start_s, cand.rise, why.value)]
            if why is Rejection.NO_LIFT and m.lift_trusted(self._p.lift_snr) and m.drop_cm > m.lift_cm:
                # It went down first: if the pose tilt was measured from was taken mid-movement, that was a
                # top (a set begun as footsteps ended); its lowest pose is the bottom reps start from.
                low = self._hist.lowpass(cand.peak, cand.peak + 1)
                if low is not None and float(np.linalg.norm(low[0])) > 0.0:
                    u = low[0] / np.linalg.norm(low[0])
                    self._seg.reanchor((float(u[0]), float(u[1]), float(u[2])))
            return []
        self._unlike = []
        # A set's opener shows what its reps look like: the movement just before it that looks the same was its
        # first rep (too faint alone, or begun as footsteps ended): counted first, at the opener's time.
        earlier = self._look_back(m, ctx)
        return [self._count(c, mm, h) for c, mm, h in earlier] + [self._count(cand, m, height)]

    def _heading_past(self, m: Measured, now: int) -> bool:
        """Whether the segment, at grid index `now`, is on its way past the rep's starting pose (against its way of
        tipping) fast enough to go beyond what `judge` allows within `after_s`: then it waits to see."""
        p = self._p
        recent = self._hist.lowpass(now - 5, now)
        if recent is None:
            return False
        way = np.asarray(m.tilt_dir)
        u = recent / np.maximum(np.linalg.norm(recent, axis=1), 1e-9)[:, None]
        speed_deg_s = float(np.degrees(-float((u[-1] - u[0]) @ way))) * GRID_HZ / (len(u) - 1)
        return self._went_past(m, now) + max(speed_deg_s, 0.0) * p.after_s > return_tolerance_deg(m.peak_tilt_deg, p)

    def _went_past(self, m: Measured, seen: int) -> float:
        """How far (deg) the segment went past the rep's starting pose, against its way of tipping, from the rep's
        end to grid index `seen`."""
        i_s, i_e = int(round(m.start_s * GRID_HZ)), int(round(m.end_s * GRID_HZ))
        before = self._hist.lowpass(max(i_s - 3, 0), i_s + 1)
        after = self._hist.lowpass(i_e, seen) if seen > i_e else None
        if before is None or after is None:
            return 0.0
        u0 = before.mean(axis=0)
        u0 /= max(float(np.linalg.norm(u0)), 1e-12)
        # Where it is at the last tenth of a second seen: a quick rep's braking tips the apparent gravity past for
        # a moment; a posture change stays past.
        last = after[-5:].mean(axis=0)
        u = last / max(float(np.linalg.norm(last)), 1e-9)
        return max(0.0, float(np.degrees(-float((u - u0) @ np.asarray(m.tilt_dir)))))

    def _look_back(self, opener: Measured, ctx: SetContext | None) -> list[tuple[Candidate, Measured, float]]:
        """The rep just before a counted one that its tilt profile finds (lookback.py), measured and judged as
        one of the set's reps: before a set's opener, or in a set where the time since its last rep holds one.
        None when nothing there looks the same."""
        p = self._p
        i_s, i_e = int(round(opener.start_s * GRID_HZ)), int(round(opener.end_s * GRID_HZ))
        dur = i_e - i_s
        floor = max(self._hist.run_first, self._hist.top - self._hist.cap)
        if self._reps:
            floor = max(floor, int(math.ceil(self._reps[-1].end_s * GRID_HZ)))
        if ctx is not None and i_s - floor < p.lookback_room * dur:
            return []  # in a set, no room for a rep since the last one
        w0 = max(floor, i_s - int(p.lookback_reps * dur))
        lp = self._hist.lowpass(w0, i_e + 1)
        if lp is None or dur < 8 or i_s - w0 < dur // 2:
            return []
        up = lp / np.maximum(np.linalg.norm(lp, axis=1), 1e-9)[:, None]
        k = i_s - w0
        origin = up[max(0, k - 2) : k + 1].mean(axis=0)
        origin /= max(float(np.linalg.norm(origin)), 1e-12)
        signal = tilt_along(up, origin, np.asarray(opener.tilt_dir))
        found = find_earlier(
            signal,
            k,
            k + dur + 1,
            p.lookback_corr,
            (p.lookback_amp_lo, p.lookback_amp_hi),
            latest_end=k + 3,
            scales=p.lookback_scales,
        )
        if found is None:
            return []
        start, peak, end = w0 + found.start, w0 + found.peak, w0 + found.end
        pad = int(p.pad_s * GRID_HZ)
        i0, acc = self._hist.window(start - pad, min(i_s, end + pad) + 1)
        if start < i0 or end >= i0 + len(acc):
            return []
        m = measure(acc, i0 / GRID_HZ, GRID_HZ, start - i0, peak - i0, end - i0, self._sets.axis(), self._scale, p)
        # Its rise relative to the opener's (the set's pattern so far is the opener alone).
        cand = Candidate(start, peak, end, end, found.amplitude_ratio, True)
        height = self._height_cm(m)
        like = SetContext(2, 1.0, opener.duration_s)
        # Reps that flow into each other: its measured end may reach into the rep that found it; it ends where
        # that one begins (a match whose own top is not before that begins is no earlier rep).
        if m.top_s >= opener.start_s:
            return []
        end_s = min(m.end_s, opener.start_s)
        m = replace(m, end_s=end_s, lower_s=min(max(m.lower_s, m.top_s), end_s))
        if judge(m, cand, like, p, height, self._seg.noise()[0]) is not None:
            return []
        # It was found along the opener's way of tipping: the set's way stays the opener's (its own start may be
        # a pose still settling after footsteps, and would turn the way the next reps are measured along).
        return [(cand, replace(m, tilt_dir=opener.tilt_dir), height)]

    def _run_is_the_set(self, pattern_reps: int) -> bool:
        """Whether the last candidates unlike the set's reps are a run, alike each other, that outnumbers the
        reps the set's pattern rests on (a pattern of many reps is the set, and a run after it something else)."""
        # The run is the longest streak at the end that is alike (a first odd candidate starts it afresh): each
        # like the run's own medians, as a set's reps are like theirs.
        run = self._unlike
        while len(run) >= self._p.reform_run:
            own = SetContext(len(run), median(c.rise for c, _, _ in run), median(m.duration_s for _, m, _ in run))
            if all(like_set(m, c, own, self._p) for c, m, _ in run):
                break
            run = run[1:]
        self._unlike = run
        return len(run) >= max(self._p.reform_run, pattern_reps)

    def _height_cm(self, m: Measured) -> float:
        placement = self.resolved_placement
        p = self._p if placement == "auto" else PARAMS[placement]
        foot_like = p.height_from_tilt or (placement == "auto" and m.peak_tilt_deg >= p.foot_tilt_deg)
        return m.height_cm(p.with_(height_from_tilt=foot_like), placement == "thigh" and self.exercise == "seated")

    def _count(self, cand: Candidate, m: Measured, height: float) -> Rep:
        self._resolve(m)
        last_end = self._sets.last_end_s(m.start_s)
        pause = None if last_end is None else max(0.0, m.start_s - last_end)
        flags = self._flags(m, height, pause)
        stats = RepStats(
            end_s=m.end_s,
            rise=cand.rise,
            duration_s=m.duration_s,
            height_cm=height,
            peak_tilt_deg=m.peak_tilt_deg,
            tilt_dir=m.tilt_dir,
        )
        set_index, index = self._sets.add(stats, m.start_s)
        rep = Rep(
            index=index,
            set_index=set_index,
            start_s=m.start_s,
            top_s=m.top_s,
            lower_s=m.lower_s,
            end_s=m.end_s,
            pause_s=pause,
            height_cm=None if math.isnan(height) else round(height, 2),
            peak_tilt_deg=round(m.peak_tilt_deg, 2),
            flags=flags,
        )
        self._reps.append(rep)
        return rep

    def _resolve(self, m: Measured) -> Placement:
        """`auto`: a foot once its first reps tip it like a foot, else a shin."""
        p = self._p
        if self._resolved is None and len(self._reps) + 1 >= p.auto_reps:
            tilts = sorted([r.peak_tilt_deg for r in self._reps[-(p.auto_reps - 1) :]] + [m.peak_tilt_deg])
            self._resolved = Placement.FOOT if tilts[len(tilts) // 2] >= p.foot_tilt_deg else Placement.SHIN
        return self._resolved or Placement.AUTO

    def _flags(self, m: Measured, height: float, pause: float | None) -> tuple[str, ...]:
        p = self._p
        flags: list[str] = []
        reference = None if pause is None else self._sets.reference_height_cm()
        if reference is not None and height < p.partial_frac * reference:
            flags.append(Flag.PARTIAL)
        usual = None if pause is None else self._sets.median_tilt_deg()
        sideways = m.side_tilt_deg > max(p.lean_deg, 0.3 * m.peak_tilt_deg)
        beyond = usual is not None and not p.height_from_tilt and m.peak_tilt_deg - usual > max(p.lean_deg, usual)
        if sideways or beyond:
            flags.append(Flag.LEAN)
        if pause is not None and pause < 0.1:
            flags.append(Flag.BOUNCE)
        return tuple(flags)


def detect(
    time_s: ArrayLike,
    acc_mg: ArrayLike,
    placement: Placement | str = Placement.AUTO,
    exercise: str | None = None,
    device_model: str | None = None,
    rest_s: float = DEFAULT_REST_S,
    params: DetectorParams | None = None,
) -> Session:
    """Batch detection: the streaming detector fed the whole recording."""
    det = Detector(placement, exercise=exercise, device_model=device_model, rest_s=rest_s, params=params)
    det.feed(time_s, acc_mg)
    det.finish()
    return det.session()
