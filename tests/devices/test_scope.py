"""Every device endpoint, console and API, sees and changes only devices of the user's scope tags."""

import pytest
from django.utils import timezone

from devices.models import Device, DeviceImport

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_scopes(local_token, seed_devices, tag_a, tag_b):
    token_a = local_token("Alpha", [tag_a])
    token_b = local_token("Bravo", [tag_b])
    a = seed_devices(token_a, 6, prefix="AA")
    b = seed_devices(token_b, 6, prefix="BB")
    Device.objects.filter(pk__in=[a[0].pk, b[0].pk]).update(deleted_here_at=timezone.now())
    return token_a, token_b, a, b


def _serials(content: bytes, prefix: str) -> set[str]:
    text = content.decode()
    return {
        word for word in text.replace(",", " ").replace("<", " ").replace(">", " ").split() if word.startswith(prefix)
    }


def test_api_endpoints_are_scoped(two_scopes, manager_a, reader_a, api_client_for):
    token_a, token_b, a, b = two_scopes
    api = api_client_for(manager_a)
    listed = api.get("/api/v1/devices/", {"state": "all", "limit": 100}).json()["results"]
    assert {row["id"] for row in listed} == {d.pk for d in a}
    assert api.get("/api/v1/devices/", {"token": token_b.pk}).status_code == 400
    assert api.get(f"/api/v1/devices/{b[1].pk}/").status_code == 404
    assert api.get(f"/api/v1/devices/{a[1].pk}/").json()["scope_tags"][0]["name"] == "Tag A"
    assert api.delete(f"/api/v1/devices/{b[1].pk}/").status_code == 404
    restored = api.post("/api/v1/devices/restore/", {"ids": [b[0].pk, a[0].pk]}, format="json").json()
    assert restored == {"restored": 1}
    assert Device.objects.get(pk=b[0].pk).deleted_here_at is not None
    by_serial = api.post("/api/v1/devices/restore/", {"serial_numbers": [b[0].serial_number]}, format="json")
    assert by_serial.json() == {"restored": 0}
    export = b"".join(api.get("/api/v1/devices/export.csv", {"state": "all"}).streaming_content)
    assert _serials(export, "AA") == {d.serial_number for d in a} and not _serials(export, "BB")

    reader = api_client_for(reader_a)
    assert reader.get(f"/api/v1/devices/{a[2].pk}/").status_code == 200
    assert reader.delete(f"/api/v1/devices/{a[2].pk}/").status_code == 403
    assert reader.post("/api/v1/devices/restore/", {"ids": [a[0].pk]}, format="json").status_code == 403
    assert Device.objects.get(pk=a[2].pk).deleted_here_at is None


def test_console_pages_are_scoped(two_scopes, client, manager_a, reader_a):
    token_a, token_b, a, b = two_scopes
    client.force_login(manager_a)
    page = client.get("/devices/?state=all&size=200").content
    assert _serials(page, "AA") >= {d.serial_number for d in a} and not _serials(page, "BB")
    assert b"Bravo" not in page
    assert client.get(f"/tokens/{token_b.pk}/devices/").status_code == 404
    assert client.get(f"/devices/{b[1].pk}/").status_code == 404
    assert client.post(f"/devices/{b[1].pk}/delete/").status_code == 404
    assert client.post(f"/devices/{b[0].pk}/restore/").status_code == 404
    export = b"".join(client.get("/devices/export.csv?state=all").streaming_content)
    assert not _serials(export, "BB")

    client.post("/devices/bulk/", {"action": "delete", "confirm": "yes", "id": [b[1].pk, a[1].pk]})
    client.post(
        "/devices/bulk/", {"action": "delete", "confirm": "yes", "select_all": "1", "query": f"token={token_b.pk}"}
    )
    assert set(Device.objects.filter(deleted_here_at__isnull=False).values_list("pk", flat=True)) == {
        a[0].pk,
        a[1].pk,
        b[0].pk,
    }
    selected = client.post("/devices/bulk/", {"action": "export", "id": [b[2].pk, a[2].pk]})
    body = b"".join(selected.streaming_content)
    assert _serials(body, "AA") == {a[2].serial_number} and not _serials(body, "BB")

    response = client.post("/devices/import/", {"token": token_b.pk, "serial_numbers": b[2].serial_number})
    assert response.status_code == 200 and not DeviceImport.objects.exists()
    other = DeviceImport.objects.create(token=token_b, rows=[], counts={})
    assert client.get(f"/devices/imports/{other.pk}/").status_code == 404
    assert client.get(f"/devices/imports/{other.pk}/report.csv").status_code == 404
    home = client.get("/").content
    assert b"Alpha" in home and b"Bravo" not in home

    client.force_login(reader_a)
    assert client.get(f"/devices/{a[2].pk}/").status_code == 200
    assert client.post(f"/devices/{a[2].pk}/delete/").status_code == 403
    assert client.post("/devices/bulk/", {"action": "delete", "confirm": "yes", "id": [a[2].pk]}).status_code == 403
    assert Device.objects.get(pk=a[2].pk).deleted_here_at is None


def test_token_choices_are_each_users_own(two_scopes, admin_user, manager_a, api_client_for):
    # The filter's form class is shared by every request; the token choices it checks against are not.
    token_a, token_b, a, b = two_scopes
    admin, manager = api_client_for(admin_user), api_client_for(manager_a)
    assert admin.get("/api/v1/devices/", {"token": token_b.pk}).json()["count"] == 5
    assert manager.get("/api/v1/devices/", {"token": token_b.pk}).status_code == 400
    assert manager.get("/api/v1/devices/", {"token": token_a.pk}).json()["count"] == 5
    assert admin.get("/api/v1/devices/", {"token": token_b.pk}).json()["count"] == 5
