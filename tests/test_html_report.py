"""The shareable HTML report, opened in a real headless browser (Debian's Chromium; .ci/run installs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from calfsense.cli import main

RECORDINGS = Path(__file__).parent.parent / "recordings"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# The flags a closed network needs (without them Chromium keeps reaching for Google's hosts) and root needs.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium; .ci/run does)"),
]


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def test_the_html_report_shows_the_summary_and_the_picture_in_a_browser(tmp_path: Path) -> None:
    page = tmp_path / "session.html"
    recording = RECORDINGS / "runner-calves-verity-shin.csrec.jsonl"
    result = CliRunner().invoke(main, ["report", str(recording), "--html", str(page)])
    assert result.exit_code == 0, result.stderr
    assert page.stat().st_mode & 0o777 == 0o600  # health data
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained: nothing fetched

    # The page shows what the session's report says (replay's JSON of the same recording).
    replayed = CliRunner().invoke(main, ["replay", str(recording), "--json"])
    told = json.loads(replayed.stdout)["summary"]
    assert told["reps"] == 177 and told["sets"] == 12  # the bundled routine's golden counts
    dom = _browser(tmp_path, "--dump-dom", page.as_uri()).stdout
    summary = re.search(r"<p id=\"summary\"[^>]*>(.*?)</p>", dom, re.S)
    assert summary is not None and f"compliance {told['compliance']:.0f}/100" in summary.group(1)
    assert "177 reps in 12 sets" in summary.group(1)
    sets_table = dom.split('id="sets"', 1)[1].split("</table>", 1)[0]
    assert sets_table.count("<tr>") == 13 and sets_table.count("15/15") == 3  # a header and 12 sets
    assert re.search(r'<img id="picture"[^>]*src="data:image/png;base64,', dom)

    shot = tmp_path / "shot.png"
    _browser(tmp_path, "--window-size=1280,1800", f"--screenshot={shot}", page.as_uri())
    import matplotlib.image

    pixels = (matplotlib.image.imread(str(shot))[:, :, :3] * 255).astype(int)
    # The summary: dark text at the top of the page.
    assert (pixels[:300].max(axis=2) < 90).sum() > 2000
    # The picture: the light green every well-formed rep is shaded with covers a large area (text never does).
    shaded = np.abs(pixels - np.array([203, 231, 210])).max(axis=2) < 14
    assert shaded.sum() > 50_000


def test_the_heel_rise_test_page_shows_both_legs_and_the_symmetry_in_a_browser(tmp_path: Path) -> None:
    from calfsense.clinic import TestResult, score_leg, symmetry
    from calfsense.html_report import render_test_html
    from calfsense.plot import test_picture
    from calfsense.report_model import RepReport

    def reps(heights: list[float]) -> list[RepReport]:
        return [
            RepReport(i + 1, 2.0 * i, 2.0 * i + 1, 2.0 * i + 1, 2.0 * i + 2, 1.0, 0.0, 1.0, 0.0, h, ())
            for i, h in enumerate(heights)
        ]

    left = score_leg("left", reps([9.0 - 0.05 * i for i in range(26)]), 70.0)
    right = score_leg("right", reps([7.0 - 0.08 * i for i in range(19)]), 70.0)
    result = TestResult((left, right), symmetry(left, right), {}, 70.0)
    page = tmp_path / "test.html"
    page.write_text(render_test_html(result, [("device", "Polar Sense")], test_picture(result), "2026-12-07"))
    dom = _browser(tmp_path, "--dump-dom", page.as_uri()).stdout
    legs = dom.split('id="legs"', 1)[1].split("</table>", 1)[0]
    assert legs.count("<tr>") == 3 and ">26<" in legs and ">19<" in legs
    assert re.search(r"reps <span[^>]*>73 %</span>", dom) and "weaker leg: right" in dom
