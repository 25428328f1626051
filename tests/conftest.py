"""Shared test setup: every test gets its own history database (never the user's)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.mktemp("calfsense-data")
    monkeypatch.setenv("CALFSENSE_DATA_DIR", str(path))
    return path
