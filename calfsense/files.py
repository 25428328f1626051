"""Files calfsense writes: private (0600 in 0700 directories, whatever the umask) and never half-written.

Health data (heart rate, training history) and the paired sensors stay the user's: every file created
here is 0600 and every directory 0700, set explicitly rather than left to the umask. Whole-file outputs
go to a temporary file in the target directory and are renamed into place, so a crash or a full disk
never leaves half a report, and a symlink at the target is replaced, never followed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import IO

from calfsense.errors import CalfsenseError

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents as 0700; an existing calfsense directory is tightened to 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):  # the parents calfsense creates are as private as the directory itself
        with contextlib.suppress(FileExistsError):
            p.mkdir(mode=DIR_MODE)
            p.chmod(DIR_MODE)  # mkdir's mode is cut by the umask
    with contextlib.suppress(OSError):  # not ours to change (a read-only mount): the files are still 0600
        if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
            path.chmod(DIR_MODE)
    return path


def tighten(path: Path) -> None:
    """Make an existing file 0600 (files written by older versions, under a loose umask)."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(FILE_MODE)


def check_new(path: Path, force: bool) -> None:
    """Refuse, before any side effect, an output that exists (unless `force`), is a directory, or has no parent."""
    if path.is_dir():
        raise CalfsenseError(f"{path} is a directory", "give a file name")
    if not path.parent.is_dir():
        raise CalfsenseError(f"{path.parent} does not exist", "create the directory first, or write elsewhere")
    if (path.exists() or path.is_symlink()) and not force:
        raise CalfsenseError(f"{path} exists", "use --force to overwrite")


def write_private(path: Path, data: str | bytes, force: bool = False) -> Path:
    """Write a whole file atomically as 0600: a temporary file beside it, synced, then renamed into place."""
    check_new(path, force)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        if not force and (path.exists() or path.is_symlink()):  # appeared meanwhile: never overwrite unasked
            raise CalfsenseError(f"{path} exists", "use --force to overwrite")
        os.replace(tmp, path)  # replaces a symlink at `path` itself, never what it points to
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def open_private(path: Path, force: bool = False) -> int:
    """Open a new file for streaming writes as 0600 (exclusive unless `force`; a symlink is not followed)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


class PrivateLog(logging.Handler):
    """A session's log file (tracebacks the screen only summarises), created 0600 on its first record."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.INFO)
        self.path = path
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._fh: IO[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Append one record (the file appears only when there is something to say)."""
        try:
            if self._fh is None:
                flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
                fd = os.open(self.path, flags, FILE_MODE)
                os.fchmod(fd, FILE_MODE)
                self._fh = os.fdopen(fd, "a", encoding="utf-8")
            self._fh.write(self.format(record) + "\n")
            self._fh.flush()
        except OSError:
            self.handleError(record)

    def close(self) -> None:
        """Close the file, if it was ever opened."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        super().close()
