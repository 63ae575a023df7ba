"""What the project plugs into the Apple clients, so that this package imports nothing of ours.

The ops app sets both at start-up (depportal/ops/apps.py):
- `call_counted(method, path, status, body, error)` hears of every Apple HTTP exchange (status 0 with
  `error` when no answer came), for /metrics; it must never raise.
- `sealer` protects the sessions and access tokens the clients cache in Redis: `seal(text) -> str` and
  `unseal(text) -> str | None`, None when the value cannot be opened (a retired key, damage).
"""

from __future__ import annotations

from typing import Protocol


class CallCounter(Protocol):
    def __call__(self, method: str, path: str, status: int, body: str = "", error: str = "") -> None: ...


class Sealer(Protocol):
    def seal(self, text: str) -> str: ...

    def unseal(self, text: str) -> str | None: ...


def _count_nothing(method: str, path: str, status: int, body: str = "", error: str = "") -> None:
    return None


call_counted: CallCounter = _count_nothing
sealer: Sealer | None = None


def install(*, counter: CallCounter, seal_with: Sealer) -> None:
    """Plug in the project's call counter and sealer (idempotent)."""
    global call_counted, sealer
    call_counted = counter
    sealer = seal_with


def active_sealer() -> Sealer:
    """The installed sealer; a Redis cache of Apple secrets without one would hold them in plain text."""
    if sealer is None:
        raise RuntimeError("depportal.apple.hooks.install() has not run: no sealer for cached Apple secrets.")
    return sealer
