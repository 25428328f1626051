"""A phone as a live sensor: phyphox's remote access polled over HTTP, into the same sink as a BLE sensor.

`calfsense live --phyphox http://PHONE:8080`: the phone (on the shin, or in a sock) runs phyphox's
"Acceleration with g" with "Allow remote access" ticked. One request at a time, one per connection
(`Connection: close`: phyphox's servers break on kept-alive sockets), every 30 ms while it measures and
every quarter second while paused. The phone pausing, sleeping or the Wi-Fi dropping is a link lost: the
screen says so, the recording marks it, and polling goes on until the phone is back (a new session is
checked against /config again). Every answer is recorded raw with its host time, so a replay decodes
exactly what live mode counted (`protocol/phyphox.py` does both).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from calfsense.domain import LinkState
from calfsense.errors import CalfsenseError, ConnectionLostError, DiskFullError, SensorNotFoundError
from calfsense.protocol.phyphox import Experiment, PhyphoxError, PhyphoxStream, WrongExperimentError, check_config
from calfsense.session.recording import CHAR_PHYPHOX_CONFIG, CHAR_PHYPHOX_GET, RecordingWriter
from calfsense.sources.base import FrameSink

_log = logging.getLogger(__name__)
PHYPHOX_ADVICE = (
    "on the phone: open phyphox's 'Acceleration with g', tick 'Allow remote access' in its menu, keep the "
    "screen on and both on the same Wi-Fi; then pass the address it shows (http://IP:8080)"
)


def normalise_url(url: str) -> str:
    """`192.168.1.5:8080` or `http://192.168.1.5:8080/` -> `http://192.168.1.5:8080`."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme != "http" or not parts.hostname:
        advice = "pass the address phyphox shows, like http://192.168.1.5:8080"
        raise CalfsenseError(f"not a phyphox address: {url!r}", advice)
    return f"http://{parts.netloc}"


@dataclass
class PhyphoxStats:
    """Counters for the end of the session."""

    polls: int = 0
    samples: int = 0
    failures: int = 0  # requests that failed (a reconnect follows)
    reconnects: int = 0


@dataclass
class PhyphoxSource:
    """Polls a phone's phyphox into a sink until stopped; `recorder_factory` opens the recording."""

    url: str
    sink: FrameSink
    recorder_factory: Callable[[PhyphoxSource], RecordingWriter] | None = None
    time_scale: float = 1.0  # the phone's seconds per host second (an emulated phone may run faster)
    poll_s: float = 0.03
    idle_poll_s: float = 0.25
    timeout_s: float = 1.0  # a request in flight is waited for on quitting: Ctrl-C ends within this and a poll
    first_contact_s: float = 15.0  # no answer at all for this long at the start: the address is wrong
    stats: PhyphoxStats = field(default_factory=PhyphoxStats)
    experiment: Experiment | None = field(default=None, init=False)
    recorder: RecordingWriter | None = field(default=None, init=False)
    _stop: asyncio.Event | None = field(default=None, init=False)

    def stop(self) -> None:
        """Finish after the request in flight."""
        if self._stop is not None:
            self._stop.set()

    def _fetch(self, path: str) -> bytes:
        request = urllib.request.Request(self.url + path, headers={"Connection": "close"})
        with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
            body: bytes = answer.read()
            return body

    async def _get(self, path: str) -> bytes:
        return await asyncio.to_thread(self._fetch, path)

    def _record(self, char: str, body: bytes, mono_ns: int) -> None:
        if self.recorder is not None:
            self.recorder.notification(char, body, mono_ns, time.time_ns())

    def _event(self, kind: str, text: str = "") -> None:
        if self.recorder is not None:
            self.recorder.event(kind, time.monotonic_ns(), time.time_ns(), text=text)

    async def _connect(self, deadline: float | None) -> PhyphoxStream:
        """Read /config until the phone answers; check it runs the right experiment."""
        delay = 0.25
        while True:
            try:
                body = await self._get("/config")
                mono = time.monotonic_ns()
                experiment = check_config(body)
                if self.recorder is None and self.recorder_factory is not None:
                    self.experiment = experiment
                    self.recorder = self.recorder_factory(self)
                self.experiment = experiment
                self._record(CHAR_PHYPHOX_CONFIG, body, mono)
                return PhyphoxStream(experiment, time_scale=self.time_scale)
            except WrongExperimentError as exc:
                advice = "open 'Acceleration with g' in phyphox and tick 'Allow remote access'"
                raise CalfsenseError(str(exc), advice) from None
            except (OSError, PhyphoxError) as exc:  # URLError, timeouts and resets are OSErrors
                if deadline is not None and time.monotonic() > deadline:
                    raise SensorNotFoundError(f"no answer from phyphox at {self.url}: {exc}", PHYPHOX_ADVICE) from None
                assert self._stop is not None
                if self._stop.is_set():
                    raise ConnectionLostError("stopped before phyphox answered") from None
                try:
                    await asyncio.wait_for(self._stop.wait(), delay)
                except TimeoutError:
                    pass
                delay = min(2.0, delay * 2)

    async def run(self) -> None:
        """Poll until stop(); the phone going away is a link lost and found again, never the end."""
        self._stop = asyncio.Event()
        self.sink.on_state(LinkState.CONNECTING, self.url)
        try:
            stream = await self._connect(time.monotonic() + self.first_contact_s)
        except ConnectionLostError:
            self.sink.on_state(LinkState.STOPPED, "")
            return
        assert self.experiment is not None
        self._event("connected", f"phyphox {self.experiment.title}")
        self.sink.on_state(LinkState.STREAMING, f"phyphox at {self.url}")
        paused = False
        while not self._stop.is_set():
            try:
                body = await self._get(stream.next_query())
                mono = time.monotonic_ns()
                self._record(CHAR_PHYPHOX_GET, body, mono)
                block = stream.push(body, mono)
            except DiskFullError:
                # Recording comes first: with no room for it the session ends; what was written stays readable.
                recorder, self.recorder = self.recorder, None
                if recorder is not None:
                    with contextlib.suppress(CalfsenseError):
                        recorder.close()
                raise
            except (OSError, PhyphoxError) as exc:
                # The phone slept, paused the app, or the Wi-Fi dropped: wait for it as for any sensor.
                self.stats.failures += 1
                _log.info("phyphox request failed: %s", exc)
                self._event("disconnected", str(exc)[:120])
                self.sink.on_state(LinkState.RECONNECTING, "phone not answering (asleep, app paused, or Wi-Fi)")
                try:
                    await self._connect(None)  # and checks the experiment again: the user may have changed it
                except ConnectionLostError:
                    break
                # The same experiment screen keeps its clock; a new session starts one (the stream sees it).
                stream.restart()
                self.stats.reconnects += 1
                self._event("reconnected")
                self.sink.on_state(LinkState.STREAMING, f"phyphox at {self.url}")
                continue
            self.stats.polls += 1
            if block.measuring == paused:
                paused = not block.measuring
                if paused:
                    self.sink.on_state(LinkState.WAITING, "phyphox is paused: press play on the phone")
                else:
                    self.sink.on_state(LinkState.STREAMING, f"phyphox at {self.url}")
            if len(block.time_s):
                self.stats.samples += len(block.time_s)
                self.sink.on_samples(block.time_s, block.acc_mg)
            wait = self.poll_s if block.measuring else self.idle_poll_s
            try:
                await asyncio.wait_for(self._stop.wait(), wait)
            except TimeoutError:
                pass
        self._event("stopped")
        self.sink.on_state(LinkState.STOPPED, "")
