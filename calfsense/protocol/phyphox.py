"""phyphox's remote access (its REST API) as a stream of acceleration: pure, bytes in, samples out.

A phone running phyphox's "Acceleration with g" experiment with remote access on serves its buffers over
HTTP (`../shared/reference/phyphox-remote.md`). `check_config` makes sure the experiment is that one;
`PhyphoxStream` says what to ask `/get` for next (everything first, then only what is new) and turns each
answer into samples in mG on one time line: the experiment's own clock, with a pause, a clear or a new
session (the app was restarted) appearing as a gap of the time that passed, not as time running back.
The live source and the replay of a recording feed it the same answers, so they find the same reps.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import FrameError

STANDARD_GRAVITY_MPS2 = 9.80665
MG_PER_MPS2 = 1000.0 / STANDARD_GRAVITY_MPS2
EXPERIMENT_WITH_G = "Acceleration with g"
# The stock experiment's buffers, in case /config does not name them by its input's outputs.
DEFAULT_BUFFERS = ("acc_time", "accX", "accY", "accZ")
CHECK_EVERY = 30  # every this many polls, ask for the time buffer's last value (a clear on iOS hides otherwise)


class PhyphoxError(FrameError):
    """An answer that is not what phyphox's remote access sends."""


class WrongExperimentError(PhyphoxError):
    """The phone runs another experiment than "Acceleration with g"."""


@dataclass(frozen=True, slots=True)
class Experiment:
    """What /config says: the experiment's title and the buffers of its accelerometer input."""

    title: str
    time: str
    x: str
    y: str
    z: str

    @property
    def buffers(self) -> tuple[str, str, str, str]:
        """time, x, y, z."""
        return (self.time, self.x, self.y, self.z)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PhyphoxError(f"not JSON: {exc}") from None


def check_config(body: bytes) -> Experiment:
    """The experiment /config describes, if it is an accelerometer with gravity; else a clear error."""
    cfg = _json(body)
    if not isinstance(cfg, dict):
        raise PhyphoxError("/config is not a JSON object")
    title = cfg.get("title")
    title = title if isinstance(title, str) else ""
    inputs = cfg.get("inputs")
    sources = []
    for item in inputs if isinstance(inputs, list) else []:
        if isinstance(item, dict) and isinstance(item.get("source"), str):
            sources.append(item)
    if any(s["source"] == "linear_acceleration" for s in sources) or "without g" in title.lower():
        raise WrongExperimentError(
            f"phyphox runs {title[:60]!r}: it removes gravity, and with it the tilt calfsense counts by"
        )
    acc = next((s for s in sources if s["source"] == "accelerometer"), None)
    if acc is None and title != EXPERIMENT_WITH_G:
        found = ", ".join(str(s["source"]) for s in sources) or "no sensor input"
        raise WrongExperimentError(f"phyphox runs {title[:60]!r} ({found[:60]}), not {EXPERIMENT_WITH_G!r}")
    names: dict[str, str] = {}
    for out in acc.get("outputs", []) if acc is not None and isinstance(acc.get("outputs"), list) else []:
        if isinstance(out, dict):
            names.update({str(k): str(v) for k, v in out.items() if isinstance(v, str)})
    t, x, y, z = (names.get(k, d) for k, d in zip(("t", "x", "y", "z"), DEFAULT_BUFFERS, strict=True))
    return Experiment(title or EXPERIMENT_WITH_G, t, x, y, z)


def _values(obj: Any, name: str) -> list[float]:
    """A buffer's values as floats; null, "nan" and "inf" (iOS) are NaN."""
    buf = obj.get(name) if isinstance(obj, dict) else None
    if buf is None:
        return []
    if not isinstance(buf, dict) or not isinstance(buf.get("buffer"), list):
        raise PhyphoxError(f"buffer {name!r} is not a phyphox buffer object")
    out = []
    for v in buf["buffer"]:
        if isinstance(v, bool):
            raise PhyphoxError(f"buffer {name!r} holds a boolean")
        if isinstance(v, int | float):
            out.append(float(v))
        elif v is None or isinstance(v, str):
            out.append(math.nan)
        else:
            raise PhyphoxError(f"buffer {name!r} holds {type(v).__name__}")
    return out


@dataclass(frozen=True, slots=True)
class Block:
    """What one /get answer held: new samples on the session's time line, and the run's status."""

    time_s: NDArray[np.float64]
    acc_mg: NDArray[np.float64]
    measuring: bool
    session: str
    restarted: bool  # the experiment's clock began again (clear, or a new session): a gap before these samples


