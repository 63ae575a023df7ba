"""depsim fixtures: one simulator per test session, reset before each test that asks for it."""

from __future__ import annotations

import pytest

from depsim.control import DepSimControl
from depsim.server import RunningServer, start_in_thread


@pytest.fixture(scope="session")
def depsim_server() -> RunningServer:
    """A depsim serving on a free local port for the whole session (seeded: generated data repeats)."""
    server = start_in_thread(port=0, seed=20240101)
    yield server
    server.shutdown()


@pytest.fixture
def depsim(depsim_server: RunningServer) -> DepSimControl:
    """A freshly reset simulator's control client; `.base_url` is the simulator's base URL."""
    control = DepSimControl(depsim_server.base_url)
    control.reset()
    yield control
    control.http.close()
