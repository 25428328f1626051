"""Signal processing: simulation with ground truth and streaming heel-raise detection (pure)."""

from __future__ import annotations

from calfsense.dsp.detect import Detector, Rep, RepSet, Session, detect

__all__ = ["Detector", "Rep", "RepSet", "Session", "detect"]
