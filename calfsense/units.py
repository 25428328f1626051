"""Physical constants shared across layers (light: no numpy, so importers and `info` start fast)."""

from __future__ import annotations

G_MPS2 = 9.80665  # standard gravity: 1 g, and 1000 mG, in m/s^2
