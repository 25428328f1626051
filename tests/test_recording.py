"""Native recording format: lossless round trip, crash safety, and the replay JSON contract."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from calfsense.cli import main
from calfsense.dsp.simulate import TEMPOS, Segment, SetPlan, simulate
from calfsense.errors import DiskFullError
from calfsense.protocol.pmd import decode_frame
from calfsense.session.decode import load_native
from calfsense.session.recording import (
    CHAR_PMD_DATA,
    RecordingHeader,
    RecordingWriter,
    iter_notifications,
    read_raw,
)
from calfsense.sources.synthetic import H10, VERITY, notifications, record_simulation

RECORDINGS = Path(__file__).parent.parent / "recordings"


def _sim(seed: int = 1):
    segs = [Segment("idle", 3.0), Segment("set", set_plan=SetPlan("two-leg", 6, TEMPOS["hret"])), Segment("idle", 4.0)]
    return simulate(segs, "shin", 200.0, seed=seed)


@pytest.mark.parametrize("profile", [H10, VERITY])
def test_write_then_read_gives_identical_frames(tmp_path: Path, profile) -> None:
    sim = _sim()
    sent = list(notifications(sim, profile, seed=2))
    path = tmp_path / "r.csrec.jsonl"
    header = RecordingHeader(
        device_name=profile.name, model=profile.model, settings={"acc": profile.settings.as_dict()}
    )
    with RecordingWriter(path, header) as w:
        w.event("connected", 1, 2)
        for n in sent:
            w.notification(n.char, n.data, n.mono_ns, n.mono_ns + 7)
        w.event("set_started", 3, 4, text="set 1")
    raw = read_raw(path)
    assert raw.warnings == []
    got = [(m, d) for m, _w, d in iter_notifications(raw, CHAR_PMD_DATA)]
    want = [(n.mono_ns, n.data) for n in sent if n.char == CHAR_PMD_DATA]
    assert got == want
    assert raw.header.model == profile.model and raw.header.settings["acc"]["sample_rate_hz"] == profile.rate_hz
    frame_type = decode_frame(want[0][1]).frame_type
    assert frame_type == (0x81 if profile.compressed else 0x01)
    session = load_native(path)
    assert session.frames_lost == 0
    assert abs(session.sample_rate_hz - profile.rate_hz) < 0.05
    assert {e.kind for e in session.events} == {"connected", "set_started"}


def test_crash_cut_file_reads_everything_before_the_cut_with_one_warning(tmp_path: Path) -> None:
    sim = _sim()
    path = tmp_path / "r.csrec.jsonl"
    record_simulation(path, sim, H10)
    whole = read_raw(path)
    data = path.read_bytes()
    at = int(len(data) * 0.6)
    cut = data[: at if data[at - 1 : at] != b"\n" else at - 7]  # mid-line, as a crash leaves it
    assert not cut.endswith(b"\n")
    path.write_bytes(cut)
    raw = read_raw(path)
    assert len(raw.warnings) == 1 and "cut off" in raw.warnings[0]
    assert raw.records == whole.records[: len(raw.records)]
    assert len(raw.records) == cut.count(b"\n") - 1  # every complete line after the header
    session = load_native(path)
    assert session.warnings == tuple(raw.warnings) and len(session.time_s) > 0


def test_damaged_line_in_the_middle_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "r.csrec.jsonl"
    record_simulation(path, _sim(), VERITY)
    lines = path.read_text().splitlines(keepends=True)
    lines[20] = '{"k":"n","m":12,"c":"pmd_da\n'
    path.write_text("".join(lines))
    raw = read_raw(path)
    assert raw.warnings == ["1 damaged line(s) were skipped"]


def test_gzip_recordings_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "r.csrec.jsonl"
    record_simulation(path, _sim(), H10)
    gz = tmp_path / "r.csrec.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert np.array_equal(load_native(gz).acc_mg, load_native(path).acc_mg)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_is_a_clear_error() -> None:
    w: RecordingWriter | None = None
    try:
        with pytest.raises(DiskFullError) as exc:
            w = RecordingWriter("/dev/full", RecordingHeader(), force=True)
            for _ in range(10_000):
                w.notification(CHAR_PMD_DATA, bytes(200), 1, 2)
            w.flush()
        assert "free some space" in exc.value.one_line()
    finally:
        if w is not None:
            with contextlib.suppress(DiskFullError):
                w.close()


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "r.csrec.jsonl"
    path.write_text("precious")
    with pytest.raises(Exception, match="already exists"):
        RecordingWriter(path, RecordingHeader())
    assert path.read_text() == "precious"


def test_lost_frames_become_gaps(tmp_path: Path) -> None:
    segs = [Segment("idle", 3.0), Segment("set", set_plan=SetPlan("two-leg", 8, TEMPOS["hret"])), Segment("idle", 3.0)]
    sim = simulate(segs, "shin", 200.0, seed=5, gaps=[(9.0, 11.5)])
    path = tmp_path / "r.csrec.jsonl"
    record_simulation(path, sim, H10)
    s = load_native(path)
    assert len(s.gaps) == 1 and s.frames_lost >= 6
    a, b = s.gaps[0]
    assert 8.3 < a < 9.5 and 11.0 < b < 12.2


def test_replay_json_contract_on_the_bundled_recording() -> None:
    rec = RECORDINGS / "runner-calves-verity-shin.csrec.jsonl"
    result = CliRunner().invoke(main, ["replay", str(rec), "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "calfsense.report/1"
    src = report["source"]
    for key, kind in (
        ("path", str),
        ("format", str),
        ("placement", str),
        ("sample_rate_hz", float),
        ("duration_s", float),
    ):
        assert isinstance(src[key], kind)
    assert "device" in src and isinstance(report["gaps"], list)
    rep_keys = {
        "index",
        "start_s",
        "top_s",
        "lower_s",
        "end_s",
        "up_s",
        "hold_s",
        "down_s",
        "pause_s",
        "height_cm",
        "flags",
    }
    for s in report["sets"]:
        assert {"index", "start_s", "end_s", "exercise", "side", "prescribed", "reps", "verdict"} <= set(s)
        for r in s["reps"]:
            assert rep_keys <= set(r) and isinstance(r["flags"], list)
            assert r["start_s"] <= r["top_s"] <= r["lower_s"] <= r["end_s"]
    truth = json.loads((RECORDINGS / "runner-calves-verity-shin.csrec.jsonl.truth.json").read_text())
    found = [len(s["reps"]) for s in report["sets"] if s["prescribed"] is not None]
    want = [s["reps"] for s in truth["sets"]]
    assert len(found) == len(want)
    assert sum(abs(a - b) for a, b in zip(found, want, strict=True)) <= 4
    assert report["summary"]["routine"] == "runner-calves"


def test_csv_and_info_on_the_bundled_recording() -> None:
    rec = RECORDINGS / "runner-calves-verity-shin.csrec.jsonl"
    result = CliRunner().invoke(main, ["replay", str(rec), "--csv"])
    rows = result.stdout.splitlines()
    assert rows[0].startswith("set,exercise,side,rep,start_s") and len(rows) > 150
    result = CliRunner().invoke(main, ["info", str(rec), "--json"])
    info = json.loads(result.stdout)
    assert info["synthetic"] is True and info["nominal_rate_hz"] == 52
    assert abs(info["sample_rate_hz"] - 52) < 0.05 and info["frames_lost"] == 0


def _fields(obj: dict, path: tuple[str, ...], value: object) -> dict | None:
    """A copy of a record with the field at `path` set to `value` (None if a parent is not an object)."""
    import copy

    out = copy.deepcopy(obj)
    node = out
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return None
    node[path[-1]] = value
    return out


WRONG = [None, [], {}, "x", -1, 1e308, True, "nan", 2**70, [1, 2]]
HEADER_FIELDS = [
    ("device",),
    ("device", "name"),
    ("placement",),
    ("settings",),
    ("settings", "acc"),
    ("settings", "acc", "sample_rate_hz"),
    ("settings", "acc", "resolution_bits"),
    ("settings", "acc", "channels"),
    ("settings", "acc", "factor"),
    ("routine",),
    ("start_wall",),
    ("synthetic",),
    ("version",),
]


def test_wrongly_typed_header_and_record_fields_are_one_line_never_internal(tmp_path: Path) -> None:
    src = (RECORDINGS / "two-sets-verity-foot-dropout.csrec.jsonl").read_text().splitlines()
    header, event = json.loads(src[0]), json.loads(src[1])
    k_note = next(i for i, line in enumerate(src) if '"c":"pmd_data"' in line)
    note = json.loads(src[k_note])
    variants: list[tuple[str, list[str]]] = []
    for path in HEADER_FIELDS:
        for value in WRONG:
            h = _fields(header, path, value)
            if h is not None:
                variants.append((f"header {'.'.join(path)}={value!r}", [json.dumps(h), *src[1:]]))
    for key in ("m", "w", "e", "text", "t_s"):
        for value in WRONG:
            variants.append((f"event {key}={value!r}", [src[0], json.dumps({**event, key: value}), *src[2:]]))
    for key in ("m", "w", "c", "d"):
        for value in WRONG:
            lines = list(src)
            lines[k_note] = json.dumps({**note, key: value})
            variants.append((f"notification {key}={value!r}", lines))
    path = tmp_path / "r.csrec.jsonl"
    for what, lines in variants:
        path.write_text("\n".join(lines) + "\n")
        result = CliRunner().invoke(main, ["replay", str(path), "--json", "--no-save", "--placement", "foot"])
        assert result.exit_code in (0, 2), (what, result.stderr)
        if result.exit_code == 2:
            assert result.stderr.count("\n") == 1 and result.stderr.startswith("calfsense: error: "), what


def test_a_recording_s_routine_is_a_built_in_name_never_a_path(tmp_path: Path) -> None:
    src = (RECORDINGS / "two-sets-verity-foot-dropout.csrec.jsonl").read_text().splitlines()
    header = {**json.loads(src[0]), "routine": "/dev/zero"}  # opened, it would never end
    path = tmp_path / "r.csrec.jsonl"
    path.write_text("\n".join([json.dumps(header), *src[1:]]) + "\n")
    result = CliRunner().invoke(main, ["replay", str(path), "--json", "--no-save"])
    assert result.exit_code == 0 and "not built in" in result.stderr
    assert json.loads(result.stdout)["summary"]["reps"] > 0


@pytest.mark.slow
def test_a_compressed_file_that_expands_without_end_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    import resource

    bomb = tmp_path / "bomb.csrec.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(b'{"k":"header","format":"calfsense.recording","version":1}\n')
        for _ in range(5):
            fh.write(b"\n" * (16 << 20))  # 80 MB of blank lines in under 100 kB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = CliRunner().invoke(main, ["replay", str(bomb), "--no-save"])
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.exit_code == 2 and "expands to more than" in result.stderr
    assert grew_mb < 100  # the blank lines were never all held (they were 80 MB of text, 5 GB as lines)


def test_export_then_info_matches_info_on_the_original(tmp_path: Path) -> None:
    # Lossless exchange: the gap and every heart-rate reading (three of them inside the gap) survive a CSV.
    original = RECORDINGS / "two-sets-verity-foot-dropout.csrec.jsonl"
    out = tmp_path / "export.csv"
    assert CliRunner().invoke(main, ["export", str(original), "--csv", "-o", str(out)]).exit_code == 0
    a, b = (json.loads(CliRunner().invoke(main, ["info", str(p), "--json"]).stdout) for p in (original, out))
    for key in ("samples", "heart_rate_readings"):
        assert a[key] == b[key], key
    assert abs(a["duration_s"] - b["duration_s"]) < 1e-3 and abs(a["sample_rate_hz"] - b["sample_rate_hz"]) < 0.01
    assert len(a["gaps"]) == len(b["gaps"]) == 1
    assert all(abs(a["gaps"][0][k] - b["gaps"][0][k]) < 0.05 for k in ("start_s", "end_s"))
    from calfsense.session.importers import load

    s, e = load(original), load(out)
    assert np.array_equal(np.round(s.acc_mg), e.acc_mg) and np.allclose(s.hr_bpm, e.hr_bpm)
    assert np.allclose(s.hr_time_s, e.hr_time_s, atol=1.5 / s.sample_rate_hz)
