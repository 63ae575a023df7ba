"""Errors of the simulator: Apple-style answers and refused control requests."""

from __future__ import annotations


class AppleError(Exception):
    """An Apple-style error answer: HTTP status plus the code string Apple puts in the body."""

    def __init__(self, status: int, code: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.headers = headers or {}


class ControlError(Exception):
    """A control/ABM request that cannot be honoured (unknown server, bad input)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
