"""The virtual sensor set up to play something: a recording or export (as the model that made it), or the
built-in simulated session, with the faults asked for. What `--simulate` gives scan, pair and live."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from calfsense.devices import recognise
from calfsense.routine import load_routine
from calfsense.session.importers import load
from calfsense.sources import ble, synthetic, virtual
from calfsense.sources.faults import parse_faults

if TYPE_CHECKING:
    from calfsense.dsp.simulate import BodyRanges, Segment


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


# The virtual pair: two Verity Sense, one on each shoe (the foot sees every raise, and each leg's own).
LEG_SERIALS = {"left": "B7C21A01", "right": "B7C21A02"}
LEG_ADDRESSES = {"left": "A0:9E:1A:B7:C2:01", "right": "A0:9E:1A:B7:C2:02"}


@dataclass(frozen=True, slots=True)
class LegPlayback:
    """A virtual world with a sensor on each leg, and where they are worn."""

    backend: ble.Backend
    sensors: dict[str, virtual.VirtualSensor]
    placement: str
    truth: dict[str, int]  # reps each leg made


def leg_playback(
    plan: list[Segment] | None = None,
    placement: str = "foot",
    speed: float = 1.0,
    faults: dict[str, str] | None = None,
    seed: int = 11,
    ranges: BodyRanges | None = None,
) -> LegPlayback:
    """Two virtual sensors, one per leg, playing one simulated session (the runner-calves routine when `plan`
    is None); `faults` per leg are --faults specs (docs/faults.md)."""
    from calfsense.dsp.simulate import NOMINAL, simulate_legs

    segments = plan or synthetic.plan_from_routine(load_routine("runner-calves"), placement, np.random.default_rng(5))
    sims = simulate_legs(segments, placement, 200.0, seed=seed, ranges=ranges or NOMINAL)
    sensors: dict[str, virtual.VirtualSensor] = {}
    for side, sim in sims.items():
        profile = replace(synthetic.VERITY, name=f"{synthetic.VERITY.device.name_prefix} {LEG_SERIALS[side]}")
        motion = virtual.motion_from_simulation(sim)
        spec = (faults or {}).get(side)
        chosen = parse_faults(spec, motion.duration_s) if spec else None
        battery = 81 if side == "left" else 64
        sensors[side] = virtual.VirtualSensor(
            motion, profile, address=LEG_ADDRESSES[side], speed=speed, faults=chosen, battery=battery
        )
    world = virtual.VirtualWorld(list(sensors.values()))
    backend = ble.Backend(virtual.VirtualScanner, virtual.VirtualClient, {"world": world})
    return LegPlayback(backend, sensors, placement, {side: len(sim.reps) for side, sim in sims.items()})
