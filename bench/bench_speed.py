"""Detector speed: one hour of 200 Hz data in one block, and the cost per 36-sample streaming block.

Run: python bench/bench_speed.py
"""

from __future__ import annotations

import time

import numpy as np

from calfsense.dsp.detect import Detector, detect
from calfsense.dsp.simulate import TEMPOS, routine_session, simulate


def hour_of_data(placement: str = "shin", rate_hz: float = 200.0) -> tuple[np.ndarray, np.ndarray]:
    """Ten simulated minutes (sets with rests) tiled to an hour."""
    exercises = ("two-leg", "single-leg") if placement == "chest" else ("two-leg", "single-leg", "seated")
    rng = np.random.default_rng(1)
    # A chest counts no 2-s rise (the default tempo): its hour would measure nothing. Quick raises it counts.
    tempo = TEMPOS["fast"] if placement == "chest" else None
    plan = routine_session(placement, exercises, sets_per_exercise=2, reps=15, tempo=tempo, rest_s=60.0, rng=rng)  # type: ignore[arg-type]
    sim = simulate(plan, placement, rate_hz, seed=1)  # type: ignore[arg-type]
    span = float(sim.time_s[-1]) + 1.0 / rate_hz
    copies = int(np.ceil(3600.0 / span))
    t = np.concatenate([sim.time_s + i * span for i in range(copies)])
    a = np.concatenate([sim.acc_mg] * copies)
    keep = t < 3600.0
    return t[keep], a[keep]


def main() -> None:
    print(f"{'measure':<52}{'value':>12}{'target':>10}")
    # One pipeline for every placement: the foot, the shin and the chest differ only in their parameters.
    for placement in ("foot", "shin", "chest"):
        t, a = hour_of_data(placement)
        best = min(_timed(lambda: detect(t, a, placement)) for _ in range(3))  # noqa: B023
        reps = len(detect(t, a, placement).reps)
        # Each block's cost is the least of five identical runs (like timeit): what the block needs, not what the OS's
        # scheduler added to it on one run.
        runs = []
        for _ in range(5):
            det = Detector(placement)
            costs = []
            for i in range(0, len(t), 36):
                start = time.perf_counter()
                det.feed(t[i : i + 36], a[i : i + 36])
                costs.append(time.perf_counter() - start)
            runs.append(costs)
        c = np.min(np.array(runs), axis=0) * 1000
        print(f"{placement + ': 1 h of 200 Hz (720,000 samples), one block':<52}{best:>10.2f} s{'<= 0.5 s':>10}")
        print(f"{'  reps found in that hour':<52}{reps:>12}")
        print(f"{'  streaming, 36-sample block: mean':<52}{c.mean():>9.3f} ms{'<= 1 ms':>10}")
        print(f"{'  streaming, 36-sample block: p99':<52}{np.percentile(c, 99):>9.3f} ms")
        print(f"{'  streaming, 36-sample block: max':<52}{c.max():>9.3f} ms")


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
