"""The public API: what each package exports exists, and light entry points stay light."""

from __future__ import annotations

import importlib
import subprocess
import sys

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


def test_the_pure_core_imports_no_bleak_asyncio_or_click() -> None:
    pure = [
        "calfsense.protocol.pmd",
        "calfsense.protocol.gatt",
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
