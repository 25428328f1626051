"""A phone running phyphox's "Acceleration with g" with remote access on: a real local HTTP server.

It speaks the documented API (../shared/reference/phyphox-remote.md §1-§4, §6): `/config`, `/get` with
single, full, threshold and threshold|reference modes (the server's own nudge of the threshold in the
8th digit), `/control`, `/time`; Android's number format and `[null]`, or iOS's plain doubles. Samples
come from a simulation, released as the emulated phone's clock passes them (`speed` times real time).
`outage(s)` takes the phone away and brings it back as a new session (the app restarted), `pause()` and
`resume()` press the app's pause and play.
"""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from calfsense.protocol.phyphox import STOCK_CONFIG, android_number

MPS2_PER_MG = 9.80665 / 1000.0


def _nudged(threshold: float) -> float:
    """The server adds one unit in the 8th significant digit, "to avoid receiving a close number twice"."""
    if threshold <= 0:
        return threshold if threshold == 0 else math.nan
    return threshold + 10 ** math.floor(math.log10(threshold / 1e7))


CONFIG_WITH_G: dict[str, Any] = STOCK_CONFIG
CONFIG_WITHOUT_G = {
    **CONFIG_WITH_G,
    "title": "Acceleration (without g)",
    "inputs": [{"source": "linear_acceleration", "outputs": CONFIG_WITH_G["inputs"][0]["outputs"]}],
}


class FakePhyphox:
    """The emulated phone; `url` once started. Its clock starts at `start()` and runs `speed` times real time."""

    def __init__(
        self,
        time_s: np.ndarray,
        acc_mg: np.ndarray,
        speed: float = 1.0,
        dialect: str = "android",
        config: dict[str, Any] | None = None,
    ) -> None:
        self.time_s = np.asarray(time_s, dtype=np.float64) - float(time_s[0])
        self.acc_mps2 = np.asarray(acc_mg, dtype=np.float64) * MPS2_PER_MG
        self.speed = speed
        self.dialect = dialect
        self.config = config or CONFIG_WITH_G
        self.session = "8eac23"
        self.measuring = True
        self.requests = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._port = 0
        self._t0: float | None = None  # host time the motion began (the first /get: the user pressed play then)
        self._clock_from = 0.0  # the motion's time at which the experiment's clock began (0 after a restart)
        self._paused_at: float | None = None  # motion time the run was paused at
        self._pauses: list[tuple[float, float]] = []  # (paused, resumed) in motion time

    @property
    def url(self) -> str:
        """Where the phone answers."""
        return f"http://127.0.0.1:{self._port}"

    def motion_now(self) -> float:
        """How far into the simulated motion the phone's person is (nothing before the first /get)."""
        return 0.0 if self._t0 is None else (time.monotonic() - self._t0) * self.speed

    @property
    def playing(self) -> bool:
        """A client has asked for data: the motion is under way."""
        return self._t0 is not None

    @property
    def done(self) -> bool:
        """All the motion has been served."""
        return self.motion_now() > float(self.time_s[-1]) + 0.5

    def start(self) -> FakePhyphox:
        """Serve; the motion starts with the first /get."""
        self._serve()
        return self

    def _serve(self) -> None:
        phone = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                status, body = phone.answer(self.path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if phone.dialect == "ios":
                    self.send_header("Connection", "Close")
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """The server goes away."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def outage(self, down_s: float) -> None:
        """Gone for `down_s` (host seconds), then back as a new session whose clock starts again at 0."""
        self.stop()
        time.sleep(down_s)
        with self._lock:
            self.session = f"{int(self.session, 16) + 1:06x}" if self.dialect == "android" else str(time.time_ns())
            self._clock_from = self.motion_now()
            self._pauses, self._paused_at = [], None
        self._serve()

    def pause(self) -> None:
        """The app's pause: nothing is measured; its clock stands still."""
        with self._lock:
            self.measuring, self._paused_at = False, self.motion_now()

    def resume(self) -> None:
        """The app's play: its clock goes on from where it stood."""
        with self._lock:
            if self._paused_at is not None:
                self._pauses.append((self._paused_at, self.motion_now()))
            self.measuring, self._paused_at = True, None

    def _buffers(self) -> dict[str, np.ndarray]:
        """Every buffer as it stands now: the samples measured, on the experiment's clock."""
        until = self._paused_at if self._paused_at is not None else self.motion_now()
        m = self.time_s
        keep = (m >= self._clock_from) & (m <= until)
        clock = m - self._clock_from
        for a, b in self._pauses:
            if a >= self._clock_from:
                keep &= ~((m >= a) & (m < b))  # not measured while paused
                clock = np.where(m >= b, clock - (b - a), clock)  # and the clock skips it
        t = clock[keep]
        acc = self.acc_mps2[keep]
        first = 0.0047  # the sensor's first event lands a few ms after start
        return {
            "acc_time": t + first,
            "accX": acc[:, 0],
            "accY": acc[:, 1],
            "accZ": acc[:, 2],
            "acc": np.linalg.norm(acc, axis=1),
        }

    def _number(self, v: float) -> str:
        if self.dialect == "android":
            return android_number(float(v))
        return json.dumps(float(v)) if math.isfinite(v) else "null"

    def answer(self, path: str) -> tuple[int, str]:
        """Status and JSON body for a request path."""
        with self._lock:
            self.requests += 1
            parts = urlsplit(path)
            if parts.path == "/config":
                return 200, json.dumps(self.config)
            if parts.path == "/control":
                return 200, '{"result": true}'
            if parts.path == "/time":
                return 200, json.dumps([{"event": "START", "experimentTime": 0.0, "systemTime": time.time()}])
            if parts.path != "/get":
                return 404, "{}"
            if self._t0 is None:
                self._t0 = time.monotonic()
            query = parse_qsl(parts.query, keep_blank_values=True)
            if not query and self.dialect == "ios":
                return 400, "{}"
            buffers = self._buffers()
            out = []
            for name, value in query:
                if name not in buffers:
                    continue  # unknown names are left out
                values = buffers[name]
                if value == "":
                    mode, chosen = "single", values[-1:] if len(values) else np.array([math.nan])
                elif value == "full":
                    mode, chosen = "full", values
                else:
                    mode = "partial"
                    threshold_text, _, ref = value.partition("|")
                    try:
                        threshold = float(threshold_text)
                    except ValueError:
                        return (500 if self.dialect == "android" else 400), "{}"
                    reference = buffers.get(ref or name)
                    if reference is None:
                        return (500 if self.dialect == "android" else 400), "{}"
                    m = min(len(values), len(reference))
                    chosen = values[:m][reference[:m] > _nudged(threshold)]
                numbers = ",".join(self._number(v) for v in chosen)
                out.append(f'"{name}":{{"size":0,"updateMode":"{mode}", "buffer":[{numbers}]}}')
            measuring = "true" if self.measuring else "false"
            status = f'"status":{{"session":"{self.session}", "measuring":{measuring}, '
            status += '"timedRun":false, "countDown":0}'
            return 200, '{"buffer":{\n' + ",\n".join(out) + "\n},\n" + status + "\n}"
