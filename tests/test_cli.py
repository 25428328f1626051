"""The command line: JSON shapes, one-line errors with exit status 2, no tracebacks."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from calfsense.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_decode_pmd_prints_the_documented_json() -> None:
    code, out, _ = run("debug", "decode-pmd", "02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")
    assert code == 0
    assert json.loads(out) == {
        "measurement": "acc",
        "frame_type": 129,
        "compressed": True,
        "timestamp_ns": 101,
        "unit": "mG",
        "samples": [[-15, 20, 1008], [-20, 17, 1008]],
    }


def test_decode_pmd_gyro_with_rate() -> None:
    code, out, _ = run("debug", "decode-pmd", "05010000000000000080EAFF08000D000301DF00", "--rate", "52")
    data = json.loads(out)
    assert code == 0 and data["measurement"] == "gyro" and data["unit"] == "deg/s"
    assert data["sample_timestamps_ns"][-1] == 1


def test_decode_hr_prints_the_documented_json() -> None:
    code, out, _ = run("debug", "decode-hr", "11 00 00 FF FF 7F 80")
    assert code == 0
    assert json.loads(out) == {
        "heart_rate_bpm": 0,
        "contact": None,
        "energy_kj": None,
        "rr_ms": [63999, 32124],
    }


@pytest.mark.parametrize(
    "args",
    [
        ("debug", "decode-pmd", "0201"),
        ("debug", "decode-pmd", "zz"),
        ("debug", "decode-pmd", "0200000000000000000901"),
        ("debug", "decode-hr", "10"),
        ("debug", "decode-hr", "08 00 01"),
    ],
)
def test_malformed_input_is_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("calfsense: error:")
    assert "Traceback" not in err


def test_simulate_writes_samples_and_truth_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "s.csv"
    code, out, _ = run(
        "simulate", "-o", str(target), "--format", "csv", "--placement", "foot", "--reps", "3", "--rest", "10"
    )
    assert code == 0 and "9 reps in 3 sets" in out
    truth = json.loads((tmp_path / "s.csv.truth.json").read_text())
    assert truth["synthetic"] and len(truth["reps"]) == 9
    assert target.read_text().splitlines()[1] == "time_s,ax_mg,ay_mg,az_mg"
    before = target.read_bytes()
    code, _, err = run("simulate", "-o", str(target))
    assert code == 2 and "--force" in err and target.read_bytes() == before
    code, _, err = run("simulate", "-o", str(tmp_path / "c.csv"), "--placement", "chest", "--exercise", "seated")
    assert code == 2 and "cannot see a seated" in err


def test_simulate_native_recording_replays_to_its_truth(tmp_path: Path) -> None:
    target = tmp_path / "s.csrec.jsonl"
    code, out, _ = run(
        "simulate",
        "-o",
        str(target),
        "--placement",
        "foot",
        "--reps",
        "4",
        "--rest",
        "10",
        "--device",
        "h10",
        "--seed",
        "3",
    )
    assert code == 0 and "H10 notifications" in out
    truth = json.loads((tmp_path / "s.csrec.jsonl.truth.json").read_text())
    code, out, _ = run("replay", str(target), "--json")
    report = json.loads(out)
    assert [len(s["reps"]) for s in report["sets"]] == [s["reps"] for s in truth["sets"]]


@pytest.mark.parametrize(
    "args",
    [
        ["live", "--simulate", "--speed", "nan"],
        ["live", "--simulate", "--speed", "inf"],
        ["simulate", "-o", "x.csrec.jsonl", "--rest", "nan"],
        ["simulate", "-o", "x.csrec.jsonl", "--seed", "-1"],
        ["scan", "--timeout", "nan"],
        ["debug", "decode-pmd", "--factor", "inf", "00"],
        ["replay", "--no-such-option"],
        ["no-such-command"],
    ],
)
def test_bad_values_and_usage_errors_are_one_line_exit_2(args: list[str]) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("calfsense: error: ") and "--help" in err, err


def test_names_of_any_unicode_round_trip_and_print_escaped(tmp_path: Path) -> None:
    from calfsense.config import Config, load_config, save_config
    from calfsense.text import markup_safe, printable

    path = tmp_path / "config.toml"
    for name in ["Polar H10 😀", "日本語 𝄞", 'quote"back\\slash', "[/bold]red", "bell\x07esc\x1b[31m", "tab\tnl\n"]:
        save_config(Config(default=name, sensors={name: {"address": "A0:9E", "model": "H10"}}), path)
        back = load_config(path)
        assert back.default == name and list(back.sensors) == [name]
    assert printable("esc\x1b[31m\u202e") == "esc\\x1b[31m\\u202e"  # no colour change, no reversed text
    assert printable("Polar H10 😀 日本語") == "Polar H10 😀 日本語"
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=False)
    console.print(f"[bold]{markup_safe('[/bold]x')}[/]")  # a name that closes a tag is shown, not applied
    assert "[/bold]x" in console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.slow  # pair connects to the virtual sensor
def test_every_command_that_prints_data_speaks_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALFSENSE_CONFIG_DIR", str(tmp_path))
    out = json.loads(run("routine", "list", "--json")[1])
    assert {r["name"] for r in out} >= {"runner-calves", "alfredson"} and sum(r["default"] for r in out) == 1
    shown = json.loads(run("routine", "show", "runner-calves", "--json")[1])
    assert len(shown["sets"]) == 12 and shown["sets"][0]["tempo"]["up_s"] == 2.0
    assert json.loads(run("devices", "--json")[1]) == []
    paired = json.loads(run("pair", "--simulate", "--json")[1])
    assert paired["model"] == "Polar Sense" and paired["placement"] == "shin" and paired["simulated"] is True
    assert [d["name"] for d in json.loads(run("devices", "--json")[1])] == [paired["name"]]
    demo = json.loads(run("demo", "--reps", "4", "--json")[1])
    assert demo["reps_per_set"] == demo["truth_reps_per_set"] == [4, 4, 4] and len(demo["reps"]) == 12
    made = json.loads(run("simulate", "-o", str(tmp_path / "s.csrec.jsonl"), "--reps", "5", "--json")[1])
    assert made["reps"] == 15 and Path(made["truth"]).is_file() and Path(made["recording"]).is_file()
