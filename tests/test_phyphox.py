"""A phone as a live sensor: phyphox's remote access, decoded from its documented answers, and live mode
against a real local HTTP server speaking the API (tests/phyphox_server.py), through pause, outage and replay."""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from calfsense.cli import main
from calfsense.dsp.detect import detect
from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, simulate
from calfsense.errors import CalfsenseError, FrameError, SensorNotFoundError
from calfsense.live_run import LiveOptions, run_live
from calfsense.protocol.phyphox import (
    MG_PER_MPS2,
    PhyphoxError,
    PhyphoxStream,
    WrongExperimentError,
    check_config,
)
from calfsense.report import detect_session
from calfsense.session.importers import load
from calfsense.sources.phyphox import PhyphoxSource, normalise_url
from tests.phyphox_server import CONFIG_WITH_G, CONFIG_WITHOUT_G, FakePhyphox, android_number

WITH_G = json.dumps(CONFIG_WITH_G).encode()
SPEED = 40.0  # the emulated phone's clock against the host's: polls every 30 ms are 1.2 s of its time


def _get(t: list[float], x: list[float | None], mode: str = "partial", session: str = "8eac23", measuring: bool = True):
    """A /get answer as Android writes it (its 8-digit numbers)."""

    def nums(values: list[float | None]) -> str:
        return ",".join("null" if v is None else android_number(v) for v in values)

    y = [0.0 if v is not None else None for v in x]
    z = [9.80665 for _ in x]
    buffers = [f'"acc_time":{{"size":0,"updateMode":"{mode}", "buffer":[{nums(list(t))}]}}']
    buffers += [
        f'"{n}":{{"size":0,"updateMode":"{mode}", "buffer":[{nums(v)}]}}'
        for n, v in (("accX", x), ("accY", y), ("accZ", z))
    ]
    status = (
        f'"status":{{"session":"{session}", "measuring":{str(measuring).lower()}, "timedRun":false, "countDown":0}}'
    )
    return ('{"buffer":{\n' + ",\n".join(buffers) + "\n},\n" + status + "\n}").encode()


def test_the_config_check_takes_acceleration_with_g_and_refuses_the_rest() -> None:
    assert check_config(WITH_G).buffers == ("acc_time", "accX", "accY", "accZ")
    with pytest.raises(WrongExperimentError, match="removes gravity"):
        check_config(json.dumps(CONFIG_WITHOUT_G).encode())
    magnetometer = {"title": "Magnetometer", "inputs": [{"source": "magnetometer", "outputs": [{"x": "magX"}]}]}
    with pytest.raises(WrongExperimentError, match="not 'Acceleration with g'"):
        check_config(json.dumps(magnetometer).encode())
    with pytest.raises(PhyphoxError):
        check_config(b"<html>")


def test_queries_ask_for_everything_then_only_what_is_new_and_nothing_comes_twice() -> None:
    stream = PhyphoxStream(check_config(WITH_G))
    assert stream.next_query() == "/get?acc_time=full&accX=full&accY=full&accZ=full"
    block = stream.push(_get([0.0047, 0.0147, 0.0247], [0.1, 0.2, 0.3], "full"), 1_000_000_000)
    assert np.allclose(block.time_s, [0.0, 0.01, 0.02]) and np.allclose(block.acc_mg[:, 2], 1000.0)
    assert np.allclose(block.acc_mg[:, 0], np.array([0.1, 0.2, 0.3]) * MG_PER_MPS2)
    assert (
        stream.next_query()
        == "/get?acc_time=0.0247&accX=0.0247%7Cacc_time&accY=0.0247%7Cacc_time&accZ=0.0247%7Cacc_time"
    )
    # After a lost link everything is asked for again; what was seen is not taken twice.
    stream.restart()
    assert stream.next_query().endswith("accZ=full")
    again = stream.push(_get([0.0047, 0.0147, 0.0247, 0.0347], [0.1, 0.2, 0.3, 0.4], "full"), 1_100_000_000)
    assert np.allclose(again.time_s, [0.03]) and not again.restarted


