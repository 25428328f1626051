"""calfsense: a calf-raise coach for the BLE heart-rate and IMU sensors runners already own."""

from __future__ import annotations

from calfsense.errors import CalfsenseError, FrameError

__version__ = "0.1.0"

__all__ = ["CalfsenseError", "FrameError", "__version__"]
