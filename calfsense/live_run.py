"""Running `calfsense live`: the stream session, the coach, the screen, the keys, and the end report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from calfsense.domain import LinkState
from calfsense.files import PrivateLog, private_dir
from calfsense.live import LiveCoach, LiveEvent
from calfsense.report import on_tempo
from calfsense.routine import Routine
from calfsense.session.model import LoadedSession
from calfsense.session.recording import RecordingHeader, RecordingWriter, now_wall
from calfsense.sources import ble
from calfsense.sources.base import ReplaySource, Source


@dataclass
class LiveOptions:
    """Everything `calfsense live` was asked for."""

    routine: Routine | None
    placement: str
    backend: ble.Backend | None  # None: the real one (and with `replay`, none is used)
    target: str | None
    record_dir: Path
    plain: bool
    sound: bool = False
    simulated: bool = False
    time_scale: float = 1.0  # the virtual sensor's speed (its clock against the host's)
    idle_finish_s: float = 3.0  # virtual sensor: its motion is over when no frame came for this long
    disk_room_bytes: int | None = None  # a full disk after this many bytes (`--faults disk-full=N`)
    replay: LoadedSession | None = None  # coach a recording or export instead of a sensor (`live --replay FILE`)


def recording_path(record_dir: Path) -> Path:
    """A new file name per session: session-YYYYMMDD-HHMMSS.csrec.jsonl."""
    private_dir(record_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = record_dir / f"session-{stamp}.csrec.jsonl"
    n = 1
    while path.exists():
        n += 1
        path = record_dir / f"session-{stamp}-{n}.csrec.jsonl"
    return path


class PlainOutput:
    """One line per event, for scripts and screen readers."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def event(self, e: LiveEvent) -> None:
        """Print an event."""
        if e.kind == "state":
            return
        minutes, seconds = divmod(max(0.0, e.time_s), 60)
        self.out.write(f"[{int(minutes):02d}:{seconds:04.1f}] {e.kind.replace('_', ' ')}: {e.text}\n")
        self.out.flush()


def _bar(fraction: float, width: int = 30) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    return "█" * filled + "░" * (width - filled)


