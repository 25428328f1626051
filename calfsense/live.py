"""Live coaching: the stream session feeds the detector; the coach follows the routine.

`LiveCoach` is the sink of a `StreamSession`. It counts reps against the prescribed set, tracks the
phase for the pace guide, runs the rest countdown, and emits `LiveEvent`s that the plain renderer
prints line by line and the full-screen renderer turns into a dashboard. Set boundaries it causes
are written to the recording with the sensor time of the last sample, so `calfsense replay` of the
recording finds exactly the reps live mode counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calfsense.clinic import Termination, TestRules, prompt_for, score_leg
from calfsense.domain import Flag, LinkState
from calfsense.dsp.detect import Detector, Rep
from calfsense.legs import SIDES, LegMerger, LegRep, LegTally, legs_summary, other_side, tally
from calfsense.matching import assessable, continues_set
from calfsense.report import rep_flags
from calfsense.routine import PrescribedSet, Routine
from calfsense.session.recording import RecordingWriter
from calfsense.text import count


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One line of the plain output: what happened, when (sensor seconds), and its details."""

    time_s: float
    kind: str  # connected, set_started, rep, set_done, rest, reconnecting, reconnected, finished, state, ...
    text: str


# Link states after which streaming again means the link came back.
_LINK_LOST = (LinkState.RECONNECTING, LinkState.SCANNING, LinkState.CONNECTING)


def rep_line(rep: Rep, pres: PrescribedSet | None, flags: list[Flag]) -> str:
    """'rep 3: up 2.1 s, hold 0.9 s, down 2.0 s, height 7.4 cm [partial]'."""
    height = "-" if rep.height_cm is None else f"{rep.height_cm:.1f} cm"
    target = ""
    if pres is not None:
        t = pres.tempo
        target = f" (target {t.up_s:g}-{t.hold_s:g}-{t.down_s:g})"
    tail = f" [{', '.join(flags)}]" if flags else ""
    return (
        f"rep {rep.index}: up {rep.up_s:.1f} s, hold {rep.hold_s:.1f} s, down {rep.down_s:.1f} s{target}, "
        f"height {height}{tail}"
    )


