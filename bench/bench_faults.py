"""Reliability: an hour of emulated streaming with 100 forced disconnects, every error class, clock resets.

Run: python bench/bench_faults.py [--minutes 60] [--speed 30]

The real bleak code path against the virtual sensor (byte-exact H10 notifications), faster than real
time. The link drops every 36 sensor seconds; each reconnect's first attempt fails with the next of the
everyday BlueZ errors (timeout, le-connection-abort-by-local, Software caused connection abort, Not
connected, EOF from D-Bus), the second succeeds; 1 % of frames arrive after the one that followed
them. Prints reps expected, counted without faults and with
them, lost outside the link-down gaps (of those counted without faults), false or doubled, frames
received and recorded, frames out of order, and reconnect times (sensor clock). Targets: 0 lost outside gaps, 0 doubled,
every received frame recorded. A second run resets the sensor's clock (2019-01-01) on some drops and
compares counts (after a reset the timeline follows the host's clock, which runs slower than the
emulated sensor's: times cannot be matched to the truth, counts can).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np

from calfsense.dsp.detect import Detector
from calfsense.dsp.evaluate import match_reps
from calfsense.dsp.simulate import Simulation, routine_session, simulate
from calfsense.session.decode import load_native
from calfsense.session.recording import RecordingHeader, RecordingWriter
from calfsense.sources import ble
from calfsense.sources.faults import CONNECT_ERRORS, Faults
from calfsense.sources.stream import StreamConfig, StreamSession
from calfsense.sources.synthetic import H10
from calfsense.sources.virtual import (
    VirtualClient,
    VirtualScanner,
    VirtualSensor,
    VirtualWorld,
    motion_from_simulation,
)

TRANSIENT = [e for e in CONNECT_ERRORS if e != "busy"]


class Sink:
    """Counts reps as they stream (the foot: the placement whose counting is not what is measured here)."""

    def __init__(self) -> None:
        self.det = Detector("foot")
        self.reps: list = []

    def on_state(self, state: str, detail: str) -> None:
        pass

    def on_samples(self, t: np.ndarray, a: np.ndarray) -> None:
        self.reps += self.det.feed(t, a)

    def on_heart_rate(self, bpm: int, rr: tuple[int, ...]) -> None:
        pass

    def on_battery(self, pct: int) -> None:
        pass


def session_sim(minutes: float) -> Simulation:
    """Routine sets with rests, `minutes` long, on the foot."""
    rng = np.random.default_rng(7)
    plan = []
    while sum(s.duration_s or 90 for s in plan) < 60 * minutes:
        plan += routine_session("foot", sets_per_exercise=1, reps=12, rest_s=45.0, rng=rng)
    return simulate(plan, "foot", 200.0, seed=7)


async def stream(sim: Simulation, faults: Faults, speed: float, path: Path) -> tuple[Sink, StreamSession, float]:
    """Stream the whole simulation through bleak and the virtual sensor; wall seconds taken."""
    sensor = VirtualSensor(motion_from_simulation(sim), H10.with_rate(200), speed=speed, faults=faults)
    backend = ble.Backend(VirtualScanner, VirtualClient, {"world": VirtualWorld([sensor])})
    sink = Sink()

    def recorder(session: StreamSession) -> RecordingWriter:
        settings = {"acc": session.settings.as_dict()} if session.settings else {}
        header = RecordingHeader(device_name=session.device_name, model="H10", settings=settings, time_scale=speed)
        return RecordingWriter(path, header)

    config = StreamConfig(target="Polar", rate_hz=200, time_scale=speed)
    session = StreamSession(config, sink, backend, recorder)
    start = time.perf_counter()
    task = asyncio.create_task(session.run())
    while not task.done() and sensor.sensor_time_s() < sim.time_s[-1] + 1.0:
        await asyncio.sleep(0.2)
    session.stop()
    try:
        await task
    finally:
        if session.recorder is not None:
            session.recorder.close()
    sink.reps += sink.det.finish()
    return sink, session, time.perf_counter() - start


def reconnect_times_s(path: Path) -> list[float]:
    """Host seconds from each `disconnected` event to the next `reconnected` one."""
    rec = load_native(path)
    out, down = [], None
    for e in rec.events:
        if e.kind == "disconnected":
            down = e.time_s
        elif e.kind == "reconnected" and down is not None:
            out.append(e.time_s - down)
            down = None
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--speed", type=float, default=30.0)
    args = ap.parse_args()
    sim = session_sim(args.minutes)
    drops = [36.0 * k for k in range(1, int(sim.time_s[-1] // 36.0))]
    errors = [TRANSIENT[k % len(TRANSIENT)] for k in range(len(drops))]
    with tempfile.TemporaryDirectory() as tmp:
        # The same session without faults: what the detector finds anyway (its own misses are not the link's).
        clean, _, _ = asyncio.run(stream(sim, Faults(), args.speed, Path(tmp) / "clean.csrec.jsonl"))
        found_clean = {id(t) for t, _ in match_reps(sim.reps, clean.reps).pairs}
        path = Path(tmp) / "faults.csrec.jsonl"
        faults = Faults(
            drop_link_at_s=drops, link_down_s=1.0, connect_errors=list(errors), errors_per_drop=1, reorder_prob=0.01
        )
        sink, session, wall = asyncio.run(stream(sim, faults, args.speed, path))
        rec = load_native(path)
        m = match_reps(sim.reps, sink.reps)
        in_gap = [r for r in m.missed if any(a - 1.0 < r.end_s and r.start_s < b + 1.0 for a, b in rec.gaps)]
        lost = [r for r in m.missed if id(r) in found_clean and r not in in_gap]
        times = np.array(reconnect_times_s(path) or [np.nan])
        print(
            f"{args.minutes:.0f} min at 200 Hz, {args.speed:g}x, {len(drops)} drops, "
            f"each first reconnect failing with one of {', '.join(TRANSIENT)} in turn: {wall:.0f} s wall"
        )
        print(f"{'reps expected':<34}{len(sim.reps):>8}")
        print(f"{'reps counted without faults':<34}{len(found_clean):>8}")
        print(f"{'reps counted with faults':<34}{len(m.pairs):>8}")
        print(f"{'lost in link-down gaps':<34}{len(in_gap):>8}")
        print(f"{'lost outside gaps':<34}{len(lost):>8}   target 0 (of those counted without faults)")
        print(f"{'false or doubled':<34}{len(m.false):>8}   target 0")
        print(f"{'reconnects':<34}{session.stats.reconnects:>8}")
        print(f"{'frames received / recorded':<34}{session.stats.frames:>8} / {rec.frames_total}   target equal")
        set_aside = session.clock.set_aside if session.clock else 0
        print(f"{'frames out of order / set aside':<34}{session.stats.out_of_order:>8} / {set_aside}   (1 % sent late)")
        print(
            f"{'reconnect time p50 / max, s':<34}{np.nanmedian(times):>8.2f} / {np.nanmax(times):.2f}  (emulated clock)"
        )

        reset_path = Path(tmp) / "reset.csrec.jsonl"
        reset = Faults(drop_link_at_s=drops[::20], link_down_s=1.0, clock_reset_on_drop=True)
        sink2, session2, _ = asyncio.run(stream(sim, reset, args.speed, reset_path))
        rec2 = load_native(reset_path)
        resets = sum("clock jumped" in w for w in rec2.warnings)
        print(
            f"\nclock reset to 2019-01-01 on {len(reset.drop_link_at_s)} drops: reps counted {len(sink2.reps)} "
            f"(without resets, same drops: see above; expected {len(sim.reps)}), time always forward: "
            f"{bool(np.all(np.diff(rec2.time_s) > 0))}, reported by replay: {bool(resets)}"
        )


if __name__ == "__main__":
    main()