def test_a_clear_a_new_session_and_a_pause_are_gaps_of_the_time_that_passed_never_time_going_back() -> None:
    stream = PhyphoxStream(check_config(WITH_G))
    stream.push(_get([0.01, 0.02, 5.0], [0.0, 0.0, 0.0], "full"), 0)
    # A new session (the app restarted) 3 s later: its clock starts again at 0.
    block = stream.push(_get([0.01, 0.02], [0.0, 0.0], "full", session="8eac24"), 3_000_000_000)
    assert block.restarted and block.time_s[0] == pytest.approx(5.0 - 0.01 + 3.0, abs=0.02)
    # Paused for 4 s: the experiment's clock stood still, the time line did not.
    stream.push(_get([], [], "partial", session="8eac24", measuring=False), 4_000_000_000)
    resumed = stream.push(_get([0.03, 0.04], [0.0, 0.0], "full", session="8eac24"), 8_000_000_000)
    assert resumed.time_s[0] > block.time_s[-1] + 4.0
    # iOS sends "nan" as a string, and may append t before x: pairs by index, drops what is not a number.
    ios = json.dumps(
        {
            "buffer": {
                "acc_time": {"size": 0, "updateMode": "partial", "buffer": [0.05, 0.06, 0.07]},
                "accX": {"size": 0, "updateMode": "partial", "buffer": [0.1, "nan"]},
                "accY": {"size": 0, "updateMode": "partial", "buffer": [0.0, 0.0]},
                "accZ": {"size": 0, "updateMode": "partial", "buffer": [9.8, 9.8]},
            },
            "status": {"session": "8eac24", "measuring": True, "timedRun": False, "countDown": 0},
        }
    ).encode()
    assert len(stream.push(ios, 8_100_000_000).time_s) == 1


def test_the_decoder_raises_only_its_typed_error_on_any_damaged_answer() -> None:
    seed = 20261207
    rng = np.random.default_rng(seed)
    good = _get([0.01, 0.02, 0.03], [0.1, None, 0.3], "full")
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 6))):
            op = int(rng.integers(0, 3))
            at = int(rng.integers(0, len(data)))
            if op == 0:
                data[at] = int(rng.integers(0, 256))
            elif op == 1:
                del data[at : at + int(rng.integers(1, 20))]
            else:
                data[at:at] = bytes(rng.integers(0, 256, int(rng.integers(1, 8))).tolist())
        stream = PhyphoxStream(check_config(WITH_G))
        try:
            stream.push(bytes(data), 0)
        except FrameError:
            pass  # the only kind that may escape (FUZZ seed above)


def _sim():
    plan = [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 8, TEMPOS["hret"])),
        Segment("idle", 12.0),
        Segment("set", set_plan=SetPlan("two-leg", 6, TEMPOS["hret"])),
        Segment("idle", 4.0),
    ]
    return simulate(plan, "shin", 100.0, seed=3, jitter=0.2)


def _live(tmp_path: Path, phone: FakePhyphox, speed: float) -> tuple[Path, list[float]]:
    opts = LiveOptions(
        routine=None,
        placement="shin",
        backend=None,
        target=None,
        record_dir=tmp_path,
        plain=True,
        simulated=True,
        time_scale=speed,
        idle_finish_s=1.0,
        phyphox_url=phone.url,
    )
    recording, coach, _ = asyncio.run(run_live(opts, io.StringIO()))
    assert recording is not None
    return recording, [r.start_s for r in coach.reps]


@pytest.mark.slow  # seconds of polling a local server
@pytest.mark.parametrize("dialect", ["android", "ios"])
def test_a_phone_through_phyphox_counts_live_as_replay_does(tmp_path: Path, dialect: str) -> None:
    sim = _sim()
    phone = FakePhyphox(sim.time_s, sim.acc_mg, speed=SPEED, dialect=dialect).start()
    recording, live = _live(tmp_path, phone, SPEED)
    phone.stop()
    _, sets, _ = detect_session(load(recording), "shin")
    replayed = [r.start_s for s in sets for r in s.reps]
    # Every sample arrives once, in order; live mode counts what the detector counts on them handed over whole.
    got = load(recording)
    assert len(got.time_s) == len(sim.time_s) and got.gaps == ()
    assert np.allclose(np.diff(got.time_s), np.diff(sim.time_s), atol=2e-6)  # 8 significant digits
    direct = detect(got.time_s, got.acc_mg, "shin").reps
    assert len(live) == len(replayed) == len(direct) >= 12 and np.allclose(live, replayed)
    assert phone.requests > 50 and load(recording).model == "phyphox (phone)"


