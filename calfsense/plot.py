"""Pictures of a session and of the history (matplotlib, the optional `calfsense[plot]` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from calfsense.domain import Flag
from calfsense.errors import CalfsenseError
from calfsense.report_model import Report

if TYPE_CHECKING:
    from calfsense.history import SessionRow
    from calfsense.session.model import LoadedSession

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


def _save(fig: Any, path: str | Path) -> None:
    """The picture as a private file (0600), written whole (the caller checked the path first)."""
    import io

    from calfsense.files import write_private

    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format="png")
    write_private(Path(path), buf.getvalue(), force=True)


def _num(value: float | None) -> float:
    return np.nan if value is None else value


def session_png(session: LoadedSession, report: Report, path: str | Path) -> None:
    """Signal with every rep shaded and numbered, tempo against the prescription per set, height per rep."""
    plt = _pyplot()
    fig, (ax_sig, ax_tempo, ax_h) = plt.subplots(3, 1, figsize=(13, 9), gridspec_kw={"height_ratios": [2.2, 1, 1]})
    t = session.time_s
    step = max(1, len(t) // 20000)  # a picture needs no more points than pixels
    acc = session.acc_mg - np.median(session.acc_mg, axis=0)
    for k, name in enumerate("xyz"):
        ax_sig.plot(t[::step], acc[::step, k], lw=0.6, label=f"{name} (mG, minus median)")
    top = float(np.percentile(np.abs(acc), 99.5)) if len(acc) else 1.0
    total = report.summary.reps
    every = 1 if total <= 60 else 5  # numbers must stay readable on a long session
    for n, s in enumerate(report.sets):
        for r in s.reps:
            if r.start_s is None or r.end_s is None:
                continue
            colour = FLAG_COLOURS.get(r.flags[0], "#2f9e44") if r.flags else "#2f9e44"
            ax_sig.axvspan(r.start_s, r.end_s, color=colour, alpha=0.18, lw=0)
            if r.index % every == 0 or r.index == 1 or r.index == len(s.reps):
                ax_sig.text((r.start_s + r.end_s) / 2, top * 0.92, str(r.index), ha="center", fontsize=6)
        label = f"set {s.index}" + (f" {s.exercise}" if s.exercise else "")
        ax_sig.text(s.start_s or 0.0, -top * (0.98 if n % 2 == 0 else 0.86), label, fontsize=7, va="bottom")
    for a, b in report.gaps:
        if a is not None and b is not None:
            ax_sig.axvspan(a, b, color="#868e96", alpha=0.35, lw=0)
    ax_sig.set_xlim(float(t[0]), float(t[-1]))
    ax_sig.set_ylim(-top, top)
    ax_sig.set_xlabel("time (s)")
    ax_sig.legend(loc="upper right", fontsize=7)
    src = report.source
    ax_sig.set_title(
        f"{Path(src.path).name}: {report.summary.reps} reps in {report.summary.sets} sets "
        f"({src.placement}, {src.device or 'unknown device'})",
        fontsize=10,
    )

    sets = report.sets
    x = np.arange(len(sets))
    for j, phase in enumerate(("up", "hold", "down")):
        means = [np.mean([_num(r.phase_s(phase)) for r in s.reps]) if s.reps else 0 for s in sets]
        ax_tempo.bar(x + (j - 1) * 0.27, means, width=0.25, label=f"{phase} (measured)")
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
    ax_tempo.legend(fontsize=7, ncol=4)

    n = 0
    for s in sets:
        hs = [r.height_cm for r in s.reps]
        idx = np.arange(n, n + len(hs))
        ax_h.plot(idx, [np.nan if h is None else h for h in hs], "o-", ms=3, lw=0.8)
        for i, r in zip(idx, s.reps, strict=True):
            if Flag.PARTIAL in r.flags and r.height_cm is not None:
                ax_h.plot(i, r.height_cm, "x", color=FLAG_COLOURS[Flag.PARTIAL])
        n += len(hs) + 2
    ax_h.set_xlabel("rep (sets side by side; x: partial)")
    ax_h.set_ylabel("heel height (cm)")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def history_png(rows: list[SessionRow], path: str | Path) -> None:
    """Reps, tempo adherence and height per session, over time."""
    plt = _pyplot()
    import datetime as dt

    if not rows:
        raise CalfsenseError("no saved sessions to draw", "replay or record a session first")
    when = [dt.datetime.fromisoformat(r.started) for r in rows]
    fig, axes = plt.subplots(3, 1, figsize=(10, 7), sharex=True)
    axes[0].bar(when, [r.reps for r in rows], width=0.6)
    axes[0].set_ylabel("reps")
    axes[1].plot(when, [np.nan if r.on_tempo_pct is None else r.on_tempo_pct for r in rows], "o-")
    axes[1].set_ylabel("on tempo (%)")
    axes[1].set_ylim(0, 105)
    axes[2].plot(when, [np.nan if r.height_cm is None else r.height_cm for r in rows], "o-")
    axes[2].set_ylabel("mean height (cm)")
    axes[0].set_title("calfsense history")
    fig.autofmt_xdate()
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