@dataclass
class PhyphoxStream:
    """Polls of /get in order: what to ask next, and each answer as new samples (no sample twice)."""

    experiment: Experiment
    time_scale: float = 1.0  # the phone's seconds per host second (an emulated phone may run faster)
    _last_raw: float | None = field(default=None, init=False)  # the experiment time of the last sample taken
    _offset_s: float = field(default=0.0, init=False)  # added to experiment time: the session's time line
    _first_raw: float | None = field(default=None, init=False)
    _clock_first: float | None = field(default=None, init=False)  # the first value of the buffers now
    _new_clock: bool = field(default=False, init=False)
    _resumed: bool = field(default=False, init=False)
    _last_out: float | None = field(default=None, init=False)
    _last_host_ns: int | None = field(default=None, init=False)
    _session: str | None = field(default=None, init=False)
    _measuring: bool | None = field(default=None, init=False)
    _full: bool = field(default=True, init=False)
    _polls: int = field(default=0, init=False)

    def next_query(self) -> str:
        """The path and query of the next /get: everything at first and after a change, else what is new."""
        t, x, y, z = self.experiment.buffers
        self._polls += 1
        if not self._full and self._last_raw is not None and self._polls % CHECK_EVERY == 0:
            return f"/get?{quote(t)}="
        if self._full or self._last_raw is None:
            return "/get?" + "&".join(f"{quote(n)}=full" for n in (t, x, y, z))
        # The threshold exactly as the last value was printed: the server adds its own nudge (8th digit).
        since = repr(self._last_raw)
        return f"/get?{quote(t)}={since}&" + "&".join(f"{quote(n)}={since}%7C{quote(t)}" for n in (x, y, z))

    def restart(self) -> None:
        """The link was lost: ask for everything next (new data after the last sample is kept, no more)."""
        self._full = True

    def push(self, body: bytes, host_ns: int) -> Block:
        """One /get answer, received at the host's monotonic `host_ns`."""
        obj = _json(body)
        if not isinstance(obj, dict) or not isinstance(obj.get("buffer", {}), dict):
            raise PhyphoxError("/get answer is not a phyphox object")
        status = obj.get("status")
        status = status if isinstance(status, dict) else {}
        session = str(status.get("session", ""))
        measuring = bool(status.get("measuring", False))
        t_name, x_name, y_name, z_name = self.experiment.buffers
        buffers = obj.get("buffer", {})
        # The app restarted (a new session): a new clock, taken up by the next answer with data.
        new_session = self._session is not None and session != self._session
        self._new_clock = self._new_clock or new_session
        # The run went on after a pause (its clock did not): taken up by the next answer with data.
        self._resumed = self._resumed or (self._measuring is False and measuring)
        flipped = self._measuring is not None and measuring != self._measuring
        self._session, self._measuring = session, measuring
        t = np.asarray(_values(buffers, t_name))
        # What was asked is read from the answer itself (its update modes), so a replay that never asked
        # decodes it as live mode did: the time buffer alone, `single`: the check for a clear.
        time_buf = buffers.get(t_name)
        mode = time_buf.get("updateMode") if isinstance(time_buf, dict) else None
        if mode == "single" and x_name not in buffers:
            last = t[-1] if len(t) else math.nan
            if flipped or self._new_clock or (self._last_raw is not None and not last >= self._last_raw):
                self._full = True  # the buffers were cleared (or emptied), or it is a new session: start over
            return self._block(np.zeros(0), np.zeros((0, 3)), measuring, session, False)
        xs = [np.asarray(_values(buffers, n)) for n in (x_name, y_name, z_name)]
        n = min(len(t), *(len(v) for v in xs))  # iOS appends t, x, y, z one by one: pair by index
        t = t[:n]
        acc = np.column_stack([v[:n] for v in xs]) * MG_PER_MPS2 if n else np.zeros((0, 3))
        was_full = mode == "full"
        # Everything is asked for again after the run started or stopped, as phyphox's own page does (a clear
        # also stops the run); an answer to that is what was asked for.
        self._full = not was_full and (flipped or new_session or self._full)
        restarted = self._new_clock
        if was_full and self._last_raw is not None and len(t):
            # A whole buffer that begins elsewhere, or ends before what was seen, was cleared and began again.
            moved = self._clock_first is not None and float(t[0]) != self._clock_first
            restarted = restarted or moved or bool(np.nanmax(t) < self._last_raw)
        if len(t):
            self._new_clock = False
        if was_full and len(t) and (restarted or self._clock_first is None):
            self._clock_first = float(t[0])
        seen = None if restarted else self._last_raw
        if seen is not None:
            new = t > seen  # a full answer repeats what was seen
            t, acc = t[new], acc[new]
        ok = np.isfinite(t) & np.all(np.isfinite(acc), axis=1)
        t, acc = t[ok], acc[ok]
        if len(t) > 1 and np.any(np.diff(t) <= 0):
            order = np.argsort(t, kind="stable")
            t, acc = t[order], acc[order]
            keep = np.concatenate(([True], np.diff(t) > 0))
            t, acc = t[keep], acc[keep]
        if not len(t):
            if restarted:
                self._last_raw = None
            return self._block(t, acc, measuring, session, restarted)
        if self._first_raw is None:
            self._first_raw = float(t[0])
        elif (
            (restarted or self._resumed or seen is None)
            and self._last_out is not None
            and self._last_host_ns is not None
        ):
            # The clock began again, or stood still while paused: the time line goes on by the host's time.
            passed = (host_ns - self._last_host_ns) / 1e9 * self.time_scale
            step = float(t[0]) - seen if seen is not None else 0.0
            self._offset_s = self._last_out + max(passed, step) - (float(t[0]) - self._first_raw)
        self._resumed = False
        out = t - self._first_raw + self._offset_s
        if self._last_out is not None and out[0] <= self._last_out:
            shift = self._last_out - float(out[0]) + 1e-3  # never back in time
            out, self._offset_s = out + shift, self._offset_s + shift
        self._last_raw = float(t[-1])
        self._last_out = float(out[-1])
        self._last_host_ns = host_ns
        return self._block(out, acc, measuring, session, restarted)

    @staticmethod
    def _block(
        t: NDArray[np.float64], acc: NDArray[np.float64], measuring: bool, session: str, restarted: bool
    ) -> Block:
        samples = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        return Block(np.asarray(t, dtype=np.float64), samples, measuring, session, restarted)


