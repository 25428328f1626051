"""Streaming cost: notification-to-rep latency, CPU at 200 Hz, resident memory over a 10-minute stream.

Runs the real bleak client code path against the in-process virtual sensor (the emulator's own work
is included in the CPU figure). Run: python bench/bench_ble.py
"""

from __future__ import annotations

import asyncio
import resource
import time

import numpy as np

from calfsense.dsp.detect import Detector
from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, simulate
from calfsense.sources import ble
from calfsense.sources.stream import StreamConfig, StreamSession
from calfsense.sources.synthetic import H10
from calfsense.sources.virtual import VirtualClient, VirtualScanner, VirtualSensor, VirtualWorld, motion_from_simulation

H10_200 = H10.with_rate(200)


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 1e6


class Sink:
    def __init__(self, sent: dict[int, float]) -> None:
        self.det = Detector("foot")
        self.sent = sent
        self.latencies: list[float] = []
        self.reps = 0
        self.current_send: float | None = None

    def on_state(self, state: str, detail: str) -> None:
        pass

    def on_samples(self, t, a) -> None:
        reps = self.det.feed(t, a)
        if reps and self.current_send is not None:
            self.latencies += [time.perf_counter() - self.current_send] * len(reps)
        self.reps += len(reps)

    def on_heart_rate(self, bpm, rr) -> None:
        pass

    def on_battery(self, pct) -> None:
        pass


async def run(minutes: float, speed: float) -> dict[str, float]:
    segs = [Segment("idle", 3.0)]
    length = 3.0
    while length < minutes * 60 - 10:
        segs += [Segment("set", set_plan=SetPlan("two-leg", 8, TEMPOS["hret"])), Segment("idle", 10.0)]
        length += 8 * 2.1 * 1.15 + 0.5 + 10.0
    sim = simulate(segs, "foot", 400.0, seed=1)
    sensor = VirtualSensor(motion_from_simulation(sim), H10_200, speed=speed)
    sent: dict[int, float] = {}
    sink = Sink(sent)
    backend = ble.Backend(VirtualScanner, VirtualClient, {"world": VirtualWorld([sensor])})
    session = StreamSession(StreamConfig(target="Polar H10", rate_hz=200), sink, backend)
    original = session._on_frame

    def timed(mono: int, data: bytes) -> None:
        sink.current_send = mono / 1e9  # stamped by the notification callback on arrival
        original(mono, data)

    session._on_frame = timed  # type: ignore[method-assign]
    # perf_counter and monotonic_ns share a clock on Linux; the latency is arrival stamp to rep event.
    cpu0, wall0 = time.process_time(), time.perf_counter()
    rss: list[float] = []
    task = asyncio.create_task(session.run())
    end = wall0 + sim.time_s[-1] / speed
    while time.perf_counter() < end:
        await asyncio.sleep(1.0)
        rss.append(_rss_mb())
    session.stop()
    await task
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    lat = np.array(sink.latencies) * 1000 if sink.latencies else np.array([np.nan])
    return {
        "sensor_min": float(sim.time_s[-1] / 60),
        "wall_s": wall,
        "cpu_pct": 100 * cpu / wall,
        "frames": session.stats.frames,
        "dropped": session.stats.dropped,
        "reps": sink.reps,
        "lat_p50_ms": float(np.nanpercentile(lat, 50)),
        "lat_p99_ms": float(np.nanpercentile(lat, 99)),
        "rss_first": rss[min(2, len(rss) - 1)],
        "rss_last": rss[-1],
        "rss_max": max(rss),
    }


def main() -> None:
    real = asyncio.run(run(minutes=1.0, speed=1.0))
    long = asyncio.run(run(minutes=10.0, speed=20.0))
    print("virtual H10, raw frames, 200 Hz, 36 samples per notification; one process (bleak client + emulator)")
    print(f"{'measure':<58}{'value':>12}")
    print(f"{'notification arrival -> rep event, p50 (real time, 1 min)':<58}{real['lat_p50_ms']:>9.2f} ms")
    print(f"{'notification arrival -> rep event, p99':<58}{real['lat_p99_ms']:>9.2f} ms")
    print(f"{'CPU at 200 Hz in real time (client + emulator)':<58}{real['cpu_pct']:>10.1f} %")
    print(f"{'frames / dropped / reps (1 min)':<58}{real['frames']:>5} / {real['dropped']} / {real['reps']}")
    print(f"{'10-minute stream at 20x: resident memory after 2 s':<58}{long['rss_first']:>9.1f} MB")
    print(f"{'10-minute stream at 20x: resident memory at the end':<58}{long['rss_last']:>9.1f} MB")
    print(
        f"{'10-minute stream at 20x: frames / dropped / reps':<58}{long['frames']:>5} / {long['dropped']} / "
        f"{long['reps']}"
    )


if __name__ == "__main__":
    main()
