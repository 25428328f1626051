"""Replay speed and memory: whole `calfsense replay` processes on long files, beside a naive numpy reader.

Run: python bench/bench_replay.py

1. A 67-minute 200 Hz Polar Sensor Logger export (803,534 samples, the size a user reported), replayed by
   `calfsense replay FILE --placement shin --json --no-save` as its own process: wall time and peak
   memory (targets 1.5 s and 250 MB on one core), beside a 20-line script that reads the same file with
   `numpy.loadtxt` and counts it with `calfsense.dsp.detect`, in the same run.
2. A one-hour native recording (200 Hz, byte-exact H10 notifications): read and decode (target 0.3 s).
3. Memory against length: the same export at 17, 33 and 67 minutes (flat beyond the samples themselves).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from calfsense.dsp.simulate import routine_session, simulate
from calfsense.session.importers import load
from calfsense.sources.synthetic import H10, record_simulation

H10_200 = H10.with_rate(200)
PSL_HEADER = "Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"
PMD_EPOCH_NS = 946_684_800_000_000_000  # the sensor's clock counts from 2000-01-01

NAIVE = textwrap.dedent(
    """
    import sys
    import numpy as np
    from calfsense.dsp import detect
    vals = np.loadtxt(sys.argv[1], delimiter=";", skiprows=1, usecols=(1, 2, 3, 4))
    t = (vals[:, 0] - vals[0, 0]) / 1e9
    print(len(detect(t, vals[:, 1:4], "shin").reps))
    """
)


def long_sim(minutes: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A session of routine sets and rests, `minutes` long, sampled at 200 Hz."""
    plan = []
    rng = np.random.default_rng(seed)
    while sum(s.duration_s or 120 for s in plan) < 60 * minutes:
        plan += routine_session("shin", sets_per_exercise=1, reps=15, rest_s=60.0, rng=rng)
    sim = simulate(plan, "shin", 200.0, seed=seed)
    keep = sim.time_s < 60 * minutes
    return sim.time_s[keep], sim.acc_mg[keep]


def write_psl(path: Path, t_s: np.ndarray, acc_mg: np.ndarray) -> None:
    """Polar Sensor Logger's ACC layout: phone time, sensor time (ns since 2000), x, y, z in mG."""
    sensor_ns = (np.round(t_s * 1e9) + 8.1e17).astype(np.int64)
    phone = np.datetime64("2026-12-07T06:00:00", "ms") + (t_s * 1000).astype("timedelta64[ms]")
    with path.open("w") as f:
        f.write(PSL_HEADER + "\n")
        rows = zip(np.datetime_as_string(phone, unit="ms"), sensor_ns, *np.round(acc_mg).astype(int).T, strict=True)
        f.writelines(f"{p};{s};{x};{y};{z}\n" for p, s, x, y, z in rows)


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident MB and stdout of a whole process (GNU time's maximum RSS)."""
    start = time.perf_counter()
    run = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    peak_mb = int(run.stderr.strip().splitlines()[-1]) / 1024
    return wall, peak_mb, run.stdout


def best(cmd: list[str], runs: int = 3) -> tuple[float, float, str]:
    """The fastest of a few runs (the machine's other load only ever adds)."""
    return min((timed(cmd) for _ in range(runs)), key=lambda r: r[0])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        t0 = time.perf_counter()
        t, acc = long_sim(67.0)
        csv = tmp_dir / "Polar_H10_5A1F0C2B_20261207_060000_ACC.txt"
        write_psl(csv, t, acc)
        size_mb = csv.stat().st_size / 1e6
        print(f"67-minute export: {len(t):,} samples, {size_mb:.0f} MB (made in {time.perf_counter() - t0:.0f} s)")
        naive = tmp_dir / "naive.py"
        naive.write_text(NAIVE)
        replay = [sys.executable, "-m", "calfsense.cli", "replay", str(csv), "--placement", "shin", "--json"]
        replay.append("--no-save")
        w_ours, m_ours, _ = best(replay)
        w_naive, m_naive, out = best([sys.executable, str(naive), str(csv)])
        print(f"{'whole process':<44}{'wall s':>8}{'peak MB':>9}   target")
        print(f"{'calfsense replay (read, detect, report)':<44}{w_ours:>8.2f}{m_ours:>9.0f}   <= 1.5 s, <= 250 MB")
        print(f"{'naive: numpy.loadtxt + detect':<44}{w_naive:>8.2f}{m_naive:>9.0f}   ({out.strip()} reps)")

        print("\nmemory against length (calfsense replay of the same export, cut)")
        print(f"{'minutes':>8}{'samples':>10}{'wall s':>8}{'peak MB':>9}")
        for minutes in (17.0, 33.0):
            cut = tmp_dir / f"cut{minutes:.0f}_ACC.txt"
            n = int(np.searchsorted(t, 60 * minutes))
            write_psl(cut, t[:n], acc[:n])
            w, m, _ = best([*replay[:4], str(cut), *replay[5:]], runs=1)  # the same command on the cut file
            print(f"{minutes:>8.0f}{n:>10,}{w:>8.2f}{m:>9.0f}")
        print(f"{67:>8}{len(t):>10,}{w_ours:>8.2f}{m_ours:>9.0f}")

        native = tmp_dir / "hour.csrec.jsonl"
        plan = []
        rng = np.random.default_rng(3)
        while sum(s.duration_s or 120 for s in plan) < 3600:
            plan += routine_session("shin", sets_per_exercise=1, reps=15, rest_s=60.0, rng=rng)
        frames = record_simulation(native, simulate(plan, "shin", 400.0, seed=3), H10_200, routine="runner-calves")
        reads = []
        for _ in range(3):
            start = time.perf_counter()
            session = load(native)
            reads.append(time.perf_counter() - start)
        print(
            f"\nnative recording: {session.duration_s / 60:.0f} min at 200 Hz, {frames:,} notifications, "
            f"{native.stat().st_size / 1e6:.0f} MB: read and decoded in {min(reads):.2f} s   target <= 0.3 s"
        )


if __name__ == "__main__":
    main()
