"""Session history in SQLite: one row per recording (idempotent), one per set, with progression queries.

The database lives in the user data directory. WAL mode, a busy timeout and one transaction per
save let two processes save at once without corrupting it; `PRAGMA user_version` holds the schema
version and `MIGRATIONS` bring any older file up to date.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calfsense.errors import CalfsenseError
from calfsense.files import open_private, private_dir, tighten
from calfsense.report_model import Report


def data_dir() -> Path:
    """The user data directory (CALFSENSE_DATA_DIR overrides it, for tests): history and live recordings."""
    import os

    override = os.environ.get("CALFSENSE_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("calfsense", appauthor=False))


def default_path() -> Path:
    """`history.sqlite3` in the user data directory."""
    return data_dir() / "history.sqlite3"


def _script(db: sqlite3.Connection, sql: str) -> None:
    # Not executescript(): it commits first, and migrations must run inside the caller's transaction.
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE session (
            id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            started TEXT NOT NULL,
            device TEXT,
            placement TEXT,
            routine TEXT,
            compliance REAL,
            report TEXT NOT NULL
        );
        CREATE TABLE set_result (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES session(id) ON DELETE CASCADE,
            set_index INTEGER NOT NULL,
            exercise TEXT,
            side TEXT,
            reps INTEGER NOT NULL,
            reps_prescribed INTEGER,
            on_tempo_pct REAL,
            height_cm REAL,
            compliance REAL
        );
        CREATE INDEX set_result_session ON set_result(session_id);
        """,
    )


def _v2(db: sqlite3.Connection) -> None:
    # Version 2: heights per side need the work done; keep the summed heel travel per set.
    db.execute("ALTER TABLE set_result ADD COLUMN travel_cm REAL")
    db.execute("CREATE INDEX session_started ON session(started)")


