"""Golden outputs: the reps the detector finds in each bundled recording, pinned in a sidecar file.

A change to the detector that moves any of them fails here; if the change is meant, regenerate with
`CALFSENSE_UPDATE_GOLDEN=1 python3 -m pytest tests/test_golden.py` and say why in the commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from calfsense.report import detect_session
from calfsense.session.importers import load

RECORDINGS = Path(__file__).parent.parent / "recordings"
BUNDLED = sorted(RECORDINGS.glob("*.csrec.jsonl"))


def _found(path: Path) -> dict[str, object]:
    placement, sets, _ = detect_session(load(path))
    return {
        "placement": placement,
        "sets": [
            [[round(r.start_s, 2), round(r.top_s, 2), round(r.lower_s, 2), round(r.end_s, 2)] for r in s.reps]
            for s in sets
        ],
    }


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_bundled_recording_gives_its_golden_reps(path: Path) -> None:
    golden = path.with_name(path.name + ".golden.json")
    found = _found(path)
    if os.environ.get("CALFSENSE_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(found, indent=1) + "\n")
    assert found == json.loads(golden.read_text())