def render_dashboard(coach: LiveCoach, recording: Path | None, events: list[LiveEvent]) -> Any:
    """The full-screen view (a rich renderable)."""
    from rich.align import Align
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    top = Table.grid(expand=True)
    top.add_column(ratio=2)
    top.add_column(ratio=1, justify="right")
    link_colour = {"streaming": "green", "reconnecting": "yellow", "waiting": "yellow"}.get(coach.link, "white")
    hr = f"♥ {coach.heart_rate} bpm" if coach.heart_rate else "♥ --"
    battery = f"battery {coach.battery}%" if coach.battery is not None else ""
    top.add_row(
        Text(f"{coach.model or 'sensor'} on the {coach.placement}", style="bold"),
        Text(f"{hr}   {battery}   ", style="red") + Text(f"● {coach.link} {coach.link_detail}", style=link_colour),
    )
    pres = coach.current
    if pres is not None:
        target = "max" if pres.reps is None else str(pres.reps)
        side = f" ({pres.side})" if pres.side else ""
        progress = Text(
            f"set {coach.set_pos + 1} of {len(coach.prescribed)}: {pres.exercise}{side}, "
            f"{target} reps at {pres.tempo.label()} s",
            style="bold cyan",
        )
    elif coach.routine_done:
        progress = Text("routine complete - press q to finish", style="bold green")
    else:
        progress = Text("free session (no routine)", style="cyan")
    target_reps = pres.reps if pres is not None and pres.reps else None
    counter = Text(f"{coach.reps_in_set}", style="bold white on blue")
    counter.append(f" / {target_reps}" if target_reps else "", style="bold white on blue")
    to_go = f"{max(0, target_reps - coach.reps_in_set)} to go" if target_reps else ""
    big = Panel(Align.center(Text.assemble(("REPS  ", "bold"), counter, ("   " + to_go, "dim"))), padding=(1, 2))
    phase = coach.phase()
    rest = coach.rest_left_s()
    if rest is not None and coach.reps_in_set == 0:
        colour = "green" if rest <= 0 else "yellow"
        pace = Text(
            f"REST {max(0.0, rest):4.0f} s "
            + ("- go when ready" if rest <= 0 else "")
            + ("  (paused)" if coach.paused else ""),
            style=f"bold {colour}",
        )
    else:
        beat, within = coach.pace_position()
        guide = {"up": "rise", "hold": "hold at the top", "down": "lower slowly", "pause": "pause at the bottom"}
        pace = Text.assemble(
            (f"now: {phase:<9}", "bold"),
            "  pace: ",
            (f"{guide.get(beat, beat):<20} {_bar(within, 20)}", "magenta"),
            ("  (paused)" if coach.paused else ""),
        )
    last = Text("last rep: -")
    if coach.last_rep is not None:
        r = coach.last_rep
        last = Text("last rep: ")
        for name, value, tgt in (
            ("up", r.up_s, pres.tempo.up_s if pres else None),
            ("hold", r.hold_s, pres.tempo.hold_s if pres else None),
            ("down", r.down_s, pres.tempo.down_s if pres else None),
        ):
            good = tgt is None or on_tempo(value, tgt)
            last.append(f"{name} {value:.1f} s", style="green" if good else "yellow")
            last.append(f"{'/' + format(tgt, 'g') if tgt is not None else ''}   ")
        if r.height_cm is not None:
            last.append(f"height {r.height_cm:.1f} cm", style="yellow" if "partial" in coach.last_flags else "green")
    from calfsense.report import FORM_CUES

    cues = Text("  ".join(f"→ {FORM_CUES[f]}" for f in coach.last_flags if f in FORM_CUES), style="bold red")
    log = Text("\n".join(f"{e.kind.replace('_', ' ')}: {e.text}" for e in events[-5:]), style="dim")
    keys = Text(
        "space next set   b back   p pause   q finish" + (f"   recording {recording.name}" if recording else ""),
        style="dim",
    )
    return Group(top, progress, big, pace, last, cues, Panel(log, title="events", title_align="left"), keys)


