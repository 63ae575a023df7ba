"""alerts_notify: each alert goes out once per level, again when its situation is new."""

import pytest

from depportal.audit.models import AuditEvent
from depportal.core.crypto import decrypt_text
from overview.alerts.models import AlertDelivery, NotificationSettings
from overview.alerts.services import alerts_notify
from tests.alerts.conftest import SECRET, closed_port
from tokens.models import EnrollmentProgramToken, TokenState

pytestmark = pytest.mark.django_db


def test_once_per_level_and_again_on_escalation(onboard, admin_user, expire_in, notify_by, mailoutbox, settings):
    settings.DEPPORTAL_PUBLIC_URL = "https://dep.example.com/"
    notify_by(email=["mdm@example.com", "oncall@example.com"])
    token = expire_in(onboard(admin_user, server_name="Acme"), 20)

    counts = alerts_notify()
    assert counts["sent"] == 1 and counts["emailed"] == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["mdm@example.com", "oncall@example.com"]
    assert mail.subject == "[DEP Portal] 1 new alert"
    assert "WARNING: The token Acme expires in 20 days" in mail.body
    assert f"https://dep.example.com/tokens/{token.pk}/" in mail.body

    assert alerts_notify()["sent"] == 0
    assert len(mailoutbox) == 1

    expire_in(token, 6)
    assert alerts_notify()["sent"] == 1
    assert len(mailoutbox) == 2
    assert mailoutbox[1].subject == "[DEP Portal] 1 new alert (1 critical)"
    assert "CRITICAL: The token Acme expires in 6 days" in mailoutbox[1].body
    assert alerts_notify()["sent"] == 0 and len(mailoutbox) == 2


def test_resolved_then_recurring_alerts_go_out_again(onboard, admin_user, notify_by, mailoutbox):
    notify_by(email=["mdm@example.com"])
    token = onboard(admin_user, server_name="Acme")
    tokens = EnrollmentProgramToken.objects.filter(pk=token.pk)

    tokens.update(state=TokenState.TERMS_NOT_ACCEPTED)
    assert alerts_notify()["sent"] == 1
    tokens.update(state=TokenState.ACTIVE)
    counts = alerts_notify()
    assert counts["cleared"] == 1 and counts["sent"] == 0
    assert not AlertDelivery.objects.exists()
    tokens.update(state=TokenState.TERMS_NOT_ACCEPTED)
    assert alerts_notify()["sent"] == 1
    assert [mail.body.count("terms and conditions") for mail in mailoutbox] == [1, 1]


def test_a_new_expiry_date_is_a_new_alert(onboard, admin_user, expire_in, notify_by, mailoutbox):
    notify_by(email=["mdm@example.com"])
    token = expire_in(onboard(admin_user, server_name="Acme"), 20)
    assert alerts_notify()["sent"] == 1
    # Renewed, and the new expiry is near again before any run saw the token healthy.
    expire_in(token, 25)
    counts = alerts_notify()
    assert counts["sent"] == 1 and counts["cleared"] == 1
    assert AlertDelivery.objects.get().key == f"token_expiring:{token.pk}:{token.access_token_expiry:%Y-%m-%d}"
    assert len(mailoutbox) == 2


def test_several_alerts_make_one_email_most_urgent_first(onboard, admin_user, expire_in, notify_by, mailoutbox):
    notify_by(email=["mdm@example.com"])
    expire_in(onboard(admin_user, server_name="Later"), 25)
    expire_in(onboard(admin_user, server_name="Gone"), -2)
    assert alerts_notify()["sent"] == 2
    (mail,) = mailoutbox
    assert mail.subject == "[DEP Portal] 2 new alerts (1 critical)"
    assert mail.body.index("The token Gone expired") < mail.body.index("The token Later expires")


def test_nothing_is_recorded_while_no_channel_is_on(onboard, admin_user, expire_in, notify_by, mailoutbox):
    expire_in(onboard(admin_user, server_name="Acme"), 20)
    assert alerts_notify() == {"alerts": 1, "cleared": 0, "sent": 0, "emailed": 0, "webhooks_queued": 0}
    assert not AlertDelivery.objects.exists()
    notify_by(email=["mdm@example.com"])
    assert alerts_notify()["sent"] == 1 and len(mailoutbox) == 1


def test_a_failed_email_is_sent_on_the_next_run(onboard, admin_user, expire_in, notify_by, mailoutbox, settings):
    notify_by(email=["mdm@example.com"])
    expire_in(onboard(admin_user, server_name="Acme"), 20)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    with pytest.raises(OSError):
        alerts_notify()
    assert not AlertDelivery.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert alerts_notify()["emailed"] == 1
    assert len(mailoutbox) == 1


def test_settings_changes_are_audited_and_the_secret_is_sealed(notify_by):
    notify_by(email=["mdm@example.com"], webhook="https://hooks.example.com/dep")
    row = NotificationSettings.objects.get()
    assert SECRET not in row.webhook_secret_encrypted
    assert decrypt_text(row.webhook_secret_encrypted) == SECRET
    event = AuditEvent.objects.get(action="update", object_type="notification_settings")
    assert event.changes["webhook_secret"] == "[redacted]"
    assert event.changes["webhook_url"] == ["", "https://hooks.example.com/dep"]
    assert SECRET not in str(event.changes)
