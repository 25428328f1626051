"""Private, safe writes: 0600 files in 0700 directories whatever the umask; outputs checked before any side effect."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from calfsense import history
from calfsense.cli import main
from calfsense.config import Config, save_config
from calfsense.session.recording import RecordingHeader, RecordingWriter

SAMPLE = Path(__file__).parent.parent / "recordings" / "two-sets-verity-foot-dropout.csrec.jsonl"


@pytest.fixture(autouse=True)
def _loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual one: files 0644, directories 0755 unless calfsense says otherwise
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stderr


def test_history_config_and_recordings_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data" / "calfsense"
    monkeypatch.setenv("CALFSENSE_DATA_DIR", str(data))
    with contextlib.closing(history.connect()) as db:
        db.execute("SELECT 1")
    assert mode(data) == 0o700 and mode(history.default_path()) == 0o600
    assert mode(data.parent) == 0o700  # a parent it had to create too
    wal = history.default_path().with_name("history.sqlite3-wal")
    assert not wal.exists() or mode(wal) == 0o600

    cfg_path = tmp_path / "config" / "calfsense" / "config.toml"
    save_config(Config(default="Polar H10 5A1F0C2B"), cfg_path)
    assert mode(cfg_path.parent) == 0o700 and mode(cfg_path) == 0o600

    rec = tmp_path / "session.csrec.jsonl"
    RecordingWriter(rec, RecordingHeader(device_name="Polar H10 5A1F0C2B", model="H10")).close()
    assert mode(rec) == 0o600


def test_an_older_loose_history_is_tightened_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    monkeypatch.setenv("CALFSENSE_DATA_DIR", str(data))
    db_path = history.default_path()
    db_path.touch(mode=0o644)
    with contextlib.closing(history.connect()):
        pass
    assert mode(data) == 0o700 and mode(db_path) == 0o600


def test_outputs_are_private_and_whole(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    code, _ = run("replay", str(SAMPLE), "--json", "-o", str(out), "--no-save")
    assert code == 0 and mode(out) == 0o600 and json.loads(out.read_text())["summary"]["reps"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary file left behind


def test_an_existing_output_fails_before_anything_is_saved(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("mine\n")
    code, err = run("replay", str(SAMPLE), "--json", "-o", str(out))
    assert code == 2 and err.count("\n") == 1 and "exists" in err and "--force" in err
    assert out.read_text() == "mine\n"
    with contextlib.closing(history.connect()) as db:
        assert history.sessions(db) == []  # nothing saved for a run that failed


def test_a_symlink_at_the_output_is_replaced_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    link = tmp_path / "report.json"
    link.symlink_to(target)  # dangling: writing through it would create `target`
    code, _ = run("replay", str(SAMPLE), "--json", "-o", str(link), "--no-save", "--force")
    assert code == 0 and not target.exists() and not link.is_symlink() and mode(link) == 0o600


@pytest.mark.parametrize("command", [["simulate", "-o"], ["replay", str(SAMPLE), "--json", "--no-save", "-o"]])
def test_a_missing_directory_is_an_error_for_every_command(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "no" / "such" / "out.json"
    code, err = run(*command, str(missing))
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err
    assert not (tmp_path / "no").exists()
