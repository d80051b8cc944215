"""The exceptions `mock_imds` raises, each carrying the mock's own message."""

from __future__ import annotations

from typing import Optional


class MockImdsError(Exception):
    """Base class of every error this package raises."""


class StartError(MockImdsError):
    """`mock-imds serve` could not be started: no binary, a port in use, a bad setting,
    or no endpoints printed in time. The message says which, with the mock's stderr."""


class ControlError(MockImdsError):
    """A control API call failed.

    Attributes:
        status: the HTTP status the mock answered (400 for a bad fault spec, 404 for an
            endpoint it does not have, …), or None when there was no HTTP answer (it
            could not be reached, or `mock-imds ctl` refused a schedule file first).
        message: the mock's own `error` text, or why it could not be reached.
    """

    def __init__(self, what: str, status: Optional[int], message: str) -> None:
        self.status = status
        self.message = message
        where = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"{what}: {where}: {message}")
