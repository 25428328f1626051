"""Importers for recordings from apps runners already use, detected by content (not by file name).

Polar Sensor Logger (ACC, with the HR and MARKER files beside it), phyphox "Acceleration with g"
(comma, tab, and semicolon with decimal comma), Sensor Logger (TotalAcceleration, or Accelerometer
plus Gravity; columns z,y,x), MetaBase accelerometer CSV, and a generic CSV. Formats and their
headers: ../shared/reference/heel-raise.md section 4. Everything returns a `LoadedSession`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calfsense.errors import InputFileError
from calfsense.protocol.pmd import PMD_EPOCH_UNIX_NS
from calfsense.session import decode, recording
from calfsense.session.model import Event, LoadedSession
from calfsense.units import G_MPS2

MAX_BYTES = 2_000_000_000  # refuse absurd inputs before reading them
_HEAD_BYTES = 65536  # what the readers look at to know a format, its header and its first times
GENERIC_EXPECTED = (
    "a header row with a time column (time_s, t, seconds, or e.g. timestamp_ms / time [ns]) and three "
    "acceleration columns (ax, ay, az or x, y, z) with a unit suffix (_g, _mg, _ms2, _mps2) or in brackets (X [mg])"
)


def load(path: str | Path) -> LoadedSession:
    """Load any supported recording, choosing the reader from the file's content."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: no such file", "check the path")
    if p.is_dir():
        raise InputFileError(f"{p} is a directory", "give the recording file inside it (for phyphox: 'Raw Data.csv')")
    size = p.stat().st_size
    if size == 0:
        raise InputFileError(f"{p} is empty", "the recording has no data")
    if size > MAX_BYTES:
        raise InputFileError(f"{p} is too large ({size / 1e9:.1f} GB)", "split it into sessions")
    if recording.is_native(p):
        return decode.load_native(p)
    with p.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if b"\x00" in head or _binary_ratio(head) > 0.1:
        raise InputFileError(
            f"{p} is not a text recording (binary data)",
            f"expected a calfsense recording or {GENERIC_EXPECTED}",
        )
    # Readers see the file's first lines (format, header, first times); the numbers are read from the file.
    text = _decode(head if size <= len(head) else head[: head.rfind(b"\n") + 1])
    first = text.split("\n", 1)[0].strip().lstrip("\ufeff")
    for sniff, reader in _READERS:
        if sniff(first):
            return reader(p, text)
    raise InputFileError(
        f"{p}: unrecognised format (first line: {first[:60]!r})",
        "expected a calfsense recording, a Polar Sensor Logger, phyphox, Sensor Logger or MetaBase export, "
        f"or {GENERIC_EXPECTED}",
    )


def _binary_ratio(data: bytes) -> float:
    if not data:
        return 0.0
    text_bytes = bytes(range(32, 127)) + b"\t\r\n\x0c\x1b"
    nontext = sum(1 for b in data if b not in text_bytes and b < 128)
    return nontext / len(data)


