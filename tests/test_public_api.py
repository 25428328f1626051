"""The public API: what each package exports exists, and light entry points stay light."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PUBLIC = {
    "calfsense": {"CalfsenseError", "FrameError", "__version__"},
    "calfsense.dsp": {"PARAMS", "Detector", "DetectorParams", "Rep", "RepSet", "Session", "detect"},
}


@pytest.mark.parametrize("name", ["calfsense", "calfsense.protocol", "calfsense.dsp", "calfsense.dsp.detect"])
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
    assert len(set(module.__all__)) == len(module.__all__)


@pytest.mark.parametrize(("name", "expected"), sorted(PUBLIC.items()))
def test_the_public_names_are_pinned(name: str, expected: set[str]) -> None:
    # Changing what a package exports is a decision: make it here, on purpose.
    assert set(importlib.import_module(name).__all__) == expected


def test_reading_a_recording_does_not_load_the_detector() -> None:
    # `calfsense info` and the importers start without scipy (about 0.7 s to import).
    code = "import sys, calfsense.cli, calfsense.session.importers; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_counting_a_session_does_not_load_scipy() -> None:
    # The detector's filters are numpy (dsp/iir.py): scipy.signal alone took 0.7 s to import, half a replay.
    code = "import sys, calfsense.report, calfsense.dsp.detect; print(sorted(m for m in sys.modules if 'scipy' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_pure_core_imports_no_bleak_asyncio_or_click() -> None:
    pure = [
        "calfsense.protocol.pmd",
        "calfsense.protocol.gatt",
        "calfsense.protocol.phyphox",
        "calfsense.session.phyphox_rec",
        "calfsense.dsp.detect",
        "calfsense.dsp.simulate",
        "calfsense.routine",
        "calfsense.report",
        "calfsense.session.importers",
        "calfsense.session.recording",
    ]
    edge = {"bleak", "asyncio", "click"}
    code = f"import sys; [__import__(m) for m in {pure!r}]; print(sorted({edge!r} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_package_directory_ships() -> None:
    # pyproject lists the packages (recordings/ is mapped in as calfsense.recordings): a new one must be added.
    import tomllib

    root = Path(__file__).parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(d.relative_to(root).parts)
        for d in (root / "calfsense").rglob("*")
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
    } | {"calfsense"}
    assert found <= listed and {"calfsense.recordings", "calfsense.routines"} <= listed


@pytest.mark.slow
def test_an_installed_wheel_finds_its_sample_recordings_and_routines(tmp_path: Path) -> None:
    # `pip install .` (not editable) or pipx: the bundled samples are package data, not files beside a checkout.
    import zipfile

    root = Path(__file__).parent.parent
    wheel_dir, site, elsewhere = tmp_path / "wheel", tmp_path / "site", tmp_path / "cwd"
    elsewhere.mkdir()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheel_dir), "."],
        cwd=root,
        check=True,
        capture_output=True,
    )
    with zipfile.ZipFile(next(wheel_dir.glob("calfsense-*.whl"))) as whl:
        whl.extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = "import calfsense, calfsense.samples as s; p = s.sample_path(); print(calfsense.__file__, p, p.is_file())"
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    module, sample, exists = out.stdout.split()
    assert module.startswith(str(site)) and sample.startswith(str(site)) and exists == "True"
    # `live --simulate` and `replay` without a file both play the bundled sample found this way.
    run = [sys.executable, "-m", "calfsense.cli", "replay", "--json"]
    out = subprocess.run(run, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["summary"]["reps"] == 177 and "bundled sample" in out.stderr