def _v3(db: sqlite3.Connection) -> None:
    # Version 3: heel-rise tests, one row per recording, for the progression of reps and symmetry.
    _script(
        db,
        """
        CREATE TABLE heel_rise_test (
            id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            started TEXT NOT NULL,
            left_reps INTEGER,
            right_reps INTEGER,
            lsi_reps REAL,
            lsi_travel REAL,
            lsi_work REAL,
            result TEXT NOT NULL
        );
        CREATE INDEX heel_rise_test_started ON heel_rise_test(started)
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3]
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path | None = None) -> sqlite3.Connection:
    """Open (creating and migrating) the history database."""
    p = path or default_path()
    private_dir(p.parent)
    # Created 0600 before SQLite opens it (its journal files take the database file's mode).
    with contextlib.suppress(FileExistsError):
        os.close(open_private(p))
    for part in (p, p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm")):
        tighten(part)
    try:
        db = sqlite3.connect(p, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        _use_wal(db)
        db.execute("PRAGMA foreign_keys=ON")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        raise CalfsenseError(
            f"cannot open the history database {p}: {exc}", "move the file away to start afresh"
        ) from exc
    return db


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch a database to WAL once; processes opening a fresh one at once take turns.

    Changing the journal mode needs the database to itself and SQLite answers "locked" at once, without
    the busy handler, when another connection holds it: so wait and retry (once WAL, the mode persists
    in the file and every later open finds it set).
    """
    for attempt in range(200):
        try:
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        time.sleep(min(0.2, 0.005 * (attempt + 1)))
    raise sqlite3.OperationalError("could not switch the history database to WAL: it stayed locked")


def migrate(db: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION, one migration per transaction; returns the version."""
    while True:
        db.execute("BEGIN IMMEDIATE")  # one writer migrates; the others wait, then see the new version
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                db.execute("ROLLBACK")
                raise CalfsenseError(
                    f"the history database is from a newer calfsense (schema {version})", "update calfsense"
                )
            if version == SCHEMA_VERSION:
                db.execute("COMMIT")
                return version
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version={version + 1}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


def fingerprint(path: str | Path) -> str:
    """A recording's identity: the hash of its content, so a moved or renamed file is the same session."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Saved(enum.Enum):
    """What saving a session did."""

    NEW = "new"
    UPDATED = "updated"  # the same recording again, with another routine or placement: its report replaced
    UNCHANGED = "unchanged"


def save(
    db: sqlite3.Connection, report: Report, fp: str, started: str | None = None, path: str | Path | None = None
) -> tuple[Saved, int]:
    """Store a report under its recording's fingerprint; returns what happened and the session's id.

    The same recording saved again with the same report changes nothing; with another report (another
    routine or placement) it replaces the old one, so the history holds each session once, as last analysed.
    """
    src = report.source
    when = started or src.start_wall or dt.datetime.now().astimezone().isoformat(timespec="seconds")
    where = str(Path(path).resolve()) if path is not None else src.path
    body = json.dumps(report.to_json())
    db.execute("BEGIN IMMEDIATE")
    try:
        row = db.execute("SELECT id, report FROM session WHERE fingerprint = ?", (fp,)).fetchone()
        if row is not None and row[1] == body:
            db.execute("COMMIT")
            return Saved.UNCHANGED, int(row[0])
        values = (where, when, src.device, src.placement, report.summary.routine, report.summary.compliance, body)
        if row is None:
            cur = db.execute(
                "INSERT INTO session (path, started, device, placement, routine, compliance, report, fingerprint)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, fp),
            )
            sid, what = int(cur.lastrowid or 0), Saved.NEW
        else:
            sid, what = int(row[0]), Saved.UPDATED
            db.execute(
                "UPDATE session SET path = ?, started = ?, device = ?, placement = ?, routine = ?, compliance = ?,"
                " report = ? WHERE id = ?",
                (*values, sid),
            )
            db.execute("DELETE FROM set_result WHERE session_id = ?", (sid,))
        for s in report.sets:
            v = s.verdict
            heights = [r.height_cm for r in s.reps if r.height_cm is not None]
            db.execute(
                "INSERT INTO set_result (session_id, set_index, exercise, side, reps, reps_prescribed, on_tempo_pct,"
                " height_cm, compliance, travel_cm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sid,
                    s.index,
                    s.exercise,
                    s.side,
                    len(s.reps),
                    v.reps_prescribed if v else None,
                    v.tempo.on_tempo_pct if v else None,
                    sum(heights) / len(heights) if heights else None,
                    v.compliance if v else None,
                    sum(heights) if heights else None,
                ),
            )
        db.execute("COMMIT")
        return what, sid
    except BaseException:
        db.execute("ROLLBACK")
        raise


def delete(db: sqlite3.Connection, session_id: int) -> bool:
    """Remove one saved session and its sets (the recording file is left alone); False if there is none."""
    db.execute("BEGIN IMMEDIATE")
    try:
        cur = db.execute("DELETE FROM session WHERE id = ?", (session_id,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return cur.rowcount > 0


def count(db: sqlite3.Connection) -> int:
    """How many sessions are saved, whatever a filter keeps."""
    return int(db.execute("SELECT COUNT(*) FROM session").fetchone()[0])


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One saved session, summarised for the progression table."""

    id: int
    started: str
    placement: str | None
    path: str
    routine: str | None
    reps: int
    sets: int
    on_tempo_pct: float | None
    height_cm: float | None
    compliance: float | None
    left_reps: int
    right_reps: int
    left_travel_cm: float
    right_travel_cm: float

    @property
    def symmetry_index_pct(self) -> float | None:
        """Limb symmetry index as clinics compute it: weaker side / stronger side x 100 (heel travel)."""
        a, b = self.left_travel_cm, self.right_travel_cm
        if a <= 0 or b <= 0:
            return None
        return 100.0 * min(a, b) / max(a, b)


def sessions(db: sqlite3.Connection, exercise: str | None = None, since: str | None = None) -> list[SessionRow]:
    """Saved sessions in time order, optionally only one exercise's sets and from a date on."""
    q = (
        "SELECT s.id, s.started, s.placement, s.path, s.routine, COUNT(r.id), COALESCE(SUM(r.reps), 0),"
        " AVG(r.on_tempo_pct), AVG(r.height_cm), s.compliance,"
        " COALESCE(SUM(CASE WHEN r.side = 'left' THEN r.reps END), 0),"
        " COALESCE(SUM(CASE WHEN r.side = 'right' THEN r.reps END), 0),"
        " COALESCE(SUM(CASE WHEN r.side = 'left' THEN r.travel_cm END), 0),"
        " COALESCE(SUM(CASE WHEN r.side = 'right' THEN r.travel_cm END), 0)"
        " FROM session s LEFT JOIN set_result r ON r.session_id = s.id"
    )
    args: list[Any] = []
    where = []
    if exercise:
        where.append("r.exercise = ?")
        args.append(exercise)
    if since:
        where.append("s.started >= ?")
        args.append(since)
    if where:
        q += " WHERE " + " AND ".join(where)
    q += " GROUP BY s.id ORDER BY s.started"
    out = []
    for row in db.execute(q, args):
        sid, started, placement, path, routine, nsets, reps, tempo, height, comp, lr, rr, lt, rt = row
        out.append(
            SessionRow(
                int(sid),
                started,
                placement,
                path,
                routine,
                int(reps),
                int(nsets),
                tempo,
                height,
                comp,
                int(lr),
                int(rr),
                float(lt),
                float(rt),
            )
        )
    return out


def weekly_volume(rows: list[SessionRow]) -> dict[str, int]:
    """Reps per ISO week ('2026-W48')."""
    out: dict[str, int] = {}
    for r in rows:
        try:
            d = dt.datetime.fromisoformat(r.started)
        except ValueError:
            continue
        year, week, _ = d.isocalendar()
        key = f"{year}-W{week:02d}"
        out[key] = out.get(key, 0) + r.reps
    return out


@dataclass(frozen=True, slots=True)
class TestRow:
    """One saved heel-rise test."""

    id: int
    started: str
    path: str
    left_reps: int | None
    right_reps: int | None
    lsi_reps: float | None
    lsi_travel: float | None
    lsi_work: float | None


def save_test(db: sqlite3.Connection, fp: str, path: str | Path, started: str, result: dict[str, Any]) -> int:
    """Store a heel-rise test's result (`TestResult.to_json()`), replacing one of the same recording."""
    legs = {leg["side"]: leg for leg in result.get("legs", [])}
    sym = result.get("symmetry") or {}
    values = (
        str(Path(path).resolve()),
        started,
        legs.get("left", {}).get("reps"),
        legs.get("right", {}).get("reps"),
        sym.get("reps_pct"),
        sym.get("displacement_pct"),
        sym.get("work_pct"),
        json.dumps(result),
    )
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM heel_rise_test WHERE fingerprint = ?", (fp,))
        cur = db.execute(
            "INSERT INTO heel_rise_test (path, started, left_reps, right_reps, lsi_reps, lsi_travel, lsi_work, result,"
            " fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*values, fp),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return int(cur.lastrowid or 0)


def tests(db: sqlite3.Connection) -> list[TestRow]:
    """Saved heel-rise tests in time order."""
    rows = db.execute(
        "SELECT id, started, path, left_reps, right_reps, lsi_reps, lsi_travel, lsi_work FROM heel_rise_test"
        " ORDER BY started"
    )
    return [TestRow(*row) for row in rows]
