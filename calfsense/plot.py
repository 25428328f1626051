"""Pictures of a session and of the history (matplotlib, the optional `calfsense[plot]` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from calfsense.domain import Flag
from calfsense.errors import CalfsenseError
from calfsense.report_model import Report
from calfsense.text import total

if TYPE_CHECKING:
    from calfsense.clinic import TestResult
    from calfsense.history import SessionRow, TestRow
    from calfsense.session.model import LoadedSession

GOOD = "#2f9e44"
FLAG_COLOURS = {Flag.PARTIAL: "#e6a700", Flag.LEAN: "#d9480f", Flag.RUSHED: "#c2255c", Flag.BOUNCE: "#7048e8"}


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise CalfsenseError(
            "drawing pictures needs matplotlib", "install it with: python3 -m pip install 'calfsense[plot]'"
        ) from None
    return plt


def _png(fig: Any) -> bytes:
    """The picture as PNG bytes."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format="png")
    return buf.getvalue()


def _save(fig: Any, path: str | Path) -> None:
    """The picture as a private file (0600), written whole (the caller checked the path first)."""
    from calfsense.files import write_private

    write_private(Path(path), _png(fig), force=True)


def _num(value: float | None) -> float:
    return np.nan if value is None else value


def _tilt_deg(session: LoadedSession, i0: int, i1: int) -> NDArray[np.float64]:
    """The sensor's tilt in degrees from its pose at the start of samples i0..i1 (gravity's direction, 0.25 s smoothed).

    What every placement's rise shows (the foot most, the shin and chest a few degrees): a picture of the
    movement in words a physio uses, drawn from the samples, not from the detector's internals.
    """
    acc = session.acc_mg[i0:i1]
    rate = session.sample_rate_hz or 50.0
    k = max(1, int(round(0.25 * rate)))
    kernel = np.ones(k) / k
    smooth = np.column_stack([np.convolve(acc[:, j], kernel, mode="same") for j in range(3)])
    up = smooth / np.maximum(np.linalg.norm(smooth, axis=1, keepdims=True), 1e-9)
    rest = np.median(up[: max(2, int(rate))], axis=0)
    rest /= max(float(np.linalg.norm(rest)), 1e-9)
    out: NDArray[np.float64] = np.degrees(np.arccos(np.clip(up @ rest, -1.0, 1.0)))
    return out


SIDE_COLOURS = {"left": "#1971c2", "right": "#e8590c", None: "#495057"}


def session_png(session: LoadedSession, report: Report, path: str | Path) -> None:
    """The session picture (`session_picture`) as a private PNG file."""
    from calfsense.files import write_private

    write_private(Path(path), session_picture(session, report), force=True)