async def _read_keys(handler: Any, stop: asyncio.Event) -> None:
    """Single key presses from a terminal (cbreak mode), until stop."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()
    try:
        tty.setcbreak(fd)
        loop.add_reader(fd, lambda: queue.put_nowait(sys.stdin.read(1)))
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                key = await asyncio.wait_for(queue.get(), 0.2)
                handler(key)
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


async def run_live(
    opts: LiveOptions, out: TextIO | None = None
) -> tuple[Path | None, LiveCoach, ble.StreamSession | None]:
    """Stream, coach and record until q, the routine's end, Ctrl-C/SIGTERM, or (virtual) the motion's end.

    Returns the recording written (None when nothing came, or a file was replayed), the coach, and the
    BLE session (None for a replayed file)."""
    out = out or sys.stdout  # looked up now: a default bound at import would keep whatever stdout was then
    events: list[LiveEvent] = []
    plain = PlainOutput(out) if opts.plain else None

    def emit(e: LiveEvent) -> None:
        events.append(e)
        if plain is not None:
            plain.event(e)
        if opts.sound and e.kind == "rep":
            out.write("\a")

    coach = LiveCoach(opts.routine, opts.placement, emit=emit)
    written: list[Path] = []
    logger = logging.getLogger("calfsense")
    record_path: Path | None = None
    log: PrivateLog | None = None
    if opts.replay is None:
        record_path = recording_path(opts.record_dir)
        # Tracebacks of what went wrong mid-session go beside the recording, not over the live screen.
        log = PrivateLog(record_path.with_name(record_path.name + ".log"))
        logger.addHandler(log)
        logger.propagate = False

    def make_recorder(session: ble.StreamSession) -> RecordingWriter:
        assert record_path is not None
        wall, zone = now_wall()
        info = session.info
        header = RecordingHeader(
            device_name=session.device_name,
            model=info.model if info else None,
            address=session.device_address,
            firmware=info.firmware if info else None,
            serial=info.serial if info else None,
            placement=opts.placement,
            settings={"acc": session.settings.as_dict()} if session.settings else {},
            routine=opts.routine.name if opts.routine else None,
            start_wall=wall,
            timezone=zone,
            synthetic=opts.simulated,
            note="calfsense live" + (" --simulate" if opts.simulated else ""),
            time_scale=opts.time_scale,
        )
        writer = RecordingWriter(record_path, header, room_bytes=opts.disk_room_bytes)
        coach.recorder = writer
        coach.model = info.model if info else session.device_name
        written.append(record_path)
        return writer

    stream: ble.StreamSession | None = None
    source: Source
    if opts.replay is not None:
        # A file through the same coach a sensor feeds (sources/base.py): nothing to record, it is recorded.
        source = ReplaySource(opts.replay, coach, speed=opts.time_scale)
    else:
        config = ble.StreamConfig(target=opts.target, time_scale=opts.time_scale)
        source = stream = ble.StreamSession(config, coach, opts.backend or ble.real_backend(), make_recorder)
    stop = asyncio.Event()

    def request_stop() -> None:
        stop.set()
        source.stop()

    def on_key(key: str) -> None:
        if key == " ":
            coach.next_set()
        elif key == "b":
            coach.back()
        elif key == "p":
            coach.toggle_pause()
        elif key in ("q", "Q"):
            request_stop()

    loop = asyncio.get_running_loop()
    # Windows event loops have no signal handlers: Ctrl-C arrives as KeyboardInterrupt there instead.
    signals = (signal.SIGINT, signal.SIGTERM) if sys.platform != "win32" else ()
    for sig in signals:
        loop.add_signal_handler(sig, request_stop)
    runner = loop.create_task(source.run())

    async def watch_end() -> None:
        # The session ends by itself when the routine is done, or the virtual sensor has nothing left.
        while not stop.is_set():
            await asyncio.sleep(0.2)
            if runner.done():
                stop.set()
            elif coach.routine_done and (coach.rest_left_s() is None or coach.link != LinkState.STREAMING):
                request_stop()
            elif (
                opts.simulated
                and stream is not None
                and stream.stats.frames > 0
                and time.monotonic() - coach.last_data_mono > opts.idle_finish_s
            ):
                request_stop()

    tasks = [loop.create_task(watch_end())]
    interactive = not opts.plain and sys.stdin.isatty()
    if interactive:
        tasks.append(loop.create_task(_read_keys(on_key, stop)))
    try:
        if opts.plain:
            await stop.wait()
        else:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=out)
            with Live(
                render_dashboard(coach, record_path, events),
                console=console,
                refresh_per_second=10,
                screen=console.is_terminal,
            ) as live:
                while not stop.is_set():
                    live.update(render_dashboard(coach, record_path if written else None, events))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 0.1)
    finally:
        source.stop()
        with contextlib.suppress(Exception):
            await runner
        for t in tasks:
            t.cancel()
        coach.finish()
        if stream is not None and stream.recorder is not None:
            stream.recorder.close()
        for sig in signals:
            loop.remove_signal_handler(sig)
        if log is not None:
            logger.removeHandler(log)
            logger.propagate = True
            log.close()
    emit(
        LiveEvent(
            coach.last_t, "finished", f"{len(coach.reps)} reps" + (f", recording {written[0]}" if written else "")
        )
    )
    if runner.done() and not runner.cancelled() and runner.exception() is not None:
        raise runner.exception()  # type: ignore[misc]
    return (written[0] if written else None), coach, stream
