"""Webhook targets on loopback, private or link-local addresses are refused unless the server allows them."""

import pytest

from depportal.audit.models import AuditEvent
from depportal.core.exceptions import ApplicationError
from overview.alerts.models import NotificationSettings
from overview.alerts.services import WebhookRejected, alert_webhook_send, notification_settings_update

pytestmark = pytest.mark.django_db

SECRET = "a-long-enough-webhook-secret"


@pytest.fixture
def refusing(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/",
    ],
)
def test_private_targets_are_refused(refusing, admin_user, url, admin_api):
    events = AuditEvent.objects.count()
    with pytest.raises(ApplicationError) as error:
        notification_settings_update(actor=admin_user, webhook_enabled=True, webhook_url=url, webhook_secret=SECRET)
    assert "loopback or private address" in error.value.fields["webhook_url"][0]
    response = admin_api.patch("/api/v1/notification-settings/", {"webhook_url": url}, format="json")
    assert (
        response.status_code == 400
        and "DEPPORTAL_WEBHOOK_ALLOW_PRIVATE" in response.json()["fields"]["webhook_url"][0]
    )
    assert not NotificationSettings.objects.filter(webhook_url=url).exists() and AuditEvent.objects.count() == events


def test_public_names_are_kept_and_the_setting_allows_private_ones(refusing, admin_user, settings):
    notification_settings_update(actor=admin_user, webhook_url="https://hooks.example.com/dep")
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    config = notification_settings_update(actor=admin_user, webhook_url="http://10.0.0.5/hook")
    assert config.webhook_url == "http://10.0.0.5/hook"


def test_delivery_checks_again(admin_user, settings, webhook_receiver):
    """A target saved while allowed (or a name that resolves privately later) is not called."""
    receiver = webhook_receiver()
    notification_settings_update(
        actor=admin_user, webhook_enabled=True, webhook_url=receiver.url, webhook_secret=SECRET
    )
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(WebhookRejected, match="private address; not sent"):
        alert_webhook_send({"event": "alert", "delivery_id": "x"})
    assert receiver.deliveries == []