def _read_text(p: Path) -> str:
    return _decode(p.read_bytes())


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Latin-1, which decodes any byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _finish(
    path: Path,
    fmt: str,
    t_s: NDArray[np.float64],
    acc_mg: NDArray[np.float64],
    **kw: object,
) -> LoadedSession:
    """Validate samples (finite, time moving forward) and build the session."""
    if len(t_s) < 2:
        raise InputFileError(f"{path}: fewer than two samples", "the recording is too short to analyse")
    finite = np.isfinite(t_s) & np.all(np.isfinite(acc_mg), axis=1)
    warnings = list(kw.pop("warnings", []) or [])  # type: ignore[call-overload]
    if not finite.all():
        bad = int((~finite).sum())
        if bad > 0.5 * len(t_s):
            raise InputFileError(f"{path}: {bad} of {len(t_s)} samples are not numbers", "check the export settings")
        warnings.append(f"{bad} sample(s) with missing or non-numeric values skipped")
        t_s, acc_mg = t_s[finite], acc_mg[finite]
    back = np.flatnonzero(np.diff(t_s) <= 0)
    if len(back):
        if len(back) > 0.01 * len(t_s):
            raise InputFileError(
                f"{path}: time goes backwards {len(back)} times (first at row {int(back[0]) + 2})",
                "the time column must increase; is it the right column?",
            )
        keep = np.concatenate(([True], np.diff(np.maximum.accumulate(t_s)) > 0))
        warnings.append(f"{len(back)} sample(s) with time going backwards skipped")
        t_s, acc_mg = t_s[keep], acc_mg[keep]
    if "gaps" not in kw:
        kw["gaps"] = _time_gaps(t_s - t_s[0])
    t0 = float(t_s[0])
    hr_t = kw.pop("hr_time_abs", None)
    events = kw.pop("events_abs", ())
    session_kw: dict[str, object] = dict(kw)
    if hr_t is not None:
        session_kw["hr_time_s"] = np.asarray(hr_t, dtype=np.float64) - t0
    session_kw["events"] = tuple(Event(e.time_s - t0, e.kind, e.text) for e in events)  # type: ignore[attr-defined]
    return LoadedSession(
        path=str(path),
        format=fmt,
        time_s=t_s - t0,
        acc_mg=acc_mg,
        warnings=tuple(warnings),
        **session_kw,  # type: ignore[arg-type]
    )


_LARGEST_CELL = 1e20


def _time_gaps(t_s: NDArray[np.float64]) -> tuple[tuple[float, float], ...]:
    """Stretches with no samples: a step over five sample intervals and a quarter second (a lost radio link).

    Native recordings know their lost frames; another app's export only shows the hole in its time column.
    """
    dt = np.diff(t_s)
    if len(dt) == 0:
        return ()
    step = float(np.median(dt))
    holes = np.flatnonzero(dt > max(5.0 * step, 0.25))
    return tuple((float(t_s[i]), float(t_s[i + 1])) for i in holes)