# --- what a phone sends (for the simulator's phone recordings and emulation) ---------------------

# The stock experiment's /config as phyphox describes it (../shared/reference/phyphox-remote.md §2-§3).
STOCK_CONFIG: dict[str, Any] = {
    "crc32": "1a2b3c4d",
    "title": EXPERIMENT_WITH_G,
    "localTitle": EXPERIMENT_WITH_G,
    "category": "Raw Sensors",
    "localCategory": "Raw Sensors",
    "buffers": [{"name": n, "size": 0} for n in ("accX", "accY", "accZ", "acc", "acc_time")],
    "inputs": [
        {
            "source": "accelerometer",
            "outputs": [{"x": "accX"}, {"y": "accY"}, {"z": "accZ"}, {"abs": "acc"}, {"t": "acc_time"}],
        }
    ],
    "export": [{"set": "Raw Data", "sources": [{"label": "Time (s)", "buffer": "acc_time"}]}],
}


def android_number(v: float) -> str:
    """A number as phyphox for Android prints it (Java's DecimalFormat "0.#######E0"): 1.2004986E1, 0E0, null."""
    if not math.isfinite(v):
        return "null"
    if v == 0:
        return "0E0"
    exp = math.floor(math.log10(abs(v)))
    mantissa = round(v / 10**exp, 7)
    if abs(mantissa) >= 10:
        mantissa, exp = mantissa / 10, exp + 1
    return f"{f'{mantissa:.7f}'.rstrip('0').rstrip('.')}E{exp}"


def encode_get(
    time_s: NDArray[np.float64], acc_mg: NDArray[np.float64], mode: str, session: str, measuring: bool = True
) -> bytes:
    """A /get answer as phyphox for Android writes it: the time and x, y, z buffers (m/s^2) and the status."""
    acc = np.asarray(acc_mg, dtype=np.float64) / MG_PER_MPS2
    columns = (("acc_time", np.asarray(time_s, dtype=np.float64)), ("accX", acc[:, 0]), ("accY", acc[:, 1]))
    parts = []
    for name, values in (*columns, ("accZ", acc[:, 2])):
        numbers = ",".join(android_number(float(v)) for v in values)
        parts.append(f'"{name}":{{"size":0,"updateMode":"{mode}", "buffer":[{numbers}]}}')
    status = f'"status":{{"session":"{session}", "measuring":{"true" if measuring else "false"}, '
    status += '"timedRun":false, "countDown":0}'
    return ('{"buffer":{\n' + ",\n".join(parts) + "\n},\n" + status + "\n}").encode()
