"""The heel-rise endurance test: termination by pace, height and stopping on reps with known truth, the work
and symmetry arithmetic against hand-computed values, norms at their band edges, and a whole simulated test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from calfsense.cli import main
from calfsense.clinic import (
    LegResult,
    Termination,
    age_band,
    compare_to_norms,
    score_leg,
    symmetry,
)
from calfsense.report_model import RepReport


def _reps(heights: list[float], cycles: list[float] | None = None, start_s: float = 10.0) -> list[RepReport]:
    """Reps at the 60-bpm beat (a 2-s cycle: 1 s up, 1 s down) unless `cycles` says otherwise."""
    out, t = [], start_s
    for i, h in enumerate(heights):
        cycle = cycles[i] if cycles else 2.0
        out.append(RepReport(i + 1, t, t + cycle / 2, t + cycle / 2, t + cycle, cycle / 2, 0.0, cycle / 2, 0.0, h, ()))
        t += cycle
    return out


def test_a_leg_that_keeps_the_beat_and_its_height_counts_every_rep_and_its_work() -> None:
    leg = score_leg("left", _reps([10.0, 9.0, 8.0, 7.0]), body_mass_kg=70.0)
    assert leg.reps == 4 and leg.ended is Termination.END
    assert leg.displacement_cm == pytest.approx(34.0) and leg.peak_height_cm == 10.0 and leg.mean_height_cm == 8.5
    assert leg.work_j == pytest.approx(70.0 * 9.80665 * 0.34)  # 233.4 J: mass x g x heel travel
    assert leg.fatigue_cm_per_rep == pytest.approx(-1.0)


def test_two_rises_in_a_row_under_half_the_first_ones_end_the_leg_before_them() -> None:
    # Reference: median of the first three (10, 9.6, 9.8) = 9.8; half is 4.9. One low rise alone does not end it.
    heights = [10.0, 9.6, 9.8, 4.0, 9.0, 8.5, 4.5, 4.0, 3.0]
    leg = score_leg("right", _reps(heights))
    assert leg.ended is Termination.HEIGHT and leg.reps == 6 and leg.reps_detected == 9
    assert leg.ended_at_s == pytest.approx(10.0 + 6 * 2.0)  # the first of the two low rises


def test_two_reps_in_a_row_off_the_beat_end_the_leg() -> None:
    # Half a beat (0.5 s) is the tolerance: 2.4 s is on the beat, 2.6 s and 1.4 s are not.
    cycles = [2.0, 2.4, 2.0, 2.6, 2.0, 2.0, 2.7, 1.4, 2.0]
    leg = score_leg("left", _reps([9.0] * 9, cycles))
    assert leg.ended is Termination.PACE and leg.reps == 6


def test_no_rep_for_two_cycles_is_stopping() -> None:
    reps = _reps([9.0] * 5) + _reps([9.0] * 3, start_s=10.0 + 5 * 2.0 + 4.5)
    leg = score_leg("left", reps)
    assert leg.ended is Termination.STOPPED and leg.reps == 5 and leg.ended_at_s == pytest.approx(20.0)


def _leg(side: str, reps: int, travel: float, work: float | None) -> LegResult:
    return LegResult(side, reps, travel, 9.0, travel / max(reps, 1), work, -0.1, Termination.END, 0.0, reps)


def test_the_symmetry_index_is_the_weaker_over_the_stronger() -> None:
    sym = symmetry(_leg("left", 25, 192.0, 1374.0), _leg("right", 20, 144.0, 1030.5))
    assert sym.reps_pct == pytest.approx(80.0) and sym.displacement_pct == pytest.approx(75.0)
    assert sym.work_pct == pytest.approx(75.0) and sym.weaker == "right"
    assert symmetry(_leg("left", 20, 100.0, None), _leg("right", 20, 100.0, None)).weaker is None
    assert symmetry(_leg("left", 0, 0.0, None), _leg("right", 12, 80.0, None)).reps_pct == 0.0


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (19, None),
        (20, (20, 29)),
        (29, (20, 29)),
        (30, (30, 39)),
        (69, (60, 69)),
        (70, (70, 81)),
        (81, (70, 81)),
        (82, None),
    ],
)
def test_age_bands_at_their_edges(age: int, band: tuple[int, int] | None) -> None:
    assert age_band(age) == band


def test_norms_place_a_result_against_its_age_and_sex_with_their_source() -> None:
    # Women in their forties: 24 reps (Hébert-Losier 2017); typical within the 6.2-rep retest agreement.
    norms = {n.measure: n for n in compare_to_norms(_leg("left", 18, 150.0, None), age=40, sex="female")}
    assert norms["reps"].norm == 24 and norms["reps"].band == "typical" and "Hébert-Losier" in norms["reps"].source
    below = compare_to_norms(_leg("left", 17, 150.0, None), age=49, sex="female")[0]
    assert below.band == "below typical"  # 17 < 24 - 6.2
    men = compare_to_norms(_leg("left", 45, 150.0, None), age=25, sex="male")[0]
    assert men.norm == 37 and men.band == "above typical"
    general = {n.measure: n for n in compare_to_norms(_leg("left", 25, 192.0, 1374.0))}
    assert general["reps"].norm == 25 and general["work_j"].band == "typical" and "work_j" in general
    assert "Sleeswijk Visser" in general["displacement_cm"].source


@pytest.mark.slow  # the test played through the virtual sensor and live mode
def test_a_whole_simulated_test_finds_the_weaker_leg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALFSENSE_CONFIG_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(main, ["profile", "--mass", "72.5", "--age", "44", "--sex", "male"]).exit_code == 0
    assert json.loads(runner.invoke(main, ["profile", "--json"]).stdout) == {"mass_kg": 72.5, "age": 44, "sex": "male"}
    assert (tmp_path / "config.toml").stat().st_mode & 0o777 == 0o600
    page = tmp_path / "test.html"
    args = ["test", "heel-rise", "--simulate", "--speed", "150", "--json", "--html", str(page), "--save"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    left, right = data["legs"]
    truth = dict(part.split() for part in data["simulated_reps"].split(", "))
    assert (left["side"], right["side"]) == ("left", "right")
    assert abs(left["reps"] - int(truth["left"])) <= 1 and abs(right["reps"] - int(truth["right"])) <= 1
    assert data["symmetry"]["weaker"] == "right" and data["symmetry"]["reps_pct"] < 90
    assert left["work_j"] == pytest.approx(72.5 * 9.80665 * left["displacement_cm"] / 100, rel=1e-3)
    assert data["body_mass_kg"] == 72.5 and any("men 40-49" in n["source"] for n in data["norms"]["left"])
    assert runner.invoke(main, ["test", "heel-rise"]).exit_code == 2  # neither a recording nor --simulate
    html = page.read_text()
    assert "id='legs'" in html and "data:image/png;base64," in html and "Hébert-Losier 2017, men 40-49" in html
    saved = json.loads(runner.invoke(main, ["test", "history", "--json"]).stdout)
    assert [(t["left_reps"], t["right_reps"]) for t in saved] == [(left["reps"], right["reps"])]
    assert saved[0]["lsi_reps"] == pytest.approx(data["symmetry"]["reps_pct"], abs=0.1)


@pytest.mark.slow  # a live test in its own process against an emulated phone, ended by Ctrl-C
def test_a_live_test_with_a_phone_scores_each_leg(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from calfsense.dsp.simulate import Segment, SetPlan, simulate
    from calfsense.routine import Tempo
    from tests.phyphox_server import FakePhyphox

    beat = Tempo(1.0, 0.0, 1.0, 0.0)
    plan = [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 10, beat, height_cm=6.0)),
        Segment("idle", 12.0),
        Segment("set", set_plan=SetPlan("single-leg", 14, beat, height_cm=9.0, fatigue=0.2)),
        Segment("idle", 12.0),
        Segment("set", set_plan=SetPlan("single-leg", 10, beat, height_cm=7.0, fatigue=0.3)),
        Segment("idle", 3.0),
    ]
    import dataclasses

    from calfsense.dsp.simulate import NOMINAL

    on_the_beat = dataclasses.replace(NOMINAL, tempo_scale=(1.0, 1.0))  # following the metronome
    sim = simulate(plan, "foot", 100.0, seed=5, jitter=0.2, ranges=on_the_beat)
    phone = FakePhyphox(sim.time_s, sim.acc_mg, speed=80.0).start()
    env = {**os.environ, "CALFSENSE_CONFIG_DIR": str(tmp_path), "CALFSENSE_DATA_DIR": str(tmp_path)}
    args = ["test", "heel-rise", "--live", "--phyphox", phone.url, "--placement", "foot", "--plain", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "calfsense.cli", *args, "--sound", "off", "--no-save"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(float(sim.time_s[-1]) / 80.0 + 2.5)  # starting up, then the whole test at 80x
    proc.send_signal(signal.SIGINT)  # the tester ends the session
    out, err = proc.communicate(timeout=30)
    phone.stop()
    assert proc.returncode == 0, err[-1500:]
    data = json.loads(out)
    assert [(leg["side"], leg["reps"]) for leg in data["legs"]] == [("left", 14), ("right", 10)]
    assert data["symmetry"]["weaker"] == "right" and "warm-up" not in out


def test_live_the_test_prompts_the_pace_and_ends_the_leg_by_the_rules() -> None:
    import dataclasses

    from calfsense.clinic import score_test
    from calfsense.dsp.simulate import NOMINAL, Segment, SetPlan, simulate
    from calfsense.live import LiveCoach
    from calfsense.report import analyze, build_report
    from calfsense.routine import Tempo, load_routine
    from calfsense.session.model import Event, LoadedSession

    beat, slow = Tempo(1.0, 0.0, 1.0, 0.0), Tempo(1.7, 0.0, 1.7, 0.0)
    plan = [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 10, beat, height_cm=6.0)),
        Segment("idle", 12.0),
        Segment("set", set_plan=SetPlan("single-leg", 8, beat, height_cm=9.0)),
        Segment("set", set_plan=SetPlan("single-leg", 4, slow, height_cm=9.0)),  # losing the beat, no break
        Segment("idle", 12.0),
        Segment("set", set_plan=SetPlan("single-leg", 9, beat, height_cm=8.0)),
        Segment("idle", 3.0),
    ]
    on_the_beat = dataclasses.replace(NOMINAL, tempo_scale=(1.0, 1.0))
    sim = simulate(plan, "foot", 100.0, seed=11, ranges=on_the_beat)
    notes: list[str] = []
    routine = load_routine("heel-rise-test")
    coach = LiveCoach(routine, "foot", emit=lambda e: notes.append(e.text))

    class Written:
        """The events a recording would hold (set boundaries and the span after the leg's test ended)."""

        items: list[Event] = []

        def event(self, kind: str, mono_ns: int, wall_ns: int, text: str = "", **fields: object) -> None:
            self.items.append(Event(float(fields["t_s"]), kind, text))  # type: ignore[arg-type]

    coach.recorder = Written()  # type: ignore[assignment]
    for i in range(0, len(sim.time_s), 50):
        coach.on_samples(sim.time_s[i : i + 50], sim.acc_mg[i : i + 50])
    coach.finish()
    assert any(n.startswith("keep the pace") for n in notes)
    done = [n for n in notes if n.startswith("left leg done: the pace could not be followed")]
    assert done and done[0].endswith("8 reps count")
    assert coach.routine_done and any(n.startswith("set 3 done: 9 reps") for n in notes)
    # Replay of what was recorded scores the legs as live mode ended them.
    session = LoadedSession("live", "test", sim.time_s, sim.acc_mg, events=tuple(Written.items))
    result = score_test(build_report(session, analyze(session, "foot", routine), routine))
    assert [(leg.side, leg.reps) for leg in result.legs] == [("left", 8), ("right", 9)]
