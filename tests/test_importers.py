"""Importers: every supported export (real Polar Sensor Logger fixture, documented headers for the rest)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from calfsense.cli import main
from calfsense.dsp.detect import detect
from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, Simulation, simulate
from calfsense.errors import InputFileError
from calfsense.session.importers import load

FIXTURES = Path(__file__).parent / "fixtures"
G = 9.80665


@pytest.fixture(scope="module")
def sim() -> Simulation:
    segs = [Segment("idle", 3.0), Segment("set", set_plan=SetPlan("two-leg", 5, TEMPOS["hret"])), Segment("idle", 3.0)]
    return simulate(segs, "foot", 100.0, seed=4)


def _reps(path: Path) -> int:
    s = load(path)
    return len(detect(s.time_s, s.acc_mg, "foot").reps)


def test_polar_sensor_logger_real_export() -> None:
    s = load(FIXTURES / "psl" / "Polar_Sense_A40F6F28_20220425_113903_ACC.txt")
    assert s.format == "polar-sensor-logger" and s.model == "Polar Sense"
    assert len(s.time_s) == 2000
    assert 51.0 < s.sample_rate_hz < 52.5  # 51.7 Hz measured by the vendor's own clock
    assert s.acc_mg[0].tolist() == [-777.0, 436.0, -499.0]
    assert 900 < np.median(np.linalg.norm(s.acc_mg, axis=1)) < 1100
    assert len(s.hr_bpm) == 44 and s.hr_bpm[0] == 66
    assert [e.text for e in s.events if e.kind == "marker"] == ["MARKER_START", "MARKER_STOP"]
    # Sensor time is ~2.1 s earlier than the phone time: the first sample maps before the first HR row.
    assert s.hr_time_s[0] < 0


def _phyphox(path: Path, sim: Simulation, delim: str, decimal_comma: bool, linear: bool = False) -> Path:
    kind = "Linear Acceleration" if linear else "Acceleration"
    names = ["Time (s)", f"{kind} x (m/s^2)", f"{kind} y (m/s^2)", f"{kind} z (m/s^2)", "Absolute acceleration (m/s^2)"]
    a = sim.acc_mg / 1000 * G
    lines = [delim.join(f'"{n}"' for n in names)]
    for t, row in zip(sim.time_s, a, strict=True):
        vals = [t, *row, float(np.linalg.norm(row))]
        cells = [f"{v:.9E}" for v in vals]
        if decimal_comma:
            cells = [c.replace(".", ",") for c in cells]
        lines.append(delim.join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("delim", "comma"), [(",", False), ("\t", False), (";", True)])
def test_phyphox_dialects(tmp_path: Path, sim: Simulation, delim: str, comma: bool) -> None:
    path = _phyphox(tmp_path / "Raw Data.csv", sim, delim, comma)
    s = load(path)
    assert s.format == "phyphox"
    assert np.allclose(s.acc_mg, sim.acc_mg, atol=0.01)
    assert _reps(path) == 5


def test_phyphox_without_g_is_refused_with_advice(tmp_path: Path, sim: Simulation) -> None:
    path = _phyphox(tmp_path / "Raw Data.csv", sim, ",", False, linear=True)
    with pytest.raises(InputFileError, match="without g") as exc:
        load(path)
    assert "Acceleration with g" in exc.value.advice


def _sensorlogger(path: Path, t_ns: np.ndarray, acc_ms2: np.ndarray) -> Path:
    lines = ["time,seconds_elapsed,z,y,x"]
    for t, (x, y, z) in zip(t_ns, acc_ms2, strict=True):
        lines.append(f"{int(t)},{(t - t_ns[0]) / 1e9:.6f},{z:.6f},{y:.6f},{x:.6f}")  # z, y, x order
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sensor_logger_total_acceleration(tmp_path: Path, sim: Simulation) -> None:
    t_ns = (1_767_620_467_350_470_700 + sim.time_s * 1e9).astype(np.int64)
    path = _sensorlogger(tmp_path / "TotalAcceleration.csv", t_ns, sim.acc_mg / 1000 * G)
    s = load(path)
    assert s.format == "sensor-logger"
    assert np.allclose(s.acc_mg, sim.acc_mg, atol=0.01)  # the z,y,x order is undone
    assert _reps(path) == 5


def test_sensor_logger_accelerometer_plus_gravity(tmp_path: Path, sim: Simulation) -> None:
    t_ns = (1_767_620_467_350_470_700 + sim.time_s * 1e9).astype(np.int64)
    total = sim.acc_mg / 1000 * G
    gravity = np.tile(np.median(total, axis=0), (len(total), 1))
    _sensorlogger(tmp_path / "Gravity.csv", t_ns, gravity)
    path = _sensorlogger(tmp_path / "Accelerometer.csv", t_ns, total - gravity)
    s = load(path)
    assert np.allclose(s.acc_mg, sim.acc_mg, atol=0.01)
    (tmp_path / "Gravity.csv").unlink()
    with pytest.raises(InputFileError, match="Gravity.csv"):
        load(path)


def test_metabase(tmp_path: Path, sim: Simulation) -> None:
    path = tmp_path / "calf_MetaWear_2019-01-14T14.27.01.400_D4:3D:7E:1A:2B:3C_Accelerometer_100.000Hz_1.4.4.csv"
    start = dt.datetime(2019, 1, 14, 14, 27, 1, 400000)
    lines = ["epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)"]
    for t, (x, y, z) in zip(sim.time_s, sim.acc_mg / 1000, strict=True):
        stamp = start + dt.timedelta(seconds=float(t))
        lines.append(
            f"{1547472421400 + int(t * 1000)},{stamp.isoformat(timespec='milliseconds')},{t:.3f},"
            f"{x:.3f},{y:.3f},{z:.3f}"
        )
    path.write_text("\n".join(lines) + "\n")
    s = load(path)
    assert s.format == "metabase" and s.device == "MetaWear D4:3D:7E:1A:2B:3C"
    assert _reps(path) == 5


@pytest.mark.parametrize(
    ("header", "delim", "time_scale", "acc_scale"),
    [
        ("time_s,ax_g,ay_g,az_g", ",", 1.0, 1e-3),
        ("t,x_mg,y_mg,z_mg", ",", 1.0, 1.0),
        ("timestamp_ms;X [mg];Y [mg];Z [mg]", ";", 1000.0, 1.0),
        ("time [ns]\tax_ms2\tay_ms2\taz_ms2", "\t", 1e9, G / 1000),
        ("seconds,acc_x_mps2,acc_y_mps2,acc_z_mps2", ",", 1.0, G / 1000),
    ],
)
def test_generic_csv(
    tmp_path: Path, sim: Simulation, header: str, delim: str, time_scale: float, acc_scale: float
) -> None:
    path = tmp_path / "data.txt"
    rows = [header] + [
        delim.join([f"{t * time_scale:.6f}", *(f"{v * acc_scale:.6f}" for v in a)])
        for t, a in zip(sim.time_s, sim.acc_mg, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")
    s = load(path)
    assert s.format == "csv"
    assert np.allclose(s.acc_mg, sim.acc_mg, atol=0.01)
    assert _reps(path) == 5


BAD_INPUTS = {
    "empty": b"",
    "binary": bytes(range(256)) * 20,
    "wrong delimiter": b"time_s|ax_g|ay_g|az_g\n0|0|0|1\n0.01|0|0|1\n",
    "missing columns": b"time_s,ax_g,ay_g\n0,0,0\n0.01,0,0\n",
    "no units": b"time_s,ax,ay,az\n0,0,0,1\n0.01,0,0,1\n",
    "time backwards": b"time_s,ax_g,ay_g,az_g\n" + b"".join(f"{(i * 7) % 13},0,0,1\n".encode() for i in range(40)),
    "nan": b"time_s,ax_g,ay_g,az_g\n" + b"".join(f"{i / 100},nan,0,1\n".encode() for i in range(40)),
    "just a header": b"time_s,ax_g,ay_g,az_g\n",
    "psl hr file": b"Phone timestamp;HR [bpm]\n2022-04-25T11:39:02.323;66\n",
    "truncated native": b'{"k":"header","format":"calfsense.recording","version":1}\n',
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2(tmp_path: Path, name: str) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes(BAD_INPUTS[name])
    with pytest.raises(InputFileError):
        load(path)
    for command in (["replay", str(path)], ["info", str(path)], ["export", str(path), "--csv"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, (name, command, result.output)
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("calfsense: error:")
        assert "Traceback" not in result.stderr


def test_directory_and_missing_file(tmp_path: Path) -> None:
    for target in (tmp_path, tmp_path / "nope.csv"):
        result = CliRunner().invoke(main, ["replay", str(target)])
        assert result.exit_code == 2 and "Traceback" not in result.stderr
    result = CliRunner().invoke(main, ["--debug", "replay", str(tmp_path)])
    assert result.exit_code != 0 and isinstance(result.exception, InputFileError)  # --debug re-raises


def test_outputs_are_never_overwritten_without_force(tmp_path: Path) -> None:
    src = tmp_path / "psl"
    shutil.copytree(FIXTURES / "psl", src)
    acc = src / "Polar_Sense_A40F6F28_20220425_113903_ACC.txt"
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    result = CliRunner().invoke(main, ["export", str(acc), "--csv", "-o", str(out)])
    assert result.exit_code == 2 and "--force" in result.stderr and out.read_text() == "keep me"
    result = CliRunner().invoke(main, ["export", str(acc), "--csv", "-o", str(out), "--force"])
    assert result.exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "time_s,ax_mg,ay_mg,az_mg,hr_bpm"
    assert sum(line.split(",")[1] != "" for line in lines[1:]) == 2000  # the samples, and heart-rate-only rows
