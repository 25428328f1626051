"""The native recording format: append-only JSON Lines, one record per received notification.

Line 1 is the header; every later line is a notification (`"k": "n"`) or an event (`"k": "e"`).
Raw payloads are kept (base64) with host monotonic and wall-clock time, and decoded only on read,
so a decoder fix improves old recordings. See docs/recording-format.md.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import errno
import gzip
import io
import json
import math
import os
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from calfsense import __version__
from calfsense.domain import EventKind
from calfsense.errors import CalfsenseError, DiskFullError, InputFileError
from calfsense.files import open_private

FORMAT = "calfsense.recording"
FORMAT_VERSION = 1
SUFFIX = ".csrec.jsonl"
FLUSH_INTERVAL_S = 1.0

# Characteristic short names used in records.
CHAR_PMD_DATA = "pmd_data"
CHAR_PMD_CP = "pmd_cp"
CHAR_HR = "hr"
CHAR_BATTERY = "battery"
# A phone through phyphox's remote access: its /config and every /get answer, raw (session/phyphox_rec.py).
CHAR_PHYPHOX_CONFIG = "phyphox_config"
CHAR_PHYPHOX_GET = "phyphox_get"
# Sensors that are not Polar's (sources/drivers.py): their data notifications, raw.
CHAR_CSIMU_DATA = "csimu_data"  # a DIY board on the calfsense IMU profile (firmware_notes/diy-imu.md)
CHAR_MOVESENSE_DATA = "movesense_data"  # a Movesense's GATT SensorData Protocol (firmware_notes/movesense.md)
CHAR_METAWEAR_DATA = "metawear_data"  # a MetaWear's notifications (firmware_notes/metawear.md)
CHAR_WITMOTION_DATA = "witmotion_data"  # a WitMotion's byte stream (firmware_notes/witmotion.md)
CHAR_THINGY_DATA = "thingy_raw"  # a Thingy:52's raw motion data (firmware_notes/thingy52.md)


EVENT_KINDS = frozenset(k.value for k in EventKind)


@dataclass(frozen=True, slots=True)
class RecordingHeader:
    """First line of a native recording."""

    device_name: str | None = None
    model: str | None = None
    address: str | None = None
    firmware: str | None = None
    serial: str | None = None
    placement: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # {"acc": MeasurementSettings.as_dict()}
    routine: str | None = None
    start_wall: str = ""
    timezone: str = ""
    synthetic: bool = False
    note: str | None = None
    # How many times faster than the host's clock the sensor's ran: the virtual sensor's --speed, else 1.
    time_scale: float = 1.0
    # A sensor on each leg: the legs' names ("left", "right"); their notifications carry `"s": leg`, their
    # devices are `stream` records, and both legs' samples are timed from `host0_ns` (host monotonic ns).
    streams: tuple[str, ...] = ()
    host0_ns: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The header record."""
        extra: dict[str, Any] = {"time_scale": self.time_scale} if self.time_scale != 1.0 else {}
        if self.streams:
            extra["streams"] = list(self.streams)
            extra["host0_ns"] = self.host0_ns
        return {
            "k": "header",
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "calfsense": __version__,
            "device": {
                "name": self.device_name,
                "model": self.model,
                "address": self.address,
                "firmware": self.firmware,
                "serial": self.serial,
            },
            "placement": self.placement,
            "settings": self.settings,
            "routine": self.routine,
            "start_wall": self.start_wall,
            "timezone": self.timezone,
            "synthetic": self.synthetic,
            "note": self.note,
            **extra,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> RecordingHeader:
        """Parse a header record (unknown keys are ignored: newer writers may add some)."""
        device = obj.get("device") or {}
        return cls(
            device_name=device.get("name"),
            model=device.get("model"),
            address=device.get("address"),
            firmware=device.get("firmware"),
            serial=device.get("serial"),
            placement=obj.get("placement"),
            settings=obj.get("settings") or {},
            routine=obj.get("routine"),
            start_wall=obj.get("start_wall") or "",
            timezone=obj.get("timezone") or "",
            synthetic=bool(obj.get("synthetic")),
            note=obj.get("note"),
            time_scale=float(obj.get("time_scale", 1.0)),
            streams=tuple(str(x) for x in obj.get("streams") or ()),
            host0_ns=obj.get("host0_ns"),
        )


def now_wall() -> tuple[str, str]:
    """Local wall time in ISO 8601 with offset, and the zone name."""
    local = dt.datetime.now().astimezone()
    return local.isoformat(timespec="milliseconds"), str(local.tzinfo)


class RecordingWriter:
    """Append records to a native recording; flushed and synced at least once a second."""

    def __init__(
        self, path: str | Path, header: RecordingHeader, force: bool = False, room_bytes: int | None = None
    ) -> None:
        """`room_bytes` is how much the disk takes before it is full (`--faults disk-full=N`; None: what it has)."""
        self.path = Path(path)
        self._room_bytes = room_bytes
        self.bytes_written = 0
        if self.path.exists() and not force:
            raise InputFileError(f"{self.path} already exists", "choose another name or pass --force")
        if not self.path.parent.is_dir():
            raise InputFileError(f"{self.path.parent} does not exist", "create the directory first, or write elsewhere")
        try:
            fd = open_private(self.path, force)  # 0600: heart rate and movement are health data
        except FileExistsError:
            raise InputFileError(f"{self.path} already exists", "choose another name or pass --force") from None
        self._fh: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8")
        self._last_flush = time.monotonic()
        self.records = 0
        try:
            self._write(header.to_json())
            self.flush()
        except CalfsenseError:
            self._discard()
            raise

    def notification(self, char: str, data: bytes, mono_ns: int, wall_ns: int, stream: str | None = None) -> None:
        """One received notification, raw (`stream`: which leg's sensor, when there is one on each)."""
        rec: dict[str, Any] = {"k": "n", "m": mono_ns, "w": wall_ns, "c": char, "d": base64.b64encode(data).decode()}
        if stream is not None:
            rec["s"] = stream
        self._write(rec)

    def stream(self, side: str, header: RecordingHeader, mono_ns: int, wall_ns: int) -> None:
        """A leg's sensor, once connected: its device and settings (`header`'s)."""
        head = header.to_json()
        device, settings = head["device"], head["settings"]
        self._write({"k": "stream", "s": side, "m": mono_ns, "w": wall_ns, "device": device, "settings": settings})
        self.flush()

    def event(self, kind: str, mono_ns: int, wall_ns: int, text: str = "", **fields: Any) -> None:
        """A session event (connected, disconnected, reconnected, set_started, set_ended, marker, note)."""
        if kind not in EVENT_KINDS:
            raise CalfsenseError(f"unknown event kind {kind!r}")
        rec: dict[str, Any] = {"k": "e", "m": mono_ns, "w": wall_ns, "e": kind}
        if text:
            rec["text"] = text
        rec.update(fields)
        self._write(rec)
        self.flush()  # events are rare and precious

    def _write(self, obj: dict[str, Any]) -> None:
        if self._fh is None:
            raise CalfsenseError("the recording is already closed")
        line = json.dumps(obj, separators=(",", ":")) + "\n"  # ASCII: characters are bytes
        try:
            if self._room_bytes is not None and self.bytes_written + len(line) > self._room_bytes:
                # As a full disk does: what fits is written, then the write fails.
                self._fh.write(line[: max(0, self._room_bytes - self.bytes_written)])
                self.bytes_written = self._room_bytes
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self._fh.write(line)
        except OSError as exc:
            raise DiskFullError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self.bytes_written += len(line)
        self.records += 1
        if time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        """Push everything to the disk."""
        if self._fh is None:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise DiskFullError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush and close; safe to call twice. The file is closed even when the last flush fails."""
        if self._fh is not None:
            try:
                self.flush()
            finally:
                self._discard()

    def _discard(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            with contextlib.suppress(OSError):  # the data that could be written is on disk already
                fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LegWriter:
    """One leg's view of a two-sensor session's recording: its notifications and link events tagged with it."""

    def __init__(self, writer: RecordingWriter, side: str) -> None:
        self.writer = writer
        self.side = side
        self.path = writer.path

    def notification(self, char: str, data: bytes, mono_ns: int, wall_ns: int) -> None:
        """One of this leg's notifications."""
        self.writer.notification(char, data, mono_ns, wall_ns, stream=self.side)

    def event(self, kind: str, mono_ns: int, wall_ns: int, text: str = "", **fields: Any) -> None:
        """One of this leg's link events (connected, disconnected, reconnected)."""
        self.writer.event(kind, mono_ns, wall_ns, text=text, s=self.side, **fields)

    def flush(self) -> None:
        """Push everything to the disk."""
        self.writer.flush()

    def close(self) -> None:
        """Close the session's recording (a full disk or the end: both legs' end)."""
        self.writer.close()


Recorder = RecordingWriter | LegWriter


@dataclass
class RawRecording:
    """A native recording read back: header, records in order, and read warnings."""

    header: RecordingHeader
    records: list[dict[str, Any]]
    warnings: list[str]


_MAX_EXPANSION = 30
_MIN_EXPANDED_BYTES = 64_000_000


def _open_text(path: Path) -> IO[str]:
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def is_native(path: Path) -> bool:
    """True when the file starts with a calfsense recording header."""
    try:
        with _open_text(path) as fh:
            first = fh.readline(4096)
    except (OSError, EOFError, gzip.BadGzipFile):
        return False
    return first.lstrip().startswith("{") and f'"{FORMAT}"' in first


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_NS_LIMIT = 2**63


def _is_ns(v: Any) -> bool:
    """A time in nanoseconds: a whole number that fits the int64 every clock here uses."""
    return _is_int(v) and -(2**63) < v < 2**63


def _is_number(v: Any) -> bool:
    return (isinstance(v, int | float) and not isinstance(v, bool)) and math.isfinite(v)


_TEXT_FIELDS = ("placement", "routine", "start_wall", "timezone", "note")
_DEVICE_FIELDS = ("name", "model", "address", "firmware", "serial")
# The acceleration settings a header may carry, each with the range a sensor could really have.
_ACC_LIMITS = {"sample_rate_hz": (1, 10_000), "resolution_bits": (1, 32), "channels": (1, 16), "range": (1, 1000)}


def header_problem(obj: dict[str, Any]) -> str | None:
    """What is wrong with a header record's fields (name and what was found), or None."""
    version = obj.get("version", 0)
    if not _is_int(version) or version < 0:
        return f"version is {version!r}, not a whole number"
    for key in _TEXT_FIELDS:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            return f"{key} is {obj[key]!r}, not text"
    scale = obj.get("time_scale")
    if scale is not None and not (_is_number(scale) and 0.01 <= scale <= 10_000):
        return f"time_scale is {scale!r}, not a number from 0.01 to 10000"
    if obj.get("synthetic") is not None and not isinstance(obj["synthetic"], bool):
        return f"synthetic is {obj['synthetic']!r}, not true or false"
    device = obj.get("device")
    if device is not None and not isinstance(device, dict):
        return f"device is {device!r}, not an object"
    for key in _DEVICE_FIELDS:
        value = (device or {}).get(key)
        if value is not None and not isinstance(value, str):
            return f"device.{key} is {value!r}, not text"
    settings = obj.get("settings")
    if settings is not None and not isinstance(settings, dict):
        return f"settings is {settings!r}, not an object"
    acc = (settings or {}).get("acc")
    if acc is not None and not isinstance(acc, dict):
        return f"settings.acc is {acc!r}, not an object"
    for key, (lo, hi) in _ACC_LIMITS.items():
        value = (acc or {}).get(key)
        if value is not None and not (_is_int(value) and lo <= value <= hi):
            return f"settings.acc.{key} is {value!r}, not a whole number from {lo} to {hi}"
    factor = (acc or {}).get("factor")
    if factor is not None and not (_is_number(factor) and factor > 0):
        return f"settings.acc.factor is {factor!r}, not a positive number"
    streams = obj.get("streams")
    if streams is not None and not (
        isinstance(streams, list) and len(streams) <= 2 and all(x in ("left", "right") for x in streams)
    ):
        return f"streams is {streams!r}, not a list of legs (left, right)"
    if streams and not _is_ns(obj.get("host0_ns")):
        return f"host0_ns is {obj.get('host0_ns')!r}, not a time in nanoseconds"
    return None


def record_ok(obj: dict[str, Any]) -> bool:
    """Whether a notification or event record has its fields of the right types."""
    kind = obj.get("k")
    m, w = obj.get("m"), obj.get("w", 0)
    # `type(...) is int` (not isinstance): a JSON true is no time. Checked inline: every record passes here.
    if not (type(m) is int and type(w) is int and -_NS_LIMIT < m < _NS_LIMIT and -_NS_LIMIT < w < _NS_LIMIT):
        return kind not in ("n", "e")  # records of kinds this version does not know are kept, unread
    if kind == "n":
        return type(obj.get("c")) is str and type(obj.get("d")) is str
    if kind == "e":
        t_s = obj.get("t_s")
        return (
            isinstance(obj.get("e"), str) and isinstance(obj.get("text", ""), str) and (t_s is None or _is_number(t_s))
        )
    return True


def read_raw(path: str | Path) -> RawRecording:
    """Read a native recording; a line cut off by a crash is dropped with one warning."""
    p = Path(path)
    warnings: list[str] = []
    records: list[dict[str, Any]] = []
    header: RecordingHeader | None = None
    bad = 0
    # Bounded before it is read: a compressed recording expands at most this far (real ones 3-6x), so a
    # small file of blank lines cannot take all the memory there is.
    limit = max(_MIN_EXPANDED_BYTES, _MAX_EXPANSION * p.stat().st_size)
    read = 0
    lines: list[str] = []
    try:
        with _open_text(p) as fh:
            pending = ""
            while chunk := fh.read(1 << 20):
                read += len(chunk)
                if read > limit:
                    raise InputFileError(
                        f"{p}: expands to more than {limit / 1e6:.0f} MB, far more than any recording",
                        "it is not a calfsense recording (or it is damaged)",
                    )
                parts = (pending + chunk).split("\n")
                pending = parts.pop()
                lines.extend(part + "\n" for part in parts if part.strip())
            if pending.strip():
                lines.append(pending)  # no newline at its end: cut off by a crash
    except (EOFError, gzip.BadGzipFile, zlib.error):
        raise InputFileError(f"{p}: the compressed recording is damaged", "use the uncompressed original") from None
    trailing_cut = bool(lines) and not lines[-1].endswith("\n")
    parsed: list[Any] | None = None
    try:
        # One parse of the whole file as a JSON array: a sixth of the time of one parse a line. Any damaged
        # line makes it fail, and the lines are read one by one instead (each damage counted).
        parsed = json.loads("[" + ",".join(lines) + "]")
    except (ValueError, RecursionError):
        parsed = None
    if parsed is not None and len(parsed) != len(lines):
        parsed = None  # a line holding two values side by side ("1 2") is no record
    for i, line in enumerate(lines):
        try:
            obj = parsed[i] if parsed is not None else json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not an object")
        except ValueError:
            if i == len(lines) - 1 and trailing_cut:
                warnings.append(f"the last line was cut off (record {i + 1}); everything before it was read")
            else:
                bad += 1
            continue
        if header is None:
            if obj.get("k") != "header" or obj.get("format") != FORMAT:
                raise InputFileError(f"{p}: not a calfsense recording (no header line)")
            problem = header_problem(obj)
            if problem is not None:
                raise InputFileError(f"{p}, line {i + 1}: header field {problem}", "the recording's header is damaged")
            if obj.get("version", 0) > FORMAT_VERSION:
                warnings.append(f"recording format {obj.get('version')} is newer than this calfsense; update it")
            header = RecordingHeader.from_json(obj)
            continue
        if not record_ok(obj):
            bad += 1  # a record with a field of the wrong type is as damaged as a garbled line
            continue
        records.append(obj)
    if header is None:
        raise InputFileError(f"{p}: empty recording (no header line)", "record a session first")
    if bad:
        warnings.append(f"{bad} damaged line(s) were skipped")
    return RawRecording(header, records, warnings)


def iter_notifications(raw: RawRecording, char: str) -> Iterator[tuple[int, int, bytes]]:
    """(host monotonic ns, wall ns, payload) of one characteristic's notifications."""
    return payloads(rec for rec in raw.records if rec.get("k") == "n" and rec.get("c") == char)


def payloads(records: Iterable[dict[str, Any]]) -> Iterator[tuple[int, int, bytes]]:
    for rec in records:
        try:
            yield int(rec["m"]), int(rec["w"]), binascii.a2b_base64(rec["d"], strict_mode=True)
        except (KeyError, ValueError, TypeError):
            continue
