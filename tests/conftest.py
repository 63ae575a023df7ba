import base64
import os

import pytest
import redis
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from depportal.accounts.models import Role, ScopeTag
from depportal.accounts.services import api_token_create, default_scope_tag, role_assignment_set
from tests.factories import active_tokens
from tests.truth import finish_first_sync

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around it
# are still synchronous, so Django's async-safety guard would refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = ["tests.plugins.browser", "tests.plugins.depsim", "tests.plugins.celery_worker"]


@pytest.fixture
def eager_celery():
    """Celery tasks run in the calling thread (the real task code, no broker)."""
    from depportal.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(username="admin", password="admin-pass-123")


@pytest.fixture
def make_user(django_user_model):
    """make_user("alice", Role.READ_ONLY, [tag]) -> a user holding that role on those tags."""

    def make(username: str, role: str | None = None, tags: list[ScopeTag] | None = None):
        user = django_user_model.objects.create_user(username=username, password=f"{username}-pass-123")
        if role is not None:
            role_assignment_set(actor=None, user=user, role=role, scope_tags=tags or [])
        return user

    return make


@pytest.fixture
def tag_a(db):
    return ScopeTag.objects.create(name="Tag A")


@pytest.fixture
def tag_b(db):
    return ScopeTag.objects.create(name="Tag B")


@pytest.fixture
def default_tag(db):
    return default_scope_tag()


@pytest.fixture
def api_client_for():
    """api_client_for(user) -> a DRF client authenticated with a real API token of that user."""

    def make(user):
        _, key = api_token_create(actor=None, user=user, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def admin_api(admin_user, api_client_for):
    return api_client_for(admin_user)


@pytest.fixture
def manager_a(make_user, tag_a):
    return make_user("manager_a", Role.ENROLLMENT_MANAGER, [tag_a])


@pytest.fixture
def reader_a(make_user, tag_a):
    return make_user("reader_a", Role.READ_ONLY, [tag_a])


@pytest.fixture(autouse=True)
def _no_signin_lockouts():
    """Each test starts with no failed sign-ins counted: the test client always comes from 127.0.0.1."""
    yield
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    for key in client.scan_iter(match="*signin:*"):
        client.delete(key)


@pytest.fixture(scope="session", autouse=True)
def _fresh_redis():
    """Start from an empty Redis database: cached Apple sessions of an earlier run mean nothing now."""
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()


@pytest.fixture
def apple(depsim, settings):
    """depsim, reset, with the portal pointed at it as its Apple."""
    settings.APPLE_DEP_BASE_URL = depsim.base_url
    settings.APPLE_VPP_BASE_URL = f"{depsim.base_url}/mdm/v2"
    return depsim


@pytest.fixture
def fleet(apple, db):
    """fleet(count, devices=0) -> that many active tokens, each on its own depsim server, without the wizard."""
    return lambda count, **options: active_tokens(apple, count, **options)


@pytest.fixture
def onboard(apple):
    """onboard(actor, name=..., tags=[...]) -> an active token, set up the way the wizard does it."""
    from tokens.services import token_activate, token_start

    def make(actor, *, server_name: str = "Test MDM", tags=None, apple_id: str = "it@example.com"):
        token = token_start(actor=actor, data_sharing_consent=True)
        server = apple.create_server(server_name, certificate_pem=token.certificate_pem.encode())
        token_activate(
            actor=actor,
            token=token,
            token_file=base64.b64decode(server["p7m"]),
            apple_id=apple_id,
            scope_tags=tags,
        )
        finish_first_sync(token)
        token.refresh_from_db()
        token.apple_server = server
        return token

    return make
