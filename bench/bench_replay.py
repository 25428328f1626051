"""Replay speed: decode, detect and report a one-hour 200 Hz native recording (target: 3 s).

Run: python bench/bench_replay.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from calfsense.dsp.simulate import routine_session, simulate
from calfsense.report import analyze, build_report
from calfsense.routine import load_routine
from calfsense.session.importers import load
from calfsense.sources.synthetic import H10, record_simulation

H10_200 = H10.with_rate(200)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.csrec.jsonl"
        t0 = time.perf_counter()
        plan = []
        rng = np.random.default_rng(3)
        while sum(s.duration_s or 120 for s in plan) < 3600:
            plan += routine_session("shin", sets_per_exercise=1, reps=15, rest_s=60.0, rng=rng)
        sim = simulate(plan, "shin", 400.0, seed=3)
        frames = record_simulation(path, sim, H10_200, routine="runner-calves")
        made = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        routine = load_routine("runner-calves")
        times = []
        for _ in range(3):
            start = time.perf_counter()
            session = load(path)
            t_load = time.perf_counter() - start
            analysis = analyze(session, "shin", routine)
            t_detect = time.perf_counter() - start - t_load
            report = build_report(session, analysis, routine)
            times.append((time.perf_counter() - start, t_load, t_detect))
        best = min(times)
        print(
            f"one native recording: {session.duration_s / 60:.1f} min at 200 Hz, {frames} notifications, "
            f"{size_mb:.1f} MB (made in {made:.0f} s)"
        )
        print(f"{'stage':<28}{'seconds':>9}")
        print(f"{'read + decode frames':<28}{best[1]:>9.2f}")
        print(f"{'detect + match routine':<28}{best[2]:>9.2f}")
        print(f"{'total with report':<28}{best[0]:>9.2f}   target <= 3 s")
        print(f"reps found: {report['summary']['reps']} in {report['summary']['sets']} sets")


if __name__ == "__main__":
    main()
