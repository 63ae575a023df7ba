"""Sync pushed by Apple: signed webhook deliveries queue one debounced delta sync per token per window."""

import hashlib
import hmac
import json

import pytest

from business.models import BusinessConnection, WebhookSync
from business.services import (
    MAX_WEBHOOK_BODY_BYTES,
    MAX_WEBHOOK_SUBJECTS,
    inventory_refresh,
    webhook_enable,
    webhook_receive,
    webhook_signature,
    webhook_sync_due,
    webhook_sync_request,
)
from depportal.core import crypto
from depportal.core.exceptions import ApplicationError
from devices.models import Device
from syncjobs.models import SyncJob, SyncKind, SyncTrigger
from syncjobs.services import syncjob_request
from tests.plugins.celery_worker import wait_for


def delivery(serial: str, server_id: str | None = None) -> bytes:
    payload = {"orgDevice": {"type": "orgDevices", "id": serial}}
    if server_id:
        payload["assignedServer"] = {"type": "mdmServers", "id": server_id}
    event = {
        "type": "webhookEvents",
        "id": "e1",
        "attributes": {"eventType": "ORG_DEVICE_RELATIONSHIP_ASSIGNED_SERVER_CHANGED", "payload": json.dumps(payload)},
    }
    return json.dumps({"data": {"type": "webhookDeliveries", "id": "d1"}, "included": [event]}).encode()


def sign(connection: BusinessConnection, body: bytes) -> str:
    secret = crypto.decrypt(connection.webhook_secret_encrypted)
    return "hmacsha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@pytest.fixture
def hooked(admin_user, onboard, business_apple, connection):
    token = onboard(admin_user, server_name="Portal MDM")
    syncjob_request(token=token, kind=SyncKind.FULL, trigger=SyncTrigger.CONSOLE, actor=admin_user)
    SyncJob.objects.update(state="succeeded")  # its first fetch is not what these tests are about
    token.sync_cursor = "c"
    token.save(update_fields=["sync_cursor"])
    webhook_enable(actor=admin_user, connection=connection, url="https://portal.example/tenant/business/webhook/")
    connection.refresh_from_db()
    inventory_refresh(connection=connection)
    return {"token": token, "server": connection.servers.get(), "connection": connection}


def test_enabling_registers_the_webhook_at_apple_with_a_sealed_secret(hooked, business_apple):
    hooks = business_apple.business("webhooks")
    assert [h["url"] for h in hooks] == ["https://portal.example/tenant/business/webhook/"]
    assert set(hooks[0]["event_types"]) == {
        "ORG_DEVICE_ATTRIBUTE_CHANGED",
        "ORG_DEVICE_RELATIONSHIP_ASSIGNED_SERVER_CHANGED",
    }
    assert hooked["connection"].webhook_secret_encrypted.startswith("v1:")


def test_a_signed_event_queues_one_webhook_sync_and_later_events_wait_for_the_window(hooked, settings):
    settings.BUSINESS_WEBHOOK_WINDOW_S = 300
    connection, token = hooked["connection"], hooked["token"]
    body = delivery("C02ABC123XYZ", hooked["server"].apple_id)
    first = webhook_receive(body=body, signature=sign(connection, body))
    assert first["tokens"] == [token.pk] and first["syncs"][0]["job"]
    assert SyncJob.objects.get(pk=first["syncs"][0]["job"]).trigger == SyncTrigger.WEBHOOK
    SyncJob.objects.filter(trigger=SyncTrigger.WEBHOOK).update(state="succeeded")
    second = webhook_receive(body=body, signature=sign(connection, body))
    third = webhook_receive(body=body, signature=sign(connection, body))
    assert second["syncs"][0]["debounced"] and third["syncs"][0]["debounced"]
    assert SyncJob.objects.filter(trigger=SyncTrigger.WEBHOOK).count() == 1
    assert WebhookSync.objects.get(token=token).pending_since is not None
    # The window's end runs the one follow-up for both events.
    assert webhook_sync_due(token_id=token.pk)["job"]
    assert webhook_sync_due(token_id=token.pk)["job"] is None
    assert SyncJob.objects.filter(trigger=SyncTrigger.WEBHOOK).count() == 2


def test_an_event_during_a_running_sync_gets_a_follow_up(hooked):
    token = hooked["token"]
    running = syncjob_request(token=token, kind=SyncKind.DELTA, trigger=SyncTrigger.SCHEDULE)
    outcome = webhook_sync_request(token_id=token.pk)
    assert outcome["job"] is None and outcome["rule"] == "sync_in_progress"
    assert WebhookSync.objects.get(token=token).pending_since is not None
    SyncJob.objects.filter(pk=running.pk).update(state="succeeded")
    assert webhook_sync_due(token_id=token.pk)["job"]


@pytest.mark.parametrize(
    "signature", ["", "hmacsha256=00", "sha256=abc", "hmacsha256=" + "0" * 64, "hmacsha256=\u00e9\u2603"]
)
def test_unsigned_or_badly_signed_deliveries_are_refused(hooked, signature):
    body = delivery("C02ABC123XYZ")
    with pytest.raises(ApplicationError) as caught:
        webhook_receive(body=body, signature=signature)
    assert caught.value.status == 401
    assert not SyncJob.objects.filter(trigger=SyncTrigger.WEBHOOK).exists()
    assert not WebhookSync.objects.exists()