@pytest.mark.slow  # seconds of polling a local server
def test_the_phone_pausing_and_going_away_are_gaps_and_live_and_replay_still_agree(tmp_path: Path) -> None:
    sim = _sim()
    phone = FakePhyphox(sim.time_s, sim.acc_mg, speed=SPEED).start()

    def trouble() -> None:
        while not phone.playing:
            time.sleep(0.005)
        time.sleep(9.0 / SPEED)  # 9 s in: the first set
        phone.pause()
        time.sleep(4.0 / SPEED)
        phone.resume()
        time.sleep(9.0 / SPEED)  # into the rest: the app is restarted (a new session, its clock from 0)
        phone.outage(5.0 / SPEED)

    threading.Thread(target=trouble, daemon=True).start()
    recording, live = _live(tmp_path, phone, SPEED)
    phone.stop()
    session = load(recording)
    _, sets, _ = detect_session(session, "shin")
    assert [r.start_s for s in sets for r in s.reps] == pytest.approx(live)
    assert 7 <= len(live) < 14  # what the pause and the outage took is lost, nothing is counted twice
    assert len(session.gaps) >= 2 and np.all(np.diff(session.time_s) > 0)
    kinds = [e.kind for e in session.events]
    assert "disconnected" in kinds and "reconnected" in kinds


def test_a_wrong_experiment_and_a_wrong_address_are_one_line_with_advice(tmp_path: Path) -> None:
    sim = _sim()
    phone = FakePhyphox(sim.time_s, sim.acc_mg, config=CONFIG_WITHOUT_G).start()
    args = ["live", "--phyphox", phone.url, "--plain", "--record-dir", str(tmp_path), "--no-save"]
    result = CliRunner().invoke(main, args)
    phone.stop()
    assert result.exit_code == 2 and "removes gravity" in result.stderr and "Acceleration with g" in result.stderr
    assert normalise_url("192.168.1.5:8080/") == "http://192.168.1.5:8080"
    with pytest.raises(CalfsenseError):
        normalise_url("ftp://phone")

    class Sink:
        def on_state(self, state: str, detail: str) -> None: ...
        def on_samples(self, time_s: object, acc_mg: object) -> None: ...
        def on_heart_rate(self, bpm: int, rr_ms: tuple[int, ...]) -> None: ...
        def on_battery(self, percent: int) -> None: ...

    nobody = PhyphoxSource("http://127.0.0.1:9", Sink(), first_contact_s=0.5, timeout_s=0.2)
    with pytest.raises(SensorNotFoundError, match="no answer from phyphox"):
        asyncio.run(nobody.run())


def test_the_bundled_phone_recording_is_phyphox_bytes_and_replays_to_its_truth() -> None:
    # Made by the simulator in the phone's own bytes (sources/synthetic.record_phone_simulation): /config and
    # the /get answers, Android's 8-digit numbers, as `live --phyphox` records them.
    recording = Path(__file__).parent.parent / "recordings" / "two-sets-phone-shin.csrec.jsonl"
    truth = json.loads(recording.with_name(recording.name + ".truth.json").read_text())
    session = load(recording)
    assert session.model == "phyphox (phone)" and session.frames_total > 100 and session.gaps == ()
    _, sets, _ = detect_session(session, "shin")
    assert [len(s.reps) for s in sets] == [s["reps"] for s in truth["sets"]]
    body = next(line for line in recording.read_text().splitlines() if '"phyphox_get"' in line)
    import base64

    answer = base64.b64decode(json.loads(body)["d"]).decode()
    assert '"acc_time":{"size":0,"updateMode":"full", "buffer":[4.7E-3,' in answer


@pytest.mark.slow  # a live session in its own process, ended by Ctrl-C
def test_a_paired_phone_is_what_live_streams_from(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    sim = _sim()
    phone = FakePhyphox(sim.time_s, sim.acc_mg, speed=SPEED).start()
    env = {**os.environ, "CALFSENSE_CONFIG_DIR": str(tmp_path), "CALFSENSE_DATA_DIR": str(tmp_path)}
    runner = CliRunner(env=env)
    paired = runner.invoke(main, ["pair", "--phyphox", phone.url.removeprefix("http://"), "--json"])
    assert paired.exit_code == 0, paired.stderr
    assert json.loads(paired.stdout)["experiment"] == "Acceleration with g"
    saved = json.loads(runner.invoke(main, ["devices", "--json"]).stdout)
    assert [(d["kind"], d["address"], d["default"]) for d in saved] == [("phyphox", phone.url, True)]
    live = subprocess.Popen(
        [sys.executable, "-m", "calfsense.cli", "live", "--plain", "--record-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3.5)  # starting up, then the whole simulated session at 40x (1.5 s), and a margin
    live.send_signal(signal.SIGINT)
    out, err = live.communicate(timeout=30)
    phone.stop()
    assert live.returncode == 0, err[-1000:]
    assert f"phone: phyphox at {phone.url}" in err and re.search(r"rep \d+: up", out) and "recording: " in out
    bad = CliRunner(env=env).invoke(main, ["pair", "--phyphox", "127.0.0.1:9"])
    assert bad.exit_code == 2 and "no answer from phyphox" in bad.stderr
