"""The `calfsense.report/1` JSON contract, pinned: the typed report must render exactly these keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from calfsense.report import analyze, build_report
from calfsense.routine import load_routine
from calfsense.session.importers import load

RECORDING = Path(__file__).parent.parent / "recordings" / "runner-calves-verity-shin.csrec.jsonl"

PHASE = ["mean_s", "sd_s", "target_s", "tolerance_s", "on_tempo_pct"]
KEYS: dict[str, Any] = {
    "": ["schema", "source", "gaps", "sets", "summary"],
    "source": ["path", "format", "device", "placement", "sample_rate_hz", "duration_s", "nominal_rate_hz",
               "synthetic", "start_wall", "frames_lost"],
    "summary": ["reps", "sets", "routine", "missing_sets", "extra_sets", "compliance", "height_cm_mean",
                "flagged_reps", "warnings"],
    "set": ["index", "start_s", "end_s", "exercise", "side", "moved", "prescribed", "verdict", "reps"],
    "prescribed": ["exercise", "side", "reps", "tempo", "rest_s", "load", "knee", "cues"],
    "verdict": ["reps_done", "reps_prescribed", "reps_ok", "tempo", "height_cm", "flagged", "compliance", "coaching"],
    "tempo": ["up", "hold", "down", "pause", "on_tempo_pct"],
    "flagged": ["partial", "lean", "rushed", "bounce"],
    "rep": ["index", "start_s", "top_s", "lower_s", "end_s", "up_s", "hold_s", "down_s", "pause_s", "height_cm",
            "flags", "side"],
}  # fmt: skip


def test_the_json_report_keeps_its_keys_and_types() -> None:
    session = load(RECORDING)
    plan = load_routine("runner-calves")
    report = build_report(session, analyze(session, "shin", plan), plan)
    obj = json.loads(json.dumps(report.to_json()))  # what `replay --json` prints
    assert list(obj) == KEYS[""] and obj["schema"] == "calfsense.report/1"
    assert list(obj["source"]) == KEYS["source"] and list(obj["summary"]) == KEYS["summary"]
    assert obj["summary"]["reps"] == sum(len(s["reps"]) for s in obj["sets"]) > 100
    for s in obj["sets"]:
        assert list(s) == KEYS["set"]
        if s["prescribed"] is None:
            continue
        assert list(s["prescribed"]) == KEYS["prescribed"] and list(s["verdict"]) == KEYS["verdict"]
        v = s["verdict"]
        assert list(v["tempo"]) == KEYS["tempo"] and list(v["flagged"]) == KEYS["flagged"]
        assert all(list(v["tempo"][p]) == PHASE for p in ("up", "hold", "down", "pause"))
        assert list(v["height_cm"]) == ["mean", "cv_pct"] and isinstance(v["reps_ok"], bool)
        for r in s["reps"]:
            assert list(r) == KEYS["rep"] and isinstance(r["flags"], list)
            assert all(isinstance(f, str) for f in r["flags"])
    assert all(list(m) == ["index", "exercise", "side"] for m in obj["summary"]["missing_sets"])
