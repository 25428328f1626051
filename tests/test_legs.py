"""A sensor on each leg: the merge rule on reps with known answers, the two-leg simulation, the recording
(one file, both legs, one clock), and whole sessions through two virtual sensors and live mode, with a
link dropping on one leg, against their replay rep for rep."""

from __future__ import annotations

import asyncio
import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from calfsense.cli import main
from calfsense.cli.sensors import saved_legs
from calfsense.dsp.model import Rep
from calfsense.dsp.simulate import Segment, SetPlan, simulate_legs
from calfsense.legs import BOTH, LegMerger, legs_summary, merge_legs, tally
from calfsense.live_run import run_live
from calfsense.report import analyze, build_report
from calfsense.routine import Tempo
from calfsense.session.decode import split_legs
from calfsense.session.importers import load
from calfsense.session.recording import read_raw
from calfsense.sources.playback import LEG_ADDRESSES, leg_playback
from tests.live_helpers import simulated_options


def _rep(start_s: float, duration_s: float = 2.0, height_cm: float = 8.0) -> Rep:
    return Rep(
        1,
        1,
        start_s,
        start_s + duration_s / 2,
        start_s + duration_s / 2,
        start_s + duration_s,
        None,
        height_cm,
        30.0,
        (),
    )


# -- the merge rule --------------------------------------------------------------------------


def test_reps_at_the_same_time_on_both_legs_are_one_two_leg_rep_and_the_rest_are_single_leg() -> None:
    left = [_rep(10.0, height_cm=8.0), _rep(13.0, height_cm=8.0), _rep(40.0), _rep(43.0)]
    right = [_rep(10.2, height_cm=6.0), _rep(13.1, height_cm=7.0), _rep(70.0), _rep(73.0)]
    merged = merge_legs(left, right)
    assert [m.rep.side for m in merged] == [BOTH, BOTH, "left", "left", "right", "right"]
    assert merged[0].rep.height_cm == pytest.approx(7.0) and merged[0].rep.start_s == pytest.approx(10.1)
    # Sets by rest (8 s), numbered in the session; the index restarts in each.
    assert [(m.rep.set_index, m.rep.index) for m in merged] == [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)]
    t = tally(merged)
    assert t.reps == {"left": 2, "right": 2} and t.reps_lsi_pct == 100.0
    assert t.height_cm["right"] == pytest.approx((6.0 + 7.0 + 8.0 + 8.0) / 4)
    assert "symmetry 100 %" in legs_summary(t)


def test_reps_barely_overlapping_are_two_single_leg_reps() -> None:
    merged = merge_legs([_rep(10.0, 2.0)], [_rep(11.5, 2.0)])  # 0.5 s of 2 s in common: under half
    assert [m.rep.side for m in merged] == ["left", "right"]


def test_a_boundary_starts_a_set_even_without_a_rest() -> None:
    merged = merge_legs([_rep(10.0), _rep(13.0), _rep(16.0)], [], boundaries=[14.0])
    assert [m.rep.set_index for m in merged] == [1, 1, 2]


def test_a_rep_waits_for_the_other_leg_while_its_link_is_up_and_not_while_it_is_down() -> None:
    m = LegMerger()
    m.link("left", True)
    m.link("right", True)
    assert m.feed("left", [_rep(10.0)], 12.5) == []  # the right leg's data has not reached 12 + 1.5 s yet
    assert m.feed("right", [_rep(10.1)], 12.6) == []  # nor the left's past 12.1 + 1.5 s
    assert [x.rep.side for x in m.feed("left", [], 13.7)] == []  # the right's data is still short of 13.5 s
    assert [x.rep.side for x in m.feed("right", [], 13.6)] == [BOTH]
    assert m.feed("left", [_rep(20.0)], 22.5) == []
    assert [x.rep.side for x in m.link("right", False)] == ["left"]  # the right leg's link dropped: no waiting


