"""The live screen, read from the mat: a big rep counter, a big phase cue, and one main message.

Built for 80x24 and larger. What matters most gets the most room: the reps done (big digits), what to
do now (a tall bar that fills as you should rise and empties as you should lower, at the prescribed
tempo, coloured by the phase the sensor sees), and the one thing that needs attention (stand still,
signal lost, paused, rest, done). A rich renderable, rebuilt ten times a second by `live_run`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from calfsense.domain import Flag, LinkState
from calfsense.live import LiveCoach, LiveEvent
from calfsense.report import FORM_CUES
from calfsense.report_text import FLAG_MEANS

# A 3x5 block font, each cell drawn two characters wide: digits a runner can read from 2 m.
_FONT = {
    "0": ["###", "# #", "# #", "# #", "###"],
    "1": [" # ", "## ", " # ", " # ", "###"],
    "2": ["###", "  #", "###", "#  ", "###"],
    "3": ["###", "  #", " ##", "  #", "###"],
    "4": ["# #", "# #", "###", "  #", "  #"],
    "5": ["###", "#  ", "###", "  #", "###"],
    "6": ["###", "#  ", "###", "# #", "###"],
    "7": ["###", "  #", "  #", "  #", "  #"],
    "8": ["###", "# #", "###", "# #", "###"],
    "9": ["###", "# #", "###", "  #", "###"],
    "/": ["  #", "  #", " # ", "#  ", "#  "],
    " ": ["   ", "   ", "   ", "   ", "   "],
}
_SIGNAL_LOST_S = 2.0  # no samples for this long (wall time) while "streaming" is a signal loss worth showing
_LOST = (LinkState.RECONNECTING, LinkState.SCANNING, LinkState.CONNECTING, LinkState.WAITING)
# What each flag means and what to do about it, beside the rep that earned it: the report's words (one
# definition for the report, the page and the screen).
FLAG_WORDS: dict[str, str] = {flag: f"{FLAG_MEANS[flag]} - {cue}" for flag, cue in FORM_CUES.items()}
_PHASE_COLOUR = {"rising": "green", "top": "cyan", "lowering": "yellow", "bottom": "blue", "resting": "blue"}
_GUIDE = {"up": "RISE", "hold": "HOLD", "down": "LOWER", "pause": "PAUSE"}


def big_text(text: str) -> list[str]:
    """Five lines of block characters spelling `text` (digits, '/' and spaces)."""
    rows = ["" for _ in range(5)]
    for ch in text:
        glyph = _FONT.get(ch, _FONT[" "])
        for i in range(5):
            rows[i] += glyph[i].replace("#", "██").replace(" ", "  ") + "  "
    return [r.rstrip() for r in rows]


def cue_fill(beat: str, within: float) -> float:
    """How full the phase cue is: filling while rising, full at the top, emptying while lowering."""
    return {"up": within, "hold": 1.0, "down": 1.0 - within}.get(beat, 0.0)


def legs_line(coach: LiveCoach) -> str:
    """A sensor on each leg: left against right so far, each leg's link if it is down ("" with one sensor)."""
    t = coach.legs_tally()
    if t is None:
        return ""

    def leg(side: str) -> str:
        h = t.height_cm[side]
        link = coach.leg_links.get(side)
        down = f" [{link}]" if link in _LOST or link is None else ""
        return f"{side} {t.reps[side]} single-leg reps" + (f", {h:.1f} cm" if h is not None else "") + down

    parts = [leg("left"), leg("right")]
    if t.reps_lsi_pct is not None:
        parts.append(f"symmetry {t.reps_lsi_pct:.0f} %")
    if t.height_lsi_pct is not None:
        parts.append(f"height {t.height_lsi_pct:.0f} %")
    return " | ".join(parts)


def main_message(coach: LiveCoach, now_mono: float | None = None) -> tuple[str, str]:
    """The one thing that needs attention now, and its colour (stand still, signal lost, paused, rest, done)."""
    now = time.monotonic() if now_mono is None else now_mono
    if coach.finished or coach.routine_done:
        return ("ROUTINE COMPLETE - well done. Press q to finish", "bold green")
    if coach.link in _LOST:
        return (f"SIGNAL LOST - {coach.link} {coach.link_detail}".strip() + " (counting resumes by itself)", "bold red")
    if coach.link == LinkState.STREAMING and now - coach.last_data_mono > _SIGNAL_LOST_S:
        return (f"NO DATA for {now - coach.last_data_mono:.0f} s - is the sensor still on?", "bold red")
    if coach.link != LinkState.STREAMING:
        return (f"connecting to the sensor ({coach.link})", "bold yellow")
    if not coach.ready:
        return ("STAND STILL - the sensor is settling, then start", "bold yellow")
    if coach.paused:
        return ("PAUSED - the routine waits; press p to go on (reps now are not counted)", "bold magenta")
    rest = coach.rest_left_s(now)
    if rest is not None and coach.reps_in_set == 0:
        if rest > 0:
            return (f"REST {rest:3.0f} s", "bold yellow")
        return ("REST OVER - go when ready", "bold green")
    return ("", "")


