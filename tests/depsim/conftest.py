import pytest

from tests.depsim.apple import AppleSession


@pytest.fixture
def creds(depsim):
    """One MDM server's OAuth values, as its token file from Apple holds them."""
    return depsim.create_server("Test MDM")


@pytest.fixture
def apple(depsim, creds):
    """The MDM server's side of the protocol, speaking to depsim over real HTTP."""
    return AppleSession(depsim.base_url, creds)
