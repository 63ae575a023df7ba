"""The inventory refresh: on the beat's schedule and on demand, one at a time, with its progress shown."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from business.models import BusinessConnection, OrgDevice
from business.services import RefreshLost, _claim_refresh, _refresh_progress, inventory_refresh
from business.tasks import inventory_refresh_scheduled_task
from depportal.audit.models import AuditEvent


def org_device_calls(apple):
    return [r for r in apple.requests() if r["path"] == "/v1/orgDevices"]


def hold_lease(connection, *, age_s=0, pages=2, devices=2000):
    beat = timezone.now() - timedelta(seconds=age_s)
    BusinessConnection.objects.filter(pk=connection.pk).update(
        inventory_refresh_started_at=beat,
        inventory_refresh_heartbeat_at=beat,
        inventory_refresh_pages=pages,
        inventory_refresh_devices=devices,
    )
    connection.refresh_from_db()


def test_a_refresh_counts_its_pages_and_devices_and_ends_with_the_time(connection, business_apple):
    business_apple.add_devices(None, count=2100)
    outcome = inventory_refresh(connection=connection)
    assert outcome == {"status": "done", "devices": 2100, "pages": 3, "servers": 0, "removed": 0}
    connection.refresh_from_db()
    assert (connection.inventory_refresh_pages, connection.inventory_refresh_devices) == (3, 2100)
    assert connection.inventory_refresh_started_at is None and connection.inventory_refreshed_at is not None
    assert OrgDevice.objects.count() == 2100


def test_every_device_of_a_large_server_is_linked_to_it(admin_user, onboard, connection, business_apple):
    token = onboard(admin_user, server_name="Portal MDM")
    business_apple.add_devices(token.apple_server["server_uuid"], count=5001)
    assert inventory_refresh(connection=connection)["devices"] == 5001
    assert OrgDevice.objects.filter(server__token=token).count() == 5001


def test_a_second_refresh_while_one_runs_reads_nothing(connection, business_apple):
    hold_lease(connection)
    assert inventory_refresh(connection=connection) == {"status": "already_running"}
    assert not org_device_calls(business_apple)
    connection.refresh_from_db()
    assert connection.inventory_refresh_pages == 2 and connection.inventory_refreshed_at is None


def test_a_refresh_whose_worker_died_is_taken_over(connection, business_apple):
    hold_lease(connection, age_s=django_settings.BUSINESS_INVENTORY_LEASE_S + 1)
    assert inventory_refresh(connection=connection)["status"] == "done"
    assert len(org_device_calls(business_apple)) == 1


def test_a_run_that_lost_its_lease_stops_writing(connection):
    first = _claim_refresh(connection)
    hold_lease(connection, age_s=django_settings.BUSINESS_INVENTORY_LEASE_S + 1)
    second = _claim_refresh(connection)
    assert second == first + 1
    with pytest.raises(RefreshLost):
        _refresh_progress(connection, first, inventory_refresh_pages=99)
    connection.refresh_from_db()
    assert connection.inventory_refresh_pages == 0


def test_an_apple_error_ends_the_refresh_and_says_why(connection, business_apple):
    business_apple.business("add_fault", endpoint="/v1/orgDevices", status=403)
    with pytest.raises(Exception, match="(?i)denied|forbidden|permission"):
        inventory_refresh(connection=connection)
    connection.refresh_from_db()
    assert connection.inventory_refresh_started_at is None and connection.inventory_refresh_error
    # The next refresh is free to run.
    assert inventory_refresh(connection=connection)["status"] == "done"


def test_the_beat_refreshes_the_inventory_on_its_schedule(connection, business_apple):
    entry = django_settings.CELERY_BEAT_SCHEDULE["business-inventory-refresh"]
    assert entry["task"] == "business.tasks.inventory_refresh_scheduled_task"
    assert entry["schedule"] == float(django_settings.BUSINESS_INVENTORY_REFRESH_S)
    business_apple.add_devices(None, count=3)
    assert inventory_refresh_scheduled_task()["devices"] == 3
    hold_lease(connection)
    assert inventory_refresh_scheduled_task() == {"status": "already_running"}


def test_api_refresh_queues_one_and_refuses_a_second_while_it_runs(
    admin_api, connection, business_apple, eager_celery, django_capture_on_commit_callbacks
):
    business_apple.add_devices(None, count=4)
    with django_capture_on_commit_callbacks(execute=True):
        queued = admin_api.post("/api/v1/business/connection/refresh/")
    assert queued.status_code == 202
    state = admin_api.get("/api/v1/business/connection/").json()["inventory_refresh"]
    assert state == {"running": False, "started_at": None, "pages": 1, "devices": 4, "last_error": ""}
    hold_lease(connection)
    audits = AuditEvent.objects.filter(action="inventory_refresh").count()
    refused = admin_api.post("/api/v1/business/connection/refresh/")
    assert refused.status_code == 409
    assert "already being read" in refused.json()["detail"] and "2000 devices so far" in refused.json()["detail"]
    assert AuditEvent.objects.filter(action="inventory_refresh").count() == audits
    running = admin_api.get("/api/v1/business/connection/").json()["inventory_refresh"]
    assert running["running"] and running["pages"] == 2 and running["started_at"]


def test_console_shows_the_progress_and_polls_while_a_refresh_runs(admin_user, client, connection, business_apple):
    client.force_login(admin_user)
    hold_lease(connection, pages=3, devices=2500)
    page = client.get("/tenant/business/").content.decode()
    assert "3 pages, 2500 devices so far" in page and 'hx-trigger="every 2s"' in page
    partial = client.get("/tenant/business/", headers={"HX-Request": "true"}).content.decode()
    assert partial.startswith('<dl class="props" id="inventory-refresh"') and "2500 devices so far" in partial
    refused = client.post("/tenant/business/", {"action": "refresh"}, follow=True).content.decode()
    assert "already being read" in refused
    BusinessConnection.objects.filter(pk=connection.pk).update(inventory_refresh_started_at=None)
    idle = client.get("/tenant/business/").content.decode()
    assert "so far" not in idle and 'hx-trigger="every 2s"' not in idle and "not read yet" in idle
