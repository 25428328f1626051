"""Commands with a sensor: scan, pair, devices, forget, live."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from calfsense.cli import (
    BUNDLED,
    JSON_OPTION,
    PLACEMENT_CHOICE,
    SAVE_OPTION,
    WORN_CHOICE,
    Finite,
    _report,
    _run_async,
    _save_to_history,
    echo_json,
    fail,
    main,
)
from calfsense.errors import SENSOR_NOT_FOUND_ADVICE
from calfsense.samples import DEFAULT_RECORDING, sample_path
from calfsense.text import printable

if TYPE_CHECKING:
    from calfsense.live_run import LiveOptions
    from calfsense.sources.virtual import VirtualSensor


@main.command()
@click.option("--timeout", "timeout_s", type=Finite(0.5, 120), default=5.0, show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Show every device, not only heart-rate and Polar sensors.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--simulate", is_flag=True, help="Scan a virtual sensor instead of the radio.")
def scan(timeout_s: float, show_all: bool, as_json: bool, simulate: bool) -> None:
    """Find sensors: name, identifier, signal strength, model and what each can stream."""
    from calfsense.sources import ble
    from calfsense.sources.playback import playback

    # The virtual sensor is the one `live --simulate` plays: the bundled sample's Verity Sense.
    backend = playback(str(sample_path(DEFAULT_RECORDING))).backend if simulate else ble.real_backend()
    found = _run_async(ble.scan(timeout_s if not simulate else min(timeout_s, 1.0), show_all, backend))
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in found], indent=1))
        return
    if not found:
        click.echo(f"no sensors found ({SENSOR_NOT_FOUND_ADVICE})")
        return
    click.echo(f"{'name':<26}{'identifier':<40}{'rssi':>6}  {'model':<22}streams")
    for f in found:
        click.echo(f"{printable(f.name):<26}{f.address:<40}{f.rssi:>6}  {f.model:<22}{', '.join(f.streams)}")


@main.command()
@click.argument("target", required=False)
@click.option(
    "--placement",
    type=WORN_CHOICE,
    default=None,
    help="Where you wear it (default: chest for an H10, shin otherwise).",
)
@click.option("--simulate", is_flag=True, help="Pair the virtual sensor.")
@click.option("--phyphox", "phyphox_url", default=None, metavar="URL", help="Save a phone running phyphox instead.")
@click.option(
    "--leg",
    type=click.Choice(["left", "right"]),
    default=None,
    help="The leg it is worn on, for a sensor on each leg: once both legs have one, `calfsense live` uses both.",
)
@JSON_OPTION
def pair(
    target: str | None, placement: str | None, simulate: bool, phyphox_url: str | None, leg: str | None, as_json: bool
) -> None:
    """Connect to a sensor (NAME or ADDRESS; default: the nearest Polar), read it and save it as the default."""
    from calfsense.config import load_config, save_config
    from calfsense.devices import recognise
    from calfsense.sources import ble
    from calfsense.sources.playback import playback

    if phyphox_url is not None:
        _pair_phone(phyphox_url, placement or "shin", as_json)
        return
    backend = playback(str(sample_path(DEFAULT_RECORDING))).backend if simulate else ble.real_backend()
    chosen = placement
    paired = _run_async(ble.pair(target, chosen or "auto", backend))
    if chosen is None:
        known = recognise(paired.model)
        chosen = known.wear if known is not None else "shin"
    cfg = load_config()
    entry = paired.as_dict()
    entry["placement"] = chosen
    entry["simulated"] = simulate
    if leg is not None:
        # One sensor per leg: the leg's previous sensor gives the leg up.
        for other in cfg.sensors.values():
            if other.get("leg") == leg:
                other.pop("leg")
        entry["leg"] = leg
    cfg.sensors[paired.name] = entry
    cfg.default = paired.name
    path = save_config(cfg)
    if as_json:
        echo_json({**entry, "name": paired.name, "default": True, "config": str(path)})
        return
    battery = f", battery {paired.battery}%" if paired.battery is not None else ""
    click.echo(
        f"paired {printable(paired.name)} ({paired.model}, firmware {printable(paired.firmware or '?')}{battery})"
    )
    click.echo(
        f"  streams: {', '.join(paired.features) or 'heart rate only'}; acceleration at "
        f"{', '.join(map(str, paired.acc_rates_hz)) or '-'} Hz, "
        f"range {', '.join(map(str, paired.acc_ranges_g)) or '-'} G"
    )
    on = f" of the {leg} leg" if leg else ""
    click.echo(f"  worn on the {chosen}{on}; saved as the default sensor in {path}")
    if leg is not None:
        legs = saved_legs(cfg.sensors)
        if legs is not None:
            click.echo(f"  a sensor on each leg: `calfsense live` streams both ({legs['left']}, {legs['right']})")
        else:
            click.echo(f"  pair the {'right' if leg == 'left' else 'left'} leg's sensor with --leg too to use both")
    if chosen == "chest":
        click.echo("  note: a chest strap cannot see seated raises; wear a Verity Sense on the shin for those")
        # bench/bench_accuracy.py: the chest counts fast and moderate tempos well, slow (3 s) raises poorly.
        click.echo("  note: on the chest, slow raises (3 s up and down) are often missed; the shin or shoe counts best")


def _pair_phone(url: str, placement: str, as_json: bool) -> None:
    """Check that the phone answers with the right experiment, then save it as the default sensor."""
    import urllib.request

    from calfsense.config import load_config, save_config
    from calfsense.errors import SensorNotFoundError
    from calfsense.protocol.phyphox import PhyphoxError, check_config
    from calfsense.sources.phyphox import PHYPHOX_ADVICE, normalise_url

    address = normalise_url(url)
    try:
        request = urllib.request.Request(address + "/config", headers={"Connection": "close"})
        with urllib.request.urlopen(request, timeout=5.0) as answer:
            experiment = check_config(answer.read())
    except PhyphoxError as exc:
        fail(f"{address}: {exc}")
    except OSError as exc:
        raise SensorNotFoundError(f"no answer from phyphox at {address}: {exc}", PHYPHOX_ADVICE) from None
    cfg = load_config()
    name = f"phone {address.split('//', 1)[1]}"
    entry = {"kind": "phyphox", "address": address, "model": "phyphox (phone)", "placement": placement}
    cfg.sensors[name] = entry
    cfg.default = name
    path = save_config(cfg)
    if as_json:
        echo_json({**entry, "name": name, "experiment": experiment.title, "default": True, "config": str(path)})
        return
    click.echo(f"paired {name}: phyphox '{experiment.title}'")
    click.echo(f"  worn on the {placement}; saved as the default sensor in {path} (calfsense live uses it)")


@main.command()
@JSON_OPTION
def devices(as_json: bool) -> None:
    """Saved sensors (the default is marked)."""
    from calfsense.config import load_config

    cfg = load_config()
    if as_json:
        echo_json([{**s, "name": name, "default": name == cfg.default} for name, s in cfg.sensors.items()])
        return
    if not cfg.sensors:
        click.echo("no saved sensors: run `calfsense pair` (or `calfsense pair --simulate` to try)")
        return
    for name, s in cfg.sensors.items():
        mark = "*" if name == cfg.default else " "
        sim = " (virtual)" if s.get("simulated") else ""
        leg = f" ({s['leg']} leg)" if s.get("leg") else ""
        fields = (printable(s.get("address", "")), printable(s.get("model", "")), printable(s.get("placement", "")))
        click.echo(f"{mark} {printable(name):<26}{fields[0]:<20}{fields[1]:<14}{fields[2]}{leg}{sim}")


@main.command()
@click.argument("name")
def forget(name: str) -> None:
    """Remove a saved sensor."""
    from calfsense.config import load_config, save_config

    cfg = load_config()
    match = [n for n in cfg.sensors if n == name or cfg.sensors[n].get("address", "").lower() == name.lower()]
    if not match:
        fail(f"no saved sensor {name!r} (see `calfsense devices`)")
    del cfg.sensors[match[0]]
    if cfg.default == match[0]:
        cfg.default = next(iter(cfg.sensors), None)
    save_config(cfg)
    click.echo(f"forgot {match[0]}")


def saved_legs(sensors: dict[str, dict[str, Any]]) -> dict[str, str] | None:
    """The saved sensors paired with --leg, {"left": address, "right": address}, when both legs have one."""
    legs = {s["leg"]: str(s.get("address") or name) for name, s in sensors.items() if s.get("leg") in ("left", "right")}
    return legs if set(legs) == {"left", "right"} else None


def build_live_options(
    device: str | None,
    routine: str | None,
    placement: str | None,
    simulate: str | None,
    replay_file: str | None,
    speed: float | None,
    faults: str | None,
    plain: bool,
    sound: str,
    record_dir: str | None,
    phyphox_url: str | None,
    left: str | None = None,
    right: str | None = None,
    both_legs: bool = False,
) -> LiveOptions:
    """Where a live session's data comes from (a sensor, the paired one, a sensor on each leg, a phone, the
    virtual sensor or a file) and everything else it was asked for; what `live` and `test heel-rise --live` run."""
    from calfsense import history
    from calfsense.config import load_config
    from calfsense.live_run import LiveOptions
    from calfsense.routine import DEFAULT_ROUTINE, load_routine
    from calfsense.session.importers import load
    from calfsense.sources import ble
    from calfsense.sources.playback import playback

    plan = load_routine(routine or DEFAULT_ROUTINE)
    target = device
    where = placement
    if faults is not None and simulate is None:
        fail("--faults needs --simulate (it says what goes wrong with the virtual sensor)")
    if replay_file is not None and (simulate is not None or device is not None):
        fail("--replay plays a file: leave out --simulate and --device")
    if phyphox_url is not None and (simulate is not None or device is not None or replay_file is not None):
        fail("--phyphox makes the phone the sensor: leave out --simulate, --replay and --device")
    if (left is None) != (right is None):
        fail("a sensor on each leg needs both --left and --right")
    if left is not None and (simulate is not None or replay_file is not None or phyphox_url or device is not None):
        fail("--left and --right are the sensors: leave out --device, --simulate, --replay and --phyphox")
    if both_legs and (simulate is None or simulate != BUNDLED):
        fail("--both-legs plays a simulated session on two virtual sensors: use it with --simulate alone")
    replayed = load(replay_file) if replay_file is not None else None
    sensor: VirtualSensor | None = None
    phone_url: str | None = None
    backend: ble.Backend | None
    legs: dict[str, str] | None = None
    cfg_legs = None
    if left is None and device is None and simulate is None and replay_file is None and phyphox_url is None:
        cfg_legs = saved_legs(load_config().sensors)
    if both_legs:
        from calfsense.sources.playback import LEG_ADDRESSES, leg_playback

        faulted = {"right": faults} if faults else None  # a fault on one leg: the other counts on
        played_legs = leg_playback(placement=where or "foot", speed=speed or 30.0, faults=faulted)
        backend, legs, where = played_legs.backend, dict(LEG_ADDRESSES), played_legs.placement
        sensor = played_legs.sensors["right"]
        click.echo(f"a virtual Verity Sense on each {where}, playing runner-calves at {speed or 30.0:g}x", err=True)
    elif left is not None and right is not None:
        backend, legs = ble.real_backend(), {"left": left, "right": right}
        where = where or "foot"
        click.echo(f"a sensor on each leg: left {left}, right {right} (worn on the {where})", err=True)
    elif cfg_legs is not None:
        backend, legs = ble.real_backend(), cfg_legs
        where = where or "foot"
        click.echo(f"the paired sensor on each leg: left {legs['left']}, right {legs['right']}", err=True)
    elif phyphox_url is not None:
        from calfsense.sources.phyphox import normalise_url

        phone_url = normalise_url(phyphox_url)
        backend = None
        where = where or "shin"  # a phone is strapped to the shin or slipped into a sock
        click.echo(f"phone: phyphox at {phone_url} (worn on the {where})", err=True)
    elif replayed is not None:
        backend = None  # the file is the source
        where = where or replayed.placement or "auto"
        click.echo(f"replaying {Path(replay_file or '').name} at {speed or 30.0:g}x", err=True)
    elif simulate is not None:
        source = str(sample_path(DEFAULT_RECORDING)) if simulate == BUNDLED else simulate
        if not Path(source).exists():
            fail(f"{source}: no such recording")
        played = playback(source, speed or 30.0, faults)
        backend, sensor, recorded_placement = played.backend, played.sensor, played.placement
        target = sensor.name
        where = where or recorded_placement or "auto"
        click.echo(f"virtual {sensor.profile.model} playing {Path(source).name} at {sensor.speed:g}x", err=True)
    else:
        backend = ble.real_backend()
        cfg = load_config()
        saved = cfg.sensors.get(device or cfg.default or "", {})
        target = device or saved.get("address") or cfg.default
        where = where or saved.get("placement") or "auto"
        if saved.get("kind") == "phyphox":  # a paired phone: the same as --phyphox
            backend, phone_url = None, str(saved.get("address"))
            click.echo(f"phone: phyphox at {phone_url} (worn on the {where})", err=True)
        elif target is None:
            click.echo(
                "no saved sensor: looking for the nearest Polar sensor (run `calfsense pair` to save one)", err=True
            )
    base = Path(record_dir) if record_dir else history.data_dir() / "recordings"
    return LiveOptions(
        routine=plan,
        placement=where,
        backend=backend,
        target=target,
        record_dir=base,
        plain=plain or not sys.stdout.isatty(),
        sound=sound,
        simulated=simulate is not None,
        time_scale=(speed or 30.0) if simulate is not None or replayed is not None else 1.0,
        disk_room_bytes=sensor.faults.disk_full_after_bytes if sensor is not None else None,
        replay=replayed,
        phyphox_url=phone_url,
        legs=legs,
    )


@main.command()
@click.option("--device", default=None, help="Sensor name or address (default: the one saved by `calfsense pair`).")
@click.option("--routine", default=None, help="Built-in routine or TOML file (default: runner-calves).")
@click.option("--placement", type=PLACEMENT_CHOICE, default=None, help="Where the sensor is worn.")
@click.option(
    "--simulate",
    "simulate",
    is_flag=False,
    flag_value=BUNDLED,
    default=None,
    metavar="[RECORDING]",
    help="Use the virtual sensor, playing RECORDING (default: the bundled sample session).",
)
@click.option(
    "--replay",
    "replay_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Coach a recording or another app's export as if it were streaming now (no sensor, nothing recorded).",
)
@click.option(
    "--phyphox",
    "phyphox_url",
    default=None,
    metavar="URL",
    help="A phone as the sensor: phyphox's 'Acceleration with g' with remote access on, at the address it "
    "shows (http://IP:8080). See firmware_notes/phyphox.md.",
)
@click.option(
    "--speed",
    type=Finite(0.1, 200),
    default=None,
    help="Virtual sensor or --replay speed (default: 30x).",
)
@click.option(
    "--faults",
    default=None,
    metavar="SPEC",
    help="With --simulate: what goes wrong with the virtual sensor, e.g. drop-every=60,down=5,"
    "connect-errors=timeout+abort,clock-reset (see docs/faults.md).",
)
@click.option("--plain", is_flag=True, help="One line per event (also when the output is not a terminal).")
@click.option(
    "--sound",
    type=click.Choice(["off", "tones", "voice"]),
    default="off",
    show_default=True,
    help="tones: a metronome at the prescribed tempo (rise, top, lower, bottom), a blip each rep, rest ticks; "
    "voice: the count spoken too. Needs calfsense[sound].",
)
@click.option(
    "--record-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where recordings go (default: recordings/ in the user data directory).",
)
@click.option("--left", default=None, metavar="DEVICE", help="A sensor on each leg: the left leg's (with --right).")
@click.option("--right", default=None, metavar="DEVICE", help="A sensor on each leg: the right leg's (with --left).")
@click.option(
    "--both-legs",
    is_flag=True,
    help="With --simulate: a virtual sensor on each shoe (single-leg sets credited to the leg that moved).",
)
@SAVE_OPTION
def live(
    device: str | None,
    routine: str | None,
    placement: str | None,
    simulate: str | None,
    replay_file: str | None,
    speed: float | None,
    faults: str | None,
    plain: bool,
    sound: str,
    record_dir: str | None,
    save: bool | None,
    phyphox_url: str | None,
    left: str | None,
    right: str | None,
    both_legs: bool,
) -> None:
    """Count, pace and coach every rep of the routine as it happens, recording everything.

    With a sensor on each leg (--left and --right, or two sensors paired with --leg) both stream into one
    session and recording: single-leg sets are credited to the leg that moved, and left and right are
    compared as the session goes.
    """
    import asyncio

    from calfsense.live_run import run_live
    from calfsense.report_text import format_report
    from calfsense.session.importers import load

    opts = build_live_options(
        device,
        routine,
        placement,
        simulate,
        replay_file,
        speed,
        faults,
        plain,
        sound,
        record_dir,
        phyphox_url,
        left,
        right,
        both_legs,
    )
    plan, where, replayed = opts.routine, opts.placement, opts.replay
    recording, coach, session = asyncio.run(run_live(opts))
    if replayed is not None and replay_file is not None:
        # The report is the replay's: the same file through the same detector and rules.
        click.echo("")
        report = _report(replayed, where, plan)
        click.echo(format_report(report))
        _save_to_history(report, replay_file, save)
        return
    if recording is None:
        fail("no data was received, so there is nothing to report")
    click.echo("")
    report = _report(load(recording), where, plan)
    click.echo(format_report(report))
    tally = coach.legs_tally()
    if tally is not None:
        from calfsense.legs import legs_summary

        click.echo(legs_summary(tally))
    if session is not None and (session.stats.dropped or session.stats.reconnects):
        click.echo(f"link: {session.stats.reconnects} reconnect(s), {session.stats.dropped} notification(s) dropped")
    click.echo(f"recording: {recording}")
    _save_to_history(report, recording, save)
