"""No N+1: the list's query count does not grow with the page size; the dashboard draws its charts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from depportal.accounts.models import Role
from devices.models import Device
from profiles.models import EnrollmentProfile
from syncjobs.models import SyncKind, SyncTrigger
from tests.truth import run_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(local_token, seed_devices, tag_a):
    tokens = [local_token(f"Token {i}", [tag_a]) for i in range(3)]
    for i, token in enumerate(tokens):
        seed_devices(token, 120, prefix=f"Q{i}")
        profile = EnrollmentProfile.objects.create(token=token, name=f"P{i}", profile_uuid=f"uuid-{i}")
        Device.objects.filter(token=token, serial_number__endswith="1XY").update(assigned_profile=profile)
    return tokens


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("as_admin", [True, False])
def test_list_query_count_is_constant_in_page_size(
    many, client, admin_user, make_user, tag_a, api_client_for, as_admin
):
    user = admin_user if as_admin else make_user("scoped", Role.ENROLLMENT_MANAGER, [tag_a])
    client.force_login(user)
    client.get("/devices/")  # the user's first list reads their column choice into the cache once
    small = _queries(client, "/devices/?size=25&ordering=assigned_profile")
    large = _queries(client, "/devices/?size=200&ordering=assigned_profile")
    assert small == large and small < 20
    api = api_client_for(user)
    api.get("/api/v1/devices/", {"limit": 1})  # the token's first use records itself once
    with CaptureQueriesContext(connection) as few:
        assert len(api.get("/api/v1/devices/", {"limit": 5}).json()["results"]) == 5
    with CaptureQueriesContext(connection) as lots:
        assert len(api.get("/api/v1/devices/", {"limit": 300}).json()["results"]) == 300
    assert len(few) == len(lots)


def test_home_dashboard_counts_and_links(many, client, admin_user):
    Device.objects.filter(serial_number="Q0000000XY").update(removed_at="2026-01-01T00:00:00Z")
    client.force_login(admin_user)
    page = client.get("/").content.decode()
    assert 'id="dash-total">359<' in page
    assert page.count('<svg class="chart"') == 4 and 'id="alerts"' in page and "Get started" in page
    token = many[0]
    assert re.search(rf'href="/devices/\?token={token.pk}&amp;state=active"><title>Token 0: 119</title>', page)
    assert "<title>Assigned: 90</title>" in page  # every 4th of 360 devices, one of them removed at Apple
    assert "<title>Mac: 90</title>" in page
    today = timezone.localdate().isoformat()
    assert f"<title>{today[5:]}: 359 added</title>" in page


def test_the_dashboard_shows_a_sync_just_done(apple, onboard, admin_user, client):
    token = onboard(admin_user, server_name="Fresh")
    client.force_login(admin_user)
    assert client.get("/").context["dashboard"].total == 0
    apple.add_devices(token.server_uuid, count=7)
    run_sync(token, SyncKind.MANUAL, SyncTrigger.CONSOLE)
    assert client.get("/").context["dashboard"].total == 7