def session_picture(session: LoadedSession, report: Report) -> bytes:
    """Per set, the tilt with every rep numbered and shaded by its flags; tempo against the prescription;
    height per rep with left and right told apart (PNG bytes)."""
    plt = _pyplot()
    from matplotlib.patches import Patch

    sets = report.sets
    cols = 4 if len(sets) > 4 else max(1, len(sets))
    rows = max(1, -(-len(sets) // cols))
    fig = plt.figure(figsize=(13, 2.1 * rows + 5.6))
    grid = fig.add_gridspec(rows + 2, cols, height_ratios=[1.0] * rows + [1.25, 1.25], hspace=0.75, wspace=0.25)
    for n, s in enumerate(sets):
        ax = fig.add_subplot(grid[n // cols, n % cols])
        if s.start_s is None or s.end_s is None:
            continue
        # A sensor on each leg: the set is drawn from the leg that did it (both legs: the left one's).
        leg = session.other if s.moved == "right" and session.other is not None else session
        t = leg.time_s
        i0 = int(np.searchsorted(t, s.start_s - 2.0))
        i1 = int(np.searchsorted(t, s.end_s + 2.0))
        if i1 - i0 < 3:
            continue
        ax.plot(t[i0:i1] - s.start_s, _tilt_deg(leg, i0, i1), lw=0.8, color=SIDE_COLOURS.get(s.moved, "#343a40"))
        top = ax.get_ylim()[1]
        for r in s.reps:
            if r.start_s is None or r.end_s is None:
                continue
            colour = FLAG_COLOURS.get(r.flags[0], GOOD) if r.flags else GOOD
            ax.axvspan(r.start_s - s.start_s, r.end_s - s.start_s, color=colour, alpha=0.25, lw=0)
            if len(s.reps) <= 20 or r.index % 5 == 0 or r.index == 1:
                ax.text((r.start_s + r.end_s) / 2 - s.start_s, top, str(r.index), ha="center", va="bottom", fontsize=6)
        for a, b in report.gaps:
            if a is not None and b is not None and b > s.start_s - 2 and a < s.end_s + 2:
                ax.axvspan(a - s.start_s, b - s.start_s, color="#868e96", alpha=0.4, lw=0)
        what = f"{s.exercise}{' ' + s.side if s.side else ''}, " if s.exercise else ""
        target = f" of {s.verdict.reps_prescribed}" if s.verdict and s.verdict.reps_prescribed else ""
        ax.set_title(f"set {s.index}: {what}{len(s.reps)}{target} reps", fontsize=8, pad=9)
        ax.tick_params(labelsize=6)
        if n % cols == 0:
            ax.set_ylabel("tilt (deg)", fontsize=7)
        if n // cols == rows - 1:
            ax.set_xlabel("seconds into the set", fontsize=7)
    legend = [Patch(color=GOOD, alpha=0.4, label="rep, good form")]
    legend += [Patch(color=c, alpha=0.4, label=f"rep: {f}") for f, c in FLAG_COLOURS.items()]
    legend += [Patch(color="#868e96", alpha=0.5, label="signal lost")]
    head_in = 0.95  # inches above the plots: the title, then the legend of the shading
    fig.legend(
        handles=legend,
        loc="upper left",
        bbox_to_anchor=(0.01, 1 - 0.42 / fig.get_figheight()),
        ncol=6,
        fontsize=8,
        frameon=False,
    )

    ax_tempo = fig.add_subplot(grid[rows, :])
    x = np.arange(len(sets))
    for j, phase in enumerate(("up", "hold", "down")):
        means = [np.nanmean([_num(r.phase_s(phase)) for r in s.reps]) if s.reps else 0 for s in sets]
        ax_tempo.bar(x + (j - 1) * 0.27, means, width=0.25, label=f"{phase} (measured mean)")
        targets = [getattr(s.prescribed.tempo, f"{phase}_s") if s.prescribed else np.nan for s in sets]
        ax_tempo.scatter(
            x + (j - 1) * 0.27,
            targets,
            marker="_",
            s=250,
            color="black",
            zorder=3,
            label="prescribed" if j == 0 else None,
        )
    ax_tempo.set_xticks(x, [f"{s.index}" for s in sets])
    ax_tempo.set_xlabel("set")
    ax_tempo.set_ylabel("seconds")
    planned = any(s.prescribed for s in sets)
    ax_tempo.set_title("tempo per set" + (" against the prescription" if planned else ""), fontsize=9)
    ax_tempo.legend(fontsize=7, ncol=4)

    ax_h = fig.add_subplot(grid[rows + 1, :])
    n = 0
    labelled: set[str | None] = set()
    for s in sets:
        hs = [np.nan if r.height_cm is None else r.height_cm for r in s.reps]
        idx = np.arange(n, n + len(hs))
        colour = SIDE_COLOURS.get(s.side, SIDE_COLOURS[None])
        label = None if s.side in labelled else (f"{s.side} leg" if s.side else "both legs / seated")
        labelled.add(s.side)
        ax_h.plot(idx, hs, "o-", ms=3, lw=0.8, color=colour, label=label)
        for i, r in zip(idx, s.reps, strict=True):
            if Flag.PARTIAL in r.flags and r.height_cm is not None:
                ax_h.plot(i, r.height_cm, "x", color=FLAG_COLOURS[Flag.PARTIAL], ms=6)
        ax_h.text(n + len(hs) / 2, 0, str(s.index), ha="center", va="bottom", fontsize=6, color="#868e96")
        n += len(hs) + 2
    ax_h.set_xticks([])
    ax_h.set_xlabel("reps, set by set (set number at the foot; x: partial)")
    ax_h.set_ylabel("heel height (cm)")
    ax_h.set_ylim(bottom=0)
    ax_h.legend(fontsize=7, ncol=3)
    summ, src = report.summary, report.source
    when = (src.start_wall or "")[:16].replace("T", " ")
    routine = (
        f"routine {summ.routine}, compliance {summ.compliance:.0f}/100"
        if summ.routine and summ.compliance is not None
        else "no routine"
    )
    fig.suptitle(
        f"{when + ' - ' if when else ''}{total(summ.reps, summ.sets)} - {routine} - "
        f"{src.device or 'unknown device'} on the {src.placement}",
        fontsize=11,
        x=0.01,
        y=1 - 0.12 / fig.get_figheight(),
        ha="left",
        va="top",
    )
    fig.subplots_adjust(left=0.06, right=0.98, top=1 - head_in / fig.get_figheight(), bottom=0.05)
    data = _png(fig)
    plt.close(fig)
    return data


PLACEMENT_MARKERS = {"foot": "s", "shin": "o", "thigh": "D", "chest": "^"}


def history_png(rows: list[SessionRow], path: str | Path, title_filter: str = "") -> None:
    """One point per session (in order, so two on one day stay apart): reps, tempo adherence and the left/right
    symmetry index with the 90 % line; then the reps of each week. Markers by placement, colours by routine."""
    plt = _pyplot()
    import datetime as dt

    from matplotlib.lines import Line2D

    if not rows:
        raise CalfsenseError("no saved sessions to draw", "replay or record a session first")
    when = [dt.datetime.fromisoformat(r.started) for r in rows]
    routines = sorted({r.routine or "no routine" for r in rows})
    palette = plt.get_cmap("tab10")
    colour = {name: palette(i % 10) for i, name in enumerate(routines)}
    fig = plt.figure(figsize=(10, 10))
    grid = fig.add_gridspec(4, 1, height_ratios=[1, 1, 1, 0.9], hspace=0.35)
    ax_reps = fig.add_subplot(grid[0])
    ax_tempo = fig.add_subplot(grid[1], sharex=ax_reps)
    ax_lsi = fig.add_subplot(grid[2], sharex=ax_reps)
    ax_week = fig.add_subplot(grid[3])
    x = np.arange(len(rows))
    placements = sorted({r.placement or "unknown" for r in rows})
    for where in placements:
        # One line per placement: a chest session and a shin session measure differently, not to be joined.
        mine = [(i, r) for i, r in zip(x, rows, strict=True) if (r.placement or "unknown") == where]
        xs = [i for i, _ in mine]
        marker = PLACEMENT_MARKERS.get(where, "x")
        tempo = [np.nan if r.on_tempo_pct is None else r.on_tempo_pct for _, r in mine]
        lsi = [np.nan if r.symmetry_index_pct is None else r.symmetry_index_pct for _, r in mine]
        for ax, ys in ((ax_reps, [float(r.reps) for _, r in mine]), (ax_tempo, tempo), (ax_lsi, lsi)):
            ax.plot(xs, ys, "-", lw=0.7, color="#adb5bd", zorder=1)
            ax.scatter(xs, ys, marker=marker, c=[colour[r.routine or "no routine"] for _, r in mine], zorder=3)
    ax_reps.set_ylabel("reps per session")
    ax_tempo.set_ylabel("on tempo (%)")
    ax_tempo.set_ylim(0, 105)
    ax_lsi.axhline(90.0, color="#c92a2a", lw=1, ls="--", label="90 %: the line clinicians use for return to run")
    ax_lsi.set_ylabel("symmetry index (%)")
    lows = [r.symmetry_index_pct for r in rows if r.symmetry_index_pct is not None]
    ax_lsi.set_ylim(min([50.0, *lows]) - 5, 105)
    ax_lsi.legend(fontsize=7, loc="lower left")
    ax_lsi.set_xticks(x, [f"{w:%m-%d %H:%M}" for w in when], rotation=45, ha="right", fontsize=7)
    for ax in (ax_reps, ax_tempo):
        ax.tick_params(labelbottom=False)
    keys = [Line2D([], [], ls="", marker=PLACEMENT_MARKERS.get(p, "x"), color="#495057", label=p) for p in placements]
    keys += [Line2D([], [], ls="", marker="o", color=colour[n], label=n) for n in routines]
    ax_reps.legend(
        handles=keys, fontsize=7, ncol=min(6, len(keys)), loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False
    )
    weekly: dict[str, int] = {}
    for w, r in zip(when, rows, strict=True):
        year, week, _ = w.isocalendar()
        weekly[f"{year}-W{week:02d}"] = weekly.get(f"{year}-W{week:02d}", 0) + r.reps
    ax_week.bar(list(weekly), list(weekly.values()), color="#74c0fc", width=0.6)
    ax_week.set_xlim(-0.7, max(len(weekly), 6) - 0.3)  # a bar stays a bar when there are few weeks
    ax_week.set_ylabel("reps per week")
    ax_week.tick_params(axis="x", labelsize=7, rotation=45)
    span = f"{when[0]:%Y-%m-%d} to {when[-1]:%Y-%m-%d}"
    title = f"calfsense history: {len(rows)} sessions, {span}" + (f" ({title_filter})" if title_filter else "")
    fig.suptitle(title, y=0.99)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.92, bottom=0.07)
    _save(fig, path)
    plt.close(fig)


def test_picture(result: TestResult) -> bytes:
    """The heel-rise test: each leg's rise over its reps (fatigue), and the symmetry indices against 90 %."""
    plt = _pyplot()
    fig, (ax_h, ax_s) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [2.2, 1]})
    for leg in result.legs:
        colour = SIDE_COLOURS.get(leg.side, SIDE_COLOURS[None])
        xs = np.arange(1, len(leg.heights_cm) + 1)
        ax_h.plot(xs, leg.heights_cm, "o-", ms=3, lw=1, color=colour, label=f"{leg.side}: {leg.reps} reps")
        if leg.fatigue_cm_per_rep is not None and len(xs) >= 3:
            fit = np.polyfit(xs, leg.heights_cm, 1)
            ax_h.plot(xs, np.polyval(fit, xs), "--", lw=0.8, color=colour)
    ax_h.set_xlabel("rep")
    ax_h.set_ylabel("heel rise (cm)")
    ax_h.set_ylim(bottom=0)
    ax_h.legend(fontsize=8)
    ax_h.set_title("height of each rise (dashed: the fatigue slope)", fontsize=9)
    sym = result.symmetry
    names = ["reps", "heel travel", "work"]
    values = [np.nan if v is None else v for v in ((sym.reps_pct, sym.displacement_pct, sym.work_pct) if sym else ())]
    if values:
        colours = ["#2f9e44" if v >= 90 else "#e67700" for v in values]
        ax_s.bar(names[: len(values)], values, color=colours)
        ax_s.axhline(90.0, color="#c92a2a", ls="--", lw=1, label="90 %")
        ax_s.legend(fontsize=8, loc="lower right")
    ax_s.set_ylim(0, 105)
    ax_s.set_ylabel("weaker / stronger (%)")
    ax_s.set_title("limb symmetry index", fontsize=9)
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def tests_png(rows: list[TestRow], path: str | Path) -> None:
    """Heel-rise tests over time: reps per leg, and the symmetry indices against the 90 % line."""
    plt = _pyplot()
    import datetime as dt

    if not rows:
        raise CalfsenseError("no saved tests to draw", "run calfsense test heel-rise on a recording of a test first")
    x = np.arange(len(rows))
    fig, (ax_r, ax_s) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for side, reps in (("left", [r.left_reps for r in rows]), ("right", [r.right_reps for r in rows])):
        ax_r.plot(x, [np.nan if v is None else v for v in reps], "o-", color=SIDE_COLOURS[side], label=side)
    ax_r.set_ylabel("reps to failure")
    ax_r.legend(fontsize=8)
    for name, values, marker in (
        ("reps", [r.lsi_reps for r in rows], "o"),
        ("heel travel", [r.lsi_travel for r in rows], "s"),
        ("work", [r.lsi_work for r in rows], "^"),
    ):
        ax_s.plot(x, [np.nan if v is None else v for v in values], marker + "-", label=name)
    ax_s.axhline(90.0, color="#c92a2a", ls="--", lw=1, label="90 %")
    ax_s.set_ylim(0, 105)
    ax_s.set_ylabel("symmetry index (%)")
    ax_s.legend(fontsize=8, ncol=4, loc="lower right")
    labels = []
    for r in rows:
        try:
            labels.append(f"{dt.datetime.fromisoformat(r.started):%Y-%m-%d}")
        except ValueError:
            labels.append(r.started[:10])
    ax_s.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    ax_r.set_title(f"heel-rise tests: {len(rows)}")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
