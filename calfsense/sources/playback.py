"""The virtual sensor set up to play something: a recording or export (as the model that made it), or the
built-in simulated session, with the faults asked for. What `--simulate` gives scan, pair and live."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calfsense.devices import recognise
from calfsense.routine import load_routine
from calfsense.session.importers import load
from calfsense.sources import ble, synthetic, virtual
from calfsense.sources.faults import parse_faults


@dataclass(frozen=True, slots=True)
class Playback:
    """A virtual world with one sensor in it, and where the played recording says it was worn."""

    backend: ble.Backend
    sensor: virtual.VirtualSensor
    placement: str | None


def playback(recording: str | None = None, speed: float = 1.0, faults: str | None = None) -> Playback:
    """A virtual sensor playing `recording` (the simulated runner-calves session when None) at `speed` x real
    time; `faults` is a --faults spec (docs/faults.md)."""
    from calfsense.dsp.simulate import simulate

    placement = None
    model = "h10"
    if recording:
        session = load(recording)
        motion = virtual.motion_from_session(session)
        placement = session.placement
        known = recognise(session.model)
        if known is not None and known.key in synthetic.PROFILES:
            model = known.key  # the virtual sensor is the model that made the recording
    else:
        plan = synthetic.plan_from_routine(load_routine("runner-calves"), "shin", np.random.default_rng(5), rest_s=20)
        motion = virtual.motion_from_simulation(simulate(plan, "shin", 200.0, seed=5))
    chosen = parse_faults(faults, motion.duration_s) if faults else None
    sensor = virtual.VirtualSensor(motion, synthetic.PROFILES[model], speed=speed, faults=chosen)
    world = virtual.VirtualWorld([sensor])
    return Playback(ble.Backend(virtual.VirtualScanner, virtual.VirtualClient, {"world": world}), sensor, placement)