def test_any_interleaving_of_the_legs_gives_the_batch_answer() -> None:
    rng = np.random.default_rng(3)
    left = [_rep(float(t), float(rng.uniform(1.2, 3.0))) for t in np.cumsum(rng.uniform(3.5, 12.0, 40))]
    right = [_rep(r.start_s + float(rng.normal(0, 0.1)), r.end_s - r.start_s) for r in left if rng.random() < 0.6]
    right += [_rep(float(t)) for t in rng.uniform(0, 300, 8)]
    right.sort(key=lambda r: r.start_s)
    batch = [(m.rep.start_s, m.rep.side, m.rep.set_index) for m in merge_legs(left, right)]
    for seed in range(5):
        shuffle = random.Random(seed)
        m = LegMerger()
        m.link("left", True)
        m.link("right", True)
        # Each leg's detector reports a rep up to a second after it ends; the legs arrive in any order.
        queue = [("left", r) for r in left] + [("right", r) for r in right]
        queue.sort(key=lambda x: x[1].end_s + shuffle.uniform(0.0, 1.0))
        for side, rep in queue:
            m.feed(side, [rep], rep.end_s)
        m.finish()
        assert [(x.rep.start_s, x.rep.side, x.rep.set_index) for x in m.merged] == batch


# -- the two-leg simulation ------------------------------------------------------------------

BEAT = Tempo(1.0, 0.0, 1.0, 0.0)


def _test_plan(left_reps: int = 8, right_reps: int = 5) -> list[Segment]:
    """The heel-rise test, short: a two-leg warm-up, the left leg, the right leg."""
    return [
        Segment("idle", 3.0),
        Segment("set", set_plan=SetPlan("two-leg", 4, BEAT, height_cm=6.0)),
        Segment("idle", 12.0),
        Segment("set", set_plan=SetPlan("single-leg", left_reps, BEAT, height_cm=9.0, side="left")),
        Segment("idle", 12.0),
        Segment("set", set_plan=SetPlan("single-leg", right_reps, BEAT, height_cm=7.0, side="right")),
        Segment("idle", 4.0),
    ]


def test_a_single_leg_set_moves_only_its_leg() -> None:
    sims = simulate_legs(_test_plan(), "foot", 100.0, seed=4)
    left, right = sims["left"], sims["right"]
    assert len(left.reps) == 4 + 8 and len(right.reps) == 4 + 5
    right_set = next(s for s in left.sets if s.side is None and s.exercise == "two-leg")
    assert right_set.reps == 4
    # Over the left leg's own set the right sensor is still, the left one is not.
    span = (left.time_s > left.sets[1].start_s) & (left.time_s < left.sets[1].end_s)
    assert float(np.std(left.acc_mg[span], axis=0).max()) > 5 * float(np.std(right.acc_mg[span], axis=0).max())
    assert not np.allclose(left.acc_mg, right.acc_mg)  # mounted differently, their own noise


# -- live with a sensor on each leg, and its replay --------------------------------------------


def _live_legs(tmp_path: Path, faults: dict[str, str] | None = None, speed: float = 120.0) -> tuple[Path, object]:
    played = leg_playback(_test_plan(), "foot", speed, faults=faults, seed=5)
    # A free session: sets by rest (the test's own rules are tested through the CLI below).
    opts = simulated_options(played.backend, tmp_path, speed, legs=dict(LEG_ADDRESSES))
    out = io.StringIO()
    recording, coach, _ = asyncio.run(run_live(opts, out))
    assert recording is not None, out.getvalue()
    return recording, coach


