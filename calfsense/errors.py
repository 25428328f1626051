"""The project-wide exception tree; every error carries one line of advice."""

from __future__ import annotations


class CalfsenseError(Exception):
    """Root of every error calfsense raises on purpose."""

    advice: str = ""

    def __init__(self, message: str, advice: str | None = None) -> None:
        super().__init__(message)
        if advice is not None:
            self.advice = advice

    def one_line(self) -> str:
        """The message and its advice on one line, for the CLI."""
        text = str(self)
        return f"{text} ({self.advice})" if self.advice else text


class FrameError(CalfsenseError):
    """A notification payload that cannot be decoded (truncated, unknown type, impossible field)."""

    advice = ""


class PmdError(CalfsenseError):
    """The sensor answered a control-point command with an error status."""


class InputFileError(CalfsenseError):
    """A recording or export file that cannot be read."""


class RoutineError(CalfsenseError):
    """A routine file or prescription that is invalid."""


class PlacementError(CalfsenseError):
    """The sensor placement cannot see the requested exercise."""