def render_dashboard(coach: LiveCoach, recording: Path | None, events: list[LiveEvent], width: int = 80) -> Any:
    """The full-screen view (a rich renderable) for a terminal `width` columns wide."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    width = max(40, width)
    link_colour = "green" if coach.link == LinkState.STREAMING else "red" if coach.link in _LOST else "yellow"
    hr = f"HR {coach.heart_rate}" if coach.heart_rate else "HR --"
    battery = f"  batt {coach.battery}%" if coach.battery is not None else ""
    right = Text(f"{hr}{battery}  ", style="red") + Text(f"● {coach.link}", style=link_colour)
    left = f"{coach.model or 'sensor'} on the {coach.placement}"
    head = Text(left[: max(10, width - len(right) - 1)], style="bold")
    head.append(" " * max(1, width - len(head) - len(right)))
    head.append_text(right)

    pres = coach.current
    if pres is not None:
        target = "max" if pres.reps is None else str(pres.reps)
        side = f" ({pres.side} leg)" if pres.side else ""
        plan = f"set {coach.set_pos + 1} of {len(coach.prescribed)}: {pres.exercise}{side}, {target} reps"
        plan += f", tempo {pres.tempo.label()} s (up-hold-down-pause)"
    elif coach.routine_done:
        plan = f"all {len(coach.prescribed)} sets done"
    else:
        plan = "free session (no routine): every rep is counted"
    progress = Text(plan[:width], style="bold cyan")

    message, colour = main_message(coach)
    banner = Text(message[:width].center(width), style=f"{colour} reverse" if message else "")

    if coach.routine_done or coach.finished:
        done = f"{len(coach.reps)}"
        counter_lines = big_text(done)
        caption = f"reps in {len(coach.prescribed)} sets" if coach.prescribed else "reps"
    else:
        target_reps = pres.reps if pres is not None and pres.reps else None
        shown = f"{coach.reps_in_set}/{target_reps}" if target_reps else f"{coach.reps_in_set}"
        counter_lines = big_text(shown)
        caption = f"{max(0, target_reps - coach.reps_in_set)} to go" if target_reps else "reps this set"
    counter = Text("\n".join(line.center(width) for line in counter_lines), style="bold white")
    counter.append("\n" + caption.center(width), style="dim")

    phase = coach.phase()
    beat, within = coach.pace_position(time.monotonic())
    fill = 0.0 if coach.paused or pres is None else cue_fill(beat, within)
    bar_w = max(10, width - 14)
    filled = int(round(fill * bar_w))
    colour_now = _PHASE_COLOUR.get(phase, "white")
    cue = Table.grid(padding=(0, 1))
    cue.add_column(width=11)
    cue.add_column()
    guide = _GUIDE.get(beat, "") if pres is not None and not coach.paused else ""
    for row in range(3):
        label = Text(guide if row == 0 else (f"you: {phase}" if row == 1 else ""), style=f"bold {colour_now}")
        cue.add_row(label, Text("█" * filled, style=colour_now) + Text("░" * (bar_w - filled), style="dim"))

    last = Text("last rep: -")
    if coach.last_rep is not None:
        from calfsense.report import on_tempo

        r = coach.last_rep
        last = Text(f"rep {r.index}: ")
        for name, value, tgt in (
            ("up", r.up_s, pres.tempo.up_s if pres else None),
            ("hold", r.hold_s, pres.tempo.hold_s if pres else None),
            ("down", r.down_s, pres.tempo.down_s if pres else None),
        ):
            good = tgt is None or on_tempo(value, tgt)
            last.append(f"{name} {value:.1f}", style="green" if good else "yellow")
            last.append(f"{'/' + format(tgt, 'g') if tgt is not None else ''} s  ")
        if r.height_cm is not None:
            last.append(f"height {r.height_cm:.1f} cm", style="yellow" if Flag.PARTIAL in coach.last_flags else "green")
    flags = Text(
        "; ".join(FLAG_WORDS.get(f, str(f)) for f in coach.last_flags)[: 2 * width] or "form: good", style="bold"
    )
    flags.stylize("red" if coach.last_flags else "green")
    recent = [e for e in events if e.kind != "state"][-3:]
    log = Text("\n".join(f"{e.text}"[:width] for e in recent), style="dim")
    legs = legs_line(coach)
    if legs:
        lost = [side for side, state in coach.leg_links.items() if state in _LOST]
        log = Text(legs[:width] + "\n", style="bold red" if lost else "bold") + log
    keys = Text(
        ("space next set  b back  p pause  q finish" + (f"  rec {recording.name}" if recording else ""))[:width],
        style="dim",
    )
    return Group(head, progress, banner, counter, cue, last, flags, log, keys)