def _numbers(
    path: Path, delim: str, cols: list[int], skip: int = 1, decimal_comma: bool = False
) -> NDArray[np.float64]:
    """Numeric columns `cols` of the delimited file `path` after `skip` header lines.

    numpy's C reader takes a clean file straight from disk, a block at a time (a 67-minute 200 Hz export
    in about half a second, in no more memory than the numbers: a text copy in a StringIO takes four
    bytes a character); a decimal-comma file is read from its text, changed. A file it refuses (an empty
    or text cell, a short row) is read cell by cell instead, with those cells NaN (counted and reported
    by `_finish`). Blank lines and `#` comments are skipped.
    """
    body = _read_text(path).replace(",", ".") if decimal_comma else ""

    def read(dtype: type[np.int64] | type[np.float64]) -> NDArray[np.float64]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no data": an empty table is the caller's clear error
            table = np.loadtxt(
                io.StringIO(body) if decimal_comma else path,
                encoding="latin-1",  # any byte is a character: the numbers are ASCII whatever the header is
                delimiter=delim,
                usecols=cols,
                skiprows=skip,
                comments="#",
                quotechar='"',
                dtype=dtype,
                ndmin=2,
            )
        return np.asarray(table, dtype=np.float64)

    try:
        try:
            # Integers parse five times faster than floats (Polar's exports are all integers: ns and mG); a
            # file with decimals fails on its first row, so trying costs nothing there.
            vals = read(np.int64)
        except (ValueError, OverflowError):
            vals = read(np.float64)
    except ValueError:
        rows = list(csv.reader(io.StringIO(body or _read_text(path)), delimiter=delim))[skip:]
        rows = [r for r in rows if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
        vals = _float_table(rows, cols)
    # No time (ns since 1970 is 1.8e18) or acceleration is this large: such a cell is garbage, and scaled to
    # our units it would overflow. It is NaN, counted and reported like any other unreadable cell.
    vals[np.abs(vals) > _LARGEST_CELL] = np.nan
    return vals


def _float_table(rows: list[list[str]], cols: list[int]) -> NDArray[np.float64]:
    """Numeric columns from string rows; unparseable cells become NaN."""
    out = np.full((len(rows), len(cols)), np.nan)
    for i, row in enumerate(rows):
        for j, c in enumerate(cols):
            if c < len(row):
                cell = row[c].strip().strip('"')
                try:
                    out[i, j] = float(cell)
                except ValueError:
                    pass
    return out


# --- Polar Sensor Logger ---------------------------------------------------------------------

_PSL_ACC = re.compile(r"^phone timestamp;sensor timestamp \[ns\];x \[mg\];y \[mg\];z \[mg\]", re.I)


def _psl_time(stamp: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(stamp.strip()).timestamp()
    except ValueError:
        return None


def _read_psl(p: Path, text: str) -> LoadedSession:
    vals = _numbers(p, ";", [1, 2, 3, 4])
    # Sensor time (ns since 2000-01-01) times the samples; the phone time arrives ~2 s late in batches.
    sensor_s = (vals[:, 0] + PMD_EPOCH_UNIX_NS) / 1e9
    # The phone's clock from the first row that has it (only its offset to the sensor's is needed).
    head = [r.split(";") for r in itertools.islice((ln for ln in text.splitlines()[1:] if ln.strip()), 50)]
    first_phone = next((x for r in head if (x := _psl_time(r[0])) is not None), None)
    offset = (first_phone - sensor_s[0]) if first_phone is not None and np.isfinite(sensor_s[0]) else 0.0
    t_abs = sensor_s + offset  # on the phone clock, like the HR and MARKER files
    hr_t: list[float] = []
    hr_v: list[float] = []
    events: list[Event] = []
    m = re.match(r"(.*)_ACC\.txt$", p.name, re.I)
    if m:
        hr_file = p.with_name(f"{m.group(1)}_HR.txt")
        if hr_file.exists():
            for line in hr_file.read_text(errors="replace").splitlines()[1:]:
                parts = line.split(";")
                if len(parts) >= 2:
                    t = _psl_time(parts[0])
                    try:
                        v = float(parts[1].replace(",", "."))
                    except ValueError:
                        continue
                    if t is not None:
                        hr_t.append(t)
                        hr_v.append(v)
    for marker in sorted(p.parent.glob("MARKER_*.txt")):
        for line in marker.read_text(errors="replace").splitlines()[1:]:
            parts = line.split(";")
            if len(parts) >= 2 and (t := _psl_time(parts[0])) is not None:
                events.append(Event(t, "marker", parts[1].strip()))
    model = "Polar " + p.name.split("_")[1] if p.name.count("_") >= 2 else None
    return _finish(
        p,
        "polar-sensor-logger",
        t_abs,
        vals[:, 1:4],
        device=p.name.split("_ACC")[0] if m else None,
        model=model,
        hr_time_abs=np.array(hr_t) if hr_t else None,
        hr_bpm=np.array(hr_v),
        events_abs=tuple(events),
        start_wall=head[0][0].strip() if head else None,
    )


# --- phyphox ----------------------------------------------------------------------------------


def _phyphox_sniff(first: str) -> bool:
    low = first.lower()
    return "time (s)" in low and "acceleration" in low


def _read_phyphox(p: Path, text: str) -> LoadedSession:
    first = text.split("\n", 1)[0]
    if "linear acceleration" in first.lower():
        raise InputFileError(
            f"{p}: this phyphox export is 'Acceleration without g'",
            "calfsense needs gravity to see the foot or leg tilt: record 'Acceleration with g' instead",
        )
    if "\t" in first:
        delim, dec_comma = "\t", False
    elif first.count(";") >= 3:
        delim, dec_comma = ";", True
    else:
        delim, dec_comma = ",", False
    header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delim))]
    try:
        cols = [
            header.index("time (s)"),
            next(i for i, h in enumerate(header) if h.startswith("acceleration x")),
            next(i for i, h in enumerate(header) if h.startswith("acceleration y")),
            next(i for i, h in enumerate(header) if h.startswith("acceleration z")),
        ]
    except (ValueError, StopIteration):
        raise InputFileError(f"{p}: phyphox header without time and x, y, z acceleration columns") from None
    vals = _numbers(p, delim, cols, decimal_comma=dec_comma)
    unit = 1000.0 / G_MPS2  # m/s^2 to mG
    device = None
    meta = p.parent / "meta" / "device.csv"
    if meta.exists():
        for row in csv.reader(io.StringIO(meta.read_text(errors="replace"))):
            if len(row) >= 2 and row[0] == "deviceModel":
                device = row[1]
    return _finish(p, "phyphox", vals[:, 0], vals[:, 1:4] * unit, device=device)


