"""Decode throughput of calfsense's PMD decoder vs polar-python on realistic frames.

Run: python bench/bench_protocol.py   (polar-python comes from `pip install -e .[bench]`)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from calfsense.protocol.encode import encode_acc_compressed, encode_acc_raw
from calfsense.protocol.pmd import decode_frame


def realistic_frames(n: int) -> tuple[list[bytes], list[bytes]]:
    """H10 frames (type 0x01, 36 samples) and Verity frames (0x81, 57 samples, several blocks)."""
    rng = np.random.default_rng(7)
    h10, verity = [], []
    t = 0
    for i in range(n):
        base = np.array([-120, 80, 990])
        walk = np.cumsum(rng.normal(0, 25, (36, 3)), axis=0).astype(np.int64)
        h10.append(encode_acc_raw(base + walk, t + 360_000_000 * i))
        # Quiet samples then movement, so the encoder emits blocks of different widths (#443).
        quiet = np.cumsum(rng.integers(-60, 60, (11, 3)), axis=0)
        moving = quiet[-1] + np.cumsum(rng.integers(-400, 400, (46, 3)), axis=0)
        verity.append(encode_acc_compressed(base + np.vstack([quiet, moving]), 1_096_000_000 * i))
    return h10, verity


def rate(fn: Callable[[bytes], object], frames: list[bytes], min_time_s: float = 1.0) -> float:
    """Frames per second of `fn` over `frames`, repeated for at least `min_time_s`."""
    done = 0
    start = time.perf_counter()
    while True:
        for f in frames:
            fn(f)
        done += len(frames)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time_s:
            return done / elapsed


def main() -> None:
    h10, verity = realistic_frames(2000)
    blocks = []
    pos = 16
    while pos < len(verity[0]):
        w, c = verity[0][pos], verity[0][pos + 1]
        blocks.append(f"{c}x{w}b")
        pos += 2 + (w * c * 3 + 7) // 8
    n_h10 = len(decode_frame(h10[0]))
    n_ver = len(decode_frame(verity[0]))
    rows = [
        ("calfsense", "H10 0x01", n_h10, rate(decode_frame, h10)),
        ("calfsense", "Verity 0x81", n_ver, rate(decode_frame, verity)),
    ]
    try:
        from polar_python.parsers.polar import parse_polar_data

        def pp(data: bytes) -> object:
            return parse_polar_data(bytearray(data), lambda _t: 1.0)

        # Same frames, same answers: check before timing.
        for frames in (h10[:50], verity[:50]):
            for f in frames:
                ours = decode_frame(f).samples.tolist()
                theirs = [list(s) for s in pp(f).data]  # type: ignore[attr-defined]
                assert ours == theirs, "decoders disagree"
        rows += [
            ("polar-python 1.1.1", "H10 0x01", n_h10, rate(pp, h10)),
            ("polar-python 1.1.1", "Verity 0x81", n_ver, rate(pp, verity)),
        ]
    except ImportError:
        print("polar-python not installed: pip install -e '.[bench]' to compare")
    print(f"Verity frame layout: reference + blocks {', '.join(blocks)}; single core, {time.strftime('%Y-%m-%d')}")
    print(f"{'decoder':<20} {'frames':<12} {'samples/frame':>13} {'frames/s':>12} {'samples/s':>13}")
    for name, kind, n, fps in rows:
        print(f"{name:<20} {kind:<12} {n:>13} {fps:>12,.0f} {fps * n:>13,.0f}")
    speed = {(r[0].split()[0], r[1]): r[3] for r in rows}
    for kind in ("H10 0x01", "Verity 0x81"):
        if ("polar-python", kind) in speed:
            print(f"speed-up on {kind}: {speed[('calfsense', kind)] / speed[('polar-python', kind)]:.1f}x")


if __name__ == "__main__":
    main()
