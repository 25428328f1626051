"""Routines, set matching, report figures against known truth, pictures and history."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from calfsense import history
from calfsense.cli import main
from calfsense.dsp.detect import Rep, RepSet
from calfsense.errors import RoutineError
from calfsense.report import detect_session, match_sets, verdict
from calfsense.report_model import Report, RepReport, SetReport, SourceInfo, Summary
from calfsense.routine import BUILTIN, load_routine, parse_routine
from calfsense.session.importers import load

RECORDINGS = Path(__file__).parent.parent / "recordings"
VERITY = RECORDINGS / "runner-calves-verity-shin.csrec.jsonl"
CHEST = RECORDINGS / "runner-calves-h10-chest.csrec.jsonl"


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


GOOD = """name = "mine"
[[block]]
exercise = "two-leg"
sets = 2
reps = 10
tempo = { up = 2, hold = 1, down = 2 }
rest = 45
"""


@pytest.mark.parametrize(
    ("text", "where", "field"),
    [
        (GOOD.replace('exercise = "two-leg"', 'exercise = "one-leg"'), ":3:", "exercise"),
        (GOOD.replace("sets = 2", "sets = 0"), ":4:", "sets"),
        (GOOD.replace("reps = 10", 'reps = "lots"'), ":5:", "reps"),
        (GOOD.replace("up = 2", "upp = 2"), ":6:", "tempo"),
        (GOOD.replace("rest = 45", "rest = -5"), ":7:", "rest"),
        (GOOD + 'colour = "red"\n', ":8:", "colour"),
        (GOOD.replace('name = "mine"', ""), ":1:", "name"),
        (GOOD.replace("[[block]]", "[[block]"), ":2", "Expected"),
    ],
)
def test_routine_errors_name_file_line_and_field(tmp_path: Path, text: str, where: str, field: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(RoutineError) as exc:
        load_routine(str(path))
    msg = str(exc.value)
    assert msg.startswith(str(path)) and where in msg and field in msg
    code, _, err = run("routine", "check", str(path))
    assert code == 2 and err.count("\n") == 1


def test_builtins_and_routine_commands() -> None:
    assert set(BUILTIN) == {"runner-calves", "alfredson", "hsr", "heel-rise-test"}
    rc = load_routine("runner-calves")
    sets = rc.prescribed_sets()
    assert [(p.exercise, p.side, p.reps) for p in sets[:5]] == [
        ("two-leg", None, 15),
        ("two-leg", None, 15),
        ("two-leg", None, 15),
        ("single-leg", "left", 12),
        ("single-leg", "right", 12),
    ]
    assert len(sets) == 12 and sets[-1].tempo.down_s == 3 and sets[0].rest_s == 60
    warm_up, left, right = load_routine("heel-rise-test").prescribed_sets()
    assert (warm_up.exercise, warm_up.reps) == ("two-leg", 10) and left.reps is None and right.side == "right"
    code, out, _ = run("routine", "list")
    assert code == 0 and "runner-calves" in out and "(default)" in out
    code, out, _ = run("routine", "show", "hsr")
    assert code == 0 and "3-0-3" in out
    code, _, err = run("routine", "show", "nope")
    assert code == 2 and "built-in" in err


def _set(index: int, n: int, start: float) -> RepSet:
    reps = tuple(
        Rep(
            k + 1,
            index,
            start + 5 * k,
            start + 5 * k + 2,
            start + 5 * k + 3,
            start + 5 * k + 5,
            None if k == 0 else 0.5,
            7.0,
            20.0,
            (),
        )
        for k in range(n)
    )
    return RepSet(index, reps)


def test_matching_missing_extra_and_split_sets() -> None:
    plan = parse_routine(GOOD).prescribed_sets()  # 2 x 10
    # A set split by a 12 s break (less than half the 45 s rest): one set of 10.
    split = (_set(1, 6, 0.0), _set(2, 4, 42.0), _set(3, 10, 150.0))
    pairs, _ = match_sets(split, plan, "shin")
    assert [(len(f.reps) if f else None, p.index if p else None) for f, p in pairs] == [(10, 1), (10, 2)]
    # Fewer sets than prescribed: the second is missing.
    pairs, _ = match_sets((_set(1, 10, 0.0),), plan, "shin")
    assert pairs[1] == (None, plan[1])
    # More sets than prescribed: the third is extra.
    pairs, _ = match_sets((_set(1, 10, 0.0), _set(2, 10, 200.0), _set(3, 8, 400.0)), plan, "shin")
    assert pairs[2][1] is None and len(pairs[2][0].reps) == 8  # type: ignore[union-attr]
    # A chest strap cannot see seated sets: they are set aside with a warning.
    rc = load_routine("runner-calves").prescribed_sets()
    pairs, warnings = match_sets((), rc, "chest")
    assert len(pairs) == 9 and warnings and "cannot see seated" in warnings[0]


def test_a_chest_sensor_warns_that_slow_rises_are_often_miscounted() -> None:
    # The chest counts quick rises well but slow ones poorly (bench/bench_accuracy.py by tempo): say so up front.
    for name, placement, slow in [
        ("runner-calves", "chest", True),  # 2 s rises
        ("hsr", "chest", True),  # 3 s rises
        ("alfredson", "chest", False),  # 1 s rises, 3 s lowerings: quick enough to measure the lift
        ("heel-rise-test", "chest", False),
        ("hsr", "shin", False),
        ("hsr", "foot", False),
    ]:
        _, warnings = match_sets((), load_routine(name).prescribed_sets(), placement)
        said = [w for w in warnings if "cannot count rises" in w]
        assert bool(said) is slow, (name, placement, warnings)
    _, warnings = match_sets((), load_routine("hsr").prescribed_sets(), "chest")
    assert warnings == [
        "a chest sensor cannot see seated raises: 3 prescribed set(s) not assessed (wear it on the shin or the shoe)",
        "a chest sensor cannot count rises as slow as 3 s (their lift is too faint to tell from lean and "
        "breathing): 3 prescribed set(s) will count few reps or none (wear it on the shin or the shoe)",
    ]


def test_verdict_figures() -> None:
    plan = parse_routine(GOOD).prescribed_sets()[0]
    v = verdict(_set(1, 8, 0.0), plan)
    assert v is not None
    assert v.reps_done == 8 and v.reps_prescribed == 10 and not v.reps_ok
    assert v.tempo.up.mean_s == 2.0 and v.tempo.on_tempo_pct == 100.0
    assert v.compliance == pytest.approx(100 * (0.5 * 0.8 + 0.25 + 0.25))
    assert v.coaching[0].startswith("2 rep(s) short")


def test_report_on_recordings_with_known_truth(tmp_path: Path) -> None:
    code, out, _ = run("replay", str(VERITY), "--json", "--no-save")
    report = json.loads(out)
    truth = json.loads(Path(str(VERITY) + ".truth.json").read_text())
    # The sample ends with three minutes seated and still: what the detector takes for reps there is extra.
    matched = [s for s in report["sets"] if s["prescribed"] is not None]
    extra = [s for s in report["sets"] if s["prescribed"] is None]
    assert [s["prescribed"]["exercise"] for s in matched] == [s["exercise"] for s in truth["sets"]]
    assert [s["side"] for s in matched] == [s["side"] for s in truth["sets"]]
    for s, t in zip(matched, truth["sets"], strict=True):
        assert abs(len(s["reps"]) - t["reps"]) <= 1
        assert s["verdict"]["reps_prescribed"] == t["reps"]
    assert sum(len(s["reps"]) for s in extra) <= 8
    assert 80 <= report["summary"]["compliance"] <= 100
    # The chest strap cannot see the seated sets: say so instead of guessing.
    code, out, _ = run("replay", str(CHEST), "--json", "--no-save")
    chest = json.loads(out)
    assert any("cannot see seated" in w for w in chest["summary"]["warnings"])
    assert all(s["exercise"] != "seated" for s in chest["sets"])


def test_a_recording_without_raises_says_so_and_what_to_try(tmp_path: Path) -> None:
    # Quiet standing: a report of zero reps must not read as a silent failure.
    rng = np.random.default_rng(7)
    t = np.arange(0, 60, 0.02)
    acc = np.array([120.0, -80.0, 990.0]) + rng.normal(0, 4, (len(t), 3))
    quiet = tmp_path / "quiet.csv"
    np.savetxt(
        quiet, np.column_stack([t, acc]), fmt="%.3f", delimiter=",", header="time_s,ax_mg,ay_mg,az_mg", comments=""
    )
    for extra, advice in (((), "pass --placement"), (("--placement", "shin"), "check --placement")):
        code, out, _ = run("replay", str(quiet), "--json", "--no-save", *extra)
        report = json.loads(out)
        assert code == 0 and report["sets"] == []
        (warning,) = [w for w in report["summary"]["warnings"] if "no heel raises found in 60 s" in w]
        assert advice in warning


def test_a_placement_guessed_from_the_first_raise_says_so(tmp_path: Path) -> None:
    from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, simulate

    plan = SetPlan("two-leg", 6, TEMPOS["hret"])
    sim = simulate([Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 3.0)], "shin", 50.0)
    plain = tmp_path / "shin.csv"
    rows = np.column_stack([sim.time_s, sim.acc_mg])
    np.savetxt(plain, rows, fmt="%.4f", delimiter=",", header="time_s,ax_mg,ay_mg,az_mg", comments="")
    for extra, guessed in (((), True), (("--placement", "shin"), False)):
        code, out, _ = run("replay", str(plain), "--json", "--no-save", *extra)
        report = json.loads(out)
        said = [w for w in report["summary"]["warnings"] if "was not given: taken as the shin" in w]
        assert code == 0 and report["summary"]["reps"] == 6
        assert bool(said) is guessed, report["summary"]["warnings"]
    # An H10 is a chest strap: the device says where it is worn, and nothing is guessed.
    h10 = dataclasses.replace(load(CHEST), placement=None)
    assert h10.model is not None and "H10" in h10.model
    placement, _, warnings = detect_session(h10)
    assert placement == "chest" and not [w for w in warnings if "was not given" in w]


def test_a_recording_that_starts_mid_set_counts_from_its_first_whole_rep(tmp_path: Path) -> None:
    # Cut 10 s into the first of two sets: a set may start with no still moment before it, so counting
    # starts at once; the rep the cut fell in is not a whole rep and is not counted.
    from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, simulate

    plan = SetPlan("two-leg", 12, TEMPOS["article"], height_cm=6.0)
    segs = [Segment("idle", 3.0), Segment("set", set_plan=plan), Segment("idle", 5.0)] * 2
    sim = simulate(segs, "foot", 100.0, seed=3)
    keep = sim.time_s >= 10.0
    cut = tmp_path / "cut.csv"
    rows = np.column_stack([sim.time_s[keep] - 10.0, sim.acc_mg[keep]])
    np.savetxt(cut, rows, fmt="%.4f", delimiter=",", header="time_s,ax_mg,ay_mg,az_mg", comments="")
    code, out, _ = run("replay", str(cut), "--placement", "foot", "--json", "--no-save")
    report = json.loads(out)
    whole_left = sum(1 for r in sim.reps if r.set_index == 0 and r.start_s >= 10.0)
    cut_through = sum(1 for r in sim.reps if r.start_s < 10.0 < r.end_s)  # counted if most of it is there
    counts = [len(s["reps"]) for s in report["sets"]]
    assert code == 0 and counts[1:] == [12] and whole_left <= counts[0] <= whole_left + cut_through


def test_png_is_written_and_valid(tmp_path: Path) -> None:
    png = tmp_path / "s.png"
    code, _, err = run("replay", str(VERITY), "--plot", str(png), "--no-save")
    assert code == 0, err
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    import matplotlib.image

    img = matplotlib.image.imread(str(png))
    assert img.shape[0] > 500 and img.shape[1] > 1000
    code, _, err = run("replay", str(VERITY), "--plot", str(png), "--no-save")
    assert code == 2 and "--force" in err


def test_history_saves_once_per_recording_and_reports_progression(tmp_path: Path) -> None:
    for _ in range(2):
        assert run("replay", str(VERITY), "--save")[0] == 0
    code, out, _ = run("history", "--json")
    data = json.loads(out)
    assert len(data["sessions"]) == 1  # idempotent per recording
    s = data["sessions"][0]
    assert s["routine"] == "runner-calves" and s["reps"] > 150
    assert Path(s["path"]).is_absolute() and Path(s["path"]).samefile(VERITY)
    assert s["left_reps"] > 20 and s["right_reps"] > 20 and 50 < s["symmetry_index_pct"] <= 100
    assert sum(data["weekly_reps"].values()) == s["reps"]
    code, out, _ = run("history", "--exercise", "seated", "--json")
    assert json.loads(out)["sessions"][0]["sets"] == 3
    png = tmp_path / "h.png"
    assert run("history", "--plot", str(png))[0] == 0 and png.read_bytes()[:4] == b"\x89PNG"
    code, _, err = run("history", "--since", "yesterday")
    assert code == 2 and "date" in err


def test_bundled_and_simulated_sessions_stay_out_of_the_history_unless_asked(tmp_path: Path) -> None:
    code, _, err = run("replay", "--json")  # no file: the bundled sample
    assert code == 0 and "not saved to the history: a bundled sample" in err
    copy = tmp_path / "mine.csrec.jsonl"
    copy.write_bytes(VERITY.read_bytes())  # synthetic (its header says so) wherever it lies
    code, _, err = run("replay", str(copy), "--json")
    assert code == 0 and "not saved to the history: a simulated session" in err
    assert json.loads(run("history", "--json")[1])["sessions"] == []
    code, _, err = run("replay", str(copy), "--json", "--save")
    assert code == 0 and "saved to the history as session 1" in err


def test_history_updates_a_session_replayed_against_another_routine_and_deletes_it() -> None:
    assert run("replay", str(VERITY), "--save", "--json")[0] == 0
    code, _, err = run("replay", str(VERITY), "--save", "--json", "--routine", "alfredson")
    assert code == 0 and "updated session 1 in the history (now against alfredson)" in err
    sessions = json.loads(run("history", "--json")[1])["sessions"]
    assert [(s["id"], s["routine"]) for s in sessions] == [(1, "alfredson")]
    code, out, _ = run("history", "--since", "2030-01-01")
    assert code == 0 and "no sessions match (of 1 saved)" in out
    code, _, err = run("history", "delete", "7")
    assert code == 2 and "no saved session 7" in err
    code, out, _ = run("history", "delete", "1")
    assert code == 0 and "deleted session 1" in out
    assert "no saved sessions yet" in run("history")[1]


def _tiny_report(path: str, reps: int) -> Report:
    """A one-set report of `reps` 7-cm reps, as a worker process saves it."""
    rep = RepReport(1, 0.0, 1.0, 1.0, 2.0, 1.0, 0.0, 1.0, None, 7.0, ())
    source = SourceInfo(path, "calfsense", None, "shin", 52.0, 10.0, 52.0, True, None, 0)
    summary = Summary(reps, 1, None, (), 0, None, 7.0, 0, ())
    return Report(source, (), (SetReport(1, 0.0, 2.0, None, None, (rep,) * reps),), summary)


def _writer(args: tuple[str, int]) -> int:
    path, worker = args
    db = history.connect(Path(path))
    saved = 0
    for i in range(25):
        report = _tiny_report(f"w{worker}-{i}", reps=5)
        what, _ = history.save(db, report, f"fp-{worker}-{i}", started=f"2026-11-{1 + i % 28:02d}T10:00:00")
        saved += what is history.Saved.NEW
    db.close()
    return saved


def _fresh_writer(args: tuple[str, int, float]) -> int:
    """50 rounds of open, save, close against a database that may not exist yet, all starting together."""
    import time

    path, worker, start_at = args
    time.sleep(max(0.0, start_at - time.time()))  # the processes took a while to start: now all at once
    saved = 0
    for i in range(50):
        db = history.connect(Path(path))
        report = _tiny_report(f"w{worker}-{i}", reps=1)
        what, _ = history.save(db, report, f"fp-{worker}-{i}", started="2026-11-01T10:00:00")
        saved += what is history.Saved.NEW
        db.close()
    return saved


@pytest.mark.slow
def test_eight_processes_on_a_fresh_history_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "h.sqlite3"  # neither the file nor its directory exists yet
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(8) as pool:
        start_at = time.time() + 4.0
        saved = pool.map(_fresh_writer, [(str(path), w, start_at) for w in range(8)])
    assert saved == [50] * 8
    db = history.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM session").fetchone()[0] == 400
    db.close()


def test_history_with_two_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    history.connect(path).close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        saved = pool.map(_writer, [(str(path), 1), (str(path), 2)])
    assert saved == [25, 25]
    db = history.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM session").fetchone()[0] == 50
    assert db.execute("SELECT COUNT(*) FROM set_result").fetchone()[0] == 50
    db.close()


def test_history_migrates_a_version_1_database(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    history.MIGRATIONS[0](old)
    old.execute("PRAGMA user_version=1")
    old.execute("INSERT INTO session (fingerprint, path, started, report) VALUES ('x', 'a', '2026-01-01', '{}')")
    old.execute("INSERT INTO set_result (session_id, set_index, reps) VALUES (1, 1, 12)")
    old.commit()
    old.close()
    db = history.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION == 3
    cols = [r[1] for r in db.execute("PRAGMA table_info(set_result)")]
    assert "travel_cm" in cols and history.tests(db) == []  # v2: heel travel; v3: heel-rise tests
    assert history.sessions(db)[0].reps == 12
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(Exception, match="newer calfsense"):
        history.connect(path)


def test_the_report_leads_with_one_line_a_set_and_keeps_the_reps_for_details() -> None:
    code, out, _ = run("replay", str(VERITY), "--no-save")
    truth = json.loads((RECORDINGS / "runner-calves-verity-shin.csrec.jsonl.truth.json").read_text())
    lines = out.splitlines()
    assert code == 0 and len(lines) < 40  # a screen, not 250 lines
    assert lines[1].startswith("routine runner-calves: compliance ")
    rows = [ln.split() for ln in lines[4:16]]
    assert [r[0] for r in rows] == [str(i) for i in range(1, 13)]
    assert [next(x for x in r if "/" in x) for r in rows] == [f"{s['reps']}/{s['reps']}" for s in truth["sets"]]
    assert "total: 177 reps in 12 sets" in lines and "per-rep tables: --details" in lines
    assert any(ln.startswith("compliance: half reps done") for ln in lines) and "start s" not in out
    code, detailed, _ = run("replay", str(VERITY), "--no-save", "--details")
    assert detailed.count("start s") == 12 and len(detailed.splitlines()) > 200
    assert "compliance  0-100" in run("replay", "--help")[1]  # the glossary
