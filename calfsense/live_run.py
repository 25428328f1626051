"""Running `calfsense live`: the stream session, the coach, the screen, the keys, and the end report."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from calfsense.domain import LinkState
from calfsense.files import PrivateLog, private_dir
from calfsense.legs import SIDES
from calfsense.live import LiveCoach, LiveEvent
from calfsense.live_screen import render_dashboard
from calfsense.routine import Routine
from calfsense.session.model import LoadedSession
from calfsense.session.recording import LegWriter, RecordingHeader, RecordingWriter, now_wall
from calfsense.sources import ble
from calfsense.sources.base import LegsReplaySource, ReplaySource, Source
from calfsense.sources.phyphox import PhyphoxSource
from calfsense.sources.stream import StreamConfig, StreamSession
from calfsense.text import count


@dataclass
class LiveOptions:
    """Everything `calfsense live` was asked for."""

    routine: Routine | None
    placement: str
    backend: ble.Backend | None  # None: the real one (and with `replay`, none is used)
    target: str | None
    record_dir: Path
    plain: bool
    sound: str = "off"  # audio.SoundMode: off, tones (the metronome), voice (tones and the count spoken)
    simulated: bool = False
    time_scale: float = 1.0  # the virtual sensor's speed (its clock against the host's)
    idle_finish_s: float = 3.0  # virtual sensor: its motion is over when no frame came for this long
    disk_room_bytes: int | None = None  # a full disk after this many bytes (`--faults disk-full=N`)
    replay: LoadedSession | None = None  # coach a recording or export instead of a sensor (`live --replay FILE`)
    phyphox_url: str | None = None  # a phone running phyphox with remote access (`live --phyphox URL`)
    legs: dict[str, str] | None = None  # a sensor on each leg: {"left": name or address, "right": ...}


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
        label = e.kind.replace("_", " ")
        # "rep 3: ..." and "set 2 done: ..." say what they are; the link's news is labelled ("connected: ...").
        line = e.text if e.text.startswith(label.split()[0] + " ") else f"{label}: {e.text}"
        self.out.write(f"[{int(minutes):02d}:{seconds:04.1f}] {line}\n")
        self.out.flush()


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


class BothLegs:
    """A sensor on each leg as one source: both streamed at once; either failing for good ends both."""

    def __init__(self, streams: dict[str, StreamSession]) -> None:
        self.streams = streams

    async def run(self) -> None:
        """Stream both legs until both are done (or one fails for good, which stops the other)."""
        tasks = [asyncio.ensure_future(s.run()) for s in self.streams.values()]
        try:
            for done in asyncio.as_completed(tasks):
                try:
                    await done
                except BaseException:
                    self.stop()
                    raise
        finally:
            for t in tasks:
                if not t.done():
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        """Ask both to finish."""
        for s in self.streams.values():
            s.stop()


async def run_live(opts: LiveOptions, out: TextIO | None = None) -> tuple[Path | None, LiveCoach, StreamSession | None]:
    """Stream, coach and record until q, the routine's end, Ctrl-C/SIGTERM, or (virtual) the motion's end.

    Returns the recording written (None when nothing came, or a file was replayed), the coach, and the
    BLE session (None for a replayed file)."""
    out = out or sys.stdout  # looked up now: a default bound at import would keep whatever stdout was then
    events: list[LiveEvent] = []
    plain = PlainOutput(out) if opts.plain else None

    bell = False  # the terminal bell on each rep, when sound was asked for and no speaker can be had

    def emit(e: LiveEvent) -> None:
        events.append(e)
        if plain is not None:
            plain.event(e)
        if bell and e.kind == "rep":
            out.write("\a")

    # A sensor on each leg, live or a recording of them replayed.
    two_legs = opts.legs is not None or (opts.replay is not None and opts.replay.other is not None)
    coach = LiveCoach(opts.routine, opts.placement, emit=emit, time_scale=opts.time_scale, two_legs=two_legs)
    player = None
    if opts.sound != "off":
        from calfsense.audio import Player, SoundMode
        from calfsense.errors import CalfsenseError

        try:
            player = Player(SoundMode(opts.sound))
        except CalfsenseError as exc:
            bell = True
            emit(LiveEvent(0.0, "note", f"{exc.one_line()}; the terminal bell rings each rep instead"))
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

    def device_header(session: StreamSession) -> RecordingHeader:
        """What a connected sensor told about itself and the settings it took."""
        info = session.info
        return RecordingHeader(
            device_name=session.device_name,
            model=info.model if info else None,
            address=session.device_address,
            firmware=info.firmware if info else None,
            serial=info.serial if info else None,
            settings={"acc": session.settings.as_dict()} if session.settings else {},
        )

    def session_header(device: RecordingHeader, note: str, **extra: Any) -> RecordingHeader:
        """A device's header with the session's facts: placement, routine, when, and how it ran."""
        wall, zone = now_wall()
        return dataclasses.replace(
            device,
            placement=opts.placement,
            routine=opts.routine.name if opts.routine else None,
            start_wall=wall,
            timezone=zone,
            synthetic=opts.simulated,
            note=note + (" --simulate" if opts.simulated else ""),
            time_scale=opts.time_scale,
            **extra,
        )

    def make_recorder(session: StreamSession) -> RecordingWriter:
        assert record_path is not None
        header = session_header(device_header(session), "calfsense live")
        writer = RecordingWriter(record_path, header, room_bytes=opts.disk_room_bytes)
        coach.recorder = writer
        coach.model = session.info.model if session.info else session.device_name
        written.append(record_path)
        return writer

    def make_phone_recorder(phone: PhyphoxSource) -> RecordingWriter:
        assert record_path is not None
        title = phone.experiment.title if phone.experiment else ""
        phone_device = RecordingHeader(
            device_name="phyphox",
            model="phyphox (phone)",
            address=phone.url,
            settings={"phyphox": {"url": phone.url, "experiment": title}},
        )
        header = session_header(phone_device, "calfsense live --phyphox")
        writer = RecordingWriter(record_path, header, room_bytes=opts.disk_room_bytes)
        coach.recorder = writer
        coach.model = "phone (phyphox)"
        written.append(record_path)
        return writer

    host0_ns = time.monotonic_ns()  # two legs: the session's clock counts from here
    shared: list[RecordingWriter] = []

    def make_leg_recorder(side: str) -> Callable[[StreamSession], LegWriter]:
        def make(session: StreamSession) -> LegWriter:
            assert record_path is not None
            leg = device_header(session)
            if not shared:
                note = "calfsense live, a sensor on each leg"
                header = session_header(leg, note, streams=SIDES, host0_ns=host0_ns)
                shared.append(RecordingWriter(record_path, header, room_bytes=opts.disk_room_bytes))
                coach.recorder = shared[0]
                coach.model = session.info.model if session.info else session.device_name
                written.append(record_path)
            shared[0].stream(side, leg, time.monotonic_ns(), time.time_ns())
            return LegWriter(shared[0], side)

        return make

    stream: StreamSession | None = None
    phone: PhyphoxSource | None = None
    leg_streams: dict[str, StreamSession] = {}
    source: Source
    if opts.legs is not None:
        for side in SIDES:
            leg_config = StreamConfig(target=opts.legs[side], time_scale=opts.time_scale, host0_ns=host0_ns)
            backend = opts.backend or ble.real_backend()
            leg_streams[side] = StreamSession(leg_config, coach.leg_sink(side), backend, make_leg_recorder(side))
        stream = leg_streams[SIDES[0]]
        source = BothLegs(leg_streams)
    elif opts.replay is not None and opts.replay.other is not None:
        # A recording with a sensor on each leg: each leg's samples to the coach as its sensor would send them.
        legs = {"left": opts.replay, "right": opts.replay.other}
        source = LegsReplaySource({side: (legs[side], coach.leg_sink(side)) for side in SIDES}, speed=opts.time_scale)
    elif opts.replay is not None:
        # A file through the same coach a sensor feeds (sources/base.py): nothing to record, it is recorded.
        source = ReplaySource(opts.replay, coach, speed=opts.time_scale)
    elif opts.phyphox_url is not None:
        source = phone = PhyphoxSource(opts.phyphox_url, coach, make_phone_recorder, time_scale=opts.time_scale)
    else:
        config = StreamConfig(target=opts.target, time_scale=opts.time_scale)
        source = stream = StreamSession(config, coach, opts.backend or ble.real_backend(), make_recorder)
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
            elif coach.routine_done and coach.link != LinkState.STREAMING:
                request_stop()
            elif (
                opts.simulated
                and (stream is not None and stream.stats.frames > 0 or phone is not None and phone.stats.samples > 0)
                and time.monotonic() - coach.last_data_mono > opts.idle_finish_s
                and all(s.stats.frames > 0 for s in leg_streams.values())
            ):
                request_stop()

    async def call_cues() -> None:
        from calfsense.audio import PaceCaller

        assert player is not None
        caller = PaceCaller(coach, player.play, player.say)
        while not stop.is_set():
            caller.poll()
            await asyncio.sleep(0.01)  # a cue is at most 10 ms late: under what the ear notices in a beat

    tasks = [loop.create_task(watch_end())]
    if player is not None:
        tasks.append(loop.create_task(call_cues()))
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
                render_dashboard(coach, record_path, events, console.width),
                console=console,
                refresh_per_second=10,
                screen=console.is_terminal,
            ) as live:
                while not stop.is_set():
                    live.update(render_dashboard(coach, record_path if written else None, events, console.width))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 0.1)
    finally:
        source.stop()
        with contextlib.suppress(Exception):
            await runner
        for t in tasks:
            t.cancel()
        coach.finish()
        if player is not None:
            player.close()
        if stream is not None and stream.recorder is not None:
            stream.recorder.close()
        for writer in shared:
            writer.close()
        if phone is not None and phone.recorder is not None:
            phone.recorder.close()
        for sig in signals:
            loop.remove_signal_handler(sig)
        if log is not None:
            logger.removeHandler(log)
            logger.propagate = True
            log.close()
    emit(
        LiveEvent(
            coach.last_t, "finished", count(len(coach.reps), "rep") + (f", recording {written[0]}" if written else "")
        )
    )
    if runner.done() and not runner.cancelled() and runner.exception() is not None:
        raise runner.exception()  # type: ignore[misc]
    return (written[0] if written else None), coach, stream
