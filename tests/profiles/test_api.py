"""REST API: CRUD, assignment, default profile, VPP tokens, certificates; scope isolation on every endpoint."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from depportal.accounts.models import Role
from depportal.audit.models import AuditEvent
from profiles import services
from profiles.models import EnrollmentProfile, VppToken
from tests.factories import certificate_bytes, vpp_token_file

pytestmark = pytest.mark.django_db


def test_create_read_update_delete(apple, token, admin_api):
    response = admin_api.post(
        "/api/v1/profiles/",
        {"token": token.pk, "name": "API profile", "skip_setup_items": ["Siri"], "department": "IT"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["push_status"] == "pushed" and body["profile_uuid"]
    assert body["apple_profile"]["skip_setup_items"] == ["Siri"] and body["warnings"] == []
    pk = body["id"]
    listed = admin_api.get(f"/api/v1/profiles/?token={token.pk}").json()
    assert [p["name"] for p in listed["results"]] == ["API profile"]

    patched = admin_api.patch(f"/api/v1/profiles/{pk}/", {"department": "Sales"}, format="json").json()
    assert patched["department"] == "Sales" and patched["skip_setup_items"] == ["Siri"]
    assert patched["profile_uuid"] != body["profile_uuid"] and patched["reassign_job"] is None

    put = admin_api.put(f"/api/v1/profiles/{pk}/", {"name": "API profile"}, format="json").json()
    assert put["department"] == "" and put["skip_setup_items"] == []  # PUT states the whole profile

    assert admin_api.delete(f"/api/v1/profiles/{pk}/").status_code == 204
    assert not EnrollmentProfile.objects.exists()
    assert AuditEvent.objects.filter(object_type="enrollment_profile", action="update").exists()


def test_assign_unassign_and_delete_in_use(apple, token, admin_user, admin_api, make_devices):
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "P"})
    serials = make_devices(token, count=2)
    response = admin_api.post(
        f"/api/v1/profiles/{profile.pk}/assign/", {"serial_numbers": [*serials, "ZZZ0000001"]}, format="json"
    )
    assert response.status_code == 200
    job = response.json()
    assert job["state"] == "succeeded" and job["counts"] == {"SUCCESS": 2} and job["unknown_serials"] == ["ZZZ0000001"]
    assert admin_api.get(f"/api/v1/assignment-jobs/{job['id']}/").json()["results"] == {s: "SUCCESS" for s in serials}
    assert admin_api.get(f"/api/v1/profiles/{profile.pk}/").json()["devices_assigned"] == 2

    refused = admin_api.delete(f"/api/v1/profiles/{profile.pk}/")
    assert refused.status_code == 409 and refused.json()["devices_assigned"] == 2
    response = admin_api.post(
        f"/api/v1/profiles/{profile.pk}/unassign/", {"serial_numbers": serials[:1]}, format="json"
    )
    assert response.json()["results"] == {serials[0]: "SUCCESS"}
    assert admin_api.delete(f"/api/v1/profiles/{profile.pk}/?confirm=true").status_code == 204


def test_default_profile_endpoint(apple, token, admin_user, admin_api, onboard):
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "P"})
    url = f"/api/v1/tokens/{token.pk}/default-profile/"
    assert admin_api.put(url, {"profile": profile.pk}, format="json").json() == {
        "profile": profile.pk,
        "platform": "ios",
    }
    assert admin_api.get(url).json()["profile"] == profile.pk
    assert EnrollmentProfile.objects.get(pk=profile.pk).is_default
    other_token = onboard(admin_user, server_name="Other")
    foreign = services.profile_create(actor=admin_user, token=other_token, values={"name": "F"}, push=False)
    response = admin_api.put(url, {"profile": foreign.pk}, format="json")
    assert response.status_code == 400 and "profile" in response.json()["fields"]
    assert admin_api.put(url, {"profile": None}, format="json").json()["profile"] is None
    assert not EnrollmentProfile.objects.filter(is_default=True).exists()
    # The token list is still the API root's "tokens" entry.
    assert admin_api.get("/api/v1/").json()["tokens"].endswith("/api/v1/tokens/")


def test_vpp_tokens_and_certificates(admin_api):
    response = admin_api.post(
        "/api/v1/vpp-tokens/",
        {
            "token_file": SimpleUploadedFile("a.vpptoken", vpp_token_file(days=10)),
            "licenses_total": 50,
            "licenses_used": 45,
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Acme Inc" and body["licenses_left"] == 5 and "sToken" not in str(body)
    assert {alert["code"] for alert in body["alerts"]} == {"vpp_token_expiring", "vpp_licenses_low"}
    assert "stoken-123" not in VppToken.objects.get().s_token_encrypted
    again = admin_api.post(
        "/api/v1/vpp-tokens/", {"token_file": SimpleUploadedFile("a.vpptoken", vpp_token_file())}, format="multipart"
    )
    assert again.status_code == 400 and "already uploaded" in again.json()["fields"]["token_file"][0]
    bad = admin_api.post(
        "/api/v1/vpp-tokens/", {"token_file": SimpleUploadedFile("a.vpptoken", b"garbage!")}, format="multipart"
    )
    assert bad.status_code == 400 and "not a VPP token" in bad.json()["fields"]["token_file"][0]
    patched = admin_api.patch(f"/api/v1/vpp-tokens/{body['id']}/", {"licenses_used": 60}, format="multipart")
    assert patched.status_code == 400 and "licenses_used" in patched.json()["fields"]

    cert = admin_api.post(
        "/api/v1/configurator-certificates/",
        {"certificate_file": SimpleUploadedFile("c.cer", certificate_bytes("Mac A"))},
        format="multipart",
    )
    assert cert.status_code == 201 and cert.json()["subject"] == "CN=Mac A"
    bad = admin_api.post(
        "/api/v1/configurator-certificates/",
        {"certificate_file": SimpleUploadedFile("c.cer", b"nope")},
        format="multipart",
    )
    assert bad.status_code == 400 and "not a certificate" in bad.json()["fields"]["certificate_file"][0]


def test_scope_isolation_on_every_endpoint(apple, onboard, admin_user, make_user, api_client_for, tag_a, tag_b):
    token_a = onboard(admin_user, server_name="A", tags=[tag_a])
    token_b = onboard(admin_user, server_name="B", tags=[tag_b])
    profile_a = services.profile_create(actor=admin_user, token=token_a, values={"name": "PA"})
    profile_b = services.profile_create(actor=admin_user, token=token_b, values={"name": "PB"})
    job_b = services.profile_assign_devices(actor=admin_user, profile=profile_b, serials=["NOT-THERE"])
    vpp_b = services.vpp_token_create(actor=admin_user, token_file=vpp_token_file(), scope_tags=[tag_b])
    cert_b = services.configurator_certificate_create(
        actor=admin_user, certificate_file=certificate_bytes(), scope_tags=[tag_b]
    )
    api = api_client_for(make_user("manager_a", Role.ENROLLMENT_MANAGER, [tag_a]))

    assert [p["name"] for p in api.get("/api/v1/profiles/").json()["results"]] == ["PA"]
    assert api.get(f"/api/v1/profiles/{profile_a.pk}/").status_code == 200
    not_found = [
        api.get(f"/api/v1/profiles/{profile_b.pk}/"),
        api.patch(f"/api/v1/profiles/{profile_b.pk}/", {"department": "x"}, format="json"),
        api.put(f"/api/v1/profiles/{profile_b.pk}/", {"name": "x"}, format="json"),
        api.delete(f"/api/v1/profiles/{profile_b.pk}/"),
        api.post(f"/api/v1/profiles/{profile_b.pk}/assign/", {"serial_numbers": ["A"]}, format="json"),
        api.post(f"/api/v1/profiles/{profile_b.pk}/unassign/", {"serial_numbers": ["A"]}, format="json"),
        api.post(f"/api/v1/profiles/{profile_b.pk}/push/"),
        api.get(f"/api/v1/profiles/?token={token_b.pk}"),
        api.get(f"/api/v1/tokens/{token_b.pk}/default-profile/"),
        api.put(f"/api/v1/tokens/{token_b.pk}/default-profile/", {"profile": profile_b.pk}, format="json"),
        api.get(f"/api/v1/assignment-jobs/{job_b.pk}/"),
        api.get(f"/api/v1/vpp-tokens/{vpp_b.pk}/"),
        api.patch(f"/api/v1/vpp-tokens/{vpp_b.pk}/", {"name": "x"}, format="multipart"),
        api.delete(f"/api/v1/vpp-tokens/{vpp_b.pk}/"),
        api.get(f"/api/v1/configurator-certificates/{cert_b.pk}/"),
        api.delete(f"/api/v1/configurator-certificates/{cert_b.pk}/"),
    ]
    assert [r.status_code for r in not_found] == [404] * len(not_found)
    assert api.get("/api/v1/assignment-jobs/").json()["results"] == []
    assert api.get("/api/v1/vpp-tokens/").json()["results"] == []
    assert api.get("/api/v1/configurator-certificates/").json()["results"] == []
    created = api.post("/api/v1/profiles/", {"token": token_b.pk, "name": "Sneaky"}, format="json")
    assert created.status_code == 400 and "token" in created.json()["fields"]
    using_b = api.post(
        "/api/v1/profiles/",
        {
            "token": token_a.pk,
            "name": "X",
            "sync_with_computers": "certificate",
            "configurator_certificates": [cert_b.pk],
        },
        format="json",
    )
    assert using_b.status_code == 400 and "configurator_certificates" in using_b.json()["fields"]
    assert EnrollmentProfile.objects.get(pk=profile_b.pk).department == ""


def test_read_only_users_cannot_change(apple, token, admin_user, make_user, api_client_for, default_tag):
    profile = services.profile_create(actor=admin_user, token=token, values={"name": "P"})
    api = api_client_for(make_user("reader", Role.READ_ONLY, [default_tag]))
    assert api.get(f"/api/v1/profiles/{profile.pk}/").status_code == 200
    assert api.patch(f"/api/v1/profiles/{profile.pk}/", {"department": "x"}, format="json").status_code == 403
