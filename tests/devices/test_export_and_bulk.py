"""Export streams every matching row with the shown columns; bulk assignment goes through the profiles app."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from devices.models import Device
from profiles.models import AssignmentJob

pytestmark = pytest.mark.django_db


def test_export_streams_all_matching_rows_in_chunks(
    local_token, seed_devices, admin_user, admin_api, client, settings
):
    token = local_token("Export")
    seed_devices(token, 4500, prefix="E1")
    seed_devices(token, 10, prefix="Z9")
    response = admin_api.get("/api/v1/devices/export.csv", {"serial_number__startswith": "E1", "columns": "model,os"})
    assert isinstance(response, StreamingHttpResponse) and response["Content-Type"] == "text/csv; charset=utf-8"
    chunks = list(response.streaming_content)
    assert len(chunks) >= 3  # header, then id-ordered chunks: never the whole result in memory
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert rows[0] == ["Serial number", "Model", "OS"]
    assert len(rows) == 4501 and all(row[0].startswith("E1") for row in rows[1:])
    assert len({row[0] for row in rows[1:]}) == 4500

    client.force_login(admin_user)
    console = client.get("/devices/export.csv?profile_status=assigned&search=Z9")
    rows = list(csv.reader(io.StringIO(b"".join(console.streaming_content).decode())))
    assert rows[0][:2] == ["Serial number", "Model"] and "Last Apple change date" in rows[0]
    assert {r[0] for r in rows[1:]} == set(
        Device.objects.filter(serial_number__startswith="Z9", profile_status="assigned").values_list(
            "serial_number", flat=True
        )
    )


def test_bulk_assign_all_matching_then_unassign(apple, onboard, admin_user, client):
    from profiles.services import profile_create

    token = onboard(admin_user, server_name="Bulk MDM")
    other = onboard(admin_user, server_name="Other MDM")
    serials = [d["serial_number"] for d in apple.add_devices(token.server_uuid, count=5, device_family="iPad")]
    others = [d["serial_number"] for d in apple.add_devices(other.server_uuid, count=2, device_family="iPad")]
    Device.objects.bulk_create([Device(token=token, serial_number=s, device_family="iPad") for s in serials])
    Device.objects.bulk_create([Device(token=other, serial_number=s, device_family="iPad") for s in others])
    profile = profile_create(actor=admin_user, token=token, values={"name": "Shared iPads"})
    client.force_login(admin_user)

    form = {
        "action": "assign",
        "profile": profile.pk,
        "select_all": "1",
        "query": "device_family=iPad",
        "next": "/devices/",
    }
    preview = client.post("/devices/bulk/assign/", form).content.decode()
    assert 'id="assign-count">5<' in preview and 'id="other-tokens"' in preview
    assert not AssignmentJob.objects.exists()
    done = client.post("/devices/bulk/assign/", {**form, "confirm": "yes"})
    job = AssignmentJob.objects.get()
    assert done["Location"] == f"/assignment-jobs/{job.pk}/" and sorted(job.serials) == sorted(serials)
    at_apple = {d["serial_number"]: d.get("profile_uuid") for d in apple.devices(token.server_uuid)}
    assert all(at_apple[s] == profile.profile_uuid for s in serials)
    assert set(Device.objects.filter(assigned_profile=profile).values_list("serial_number", flat=True)) == set(serials)

    ids = list(Device.objects.filter(serial_number__in=serials[:2]).values_list("pk", flat=True))
    client.post("/devices/bulk/assign/", {"action": "unassign", "confirm": "yes", "id": ids})
    unassign = AssignmentJob.objects.latest("pk")
    assert unassign.action == "unassign" and sorted(unassign.serials) == sorted(serials[:2])
    assert Device.objects.filter(assigned_profile=profile).count() == 3
