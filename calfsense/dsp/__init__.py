"""Signal processing: simulation with ground truth and streaming heel-raise detection (pure)."""

from __future__ import annotations

from calfsense.dsp.detect import Detector, detect
from calfsense.dsp.model import Rep, RepSet, Session
from calfsense.dsp.params import PARAMS, DetectorParams

__all__ = ["PARAMS", "Detector", "DetectorParams", "Rep", "RepSet", "Session", "detect"]
