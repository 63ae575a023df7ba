"""Tenant administration > Notifications in the console and /api/v1/notification-settings/."""

import pytest

from depportal.audit.models import AuditEvent
from overview.alerts.models import NotificationSettings
from tests.alerts.conftest import SECRET

pytestmark = pytest.mark.django_db

PAGE = "/tenant/notifications/"
API = "/api/v1/notification-settings/"


def _form(**overrides):
    data = {
        "email_enabled": "on",
        "email_recipients": "mdm@example.com, oncall@example.com",
        "webhook_enabled": "on",
        "webhook_url": "https://hooks.example.com/dep/T0KEN-in-path",
        "webhook_secret": SECRET,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_readers_read_and_only_administrators_change(client, admin_user, reader_a, notify_by):
    notify_by(email=["mdm@example.com"], webhook="https://hooks.example.com/dep/T0KEN-in-path")
    client.force_login(reader_a)
    page = client.get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200
    assert "mdm@example.com" in html and 'id="notification-form"' not in html
    # Readers see where the webhook goes, not its path (chat services put a secret there).
    assert "https://hooks.example.com/…" in html and "T0KEN-in-path" not in html
    assert client.post(PAGE, _form(email_recipients="evil@example.com")).status_code == 403
    assert client.post(PAGE, {"send_test": "1"}).status_code == 403
    assert NotificationSettings.objects.get().recipient_list == ["mdm@example.com"]

    client.force_login(admin_user)
    response = client.post(PAGE, _form(), follow=True)
    assert "Notification settings saved." in response.content.decode()
    row = NotificationSettings.objects.get()
    assert row.recipient_list == ["mdm@example.com", "oncall@example.com"]
    assert row.updated_by == admin_user


def test_people_without_a_role_cannot_open_the_page(client, make_user):
    client.force_login(make_user("nobody"))
    assert client.get(PAGE).status_code == 403


def test_the_secret_is_never_rendered(client, admin_user):
    client.force_login(admin_user)
    html = client.get(PAGE).content.decode()
    assert '<dd id="secret-state">not set</dd>' in html
    client.post(PAGE, _form())
    html = client.get(PAGE).content.decode()
    assert '<dd id="secret-state">set</dd>' in html and SECRET not in html
    # Nor echoed back when the form comes back with errors.
    html = client.post(PAGE, _form(webhook_url="ftp://files.example.com/")).content.decode()
    assert SECRET not in html
    # A blank secret keeps the stored one.
    client.post(PAGE, _form(webhook_secret=""))
    assert NotificationSettings.objects.get().webhook_secret_set


def test_invalid_console_input_gets_field_errors(client, admin_user):
    client.force_login(admin_user)
    page = client.post(
        PAGE, _form(email_recipients="ok@example.com, not-an-address", webhook_url="javascript:alert(1)")
    )
    html = page.content.decode()
    assert page.status_code == 200
    emails = html.split('id="id_email_recipients_errors"')[1].split("</ul>")[0]
    assert "Not a valid email address: not-an-address." in emails
    assert "Enter a valid http:// or https:// URL." in html.split('id="id_webhook_url_errors"')[1]
    short = client.post(PAGE, _form(webhook_secret="short")).content.decode()
    assert "Use at least 16 characters." in short.split('id="id_webhook_secret_errors"')[1]
    assert not NotificationSettings.objects.exists()


def test_send_test_notification_from_the_console(client, admin_user, webhook_receiver, mailoutbox):
    receiver = webhook_receiver()
    client.force_login(admin_user)
    html = client.post(PAGE, {"send_test": "1"}, follow=True).content.decode()
    assert "Add email recipients or a webhook URL" in html
    # Saved but turned off: the test still goes to both, so they can be tried before turning them on.
    client.post(PAGE, _form(email_enabled=None, webhook_enabled=None, webhook_url=receiver.url))
    html = client.post(PAGE, {"send_test": "1"}, follow=True).content.decode()
    assert "Email: Sent to 2 recipients." in html
    assert "Webhook: The webhook at 127.0.0.1 accepted it." in html
    assert mailoutbox[0].subject == "[DEP Portal] Test notification"
    (delivery,) = receiver.deliveries
    assert delivery.headers["X-DEPPortal-Event"] == "test" and delivery.signed_with(SECRET)
    assert AuditEvent.objects.get(action="test_notification").changes == {"email": "sent", "webhook": "sent"}


def test_a_failing_test_webhook_is_reported(client, admin_user, webhook_receiver):
    receiver = webhook_receiver(default=500)
    client.force_login(admin_user)
    client.post(PAGE, _form(email_enabled=None, email_recipients="", webhook_url=receiver.url))
    html = client.post(PAGE, {"send_test": "1"}, follow=True).content.decode()
    assert "Webhook: The webhook at 127.0.0.1 answered HTTP 500." in html


def test_api_reads_writes_and_never_returns_the_secret(admin_api, api_client_for, reader_a, make_user):
    assert admin_api.get(API).json()["webhook_secret_set"] is False
    response = admin_api.patch(
        API,
        {
            "email_enabled": True,
            "email_recipients": ["mdm@example.com"],
            "webhook_enabled": True,
            "webhook_url": "https://hooks.example.com/dep",
            "webhook_secret": SECRET,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["email_recipients"] == ["mdm@example.com"] and body["webhook_secret_set"] is True
    assert SECRET not in response.content.decode() and "webhook_secret" not in body
    assert SECRET not in admin_api.get(API).content.decode()

    reader = api_client_for(reader_a)
    assert reader.get(API).json()["webhook_url"] == "https://hooks.example.com/…"
    denied = reader.patch(API, {"email_enabled": False}, format="json")
    assert denied.status_code == 403
    assert reader.post(f"{API}test/").status_code == 403
    assert api_client_for(make_user("nobody")).get(API).status_code == 403
    assert NotificationSettings.objects.get().email_enabled is True

    # PATCH changes only what it names.
    assert admin_api.patch(API, {"email_enabled": False}, format="json").json()["webhook_secret_set"] is True


def test_api_rejects_invalid_input_with_field_errors(admin_api):
    response = admin_api.patch(
        API,
        {"email_recipients": ["mdm@example.com", "nope"], "webhook_url": "gopher://example.com/"},
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["email_recipients"] == ["Not a valid email address: nope."]
    assert fields["webhook_url"] == ["Enter a valid http:// or https:// URL."]
    enable = admin_api.patch(API, {"webhook_enabled": True}, format="json")
    assert enable.status_code == 400
    assert set(enable.json()["fields"]) == {"webhook_url", "webhook_secret"}


def test_api_test_endpoint(admin_api, mailoutbox):
    admin_api.patch(API, {"email_enabled": True, "email_recipients": ["mdm@example.com"]}, format="json")
    response = admin_api.post(f"{API}test/")
    assert response.status_code == 200
    assert response.json() == {"email": {"status": "sent", "detail": "Sent to 1 recipient."}}
    assert len(mailoutbox) == 1


def test_nav_links_to_the_page(client, reader_a):
    client.force_login(reader_a)
    assert f'href="{PAGE}"' in client.get("/").content.decode()
    assert 'aria-current="page">Notifications<' in client.get(PAGE).content.decode()
