"""Foot and leg geometry shared by the simulator and the height estimators.

A heel raise rotates the foot about the ball of the foot (the metatarsal heads). With the heel
`HEEL_TO_BALL_M` behind the ball, a foot pitch of theta lifts the heel by L*sin(theta). The ankle
joint sits `ANKLE_BEHIND_BALL_M` behind the ball and `ANKLE_HEIGHT_M` above the floor, so it rises
by dx*sin(theta) + dz*(cos(theta) - 1): what a shin or chest sensor rides on.
Values are adult averages (foot length ~26 cm); a real foot differs by about +-8 %, which is the
main systematic error of every height estimate here.
"""

from __future__ import annotations

import math

from calfsense.units import G_MPS2 as G_MPS2  # re-exported: the simulator reads it here

HEEL_TO_BALL_M = 0.19
ANKLE_BEHIND_BALL_M = 0.14
ANKLE_HEIGHT_M = 0.08
THIGH_LENGTH_M = 0.45


def heel_height_from_pitch_m(pitch_rad: float, heel_to_ball_m: float = HEEL_TO_BALL_M) -> float:
    """Heel height for a foot pitch about the ball of the foot."""
    return heel_to_ball_m * math.sin(max(0.0, pitch_rad))


def ankle_rise_m(
    pitch_rad: float, ankle_behind_ball_m: float = ANKLE_BEHIND_BALL_M, ankle_height_m: float = ANKLE_HEIGHT_M
) -> float:
    """How far the ankle (and what rides on it) rises for a foot pitch."""
    return ankle_behind_ball_m * math.sin(pitch_rad) + ankle_height_m * (math.cos(pitch_rad) - 1.0)


def heel_height_from_ankle_rise_m(rise_m: float) -> float:
    """Invert `ankle_rise_m` (monotone over 0-60 degrees) and return the heel height.

    dx sin(t) + dz cos(t) = rise + dz is R sin(t + phi) with R = hypot(dx, dz), phi = atan2(dz, dx).
    """
    if rise_m <= 0:
        return 0.0
    dx, dz = ANKLE_BEHIND_BALL_M, ANKLE_HEIGHT_M
    ratio = min(1.0, (rise_m + dz) / math.hypot(dx, dz))
    pitch = min(math.radians(60), math.asin(ratio) - math.atan2(dz, dx))
    return heel_height_from_pitch_m(pitch)