# --- Sensor Logger ---------------------------------------------------------------------------


def _sensorlogger_sniff(first: str) -> bool:
    return [c.strip().lower() for c in first.split(",")][:5] == ["time", "seconds_elapsed", "z", "y", "x"]


def _sensorlogger_table(p: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    vals = _numbers(p, ",", [0, 2, 3, 4])
    # time is ns since the Unix epoch; columns are z, y, x (in that order) in m/s^2.
    return vals[:, 0] / 1e9, vals[:, [3, 2, 1]]


def _read_sensorlogger(p: Path, text: str) -> LoadedSession:
    t, acc = _sensorlogger_table(p)
    norm = np.nanmedian(np.linalg.norm(acc, axis=1))
    if norm < 0.5 * G_MPS2:
        # Gravity-free Accelerometer.csv: add Gravity.csv from the same export.
        gravity = p.with_name("Gravity.csv")
        if not gravity.exists():
            raise InputFileError(
                f"{p}: Sensor Logger acceleration without gravity and no Gravity.csv beside it",
                "export TotalAcceleration.csv (Android) or keep Gravity.csv in the same folder (iOS)",
            )
        gt, gacc = _sensorlogger_table(gravity)
        g = np.stack([np.interp(t, gt, gacc[:, k]) for k in range(3)], -1)
        acc = acc + g
    return _finish(p, "sensor-logger", t, acc * (1000.0 / G_MPS2))


# --- MetaBase --------------------------------------------------------------------------------


def _metabase_sniff(first: str) -> bool:
    low = first.lower()
    return low.startswith("epoch (ms)") and "x-axis (g)" in low


def _read_metabase(p: Path, text: str) -> LoadedSession:
    header = [h.strip().lower() for h in next(csv.reader([text.split("\n", 1)[0]]))]
    missing = [name for name in ("x-axis (g)", "y-axis (g)", "z-axis (g)") if name not in header]
    if missing:
        raise InputFileError(
            f"{p}: line 1: no {missing[0]!r} column", "a MetaBase accelerometer export has x, y and z in g"
        )
    cols = [0, header.index("x-axis (g)"), header.index("y-axis (g)"), header.index("z-axis (g)")]
    vals = _numbers(p, ",", cols)
    mac = re.search(r"_([0-9A-F]{2}(?::[0-9A-F]{2}){5})_", p.name, re.I)
    return _finish(
        p,
        "metabase",
        vals[:, 0] / 1000.0,
        vals[:, 1:4] * 1000.0,
        device=f"MetaWear {mac.group(1)}" if mac else "MetaWear",
    )


# --- Generic CSV -----------------------------------------------------------------------------

_TIME_UNITS = {"s": 1.0, "sec": 1.0, "seconds": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_ACC_UNITS = {
    "g": 1000.0,
    "mg": 1.0,
    "ms2": 1000.0 / G_MPS2,
    "mps2": 1000.0 / G_MPS2,
    "m/s^2": 1000.0 / G_MPS2,
    "m/s2": 1000.0 / G_MPS2,
    "m/s²": 1000.0 / G_MPS2,
}


def _split_unit(name: str) -> tuple[str, str | None]:
    """'ax_mg' -> ('ax', 'mg'); 'X [mg]' -> ('x', 'mg'); 'time (ms)' -> ('time', 'ms')."""
    n = name.strip().strip('"').lower()
    m = re.match(r"^(.*?)\s*[\[(]\s*([^\])]+)\s*[\])]$", n)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    if "_" in n:
        base, unit = n.rsplit("_", 1)
        return base, unit
    return n, None


def _time_column(names: list[str]) -> tuple[int, float] | None:
    for i, name in enumerate(names):
        base, unit = _split_unit(name)
        plain = name.strip().strip('"').lower()
        if plain in ("time_s", "t", "seconds", "time", "t_s"):
            return i, 1.0
        if base in ("time", "timestamp", "t") and unit in _TIME_UNITS:
            return i, _TIME_UNITS[unit]
    return None


def _acc_columns(names: list[str]) -> tuple[list[int], float] | None:
    for triple in (
        ("ax", "ay", "az"),
        ("x", "y", "z"),
        ("acc_x", "acc_y", "acc_z"),
        ("accx", "accy", "accz"),
    ):
        found: list[int] = []
        units: set[str | None] = set()
        for axis in triple:
            for i, name in enumerate(names):
                base, unit = _split_unit(name)
                if base == axis:
                    found.append(i)
                    units.add(unit)
                    break
        if len(found) == 3:
            if len(units) != 1:
                return None
            unit = units.pop()
            if unit is None or unit not in _ACC_UNITS:
                return None
            return found, _ACC_UNITS[unit]
    return None


def _generic_sniff(first: str) -> bool:
    return True  # the last resort: it explains what it expected when it cannot read the file


def _read_generic(p: Path, text: str) -> LoadedSession:
    # The header is the first line with something on it that is not a comment.
    found = next(
        ((k, ln) for k, ln in enumerate(io.StringIO(text)) if ln.strip() and not ln.lstrip().startswith("#")), None
    )
    if found is None:
        raise InputFileError(f"{p}: no data", f"expected {GENERIC_EXPECTED}")
    head_at, head = found[0], found[1].rstrip("\r\n")
    delim = max((",", ";", "\t"), key=head.count)
    if head.count(delim) < 3:
        raise InputFileError(
            f"{p}: cannot find four columns in the header {head[:60]!r}", f"expected {GENERIC_EXPECTED}"
        )
    names = next(csv.reader([head], delimiter=delim))
    tcol = _time_column(names)
    acols = _acc_columns(names)
    if tcol is None or acols is None:
        missing = "a time column" if tcol is None else "three acceleration columns with a unit"
        raise InputFileError(
            f"{p}: the header has no {missing} ({', '.join(names)[:80]})", f"expected {GENERIC_EXPECTED}"
        )
    decimal_comma = delim == ";"
    vals = _numbers(p, delim, [tcol[0], *acols[0]], skip=head_at + 1, decimal_comma=decimal_comma)
    if np.all(~np.isfinite(vals[:, 0])):
        raise InputFileError(f"{p}: the time column holds no numbers", f"expected {GENERIC_EXPECTED}")
    hr: dict[str, object] = {}
    hr_col = next(
        (i for i, n in enumerate(names) if n.strip().strip('"').lower() in ("hr_bpm", "heart_rate_bpm")), None
    )
    if hr_col is not None and not decimal_comma:
        # Heart rate as `calfsense export` writes it: a reading on the sample nearest it, the other cells empty.
        bpm = _numbers(p, delim, [hr_col], skip=head_at + 1)[:, 0]
        if len(bpm) == len(vals):
            at = np.isfinite(bpm) & np.isfinite(vals[:, 0])
            hr = {"hr_time_abs": vals[at, 0] * tcol[1], "hr_bpm": bpm[at]}
            # A reading in a gap has a row of its own, without acceleration: not a sample.
            vals = vals[~(at & np.all(np.isnan(vals[:, 1:4]), axis=1))]
    return _finish(p, "csv", vals[:, 0] * tcol[1], vals[:, 1:4] * acols[1], **hr)


_READERS: list[tuple[Callable[[str], bool], Callable[[Path, str], LoadedSession]]] = [
    (lambda first: bool(_PSL_ACC.match(first)), _read_psl),
    (_phyphox_sniff, _read_phyphox),
    (_sensorlogger_sniff, _read_sensorlogger),
    (_metabase_sniff, _read_metabase),
    (_generic_sniff, _read_generic),
]
