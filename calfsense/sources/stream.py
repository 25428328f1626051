"""Streaming from a sensor: connect, START acceleration, feed a sink, reconnect on loss, STOP on exit.

Notification callbacks only stamp the host clock and enqueue (bounded queue, drops counted); one
consumer records the raw payloads, decodes, and hands samples to the sink. The same code runs against
a real adapter and the virtual sensor (`backend=`), which is how it is tested.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calfsense.devices import MODELS, recognise, unsupported_model
from calfsense.domain import LinkState
from calfsense.errors import (
    CalfsenseError,
    ConnectionLostError,
    DiskFullError,
    FrameError,
    NoAccelerationError,
    NoDataError,
    PmdError,
)
from calfsense.protocol import gatt, pmd
from calfsense.protocol.timestamps import StreamClock, TimedFrame
from calfsense.session.decode import DECODERS, FrameDecoder, leg_offset_s
from calfsense.session.recording import CHAR_BATTERY, CHAR_HR, CHAR_PMD_CP, CHAR_PMD_DATA, Recorder
from calfsense.sources.base import FrameSink
from calfsense.sources.ble import REAL, Backend, ControlPoint, find_sensor, read_info
from calfsense.sources.drivers import Driver, decoder, driver_for
from calfsense.sources.linkerrors import BACKOFF_START_S, one_line, retry_after_s, translate

_log = logging.getLogger(__name__)


@dataclass
class StreamStats:
    """Counters shown to the user and written to the recording."""

    frames: int = 0
    samples: int = 0
    dropped: int = 0  # notifications lost because the queue was full
    corrupt: int = 0
    reconnects: int = 0
    sink_errors: int = 0  # frames whose counting or coaching raised (recorded all the same)
    clock_resets: int = 0  # jumps of the sensor's clock undone
    out_of_order: int = 0  # frames whose time had already passed when they arrived (recorded all the same)


@dataclass
class StreamConfig:
    """What to connect to and how to stream."""

    target: str | None = None
    rate_hz: int | None = None  # None: the model's default (H10 100 Hz, Verity 52 Hz)
    range_g: int = 8
    scan_timeout_s: float = 10.0
    first_frame_timeout_s: float = 30.0  # the known start delay, then give up
    give_up_after_s: float = math.inf  # reconnect time before the session ends (never: the user quits)
    # How many times faster than the host's clock the sensor's runs: 1 for a real sensor, the virtual
    # sensor's --speed when emulating; pauses between reconnect attempts are in the sensor's time.
    time_scale: float = 1.0
    queue_size: int = 2048
    # A sensor on each leg: samples are timed on the session's clock, from this host monotonic ns (the
    # recording's `host0_ns`), so both legs share it; None: from the first sample.
    host0_ns: int | None = None


class StreamSession:
    """Connect, START acceleration, stream into a sink, reconnect on loss, STOP cleanly on exit."""

    def __init__(
        self,
        config: StreamConfig,
        sink: FrameSink,
        backend: Backend = REAL,
        recorder_factory: Callable[[StreamSession], Recorder] | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.backend = backend
        self.recorder: Recorder | None = None
        self._recorder_factory = recorder_factory
        self._unrecorded: list[tuple[int, int, str, bytes]] = []  # arrived before the recording started
        self._fatal: CalfsenseError | None = None  # what ended the session from inside (a full disk)
        self._reset_at_mono: int | None = None
        self.stats = StreamStats()
        self.settings: pmd.MeasurementSettings | None = None
        self.info: gatt.DeviceInformation | None = None
        self.device_name: str | None = None
        self.device_address: str | None = None
        self._queue: asyncio.Queue[tuple[int, str, bytes]] = asyncio.Queue(config.queue_size)
        self._client: Any = None
        self._cp: ControlPoint | None = None
        self.clock: StreamClock | None = None  # frames to sample times, as replay times them
        self._dev0_ns: int | None = None
        self._offset_s = 0.0  # where the first sample falls on the session's clock (two legs: `host0_ns`)
        self._last_frame_host: float | None = None
        self._disconnected = asyncio.Event()
        self._stop = asyncio.Event()
        self._ctx = pmd.DEFAULT_CONTEXT
        self.driver: Driver | None = None  # a sensor that is not Polar's (sources/drivers.py)
        self._decoder: FrameDecoder | None = None

    @property
    def protocol(self) -> str:
        """How the sensor streams: "pmd" (a Polar), else its driver's name ("csimu", "movesense")."""
        return self.driver.protocol if self.driver is not None else "pmd"

    # -- callbacks: stamp and enqueue only ---------------------------------------------------

    def _enqueue(self, char: str) -> Callable[[Any, bytearray], None]:
        def callback(_sender: Any, data: bytearray) -> None:
            try:
                self._queue.put_nowait((time.monotonic_ns(), char, bytes(data)))
            except asyncio.QueueFull:
                self.stats.dropped += 1

        return callback

    def _on_disconnect(self, _client: Any) -> None:
        self._disconnected.set()

    def stop(self) -> None:
        """Ask the session to finish (Ctrl-C, SIGTERM, the user pressing q)."""
        self._stop.set()

    def _event(self, kind: str, text: str = "") -> int:
        mono = time.monotonic_ns()
        if self.recorder is not None:
            self.recorder.event(kind, mono, time.time_ns(), text=text)
        return mono

    # -- the session ------------------------------------------------------------------------

    async def run(self) -> None:
        """Stream until stop() or an unrecoverable error; always STOPs and disconnects."""
        consumer = asyncio.get_running_loop().create_task(self._consume())
        try:
            await self._unless_stopped(self._connect_and_start(first=True))
            while not self._stop.is_set():
                waiter = asyncio.ensure_future(self._disconnected.wait())
                stopper = asyncio.ensure_future(self._stop.wait())
                watchdog = asyncio.ensure_future(self._watch_first_frame())
                done, pending = await asyncio.wait({waiter, stopper, watchdog}, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                for task in done:
                    if task is watchdog and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
                if self._stop.is_set():
                    break
                if self._disconnected.is_set():
                    await self._reconnect()
        finally:
            await self._shutdown()
            await self._drain(consumer)
        if self._fatal is not None:
            raise self._fatal

    async def _unless_stopped(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a scan-and-connect; the user quitting cancels it at once (a scan may take 10 s, a connect 20 s)."""
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            return
        task.result()

    async def _watch_first_frame(self) -> None:
        start = time.monotonic()
        while self.stats.frames == 0:
            waited = time.monotonic() - start
            if waited > self.config.first_frame_timeout_s:
                raise NoDataError(f"no acceleration frame in {waited:.0f} s after START")
            if waited > 2.0:
                self.sink.on_state(LinkState.WAITING, f"waiting for the first frame ({waited:.0f} s)")
            await asyncio.sleep(1.0)
        await asyncio.Event().wait()  # then idle until cancelled

    async def _connect_and_start(self, first: bool) -> None:
        from bleak import BleakClient

        self.sink.on_state(LinkState.SCANNING, self.config.target or "any Polar sensor")
        dev = await find_sensor(self.config.target, self.config.scan_timeout_s, self.backend)
        self.device_name, self.device_address = dev.name, dev.address
        self.sink.on_state(LinkState.CONNECTING, dev.name or dev.address)
        self._disconnected.clear()
        client = BleakClient(
            dev, disconnected_callback=self._on_disconnect, backend=self.backend.client, **self.backend.kwargs
        )
        try:
            await client.connect()
            self._client = client
            info, battery, features = await read_info(client)  # before subscribing (BlueZ echo)
            self.info = info
            if battery is not None:
                self.sink.on_battery(battery)
                if self.recorder is not None:
                    self.recorder.notification(CHAR_BATTERY, bytes([battery]), time.monotonic_ns(), time.time_ns())
            services = {str(sv.uuid).lower() for sv in client.services}
            other_driver = driver_for(services)
            if other_driver is not None:  # a sensor that is not Polar's (sources/drivers.py)
                await self._start_driver(client, other_driver)
            elif not features.supports(pmd.MeasurementType.ACC):  # an H9 or any plain strap has no PMD
                other = unsupported_model(dev.name, services)
                if other is not None:
                    raise NoAccelerationError(f"{dev.name} is a {other}: calfsense cannot stream from it yet")
                raise NoAccelerationError(f"{dev.name} cannot stream acceleration (it offers heart rate only)")
            else:
                await self._start_pmd(client, info.model or dev.name or "")
        except CalfsenseError:
            await self._close_client()
            raise
        except Exception as exc:
            await self._close_client()
            mapped = translate(exc)
            if mapped is not None:
                raise mapped from exc
            raise
        if first:
            assert self.settings is not None
            self.clock = StreamClock(self.settings.sample_rate_hz, time_scale=self.config.time_scale)
            if self._recorder_factory is not None:
                # The header carries the negotiated settings, known only now.
                self.recorder = self._recorder_factory(self)
            self._event("connected", dev.name or dev.address)
        else:
            # Replay restarts the timestamp spreader at this event's host time; so does live.
            self._reset_at_mono = self._event("reconnected", dev.name or dev.address)
        self.sink.on_state(
            LinkState.STREAMING, f"{dev.name} {self.settings.sample_rate_hz if self.settings else '?'} Hz"
        )

    async def _start_driver(self, client: Any, driver: Driver) -> None:
        """A sensor that is not Polar's: its driver starts it; its decoder reads its data (the replay's too)."""
        known = next((m for m in MODELS if m.protocol == driver.protocol), None)
        wish = self.config.rate_hz or (known.acc_default_rate_hz if known else 100)
        with contextlib.suppress(Exception):
            await client.start_notify(gatt.BATTERY_LEVEL_UUID, self._enqueue(CHAR_BATTERY))
        settings = await driver.start(client, self._enqueue, wish, self.config.range_g)
        self.driver, self.settings = driver, settings
        if self._decoder is None:  # kept over reconnects: its clock continues
            self._decoder = decoder(driver, settings, self.config.time_scale)

    async def _start_pmd(self, client: Any, model: str) -> None:
        """Polar's PMD: control point indications on, data subscribed, GET settings, START."""
        cp = ControlPoint(client)
        self._cp = cp
        record_cp = self._enqueue(CHAR_PMD_CP)

        def on_cp(sender: Any, data: bytearray) -> None:
            cp.on_indication(bytes(data))
            record_cp(sender, data)

        await client.start_notify(pmd.PMD_CONTROL_POINT_UUID, on_cp)
        await client.start_notify(pmd.PMD_DATA_UUID, self._enqueue(CHAR_PMD_DATA))
        with contextlib.suppress(Exception):
            await client.start_notify(gatt.HEART_RATE_MEASUREMENT_UUID, self._enqueue(CHAR_HR))
        with contextlib.suppress(Exception):
            await client.start_notify(gatt.BATTERY_LEVEL_UUID, self._enqueue(CHAR_BATTERY))
        await self._start_acc(cp, model)

    async def _start_acc(self, cp: ControlPoint, model: str) -> None:
        answer = await cp.request(pmd.build_get_settings(pmd.MeasurementType.ACC))
        if not answer.ok:
            raise PmdError(f"reading the acceleration settings failed: {answer.message()}")
        options = pmd.parse_settings_options(answer.parameters)
        known = recognise(model)
        wish = self.config.rate_hz or (known.acc_default_rate_hz if known and known.acc_default_rate_hz else 100)
        settings = pmd.negotiate_settings(options, wish, self.config.range_g)
        start = pmd.build_start(pmd.MeasurementType.ACC, settings)
        result = await cp.request(start)
        if result.status == pmd.PmdStatus.ERROR_ALREADY_IN_STATE:
            # Still running from before the drop (sdk#186): stop, then start again.
            await cp.request(pmd.build_stop(pmd.MeasurementType.ACC))
            result = await cp.request(start)
        if not result.ok:
            raise PmdError(f"the sensor refused to start streaming: {result.message()}")
        self.settings = pmd.MeasurementSettings(
            settings.sample_rate_hz, settings.resolution_bits, settings.range, settings.channels, result.factor()
        )
        self._ctx = pmd.DecodeContext(settings.resolution_bits, settings.channels or 3, result.factor())

    async def _reconnect(self) -> None:
        """Try again until it works or the user quits: each try a fresh scan and a fresh client (BlueZ forgets
        the device), after a pause chosen by what failed last (`retry_after_s`); a permanent error ends it."""
        self._event("disconnected")
        await self._close_client()
        self.stats.reconnects += 1
        attempt, delay, last = 0, BACKOFF_START_S, "the link dropped"
        deadline = time.monotonic() + self.config.give_up_after_s
        while not self._stop.is_set():
            self.sink.on_state(LinkState.RECONNECTING, f"attempt {attempt + 1} in {delay:.1f} s (last error: {last})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay / self.config.time_scale)
            if self._stop.is_set():
                return
            attempt += 1
            try:
                await self._unless_stopped(self._connect_and_start(first=False))
                return
            except Exception as exc:
                pause = retry_after_s(exc, attempt)
                if pause is None:
                    raise
                if time.monotonic() > deadline:
                    raise ConnectionLostError(f"could not reconnect in {attempt} attempts: {exc}") from exc
                last = one_line(exc)
                delay = pause

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 0.7)

    @staticmethod
    async def _unsubscribe(client: Any, data_uuid: str) -> None:
        for uuid in (data_uuid, gatt.HEART_RATE_MEASUREMENT_UUID, gatt.BATTERY_LEVEL_UUID, pmd.PMD_CONTROL_POINT_UUID):
            with contextlib.suppress(Exception):
                await client.stop_notify(uuid)

    async def _shutdown(self) -> None:
        """STOP the measurement (an H10 streams on until its battery dies otherwise), unsubscribe, disconnect."""
        client = self._client
        if client is not None and client.is_connected:
            if self._cp is not None:
                with contextlib.suppress(Exception):  # quitting takes under 2 s, whatever the sensor does
                    await asyncio.wait_for(self._cp.request(pmd.build_stop(pmd.MeasurementType.ACC), 0.8), 0.8)
            if self.driver is not None:
                with contextlib.suppress(Exception):  # another sensor streams until told (its battery)
                    await asyncio.wait_for(self.driver.stop(client), 0.8)
            with contextlib.suppress(Exception):
                data_uuid = self.driver.data_uuid if self.driver is not None else pmd.PMD_DATA_UUID
                await asyncio.wait_for(self._unsubscribe(client, data_uuid), 0.3)
        await self._close_client()
        self._event("stopped")
        self.sink.on_state(LinkState.STOPPED, "")

    async def _drain(self, consumer: asyncio.Task[None]) -> None:
        await self._queue.put((0, "", b""))  # sentinel: the consumer finishes what is queued, then ends
        with contextlib.suppress(asyncio.CancelledError):
            await consumer

    # -- the one consumer: record raw, decode, deliver ---------------------------------------

    async def _consume(self) -> None:
        while True:
            mono, char, data = await self._queue.get()
            if not char:
                if self.clock is not None:  # a frame held back for a missing one goes out at the end
                    with contextlib.suppress(Exception):
                        self._deliver_timed(self.clock.flush())
                return
            try:
                self._record(mono, char, data)
            except DiskFullError as exc:
                # Recording comes first: with no room for it the session ends, and what was written stays readable.
                self._fatal, recorder, self.recorder = exc, self.recorder, None
                if recorder is not None:
                    with contextlib.suppress(CalfsenseError):  # what the disk took stays, closed and readable
                        recorder.close()
                self._stop.set()
                continue
            try:
                self._deliver(mono, char, data)
            except Exception as exc:  # counting or coaching failed on this frame: say so once, go on with the next
                self.stats.sink_errors += 1
                if self.stats.sink_errors == 1:
                    self.sink.on_state(
                        LinkState.WARNING, f"counting failed on a frame ({one_line(exc)}); recording goes on"
                    )
                    _log.exception("the stream's sink raised; counting resumes on the next frame")

    def _record(self, mono: int, char: str, data: bytes) -> None:
        if self.recorder is not None:
            for held in self._unrecorded:
                self.recorder.notification(held[2], held[3], held[0], held[1])
            self._unrecorded.clear()
            self.recorder.notification(char, data, mono, time.time_ns())
        elif self._recorder_factory is not None:
            self._unrecorded.append((mono, time.time_ns(), char, data))

    def _deliver(self, mono: int, char: str, data: bytes) -> None:
        if char == CHAR_PMD_DATA:
            self._on_frame(mono, data)
        elif char in DECODERS:
            self._on_packet(mono, data)
        elif char == CHAR_HR:
            with contextlib.suppress(FrameError):
                hr = gatt.decode_heart_rate(data)
                self.sink.on_heart_rate(hr.heart_rate_bpm, hr.rr_ms)
        elif char == CHAR_BATTERY:
            with contextlib.suppress(FrameError):
                self.sink.on_battery(gatt.decode_battery_level(data))

    def _on_frame(self, mono: int, data: bytes) -> None:
        try:
            frame = pmd.decode_frame(data, self._ctx)
        except FrameError:
            self.stats.corrupt += 1
            return
        if frame.measurement is not pmd.MeasurementType.ACC:
            return
        self._push(mono, frame.timestamp_ns, np.asarray(frame.samples, dtype=np.float64))

    def _on_packet(self, mono: int, data: bytes) -> None:
        """Another sensor's notification (sources/drivers.py): the same clock and sink as a Polar frame."""
        if self._decoder is None:
            return
        try:
            decoded = self._decoder.feed(data, mono)
        except FrameError:
            self.stats.corrupt += 1
            return
        for last_ns, samples in decoded:
            self._push(mono, last_ns, samples)

    def _push(self, mono: int, last_ns: int, samples: NDArray[np.float64]) -> None:
        if self.clock is None:
            return
        if self._reset_at_mono is not None and mono >= self._reset_at_mono:
            self.clock.restart()
            self._reset_at_mono = None
        self.stats.frames += 1
        late = len(self.clock.out_of_order)
        try:
            timed = self.clock.push(last_ns, samples, mono)
        except FrameError:
            self.stats.corrupt += 1
            return
        if len(self.clock.resets) > self.stats.clock_resets:
            self.stats.clock_resets = len(self.clock.resets)
            self.sink.on_state(
                LinkState.WARNING, "the sensor's clock restarted (it shut down): re-anchored, counting goes on"
            )
        if len(self.clock.out_of_order) > late:
            self.stats.out_of_order += 1
            if self.stats.out_of_order == 1:
                self.sink.on_state(LinkState.WARNING, "frames arrive out of order: put back in order where they fit")
        self._deliver_timed(timed)

    def _deliver_timed(self, timed: list[TimedFrame]) -> None:
        for tf in timed:
            if self._dev0_ns is None:
                self._dev0_ns = tf.times.first_sample_ns
                host0 = self.config.host0_ns
                self._offset_s = 0.0 if host0 is None else leg_offset_s(tf, host0, self.config.time_scale)
            # The sensor clock, as replay uses it: live and replay see the same sample times.
            self.stats.samples += len(tf.samples)
            self.sink.on_samples((tf.times_ns - self._dev0_ns) / 1e9 + self._offset_s, tf.samples)
