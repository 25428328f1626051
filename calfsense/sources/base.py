"""The source contract: whatever the data comes from, a sensor over BLE (`StreamSession`, real or the
virtual sensor) or a file (`ReplaySource`), it is delivered to a `FrameSink` the same way, so the live
coach and everything after it never know which."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from calfsense.domain import LinkState
from calfsense.session.model import LoadedSession


class FrameSink(Protocol):
    """Where a source delivers what it receives (the live coach implements it)."""

    def on_state(self, state: str, detail: str) -> None:
        """Link state changes (a `LinkState`): scanning, connecting, waiting, streaming, reconnecting, stopped."""

    def on_samples(self, time_s: NDArray[np.float64], acc_mg: NDArray[np.float64]) -> None:
        """Samples in time order: seconds since the session's first sample, and acceleration in mG."""

    def on_heart_rate(self, bpm: int, rr_ms: tuple[int, ...]) -> None:
        """A heart-rate reading."""

    def on_battery(self, percent: int) -> None:
        """Battery level."""


class Source(Protocol):
    """Something that streams into a sink until it is done or asked to stop."""

    async def run(self) -> None:
        """Stream until the data ends, stop() is called, or an unrecoverable error."""

    def stop(self) -> None:
        """Ask it to finish (Ctrl-C, the user pressing q)."""


@dataclass
class ReplaySource:
    """A recording or another app's export, streamed into a sink as a sensor would stream it.

    Blocks of `block_s` of the session's own time, at `speed` times real time (None: as fast as it goes);
    heart rate at its times; a gap in the data is a link lost and found again.
    """

    session: LoadedSession
    sink: FrameSink
    speed: float | None = None
    block_s: float = 0.25  # about a sensor frame
    blocks_sent: int = field(default=0, init=False)
    _stop: bool = field(default=False, init=False)

    def stop(self) -> None:
        """Finish after the block being delivered."""
        self._stop = True

    async def run(self) -> None:
        """Deliver the whole session (or until stop())."""
        s = self.session
        t, acc = s.time_s, s.acc_mg
        self.sink.on_state(LinkState.STREAMING, f"replaying {s.path or 'a recording'}")
        if len(t) == 0:
            self.sink.on_state(LinkState.STOPPED, "")
            return
        edges = np.searchsorted(t, np.arange(float(t[0]), float(t[-1]) + self.block_s, self.block_s), side="right")
        edges = np.unique(np.concatenate(([0], edges, [len(t)])))
        hr_k = 0
        gaps = sorted(s.gaps)
        gap_k = 0
        start = time.monotonic()
        for i0, i1 in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
            if self._stop:
                break
            if i1 <= i0:
                continue
            t_end = float(t[i1 - 1])
            while gap_k < len(gaps) and gaps[gap_k][1] <= float(t[i0]):
                # The data resumes after a hole: as a sensor's link that dropped and came back.
                self.sink.on_state(LinkState.RECONNECTING, "signal lost in the recording")
                self.sink.on_state(LinkState.STREAMING, "signal back")
                gap_k += 1
            while hr_k < len(s.hr_bpm) and s.hr_time_s[hr_k] <= t_end:
                self.sink.on_heart_rate(int(s.hr_bpm[hr_k]), ())
                hr_k += 1
            self.sink.on_samples(t[i0:i1], acc[i0:i1])
            self.blocks_sent += 1
            if self.speed:
                ahead_s = (t_end - float(t[0])) / self.speed - (time.monotonic() - start)
                if ahead_s > 0:
                    await asyncio.sleep(ahead_s)
            elif self.blocks_sent % 64 == 0:
                await asyncio.sleep(0)  # let the screen and the keys have their turn
        self.sink.on_state(LinkState.STOPPED, "")


@dataclass
class LegsReplaySource:
    """A recording with a sensor on each leg, streamed as both legs' sensors would stream it: each leg's blocks
    to its own sink, in time order across the legs (as they would arrive)."""

    legs: dict[str, tuple[LoadedSession, FrameSink]]
    speed: float | None = None
    block_s: float = 0.25
    blocks_sent: int = field(default=0, init=False)
    _stop: bool = field(default=False, init=False)

    def stop(self) -> None:
        """Finish after the block being delivered."""
        self._stop = True

    async def run(self) -> None:
        """Deliver both legs (or until stop())."""
        blocks: list[tuple[float, str, int, int]] = []  # (last sample time, leg, i0, i1)
        for side, (session, sink) in self.legs.items():
            t = session.time_s
            sink.on_state(LinkState.STREAMING, f"replaying the {side} leg of {session.path or 'a recording'}")
            if len(t) == 0:
                continue
            edges = np.searchsorted(t, np.arange(float(t[0]), float(t[-1]) + self.block_s, self.block_s), side="right")
            edges = np.unique(np.concatenate(([0], edges, [len(t)])))
            blocks += [
                (float(t[i1 - 1]), side, i0, i1) for i0, i1 in zip(edges[:-1], edges[1:], strict=True) if i1 > i0
            ]
        blocks.sort()
        start = time.monotonic()
        t0 = blocks[0][0] if blocks else 0.0
        for t_end, side, i0, i1 in blocks:
            if self._stop:
                break
            session, sink = self.legs[side]
            sink.on_samples(session.time_s[i0:i1], session.acc_mg[i0:i1])
            self.blocks_sent += 1
            if self.speed:
                ahead_s = (t_end - t0) / self.speed - (time.monotonic() - start)
                if ahead_s > 0:
                    await asyncio.sleep(ahead_s)
            elif self.blocks_sent % 64 == 0:
                await asyncio.sleep(0)
        for _, sink in self.legs.values():
            sink.on_state(LinkState.STOPPED, "")