def test_the_signature_is_the_hex_hmac_sha256_of_the_body_as_apple_documents():
    # The worked example of Apple's "Set up notification authentication" (App Store Connect's webhook page).
    assert webhook_signature(secret=b"This is my secret", body=b"Hello, World!") == (
        "hmacsha256=7f062172b01cb00b53ca068614674a3d982a34062a0f5d37687d5e3377e54657"
    )


def test_a_delivery_signed_over_other_bytes_is_refused(hooked):
    body = delivery("C02ABC123XYZ")
    # The same JSON re-serialised (as a proxy might) no longer matches: the signature covers the raw bytes.
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    with pytest.raises(ApplicationError) as caught:
        webhook_receive(body=reserialised, signature=sign(hooked["connection"], body))
    assert caught.value.status == 401
    assert not WebhookSync.objects.exists()


def test_an_oversized_delivery_is_refused_before_anything_is_read(hooked, client):
    body = b"{" + b" " * MAX_WEBHOOK_BODY_BYTES + b"}"
    response = client.post(
        "/tenant/business/webhook/",
        data=body,
        content_type="application/json",
        headers={"x-apple-signature": sign(hooked["connection"], body)},
    )
    assert response.status_code == 413 and "larger" in response.json()["detail"]
    assert not SyncJob.objects.filter(trigger=SyncTrigger.WEBHOOK).exists()
    assert not WebhookSync.objects.exists()


def test_a_signed_but_absurdly_nested_body_is_refused_as_not_json(hooked):
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ApplicationError) as caught:
        webhook_receive(body=body, signature=sign(hooked["connection"], body))
    assert caught.value.status == 400 and "not JSON" in caught.value.message
    assert not WebhookSync.objects.exists()


def test_a_delivery_naming_too_many_devices_syncs_every_linked_token_once(hooked):
    payloads = [
        {"type": "webhookEvents", "attributes": {"payload": json.dumps({"orgDevice": {"id": f"SN{i:010d}"}})}}
        for i in range(MAX_WEBHOOK_SUBJECTS + 1)
    ]
    body = json.dumps({"data": {"type": "webhookDeliveries"}, "included": payloads}).encode()
    outcome = webhook_receive(body=body, signature=sign(hooked["connection"], body))
    assert outcome["tokens"] == [hooked["token"].pk]
    assert SyncJob.objects.filter(trigger=SyncTrigger.WEBHOOK).count() == 1


def test_receiver_view_answers_401_for_a_bad_signature_and_400_for_bad_json(hooked, client):
    refused = client.post("/tenant/business/webhook/", data=delivery("X"), content_type="application/json")
    assert refused.status_code == 401 and "signature" in refused.json()["detail"]
    body = b"not json"
    bad = client.post(
        "/tenant/business/webhook/",
        data=body,
        content_type="application/json",
        headers={"x-apple-signature": sign(hooked["connection"], body)},
    )
    assert bad.status_code == 400
    assert client.get("/tenant/business/webhook/").status_code == 405
    assert not SyncJob.objects.filter(trigger=SyncTrigger.WEBHOOK).exists()


def test_without_a_webhook_configured_deliveries_are_refused(connection, client):
    response = client.post("/tenant/business/webhook/", data=b"{}", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_move_in_abm_syncs_the_receiving_token_without_a_click(
    admin_user, onboard, business_apple, connection, live_server, celery_worker, settings, client
):
    settings.BUSINESS_WEBHOOK_WINDOW_S = 60
    token = onboard(admin_user, server_name="Portal MDM")
    assert SyncJob.objects.filter(token=token, state="succeeded").exists()  # its own first sync has run
    webhook_enable(actor=admin_user, connection=connection, url=f"{live_server.url}/tenant/business/webhook/")
    loose = [d["serial_number"] for d in business_apple.add_devices(None, count=3, device_family="iPhone")]
    # An administrator assigns the devices in (the simulated) Apple Business Manager, not in the portal.
    business_apple.http.post(
        f"{business_apple.base_url}/abm/servers/{token.server_uuid}/assign",
        data={"serials": "\n".join(loose)},
        headers={"Accept": "application/json"},
        timeout=10,
    ).raise_for_status()
    job = wait_for(
        lambda: SyncJob.objects.filter(token=token, trigger=SyncTrigger.WEBHOOK, state="succeeded").first(),
        timeout=60,
    )
    wait_for(lambda: Device.objects.filter(token=token, serial_number__in=loose).count() == 3)
    assert job.devices_added >= 1
    assert SyncJob.objects.filter(token=token, trigger=SyncTrigger.WEBHOOK).count() <= 2
    assert {d["status"] for d in business_apple.business("deliveries")} == {202}
    client.force_login(admin_user)
    assert "Apple webhook" in client.get(f"/tokens/{token.pk}/").content.decode()
