"""A private D-Bus with bluezoo (patched) standing in for BlueZ, so bleak's real backend runs here."""

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CENTRAL = "11:22:33:44:55:01"
PERIPHERAL = "A0:9E:1A:5A:1F:0C"


def _missing() -> str | None:
    if shutil.which("dbus-daemon") is None:
        return "dbus-daemon is not installed (apt-get install dbus-daemon)"
    try:
        import bluezoo  # noqa: F401
        import dbus_fast  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[e2e]')"
    return None


@pytest.fixture(scope="session")
def bluez() -> Iterator[str]:
    """Start the bus and bluezoo; yield the bus address (also exported as DBUS_SYSTEM_BUS_ADDRESS)."""
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"end-to-end prerequisite missing on CI: {reason}")
        pytest.skip(reason)
    tmp = Path(tempfile.mkdtemp(prefix="calfsense-bus-"))
    socket = tmp / "system_bus_socket"
    bus = subprocess.Popen(
        [
            "dbus-daemon",
            f"--config-file={HERE / 'bus.conf'}",
            f"--address=unix:path={socket}",
            "--nofork",
            "--print-address=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    address = bus.stdout.readline().strip() if bus.stdout else ""
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    zoo = subprocess.Popen(
        [sys.executable, str(HERE / "bluezoo_launcher.py"), CENTRAL, PERIPHERAL],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    line = zoo.stdout.readline().strip() if zoo.stdout else ""
    if line != "READY":
        for proc in (zoo, bus):
            proc.kill()
            proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()
        pytest.fail(f"bluezoo did not start ({line!r})")
    old = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
    try:
        yield address
    finally:
        if old is None:
            os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = old
        for proc in (zoo, bus):
            proc.terminate()
            proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here runs bleak's real BlueZ backend against an emulated sensor: `-m "not e2e"` skips them."""
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
