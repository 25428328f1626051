"""Every parser of outside bytes and text, fed mutated input: only calfsense's typed errors may escape.

The frame decoders have their own fuzzer (test_protocol_roundtrip.py); this covers the rest: PMD
features, settings options and requests, battery, device information, recordings line by line,
every importer, and routine TOML. FUZZ_SEED=n repeats a run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from calfsense.errors import CalfsenseError
from calfsense.protocol import gatt, pmd
from calfsense.routine import BUILTIN, parse_routine
from calfsense.session.importers import load
from tests.mutate import mutate_bytes

ROOT = Path(__file__).parent.parent


def _seed() -> random.Random:
    seed = int(os.environ.get("FUZZ_SEED", random.randrange(2**32)))
    print(f"FUZZ_SEED={seed}")
    return random.Random(seed)


TEXT_PIECES = ["", "0", "-1", "1e309", "nan", "inf", "-inf", "1e-320", '"', ",", ";", "\t", "\n", "\x00", "ü", "😀",
               "null", "[]", "{}", "true", "9" * 40, "0x1F", " ", "=", "[[set]]", "#"]  # fmt: skip


def _mutate_text(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        if not lines:
            lines = [rng.choice(TEXT_PIECES)]
        i = rng.randrange(len(lines))
        line = lines[i]
        op = rng.random()
        if op < 0.4 and line:
            j = rng.randrange(len(line))
            k = min(len(line), j + rng.randint(1, 6))
            lines[i] = line[:j] + rng.choice(TEXT_PIECES) + line[k:]
        elif op < 0.55:
            del lines[i]
        elif op < 0.7:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op < 0.85 and line:
            lines[i] = line[: rng.randrange(len(line))]
        else:
            lines[i] = line.replace(rng.choice([",", ";", '"', ":", "=", "1", "0"]), rng.choice(TEXT_PIECES))
    return "".join(lines)


def _only_typed_errors(rng: random.Random, parse: Callable[[], object], what: str) -> bool:
    try:
        parse()
    except CalfsenseError:
        return False
    except Exception as exc:  # pragma: no cover - the assertion is the point
        pytest.fail(f"{what}: {type(exc).__name__} escaped: {exc}")
    return True


def test_fuzz_pmd_features_settings_requests_battery_and_device_information() -> None:
    rng = _seed()
    seeds = [
        pmd.encode_features([pmd.MeasurementType.ACC, pmd.MeasurementType.ECG]),
        pmd.encode_settings_options(
            {pmd.SettingType.SAMPLE_RATE: [25, 50, 100, 200], pmd.SettingType.RANGE: [2, 4, 8]}
        ),
        pmd.build_start(pmd.MeasurementType.ACC, pmd.MeasurementSettings(200, 16, 8, 3)),
        pmd.build_factor_parameter(2.44e-4),
        bytes([87]),
        "Polar H10 ü".encode(),
    ]
    ok = 0
    for i in range(4000):
        data = (
            mutate_bytes(rng, rng.choice(seeds))
            if i % 4
            else bytes(rng.randrange(256) for _ in range(rng.randrange(20)))
        )

        def negotiate(d: bytes = data) -> object:
            options = pmd.parse_settings_options(d)
            settings = pmd.negotiate_settings(options, rng.choice([25, 52, 100, 200]), rng.choice([None, 2, 8]))
            return pmd.build_start(pmd.MeasurementType.ACC, settings)

        def factor(d: bytes = data) -> float:
            answer = pmd.parse_control_point(pmd.build_response(2, 2, 0, d))
            assert isinstance(answer, pmd.ControlPointResponse)
            value = answer.factor()
            assert np.isfinite(value) and value > 0
            return value

        for name, parse in [
            ("features", lambda d=data: pmd.parse_features(d)),
            ("settings options", negotiate),
            ("start factor", factor),
            ("request", lambda d=data: pmd.parse_request(d)),
            ("battery", lambda d=data: gatt.decode_battery_level(d)),
            ("device information", lambda d=data: gatt.decode_utf8(d)),
        ]:
            ok += _only_typed_errors(rng, parse, f"{name} {data.hex()}")
    assert ok > 2000  # the happy paths were reached too


def _bad_lines(rng: random.Random, text: str, rounds: int) -> list[str]:
    return [_mutate_text(rng, text) for _ in range(rounds)]


def test_fuzz_recordings_line_by_line(tmp_path: Path) -> None:
    from calfsense.session.decode import load_native

    rng = _seed()
    lines = (ROOT / "recordings" / "two-sets-verity-foot-dropout.csrec.jsonl").read_text().splitlines(keepends=True)
    ok = 0
    for n in range(150):
        # The header, the events and a stretch of frames: every kind of record gets mutated.
        body = lines[:1] + [line for line in lines[1:] if '"k":"e"' in line] + lines[1 + n : 40 + n]
        text = _mutate_text(rng, "".join(body))
        path = tmp_path / f"r{n}.csrec.jsonl"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        ok += _only_typed_errors(rng, lambda p=path: load_native(p), f"recording {path}")
    assert ok > 10


def _importer_texts() -> dict[str, str]:
    psl = ROOT / "tests" / "fixtures" / "psl" / "Polar_Sense_A40F6F28_20220425_113903_ACC.txt"
    g = 9.81
    rows = [(i / 100, 0.01 * i, -0.02, 0.98) for i in range(60)]
    phyphox = ["Time (s)", *(f"Acceleration {a} (m/s^2)" for a in "xyz"), "Absolute acceleration (m/s^2)"]
    metabase = "m_MetaWear_2019-01-14T14.27.01.400_D4:3D:7E:1A:2B:3C_Accelerometer_100.000Hz_1.4.4.csv"
    return {
        psl.name: "".join(psl.read_text().splitlines(keepends=True)[:60]),
        "Raw Data.csv": ",".join(f'"{n}"' for n in phyphox)
        + "\n"
        + "".join(f"{t:.9E},{x * g:.9E},{y * g:.9E},{z * g:.9E},9.81E0\n" for t, x, y, z in rows),
        "TotalAcceleration.csv": "time,seconds_elapsed,z,y,x\n"
        + "".join(f"{1767620467350470700 + int(t * 1e9)},{t:.6f},{z * g},{y * g},{x * g}\n" for t, x, y, z in rows),
        metabase: "epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
        + "".join(
            f"{1547472421400 + int(t * 1000)},2019-01-14T14:27:01.400,{t:.3f},{x},{y},{z}\n" for t, x, y, z in rows
        ),
        "data.csv": "time_s,ax_g,ay_g,az_g\n" + "".join(f"{t},{x},{y},{z}\n" for t, x, y, z in rows),
    }


def test_fuzz_every_importer(tmp_path: Path) -> None:
    rng = _seed()
    texts = _importer_texts()
    ok = 0
    for name, text in texts.items():
        clean = _write(tmp_path / "clean", name, text)
        assert _only_typed_errors(rng, lambda p=clean: load(p), name)  # the unmutated file loads
        for n in range(60):
            path = _write(tmp_path / f"{n}", name, _mutate_text(rng, text))
            ok += _only_typed_errors(rng, lambda p=path: load(p), f"{name} mutated: {path}")
    assert ok > 20


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    return path


def test_fuzz_routine_toml() -> None:
    rng = _seed()
    ok = 0
    for i in range(600):
        text = _mutate_text(rng, rng.choice(list(BUILTIN.values())))
        ok += _only_typed_errors(rng, lambda t=text: parse_routine(t, "fuzz.toml"), f"routine #{i}:\n{text}")
    assert ok > 50
