"""No answer tells a user of tag A what exists in tag B: "not yours" and "does not exist" read the same.

Each case sends the same request twice, once naming an object of tag B and once an id nobody has, and
expects identical answers; refusals that must mention another scope's object do not name it.
"""

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from depportal.accounts.models import Role
from depportal.audit.models import AuditEvent
from depportal.core.exceptions import ApplicationError
from profiles import services as profile_services
from tests.factories import certificate_bytes, vpp_token_file
from tokens.models import EnrollmentProgramToken
from tokens.services import token_activate, token_start, token_update

pytestmark = pytest.mark.django_db

MISSING = 987_654


@pytest.fixture
def scopes(apple, onboard, admin_user, make_user, api_client_for, tag_a, tag_b):
    token_a = onboard(admin_user, server_name="Server-A", tags=[tag_a])
    token_b = onboard(admin_user, server_name="Secret-Server-B", tags=[tag_b])
    vpp_file, cert_file = vpp_token_file(s_token="team-b-stoken"), certificate_bytes("Team-B-Mac")
    return {
        "token_a": token_a,
        "token_b": token_b,
        "profile_b": profile_services.profile_create(actor=admin_user, token=token_b, values={"name": "Team-B-P"}),
        "vpp_b": profile_services.vpp_token_create(
            actor=admin_user, token_file=vpp_file, name="Team-B-VPP", scope_tags=[tag_b]
        ),
        "vpp_file": vpp_file,
        "cert_b": profile_services.configurator_certificate_create(
            actor=admin_user, certificate_file=cert_file, name="Team-B-Cert", scope_tags=[tag_b]
        ),
        "cert_file": cert_file,
        "api": api_client_for(make_user("manager_a", Role.ENROLLMENT_MANAGER, [tag_a])),
    }


def _pair(scopes, send):
    foreign, missing = send(scopes, "foreign"), send(scopes, "missing")
    assert foreign.status_code == missing.status_code and foreign.status_code in (400, 404)
    assert foreign.json() == missing.json()
    assert "Team-B" not in foreign.content.decode() and "Secret-Server-B" not in foreign.content.decode()
    return foreign


def _id(scopes, key, which):
    return scopes[key].pk if which == "foreign" else MISSING


CASES = {
    "token-detail": lambda s, w: s["api"].get(f"/api/v1/tokens/{_id(s, 'token_b', w)}/"),
    "token-patch": lambda s, w: s["api"].patch(
        f"/api/v1/tokens/{_id(s, 'token_b', w)}/", {"name": "x"}, format="json"
    ),
    "profile-detail": lambda s, w: s["api"].get(f"/api/v1/profiles/{_id(s, 'profile_b', w)}/"),
    "profiles-of-token": lambda s, w: s["api"].get(f"/api/v1/profiles/?token={_id(s, 'token_b', w)}"),
    "vpp-detail": lambda s, w: s["api"].get(f"/api/v1/vpp-tokens/{_id(s, 'vpp_b', w)}/"),
    "certificate-delete": lambda s, w: s["api"].delete(f"/api/v1/configurator-certificates/{_id(s, 'cert_b', w)}/"),
    "profile-on-token": lambda s, w: s["api"].post(
        "/api/v1/profiles/", {"token": _id(s, "token_b", w), "name": "x"}, format="json"
    ),
    "profile-with-vpp-token": lambda s, w: s["api"].post(
        "/api/v1/profiles/",
        {"token": s["token_a"].pk, "name": "x", "install_company_portal": True, "vpp_token": _id(s, "vpp_b", w)},
        format="json",
    ),
    "profile-with-certificate": lambda s, w: s["api"].post(
        "/api/v1/profiles/",
        {
            "token": s["token_a"].pk,
            "name": "x",
            "sync_with_computers": "certificate",
            "configurator_certificates": [_id(s, "cert_b", w)],
        },
        format="json",
    ),
    "default-profile": lambda s, w: s["api"].put(
        f"/api/v1/tokens/{s['token_a'].pk}/default-profile/", {"profile": _id(s, "profile_b", w)}, format="json"
    ),
    "device-filter-token": lambda s, w: s["api"].get(f"/api/v1/devices/?token={_id(s, 'token_b', w)}"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_foreign_and_missing_ids_read_the_same(scopes, case):
    events = AuditEvent.objects.count()
    _pair(scopes, CASES[case])
    assert AuditEvent.objects.count() == events


def test_duplicate_uploads_do_not_name_another_scopes_object(scopes):
    api = scopes["api"]
    vpp = api.post(
        "/api/v1/vpp-tokens/",
        {"token_file": SimpleUploadedFile("b.vpptoken", scopes["vpp_file"])},
        format="multipart",
    )
    cert = api.post(
        "/api/v1/configurator-certificates/",
        {"certificate_file": SimpleUploadedFile("b.cer", scopes["cert_file"])},
        format="multipart",
    )
    assert vpp.status_code == cert.status_code == 400
    assert "already uploaded" in vpp.content.decode() and "already uploaded" in cert.content.decode()
    assert "Team-B" not in vpp.content.decode() + cert.content.decode()


def test_connecting_another_scopes_server_does_not_name_its_token(apple, scopes, make_user, tag_a):
    manager_a = make_user("manager_a2", Role.ENROLLMENT_MANAGER, [tag_a])
    # The server's name is in the uploader's own file from Apple; the portal's name for its token is not.
    token_update(actor=None, token=scopes["token_b"], name="Team-B-Token")
    pending = token_start(actor=manager_a, data_sharing_consent=True)
    again = apple.renew_server(scopes["token_b"].server_uuid, certificate_pem=pending.certificate_pem.encode())
    with pytest.raises(ApplicationError) as error:
        token_activate(
            actor=manager_a, token=pending, token_file=base64.b64decode(again["p7m"]), apple_id="it@example.com"
        )
    message = error.value.fields["token_file"][0]
    assert "already connected to DEP Portal" in message and "Team-B-Token" not in message
    assert EnrollmentProgramToken.objects.get(pk=pending.pk).is_pending
