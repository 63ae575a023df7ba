import os

import pytest
from rest_framework.test import APIClient

from depportal.accounts.models import Role, ScopeTag
from depportal.accounts.services import api_token_create, default_scope_tag, role_assignment_set

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around it
# are still synchronous, so Django's async-safety guard would refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = ["tests.plugins.browser"]


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