@dataclass
class LiveCoach:
    """Counts, paces and coaches; the `FrameSink` every source feeds (sources/base.py)."""

    routine: Routine | None
    placement: str
    model: str | None = None
    emit: Callable[[LiveEvent], None] = lambda e: None
    recorder: RecordingWriter | None = None
    detector: Detector = field(init=False)
    prescribed: list[PrescribedSet] = field(init=False)
    set_pos: int = 0  # index into `prescribed` of the current (or next) set
    reps_in_set: int = 0
    current_set_index: int = 0  # the detector's set number of the set in progress
    last_rep: Rep | None = None
    last_flags: list[Flag] = field(default_factory=list)
    resting_since_s: float | None = None
    last_t: float = 0.0
    link: str = "starting"  # a LinkState once the stream reports one
    link_detail: str = ""
    heart_rate: int | None = None
    battery: int | None = None
    paused: bool = False
    finished: bool = False
    reps: list[Rep] = field(default_factory=list)
    last_data_mono: float = field(default_factory=time.monotonic)
    announced: int = -1  # the prescribed set whose start was announced
    time_scale: float = 1.0  # sensor seconds per host second (a virtual sensor at 30x: 30)
    paused_reps: list[Rep] = field(default_factory=list)  # made while paused: recorded, credited to no set
    completed: bool = False  # "routine complete" was said
    _paused_at_s: float = 0.0
    _paused_total_s: float = 0.0
    _pauses: list[tuple[float, float]] = field(default_factory=list)  # (paused, resumed) in sensor seconds
    # The heel-rise test's rules, applied rep by rep to each leg (the routine `heel-rise-test`), else None.
    test_rules: TestRules | None = field(default=None, init=False)
    _leg_over_s: float | None = field(default=None, init=False)  # a leg's test ended here; its next reps are extra
    # A sensor on each leg (`two_legs`): a detector per leg, their reps merged (calfsense/legs.py) into `reps`.
    two_legs: bool = False
    leg_detectors: dict[str, Detector] = field(default_factory=dict, init=False)
    leg_links: dict[str, str] = field(default_factory=dict, init=False)
    leg_batteries: dict[str, int] = field(default_factory=dict, init=False)
    leg_reps: list[LegRep] = field(default_factory=list, init=False)
    _merger: LegMerger = field(default_factory=LegMerger, init=False)
    _boundaries: list[float] = field(default_factory=list, init=False)  # set boundaries, session seconds
    _boundaries_fed: dict[str, int] = field(default_factory=dict, init=False)  # of them, applied to each leg
    _legs_streamed: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        if self.routine is not None and self.routine.name == "heel-rise-test":
            self.test_rules = TestRules()
        self.detector = Detector(self.placement, device_model=self.model)
        if self.two_legs:
            self.leg_detectors = {side: Detector(self.placement, device_model=self.model) for side in SIDES}
            self.detector = self.leg_detectors[SIDES[0]]
            self._boundaries_fed = {side: 0 for side in SIDES}
        self.prescribed = self.routine.prescribed_sets() if self.routine else []
        # Skip what this placement cannot see, and say so once (replay's report says the same).
        plan = assessable(self.prescribed, self.detector.resolved_placement)
        self.prescribed = list(plan.sets)
        for note in plan.notes:
            self._emit("note", note)

    # -- routine progress -------------------------------------------------------------------

    @property
    def current(self) -> PrescribedSet | None:
        """The prescribed set being done (or next)."""
        return self.prescribed[self.set_pos] if self.set_pos < len(self.prescribed) else None

    @property
    def routine_done(self) -> bool:
        """Every prescribed set has been done."""
        return bool(self.prescribed) and self.set_pos >= len(self.prescribed)

    def clock_s(self, now_mono: float | None = None) -> float:
        """The routine's clock: sensor seconds with the pauses taken out (it stands still while paused).

        Samples come in notifications (0.3-1 s of them at once); given the host's monotonic `now_mono`,
        the clock runs on between them (up to a second), so the pace guide and the metronome move smoothly.
        """
        held = self.last_t - self._paused_at_s if self.paused else 0.0
        ahead = 0.0
        if now_mono is not None and not self.paused:
            ahead = min(max(0.0, now_mono - self.last_data_mono), 1.0) * self.time_scale
        return self.last_t - self._paused_total_s - held + ahead

    def rest_left_s(self, now_mono: float | None = None) -> float | None:
        """Seconds of rest left (negative: overdue), None when not resting."""
        if self.resting_since_s is None or self.routine_done:
            return None
        rest = self.prescribed[self.set_pos - 1].rest_s if 0 < self.set_pos <= len(self.prescribed) else 60.0
        return rest - (self.clock_s(now_mono) - self.resting_since_s)

    @property
    def ready(self) -> bool:
        """The detector has settled (either leg's, with two sensors) and counts."""
        return any(d.ready for d in self.leg_detectors.values()) if self.two_legs else self.detector.ready

    def phase(self) -> str:
        """rising, top, lowering, bottom (or resting) from the detector's state (the leg that is moving)."""
        if self.resting_since_s is not None and self.reps_in_set == 0:
            return "resting"
        if self.two_legs:
            moving = [str(d.phase()) for d in self.leg_detectors.values() if str(d.phase()) != "bottom"]
            return moving[0] if moving else "bottom"
        return self.detector.phase()

    def legs_tally(self) -> LegTally | None:
        """Left against right so far (two sensors), else None."""
        return tally(self.leg_reps) if self.two_legs else None

    def pace_position(self, now_mono: float | None = None) -> tuple[str, float]:
        """Where the metronome is in the prescribed cycle: (phase, 0..1 within it)."""
        pres = self.current
        if pres is None:
            return ("", 0.0)
        t = pres.tempo
        phases = [("up", t.up_s), ("hold", t.hold_s), ("down", t.down_s), ("pause", t.pause_s)]
        cycle = sum(d for _, d in phases) or 1.0
        x = self.clock_s(now_mono) % cycle
        for name, d in phases:
            if x < d:
                return (name, x / d if d else 1.0)
            x -= d
        return ("pause", 1.0)

    def next_set(self, manual: bool = True) -> None:
        """Space: the next rep starts a new set (an explicit boundary, recorded for replay)."""
        if self.two_legs:
            # Each leg's detector takes it where its own data reaches this time (replay splits there too).
            self._boundaries.append(self.last_t)
            self._merger.boundary(self.last_t)
        else:
            self.detector.new_set()
        if self.recorder is not None:
            self.recorder.event(
                "set_started",
                time.monotonic_ns(),
                time.time_ns(),
                text="manual" if manual else "",
                t_s=round(self.last_t, 6),
            )
        if self.reps_in_set:
            self._finish_set()
        self._emit("note", "next set")

    def back(self) -> None:
        """b: the next set counts against the previous prescription again."""
        if self.set_pos > 0:
            self.set_pos -= 1
            self._emit("note", f"back to set {self.set_pos + 1}")

    def toggle_pause(self) -> None:
        """p: stop the routine's clock, the pace guide and set crediting (the sensor is still recorded).

        Reps made while paused are kept (and in the recording) but credited to no set; replay reads the
        pause from the recording and does the same.
        """
        self.paused = not self.paused
        if self.paused:
            self._paused_at_s = self.last_t
        else:
            self._paused_total_s += self.last_t - self._paused_at_s
            self._pauses.append((self._paused_at_s, self.last_t))
        kind = "paused" if self.paused else "resumed"
        if self.recorder is not None:
            self.recorder.event(kind, time.monotonic_ns(), time.time_ns(), t_s=round(self.last_t, 6))
        self._emit("note", "paused: the routine waits (reps now are recorded, not counted)" if self.paused else kind)

    def _finish_set(self) -> None:
        pres = self.current
        done = self.reps_in_set
        self.reps_in_set = 0
        self.resting_since_s = self.clock_s()
        if pres is None and self.prescribed:
            self._emit("set_done", f"extra set: {count(done, 'rep')} (the routine was already complete)")
            return
        done_text = count(done, "rep") if pres is None or pres.reps is None else f"{done} of {pres.reps} reps"
        self._emit("set_done", f"set {self.set_pos + 1} done: {done_text}")
        legs = self.legs_tally()
        if legs is not None and done and self.leg_reps and self.leg_reps[-1].rep.side in SIDES:
            self._emit("note", legs_summary(legs))  # after a single-leg set: how the legs compare so far
        if self.prescribed:
            self.set_pos += 1
        nxt = self.current
        if nxt is not None:
            self._emit("rest", f"rest {nxt.rest_s:.0f} s, then set {self.set_pos + 1}: {self._label(nxt)}")
        elif self.prescribed and not self.completed:
            self.completed = True
            self._emit("note", "routine complete")

    def _announce(self) -> None:
        """Say which set comes, once per set."""
        if self.announced == self.set_pos:
            return
        if self.prescribed and self.current is None:
            self.announced = self.set_pos
            self._emit("set_started", "an extra set (the routine is complete)")
            return
        self.announced = self.set_pos
        label = self._label(self.current) if self.current else "free set"
        total = f" of {len(self.prescribed)}" if self.prescribed else ""
        self._emit("set_started", f"set {self.set_pos + 1}{total}: {label}")

    @staticmethod
    def _label(p: PrescribedSet) -> str:
        reps = "max" if p.reps is None else str(p.reps)
        side = f" {p.side}" if p.side else ""
        return f"{p.exercise}{side}, {reps} reps at {p.tempo.label()}"

    def _emit(self, kind: str, text: str) -> None:
        self.emit(LiveEvent(self.last_t, kind, text))

    # -- FrameSink ---------------------------------------------------------------------------

    def on_state(self, state: str, detail: str) -> None:
        """Link state from the stream session (a "warning" is news, not a change of the link)."""
        if state == LinkState.WARNING:
            self._emit("note", detail)
            return
        previous = self.link
        self.link, self.link_detail = state, detail
        if state == LinkState.STREAMING:
            kind = "reconnected" if previous in _LINK_LOST and self.reps else "connected"
            self._emit(kind, detail)
            if kind == "connected":
                self._announce()
                if not self.ready:
                    self._emit("note", "hold still for half a second while the sensor settles, then start")
        elif state in (LinkState.RECONNECTING, LinkState.WAITING):
            self._emit(state, detail)

    def on_samples(self, time_s: NDArray[np.float64], acc_mg: NDArray[np.float64]) -> None:
        """Detect, then advance the routine."""
        self.last_data_mono = time.monotonic()
        if len(time_s):
            # First: a boundary caused by a rep in this block is recorded at this block's last sample,
            # which is where the detector is when it takes effect (replay splits there too).
            self.last_t = float(time_s[-1])
        was_ready = self.detector.ready
        for rep in self.detector.feed(time_s, acc_mg):
            self._on_rep(rep)
        if not was_ready and self.detector.ready:
            self._emit("note", "counting")

    # -- two sensors, one per leg -------------------------------------------------------------

    def leg_sink(self, side: str) -> LegSink:
        """The `FrameSink` of one leg's sensor."""
        return LegSink(self, side)

    def on_leg_state(self, side: str, state: str, detail: str) -> None:
        """One leg's link: said with the leg's name; the session's link is the best of the two."""
        if state == LinkState.WARNING:
            self._emit("note", f"{side} leg: {detail}")
            return
        streamed = side in self._legs_streamed
        self.leg_links[side] = state
        if state == LinkState.STREAMING:
            self._legs_streamed.add(side)
        for legged in self._merger.link(side, state == LinkState.STREAMING):
            self._on_leg_rep(legged)
        links = [self.leg_links.get(s) for s in SIDES]
        best = LinkState.STREAMING if LinkState.STREAMING in links else state
        if best != self.link:
            self.on_state(best, f"{side} leg: {detail}")
        elif state == LinkState.STREAMING:
            self._emit("reconnected" if streamed else "connected", f"{side} leg: {detail}")
        elif state in (LinkState.RECONNECTING, LinkState.WAITING):
            self._emit(state, f"{side} leg: {detail} (the {other_side(side)} leg counts on)")

    def on_leg_samples(self, side: str, time_s: NDArray[np.float64], acc_mg: NDArray[np.float64]) -> None:
        """One leg's samples, on the session's clock: its detector, then the merger, then the routine."""
        self.last_data_mono = time.monotonic()
        if len(time_s) == 0:
            return
        self.last_t = max(self.last_t, float(time_s[-1]))
        det = self.leg_detectors[side]
        was_ready = self.ready
        reps: list[Rep] = []
        start = 0
        # The set boundaries this leg has not reached yet: split where replay splits (report.feed_with_boundaries).
        while self._boundaries_fed[side] < len(self._boundaries):
            b = self._boundaries[self._boundaries_fed[side]]
            if b >= float(time_s[-1]):
                break
            i = max(start, int(np.searchsorted(time_s, b, side="right")))
            reps += det.feed(time_s[start:i], acc_mg[start:i])
            det.new_set()
            start = i
            self._boundaries_fed[side] += 1
        reps += det.feed(time_s[start:], acc_mg[start:])
        for legged in self._merger.feed(side, reps, float(time_s[-1])):
            self._on_leg_rep(legged)
        if not was_ready and self.ready:
            self._emit("note", "counting")

    def _on_leg_rep(self, legged: LegRep) -> None:
        self.leg_reps.append(legged)
        self._on_rep(legged.rep)

    def _continues_set(self, rep: Rep) -> bool:
        """A short break inside an unfinished set is the same prescribed set (the rule replay uses)."""
        if self.last_rep is None:
            return False
        return continues_set(self.reps_in_set, self.current, rep.start_s - self.last_rep.end_s)

    def _after_leg_test(self, rep: Rep) -> bool:
        """A rep after a leg's test ended: before a rest it is that leg's, extra; after one, the next leg's."""
        assert self._leg_over_s is not None and self.test_rules is not None
        last = self.paused_reps[-1].end_s if self.paused_reps else (self.last_rep.end_s if self.last_rep else 0.0)
        if rep.start_s - max(last, self._leg_over_s - self.test_rules.cycle_s) <= self.test_rules.stop_after_s:
            self.paused_reps.append(rep)
            self._emit("rep", "after the leg's test ended (recorded, not counted): " + rep_line(rep, None, []))
            return True
        self._pauses.append((self._leg_over_s, rep.start_s))
        self._record_span("resumed", rep.start_s)
        self._leg_over_s = None
        return False

    def _record_span(self, kind: str, t_s: float) -> None:
        if self.recorder is not None:
            self.recorder.event(kind, time.monotonic_ns(), time.time_ns(), text="heel-rise test", t_s=round(t_s, 6))

    def _made_in_pause(self, rep: Rep) -> bool:
        """A rep that ended while paused (the rule replay applies to the recorded pauses)."""
        spans = [*self._pauses, (self._paused_at_s, float("inf"))] if self.paused else self._pauses
        return any(a <= rep.end_s < b for a, b in spans)

    def _on_rep(self, rep: Rep) -> None:
        if self._leg_over_s is not None and self._after_leg_test(rep):
            return
        if self._made_in_pause(rep):
            self.paused_reps.append(rep)
            self._emit("rep", "during the pause (recorded, not counted): " + rep_line(rep, None, []))
            return
        if rep.set_index != self.current_set_index:
            # The detector began a new set (rest, a long gap, or our explicit boundary).
            self.current_set_index = rep.set_index
            if self._continues_set(rep):
                self._emit("note", f"set {self.set_pos + 1} continues after a short break")
            else:
                if self.reps_in_set:
                    self._finish_set()
                self.resting_since_s = None
                self._announce()
        self.resting_since_s = None
        self.reps_in_set += 1
        self.reps.append(rep)
        pres = self.current
        flags = rep_flags(rep, pres)
        self.last_rep, self.last_flags = rep, flags
        self._emit("rep", rep_line(rep, pres, flags))
        if pres is not None and pres.reps is not None and self.reps_in_set >= pres.reps:
            self.next_set(manual=False)
        elif self.test_rules is not None and pres is not None and pres.side in ("left", "right"):
            # Two sensors know which leg it was; one sensor is worn on the leg the test is at.
            self._test_rep(rep.side if rep.side in SIDES else pres.side, self.test_rules)

    def _test_rep(self, side: str, rules: TestRules) -> None:
        """The heel-rise test, live: prompt as the tester would, and end the leg when its rules say so."""
        leg = self.reps[-self.reps_in_set :]
        result = score_leg(side, leg, rules=rules)
        if result.ended in (Termination.PACE, Termination.HEIGHT):
            self._emit("note", f"{side} leg done: {result.ended.value}; {count(result.reps, 'rep')} count")
            # Raises after it, before a rest, are the same leg's last efforts: recorded, credited to no set (a
            # span written as a pause, so that replay credits them to none either).
            self._leg_over_s = self.last_t
            self._record_span("paused", self.last_t)
            self.next_set(manual=False)
            return
        prompt = prompt_for(leg, rules)
        if prompt is not None:
            self._emit("note", prompt)

    def on_heart_rate(self, bpm: int, rr_ms: tuple[int, ...]) -> None:
        """Heart rate for the dashboard."""
        self.heart_rate = bpm

    def on_battery(self, percent: int) -> None:
        """Battery for the dashboard."""
        self.battery = percent

    def finish(self) -> None:
        """End of the session: close the set in progress."""
        if self.two_legs:
            for side, det in self.leg_detectors.items():
                self._merger.feed(side, det.finish(), float("inf"))
            for legged in self._merger.finish():
                self._on_leg_rep(legged)
        else:
            for rep in self.detector.finish():
                self._on_rep(rep)
        if self.reps_in_set:
            self._finish_set()
        self.finished = True


@dataclass
class LegSink:
    """One leg's sensor's `FrameSink`: what it delivers goes to the coach with the leg's name."""

    coach: LiveCoach
    side: str

    def on_state(self, state: str, detail: str) -> None:
        """The leg's link."""
        self.coach.on_leg_state(self.side, state, detail)

    def on_samples(self, time_s: NDArray[np.float64], acc_mg: NDArray[np.float64]) -> None:
        """The leg's samples."""
        self.coach.on_leg_samples(self.side, time_s, acc_mg)

    def on_heart_rate(self, bpm: int, rr_ms: tuple[int, ...]) -> None:
        """Heart rate, from whichever sensor has it."""
        self.coach.on_heart_rate(bpm, rr_ms)

    def on_battery(self, percent: int) -> None:
        """The leg's battery (the dashboard shows the lower)."""
        self.coach.leg_batteries[self.side] = percent
        self.coach.on_battery(min(self.coach.leg_batteries.values()))
