"""Saved sensors in a TOML file in the user config directory."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calfsense.errors import CalfsenseError
from calfsense.files import private_dir, write_private


def config_path() -> Path:
    """`config.toml` in the user config directory (CALFSENSE_CONFIG_DIR overrides it, for tests)."""
    override = os.environ.get("CALFSENSE_CONFIG_DIR")
    if override:
        return Path(override) / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("calfsense", appauthor=False)) / "config.toml"


@dataclass
class Config:
    """The default sensor and every paired one, by name."""

    default: str | None = None
    sensors: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The user's body mass (kg), age and sex, for the heel-rise test's work and norms; never needed to count.
    profile: dict[str, Any] = field(default_factory=dict)


def load_config(path: Path | None = None) -> Config:
    """Read the config; a missing file is an empty config."""
    p = path or config_path()
    if not p.exists():
        return Config()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CalfsenseError(f"{p}: damaged config ({exc})", "fix or delete the file and pair again") from None
    sensors = data.get("sensors", {})
    profile = data.get("profile", {})
    return Config(
        default=data.get("default"),
        sensors={k: dict(v) for k, v in sensors.items()},
        profile=dict(profile) if isinstance(profile, dict) else {},
    )


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _toml_string(str(v))


def _toml_string(text: str) -> str:
    """A TOML basic string: any Unicode as itself, quotes, backslashes and control characters escaped.

    (JSON's escapes are not all TOML's: it writes an emoji as a surrogate pair TOML refuses.)
    """
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")  # a lone surrogate is no character at all (not even in UTF-8)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def save_config(cfg: Config, path: Path | None = None) -> Path:
    """Write the config atomically (a crash never leaves half a file)."""
    p = path or config_path()
    private_dir(p.parent)
    lines = ["# calfsense: paired sensors (calfsense pair / devices / forget) and your profile (calfsense profile)"]
    if cfg.default:
        lines.append(f"default = {_toml_value(cfg.default)}")
    if cfg.profile:
        lines.append("")
        lines.append("[profile]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in cfg.profile.items() if value is not None)
    for name, values in cfg.sensors.items():
        lines.append("")
        lines.append(f"[sensors.{_toml_string(name)}]")
        for key, value in values.items():
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
    return write_private(p, "\n".join(lines) + "\n", force=True)
