"""Connecting the organisation: validated by an access token from Apple, sealed at rest, same in console and API."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.files.uploadedfile import SimpleUploadedFile

from business.models import BusinessConnection, ConnectionState
from business.services import connection_create, connection_validate
from depportal.audit.models import AuditEvent
from depportal.core.exceptions import ApplicationError, Conflict


def pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def connect_via_api(client, account, **overrides):
    data = {
        "client_id": account["client_id"],
        "key_id": account["key_id"],
        "private_key": SimpleUploadedFile("key.pem", account["private_key_pem"].encode()),
        **overrides,
    }
    return client.post("/api/v1/business/connection/", data, format="multipart")


def test_connect_stores_the_key_sealed_and_shows_the_token_expiry(admin_user, connection, api_account):
    stored = BusinessConnection.objects.get()
    assert stored.state == ConnectionState.ACTIVE
    assert stored.kind == "business"
    assert api_account["private_key_pem"].split("\n")[1] not in stored.private_key_encrypted
    assert stored.private_key_encrypted.startswith("v1:")
    assert stored.access_token_expires_at is not None
    assert AuditEvent.objects.filter(action="create", object_type="business_connection").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("client_id", "com.example.app", "BUSINESSAPI."),
        ("key_id", "", "key ID"),
        ("private_key", b"", "private key"),
        ("private_key", b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n", "PEM"),
        ("private_key", pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "P-256"),
        ("private_key", b"x" * 20000, "private key"),
    ],
)
def test_hostile_input_is_refused_and_nothing_is_stored(db, admin_user, api_account, field, value, message):
    values = {
        "client_id": api_account["client_id"],
        "key_id": api_account["key_id"],
        "private_key": api_account["private_key_pem"].encode(),
        field: value,
    }
    with pytest.raises(ApplicationError) as caught:
        connection_create(actor=admin_user, **values)
    assert message in str(caught.value.fields.get(field) or caught.value.message)
    assert not BusinessConnection.objects.exists()


def test_a_key_apple_does_not_know_is_refused_by_apple(db, admin_user, api_account):
    other_key = pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ApplicationError, match="Apple did not accept the API account"):
        connection_create(
            actor=admin_user, client_id=api_account["client_id"], key_id=api_account["key_id"], private_key=other_key
        )
    assert not BusinessConnection.objects.exists()


def test_only_one_connection(admin_user, connection, api_account):
    with pytest.raises(Conflict):
        connection_create(
            actor=admin_user,
            client_id=api_account["client_id"],
            key_id=api_account["key_id"],
            private_key=api_account["private_key_pem"].encode(),
        )


def test_a_revoked_key_turns_the_connection_to_error(admin_user, connection, api_account, business_apple):
    business_apple.business("revoke_account", client_id=api_account["client_id"])
    connection_validate(actor=admin_user, connection=connection)
    connection.refresh_from_db()
    assert connection.state == ConnectionState.ERROR
    assert connection.last_error_code == "invalid_client"
    from business.alerts import connection_alerts

    assert connection_alerts(connection)[0].level == "critical"


def test_api_connect_read_validate_disconnect(admin_api, api_account, business_apple):
    response = connect_via_api(admin_api, api_account)
    assert response.status_code == 201, response.content
    assert "private_key" not in response.json()
    assert admin_api.get("/api/v1/business/connection/").json()["state"] == "active"
    assert admin_api.post("/api/v1/business/connection/validate/").json()["last_validated_at"]
    again = connect_via_api(admin_api, api_account)
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    assert admin_api.delete("/api/v1/business/connection/").status_code == 204
    assert admin_api.get("/api/v1/business/connection/").status_code == 404


def test_api_hostile_connect_gives_the_console_message(admin_api, api_account):
    response = connect_via_api(admin_api, api_account, client_id="nope")
    assert response.status_code == 400
    assert "BUSINESSAPI." in response.json()["fields"]["client_id"][0]
    assert not BusinessConnection.objects.exists()


def test_non_administrators_cannot_reach_the_connection(manager_a, api_client_for, api_account, client):
    api = api_client_for(manager_a)
    assert connect_via_api(api, api_account).status_code == 403
    assert api.get("/api/v1/business/devices/").status_code == 403
    client.force_login(manager_a)
    assert client.get("/tenant/business/").status_code == 403
    assert not BusinessConnection.objects.exists()


def test_console_connect_and_disconnect_with_confirmation(admin_user, client, api_account, business_apple):
    client.force_login(admin_user)
    page = client.get("/tenant/business/")
    assert b"Connect the organisation" in page.content
    bad = client.post(
        "/tenant/business/",
        {"client_id": "nope", "key_id": "k", "private_key": SimpleUploadedFile("k.pem", b"x")},
    )
    assert b"BUSINESSAPI." in bad.content
    assert not BusinessConnection.objects.exists()
    client.post(
        "/tenant/business/",
        {
            "client_id": api_account["client_id"],
            "key_id": api_account["key_id"],
            "private_key": SimpleUploadedFile("k.pem", api_account["private_key_pem"].encode()),
        },
    )
    assert BusinessConnection.objects.exists()
    asked = client.post("/tenant/business/", {"action": "disconnect"})
    assert b"Disconnect the organisation?" in asked.content
    assert BusinessConnection.objects.exists()
    client.post("/tenant/business/", {"action": "disconnect", "confirm": "yes"})
    assert not BusinessConnection.objects.exists()


def test_the_navigation_marks_a_failed_connection_for_administrators(
    admin_user, manager_a, client, connection, api_account, business_apple
):
    client.force_login(admin_user)
    assert 'id="business-alert"' in client.get("/").content.decode()  # inventory not read yet: a warning
    business_apple.business("revoke_account", client_id=api_account["client_id"])
    connection_validate(actor=admin_user, connection=connection)
    page = client.get("/tenant/business/").content.decode()
    assert 'class="badge badge-err" id="business-alert"' in page
    assert "Apple refused the Apple Business connection" in page
    client.force_login(manager_a)
    assert "business-alert" not in client.get("/").content.decode()
