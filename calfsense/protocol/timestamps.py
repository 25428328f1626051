"""Per-sample timestamps for PMD frames and the device-to-host clock mapping.

The frame timestamp marks the *last* sample (polar-ble-sdk#189). The SDK spreads samples evenly
between the previous frame's timestamp and this one, which stretches a frame that follows a lost
one across the hole. Here a frame whose implied period is far from the running estimate is
back-filled with the estimate instead, and the hole is reported as a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import FrameError

# A frame whose implied sample period differs from the running estimate by more than this
# fraction is treated as following a lost frame (or a clock jump): a gap, not a stretch.
_GAP_TOLERANCE = 0.25
# Sample times are int64 ns; a sensor stamp beyond this (292 years / 2) is corrupt.
_TIME_LIMIT_NS = 2**62
# Weight of each new frame in the running period estimate; slow enough that jitter averages out.
_PERIOD_SMOOTHING = 0.05


@lru_cache(maxsize=64)
def _steps(n: int) -> NDArray[np.float64]:
    """0, 1, ..., n-1 (a frame's sample positions; frames come in a few sizes, so kept)."""
    steps = np.arange(n, dtype=np.float64)
    steps.flags.writeable = False
    return steps


@dataclass(frozen=True, slots=True)
class SampleTimes:
    """Device-clock times of one frame's samples (evenly spread, the last one exact), and the gap before it.

    Kept as the line they lie on (`times_ns` makes them), so a replay can make every frame's at once
    (`spread_times`), to the nanosecond the same.
    """

    first_ns: float
    period_ns: float
    n: int
    last_ns: int
    gap_before: tuple[int, int] | None  # (last sample before, first sample after), device ns

    @property
    def times_ns(self) -> NDArray[np.int64]:
        """The samples' times, ns."""
        times = np.rint(self.first_ns + _steps(self.n) * self.period_ns).astype(np.int64)
        times[-1] = self.last_ns
        return times

    @property
    def first_sample_ns(self) -> int:
        """The first sample's time, ns (as `times_ns[0]`)."""
        return self.last_ns if self.n == 1 else int(np.rint(self.first_ns))


def spread_times(lines: list[SampleTimes]) -> NDArray[np.int64]:
    """Every frame's `times_ns`, concatenated, in one vectorised pass (the same values, to the ns)."""
    if not lines:
        return np.zeros(0, dtype=np.int64)
    counts = np.fromiter((s.n for s in lines), dtype=np.int64, count=len(lines))
    ends = np.cumsum(counts)
    starts = ends - counts
    steps = np.arange(int(ends[-1]), dtype=np.float64) - np.repeat(starts, counts)
    first = np.repeat(np.fromiter((s.first_ns for s in lines), dtype=np.float64, count=len(lines)), counts)
    period = np.repeat(np.fromiter((s.period_ns for s in lines), dtype=np.float64, count=len(lines)), counts)
    times = np.rint(first + steps * period).astype(np.int64)
    times[ends - 1] = np.fromiter((s.last_ns for s in lines), dtype=np.int64, count=len(lines))
    return times


def sdk_sample_times(last_ns: int, n: int, sample_rate_hz: float, previous_last_ns: int | None) -> list[int]:
    """The vendor SDK's rule, exactly (PmdTimeStampUtils.getTimeStamps); for reference and tests."""
    if n <= 0:
        raise FrameError("a frame has no samples")
    if previous_last_ns is None:
        if sample_rate_hz <= 0:
            raise FrameError("no previous frame and no sample rate to spread timestamps")
        delta = 1e9 / sample_rate_hz
        first = last_ns - delta * (n - 1)
    else:
        if last_ns <= previous_last_ns:
            raise FrameError("frame timestamp does not advance")
        delta = (last_ns - previous_last_ns) / n
        first = previous_last_ns + delta
    times = [round(first + i * delta) for i in range(n - 1)]
    times.append(last_ns)
    return times


@dataclass
class FrameTimer:
    """Stateful per-stream timestamp spreader: SDK rule, plus gap detection for lost frames."""

    nominal_rate_hz: float
    _period_ns: float = 0.0
    _previous_last_ns: int | None = None

    def __post_init__(self) -> None:
        if self.nominal_rate_hz <= 0:
            raise FrameError(f"impossible sample rate {self.nominal_rate_hz} Hz")
        self._period_ns = 1e9 / self.nominal_rate_hz

    @property
    def period_ns(self) -> float:
        """Current estimate of the real sample period (crystal drift is ~20 ppm)."""
        return self._period_ns

    def reset(self) -> None:
        """Forget the previous frame (after STOP or a reconnect), as the SDK does."""
        self._previous_last_ns = None

    def times(self, last_ns: int, n: int) -> SampleTimes:
        """Sample times of a frame of `n` samples whose last sample is at `last_ns`."""
        if n <= 0:
            raise FrameError("a frame has no samples")
        if not -_TIME_LIMIT_NS < last_ns < _TIME_LIMIT_NS:  # a corrupt stamp (uint64 on the wire) would overflow int64
            raise FrameError(f"frame timestamp {last_ns} ns is out of range")
        prev = self._previous_last_ns
        gap: tuple[int, int] | None = None
        period = self._period_ns
        if prev is not None:
            span = last_ns - prev
            implied = span / n
            if span > 0 and abs(implied - period) <= _GAP_TOLERANCE * period:
                period = implied
                self._period_ns += _PERIOD_SMOOTHING * (implied - self._period_ns)
                first = prev + period
            else:
                first = last_ns - period * (n - 1)
                gap = (prev, int(round(first)))
        else:
            first = last_ns - period * (n - 1)
        if prev is not None and first <= prev:
            # The frame overlaps the previous one (a short frame, a clock step back): spread its samples
            # between the two, as the SDK does, so that sample times always increase.
            period = (last_ns - prev) / n
            first = prev + period
        self._previous_last_ns = last_ns
        return SampleTimes(first, period, n, last_ns, gap)


@dataclass
class ClockContinuity:
    """Keeps the sensor's clock continuous across resets: a jump that host time does not show is undone.

    An H10 that shuts down (about a minute off the strap) restarts its clock at 2019-01-01; a sensor may
    also resume at any other time after a reconnect. Between two frames the sensor's clock must advance
    as the host's does, within drift and delivery delay (`tolerance_ns`, plus a tenth of the time
    between them); otherwise the sensor's times from here on are shifted so that it did, and the reset is
    counted. Frames out of order (a little backwards) are left to `StreamClock`.
    """

    tolerance_ns: int = 30_000_000_000
    time_scale: float = 1.0  # sensor seconds per host second (an emulated sensor may run faster)
    offset_ns: int = 0
    resets: list[tuple[int, int]] = field(default_factory=list)  # (host ns, shift ns) of each jump undone
    _last: tuple[int, int] | None = None  # (device ns after offset, host ns) of the previous frame

    def device_ns(self, device_ns: int, host_ns: int) -> int:
        """The frame's device time on the continuous timeline."""
        t = device_ns + self.offset_ns
        if self._last is not None:
            last_dev, last_host = self._last
            host_step = round(max(0, host_ns - last_host) * self.time_scale)
            slack = self.tolerance_ns + host_step // 10
            if abs((t - last_dev) - host_step) > slack:
                shift = last_dev + host_step - t
                self.offset_ns += shift
                self.resets.append((host_ns, shift))
                t += shift
        self._last = (t, host_ns)
        return t

    def advance(self, extra_ns: int) -> int:
        """Move the timeline from the last frame on by `extra_ns` more; returns it."""
        self.offset_ns += extra_ns
        if self._last is not None:
            self._last = (self._last[0] + extra_ns, self._last[1])
        if self.resets:
            host, shift = self.resets[-1]
            self.resets[-1] = (host, shift + extra_ns)
        return extra_ns


@dataclass(frozen=True, slots=True)
class TimedFrame:
    """A frame's samples with their times on the stream's sensor timeline, and the hole before it."""

    times: SampleTimes
    samples: NDArray[np.float64]
    host_ns: int  # when it arrived
    gap_before: tuple[int, int] | None  # (last sample before, first sample after), sensor ns

    @property
    def times_ns(self) -> NDArray[np.int64]:
        """The samples' times on the sensor timeline, ns."""
        return self.times.times_ns


@dataclass
class StreamClock:
    """One stream's frames, in arrival order, to timed samples in time order; live mode and replay both use it.

    A sensor clock reset is undone (`ClockContinuity`); after a reconnect the spreader restarts and the
    frames sent meanwhile are a gap. A frame that leaves a hole of at most `hold_frames` frames before
    it is held until the next one arrives: if that one belongs in the hole (it came out of order), both
    go out in time order; otherwise the hole was a loss. So frames cost latency only when one is
    missing. A frame whose time has passed anyway is set aside and counted (the recording keeps it).
    """

    nominal_rate_hz: float
    time_scale: float = 1.0  # sensor seconds per host second (the virtual sensor's --speed)
    hold_frames: float = 2.0
    continuity: ClockContinuity = field(init=False)
    out_of_order: list[int] = field(default_factory=list)  # host ns of each frame that came late
    set_aside: int = 0  # of them, too late to be put back in order
    _timer: FrameTimer = field(init=False)
    _last_ns: int | None = None  # the last sample given out
    _restarted: bool = False
    _held: tuple[int, NDArray[np.float64], int] | None = None  # (sensor last ns, samples, host ns)

    def __post_init__(self) -> None:
        self._timer = FrameTimer(self.nominal_rate_hz)
        self.continuity = ClockContinuity(time_scale=self.time_scale)

    @property
    def period_ns(self) -> float:
        """Current estimate of the real sample period."""
        return self._timer.period_ns

    @property
    def resets(self) -> list[tuple[int, int]]:
        """(host ns, shift ns) of each sensor clock reset undone."""
        return self.continuity.resets

    def restart(self) -> None:
        """The stream restarted (a reconnect): the next frame does not continue the previous one."""
        self._restarted = True

    def push(self, device_last_ns: int, samples: NDArray[np.float64], host_ns: int) -> list[TimedFrame]:
        """Add the next frame to arrive; return the frames now in order (none, one or two)."""
        resets = len(self.continuity.resets)
        last = self.continuity.device_ns(device_last_ns, host_ns)
        if len(self.continuity.resets) > resets and self._last_ns is not None:
            # Re-anchored by host time, a frame may reach back over samples already given out (host time
            # between frames can be shorter than the frame): it starts after them instead.
            overlap = self._last_ns - (last - round((len(samples) - 1) * self._timer.period_ns))
            if overlap >= 0:
                last += self.continuity.advance(overlap + round(self._timer.period_ns))
        out: list[TimedFrame] = []
        if self._restarted:  # the frame held before the link dropped goes out first, as it was
            self._restarted = False
            out += self.flush()
            self._restarted = True
            self._timer.reset()
        held = self._held
        if held is not None:
            self._held = None
            if self._last_ns is not None and self._last_ns < last < held[0]:
                self.out_of_order.append(host_ns)  # it belongs in the hole before the held frame
                out.append(self._time(last, samples, host_ns))
                out.append(self._time(*held))
                return out
            out.append(self._time(*held))
        if self._last_ns is not None and last <= self._last_ns:
            self.out_of_order.append(host_ns)
            self.set_aside += 1
            return out
        if not self._restarted and self._last_ns is not None:
            n = len(samples)
            hole_ns = last - self._last_ns - n * self._timer.period_ns
            if 0.5 * n * self._timer.period_ns < hole_ns <= self.hold_frames * n * self._timer.period_ns:
                self._held = (last, samples, host_ns)  # a frame is missing: it may yet come
                return out
        out.append(self._time(last, samples, host_ns))
        return out

    def flush(self) -> list[TimedFrame]:
        """The frame held back, if any (the stream ended or restarted)."""
        held, self._held = self._held, None
        return [self._time(*held)] if held is not None else []

    def _time(self, last: int, samples: NDArray[np.float64], host_ns: int) -> TimedFrame:
        st = self._timer.times(last, len(samples))
        first = st.first_sample_ns
        gap = None
        if self._last_ns is not None and (self._restarted or st.gap_before is not None):
            if first - self._last_ns > 1.5 * self._timer.period_ns:  # the link was down, or frames were lost
                gap = (self._last_ns, first)
        self._restarted = False
        self._last_ns = st.last_ns
        return TimedFrame(st, samples, host_ns, gap)


@dataclass
class ClockMap:
    """Map device time to host time: offset from the fastest-arriving frames, drift by regression.

    Every frame arrives some latency after its last sample; the smallest `host - device` seen is
    the best offset estimate. Drift is the slope of the lower envelope of those differences,
    fitted once at least `min_span_s` of frames have been seen.
    """

    min_span_s: float = 30.0
    _points: list[tuple[int, int]] = field(default_factory=list)
    _offset_ns: float | None = None
    _drift: float = 0.0
    _anchor_device_ns: int | None = None
    _next_fit: int = 64

    def observe(self, device_ns: int, host_ns: int) -> None:
        """Record that a frame whose last sample is `device_ns` arrived at host `host_ns`."""
        if self._anchor_device_ns is None:
            self._anchor_device_ns = device_ns
        diff = host_ns - device_ns
        self._points.append((device_ns, diff))
        if self._offset_ns is None or diff < self._offset_ns:
            self._offset_ns = float(diff)
        # Refit whenever the frame count doubles: live estimates improve, and a long replay costs
        # O(n log n) instead of refitting everything every few frames.
        if len(self._points) >= self._next_fit:
            self._next_fit *= 2
            if (device_ns - self._anchor_device_ns) / 1e9 >= self.min_span_s:
                self._fit()

    def fit(self) -> None:
        """Refit offset and drift on everything observed (call once all frames are in)."""
        if self._anchor_device_ns is not None and len(self._points) >= 16:
            span_s = (self._points[-1][0] - self._anchor_device_ns) / 1e9
            if span_s >= self.min_span_s:
                self._fit()

    def _fit(self) -> None:
        pts = np.array(self._points, dtype=np.float64)
        dev = pts[:, 0] - float(self._anchor_device_ns or 0)
        diff = pts[:, 1]
        # Lower envelope per window of ~8 frames, then a straight line through those minima.
        k = 8
        m = len(dev) // k
        if m < 2:
            return
        d = dev[: m * k].reshape(m, k)
        f = diff[: m * k].reshape(m, k)
        idx = np.argmin(f, axis=1)
        xs = d[np.arange(m), idx]
        ys = f[np.arange(m), idx]
        slope, intercept = np.polyfit(xs, ys, 1)
        self._drift = float(slope)
        self._offset_ns = float(intercept)

    @property
    def drift_ppm(self) -> float:
        """Estimated host-versus-device clock rate difference in parts per million."""
        return self._drift * 1e6

    def to_host_ns(self, device_ns: NDArray[np.int64] | int) -> NDArray[np.float64]:
        """Host time of device times, using the current offset and drift."""
        if self._offset_ns is None or self._anchor_device_ns is None:
            raise FrameError("no frame observed yet, host time is unknown")
        dev = np.asarray(device_ns, dtype=np.float64) - float(self._anchor_device_ns)
        result: NDArray[np.float64] = dev + float(self._anchor_device_ns) + self._offset_ns + self._drift * dev
        return result

    def to_device_ns(self, host_ns: NDArray[np.int64] | int) -> NDArray[np.float64]:
        """Device time of host times (the inverse of `to_host_ns`)."""
        if self._offset_ns is None or self._anchor_device_ns is None:
            raise FrameError("no frame observed yet, device time is unknown")
        anchor = float(self._anchor_device_ns)
        host = np.asarray(host_ns, dtype=np.float64)
        result: NDArray[np.float64] = (host - self._offset_ns - anchor) / (1.0 + self._drift) + anchor
        return result


# A jump of host time against the samples counted, between two notifications, beyond this is samples lost:
# in the sensor's seconds, and at least this much of the host's (its scheduling jitter, whatever the speed: a
# loaded host, two test workers on two cores or a laptop busy drawing, stalls its event loop for a few hundred
# ms, and 0.1 s made false gaps of 4-10 s at a virtual sensor's 40x).
_COUNT_GAP_S = 0.25
_COUNT_GAP_HOST_S = 0.3


@dataclass
class CountClock:
    """Times for a sensor that stamps nothing (MetaWear, WitMotion, Thingy:52): a sample's time is its count at
    the nominal rate. Notifications that never came show as host time running ahead of the count between two
    notifications by more than `_COUNT_GAP_S` (arrival jitter is tens of ms), or than `_COUNT_GAP_HOST_S` of the
    host's time at a virtual sensor's speed: the count jumps by what was lost, and the stream's clock reports
    the hole as a gap. `time_scale`: sensor seconds per host second."""

    rate_hz: float
    time_scale: float = 1.0
    _count: int = 0
    _residual_ns: float | None = None  # host time (in sensor ns) less the count's time, at the last notification

    def last_sample_ns(self, n: int, host_ns: int) -> int:
        """The last of `n` new samples, arrived at host `host_ns`, on the sensor's timeline (ns)."""
        period_ns = 1e9 / self.rate_hz
        residual = host_ns * self.time_scale - (self._count + n) * period_ns
        threshold_ns = max(_COUNT_GAP_S, _COUNT_GAP_HOST_S * self.time_scale) * 1e9
        if self._residual_ns is not None and residual - self._residual_ns > threshold_ns:
            lost = int((residual - self._residual_ns) / period_ns)
            self._count += lost
            residual -= lost * period_ns
        self._residual_ns = residual
        self._count += n
        return round((self._count - 1) * period_ns)


@dataclass
class WrappingClock:
    """A sensor's wrapping counter clock (a 32-bit ms or µs count) made continuous, in ticks.

    Each step is taken modulo the wrap, the shorter way: a reading a little earlier than the last (out of
    order) goes back; a link drop shorter than half the wrap keeps the timeline, a longer one looks like a
    clock jump, which the stream's clock undoes by host time (`ClockContinuity`)."""

    wrap: int = 1 << 32
    _last: int | None = None
    _epoch: int = 0

    def unwrap(self, reading: int) -> int:
        """The reading on the continuous timeline (the first reading is itself)."""
        if self._last is not None:
            step = (reading - self._last) % self.wrap
            self._epoch += step - self.wrap if step > self.wrap // 2 else step
        else:
            self._epoch = reading
        self._last = reading
        return self._epoch
