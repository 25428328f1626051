"""The bundled sample sessions (synthetic, each with its truth), found installed or in a checkout."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

DEFAULT_RECORDING = "runner-calves-verity-shin.csrec.jsonl"


def samples_dir() -> Path:
    """Where the bundled recordings are: the package data `calfsense.recordings`, or a checkout's recordings/."""
    try:
        root = importlib.resources.files("calfsense.recordings")
    except ModuleNotFoundError:  # a checkout on sys.path without an install (the tests' pythonpath)
        return Path(__file__).resolve().parent.parent / "recordings"
    # Installed from a wheel or editable, the files are plain files on disk (the package is never zipped).
    return Path(str(root))


def sample_path(name: str = DEFAULT_RECORDING) -> Path:
    """The path of one bundled recording."""
    return samples_dir() / name


def is_sample(path: Path) -> bool:
    """Whether a path is one of the bundled recordings (they are not the user's sessions)."""
    try:
        return path.resolve().parent == samples_dir().resolve()
    except OSError:
        return False