@pytest.mark.slow  # two virtual sensors streamed through the BLE stack into live mode
def test_both_legs_stream_into_one_session_and_its_replay_agrees_rep_for_rep(tmp_path: Path) -> None:
    recording, coach = _live_legs(tmp_path)
    live = [(round(r.start_s, 3), r.side) for r in coach.reps]  # type: ignore[attr-defined]
    assert [side for _, side in live] == [BOTH] * 4 + ["left"] * 8 + ["right"] * 5
    assert coach.legs_tally().reps_lsi_pct == pytest.approx(62.5)  # type: ignore[attr-defined]
    # The screen compares the legs as the session goes.
    from rich.console import Console

    from calfsense.live_screen import render_dashboard

    console = Console(file=io.StringIO(), width=100, force_terminal=False)
    console.print(render_dashboard(coach, None, [], 100))  # type: ignore[arg-type]
    screen = console.file.getvalue()  # type: ignore[attr-defined]
    assert "left 8 single-leg reps" in screen and "right 5 single-leg reps" in screen and "symmetry 62 %" in screen
    # One file, both legs, one clock.
    assert recording.stat().st_mode & 0o777 == 0o600
    raw = read_raw(recording)
    assert raw.header.streams == ("left", "right") and isinstance(raw.header.host0_ns, int)
    legs = split_legs(raw)
    assert {leg.header.address for leg in legs.values()} == set(LEG_ADDRESSES.values())
    session = load(recording)
    assert session.side == "left" and session.other is not None and session.other.side == "right"
    assert abs(float(session.time_s[0]) - float(session.other.time_s[0])) < 1.0
    report = build_report(session, analyze(session, "foot"))
    assert [(r.start_s, r.side) for s in report.sets for r in s.reps] == live
    assert [(s.moved, len(s.reps)) for s in report.sets] == [(BOTH, 4), ("left", 8), ("right", 5)]
    assert [s.side for s in report.sets] == [None, "left", "right"]
    # Nothing of the right leg is lost on the way out: its samples export on their own.
    out = tmp_path / "right.csv"
    result = CliRunner().invoke(main, ["export", str(recording), "--csv", "--leg", "right", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert len(load(out).time_s) == len(session.other.time_s)
    picture = tmp_path / "session.png"
    assert CliRunner().invoke(main, ["replay", str(recording), "--plot", str(picture), "--no-save"]).exit_code == 0
    assert picture.stat().st_size > 10_000


@pytest.mark.slow  # the right leg's link drops mid-session and comes back by itself
def test_a_leg_whose_link_drops_reconnects_and_the_other_counts_on(tmp_path: Path) -> None:
    # At 30x the reconnect (scan, connect, start) costs a few seconds of the session, as it does for real.
    recording, coach = _live_legs(tmp_path, faults={"right": "drop-every=40,down=2"}, speed=30.0)
    live = [(round(r.start_s, 3), r.side) for r in coach.reps]  # type: ignore[attr-defined]
    sides = [side for _, side in live]
    # The right leg drops during the left leg's set: the left counts on, the right is back for its own.
    assert sides.count("left") == 8 and sides.count("right") == 5
    session = load(recording)
    assert session.other is not None and session.other.gaps  # the right leg's hole is in its recording
    assert any(e.kind == "reconnected" for e in session.other.events)
    report = build_report(session, analyze(session, "foot"))
    assert [(r.start_s, r.side) for s in report.sets for r in s.reps] == live


@pytest.mark.slow  # the whole test through two virtual sensors and live mode
def test_the_simulated_test_on_both_legs_scores_each_leg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALFSENSE_CONFIG_DIR", str(tmp_path))
    args = ["test", "heel-rise", "--simulate", "--both-legs", "--speed", "150", "--json", "--mass", "70", "--no-save"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    truth = dict(part.split() for part in data["simulated_reps"].split(", "))
    left, right = data["legs"]
    assert abs(left["reps"] - int(truth["left"])) <= 1 and abs(right["reps"] - int(truth["right"])) <= 1
    assert data["symmetry"]["weaker"] == "right" and data["symmetry"]["reps_pct"] < 90


def test_pairing_a_sensor_to_a_leg_saves_it_and_two_legs_make_a_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALFSENSE_CONFIG_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["pair", "--simulate", "--leg", "left", "--placement", "foot"])
    assert result.exit_code == 0, result.stderr
    assert "of the left leg" in result.stdout and "--leg too" in result.stdout
    listed = CliRunner().invoke(main, ["devices"]).stdout
    assert "(left leg)" in listed
    sensors = {"A": {"address": "aa", "leg": "left"}, "B": {"address": "bb", "leg": "right"}, "C": {"address": "cc"}}
    assert saved_legs(sensors) == {"left": "aa", "right": "bb"}
    assert saved_legs({"A": {"address": "aa", "leg": "left"}}) is None


def test_both_legs_options_are_checked() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["live", "--left", "x"]).exit_code == 2  # --right missing
    assert runner.invoke(main, ["live", "--both-legs"]).exit_code == 2  # needs --simulate
    assert runner.invoke(main, ["test", "heel-rise", "--both-legs", "x.csrec.jsonl"]).exit_code == 2
