import pytest


@pytest.fixture
def business_apple(apple, settings):
    """depsim as Apple for both services: DEP and the School and Business Manager API."""
    settings.APPLE_BUSINESS_API_URL = f"{apple.base_url}/v1"
    settings.APPLE_BUSINESS_TOKEN_URL = f"{apple.base_url}/auth/oauth2/token"
    settings.BUSINESS_ACTIVITY_POLL_S = 0
    return apple


@pytest.fixture
def api_account(business_apple):
    """An API account created in the simulated ABM, with its one-time private key."""
    return business_apple.business("create_account", name="DEP Portal")


@pytest.fixture
def connection(admin_user, api_account):
    from business.services import connection_create

    return connection_create(
        actor=admin_user,
        client_id=api_account["client_id"],
        key_id=api_account["key_id"],
        private_key=api_account["private_key_pem"].encode(),
    )
