"""Changing the notification settings and sending alerts out by email and signed webhook."""

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import uuid
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from depportal.audit.services import audit_record
from depportal.core.alerts import CRITICAL, Alert
from depportal.core.crypto import decrypt_text, encrypt
from depportal.core.exceptions import ApplicationError
from overview.alerts import selectors
from overview.alerts.models import SETTINGS_ROW_ID, AlertDelivery, NotificationSettings

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10
SIGNATURE_HEADER = "X-DEPPortal-Signature"
EVENT_HEADER = "X-DEPPortal-Event"
DELIVERY_HEADER = "X-DEPPortal-Delivery"
WEBHOOK_SECRET_MIN_LENGTH = 16
WEBHOOK_SECRET_MAX_LENGTH = 256
MAX_RECIPIENTS = 50
# Statuses that say "try later"; any other non-2xx answer is a refusal that a retry will not change.
_RETRYABLE_STATUSES = {408, 425, 429}


class WebhookDeliveryError(Exception):
    """The webhook receiver could not be reached or did not answer 2xx; a later attempt may succeed."""


class WebhookRejected(WebhookDeliveryError):
    """The receiver refused the delivery (a 3xx or 4xx answer): retrying the same request cannot help."""


def _host(url: str) -> str:
    # Webhook URLs often carry a secret in their path or query (chat services do), so logs name the host only.
    return urlsplit(url).hostname or "?"


def _private_address(url: str) -> str | None:
    """The loopback, private, link-local or reserved address the URL's host is or resolves to, if any.

    A webhook is a request the server makes for whoever sets the URL: pointed inside the network it could
    reach the metadata service, Redis or an admin page. A name that does not resolve now is checked again
    at each delivery.
    """
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return None
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(urlsplit(url).hostname or "", None)}
    except (OSError, UnicodeError, ValueError):
        return None
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%")[0])
        ip = getattr(ip, "ipv4_mapped", None) or ip
        if not ip.is_global:
            return address
    return None


def _split_recipients(raw: str) -> list[str]:
    items = [item.strip() for item in raw.replace(";", ",").replace("\n", ",").split(",")]
    return list(dict.fromkeys(item for item in items if item))


def _validated(row: NotificationSettings, secret: str | None, clear_secret: bool) -> dict[str, list[str]]:
    """Field errors of the settings as they would be saved (empty when valid)."""
    errors: dict[str, list[str]] = {}
    recipients = row.recipient_list
    invalid = []
    for address in recipients:
        try:
            validate_email(address)
        except ValidationError:
            invalid.append(address)
    if invalid:
        errors["email_recipients"] = [f"Not a valid email address: {', '.join(invalid)}."]
    elif len(recipients) > MAX_RECIPIENTS:
        errors["email_recipients"] = [f"At most {MAX_RECIPIENTS} recipients; use a distribution list."]
    elif row.email_enabled and not recipients:
        errors["email_recipients"] = ["Add at least one recipient to send alerts by email."]

    if row.webhook_url:
        try:
            URLValidator(schemes=["http", "https"])(row.webhook_url)
        except ValidationError:
            errors["webhook_url"] = ["Enter a valid http:// or https:// URL."]
        else:
            if address := _private_address(row.webhook_url):
                errors["webhook_url"] = [
                    f"This URL points at a loopback or private address ({address}). An administrator of the "
                    "server can allow that with DEPPORTAL_WEBHOOK_ALLOW_PRIVATE=true."
                ]
    elif row.webhook_enabled:
        errors["webhook_url"] = ["Enter the URL that receives the alerts."]

    if secret and len(secret) < WEBHOOK_SECRET_MIN_LENGTH:
        errors["webhook_secret"] = [f"Use at least {WEBHOOK_SECRET_MIN_LENGTH} characters."]
    elif secret and len(secret) > WEBHOOK_SECRET_MAX_LENGTH:
        errors["webhook_secret"] = [f"Use at most {WEBHOOK_SECRET_MAX_LENGTH} characters."]
    elif row.webhook_enabled and not secret and (clear_secret or not row.webhook_secret_set):
        errors["webhook_secret"] = ["Set a secret: receivers check each delivery's signature with it."]
    return errors


@transaction.atomic
def notification_settings_update(
    *,
    actor,
    email_enabled: bool | None = None,
    email_recipients: str | list[str] | None = None,
    webhook_enabled: bool | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_secret_clear: bool = False,
) -> NotificationSettings:
    """Change where alerts go. None leaves a field as it is; a blank secret keeps the stored one."""
    row, _ = NotificationSettings.objects.select_for_update().get_or_create(pk=SETTINGS_ROW_ID)
    before = {
        "email_enabled": row.email_enabled,
        "email_recipients": row.email_recipients,
        "webhook_enabled": row.webhook_enabled,
        "webhook_url": row.webhook_url,
    }
    if email_enabled is not None:
        row.email_enabled = email_enabled
    if email_recipients is not None:
        raw = ",".join(email_recipients) if isinstance(email_recipients, list) else email_recipients
        row.email_recipients = ", ".join(_split_recipients(raw))
    if webhook_enabled is not None:
        row.webhook_enabled = webhook_enabled
    if webhook_url is not None:
        row.webhook_url = webhook_url.strip()

    errors = _validated(row, webhook_secret, webhook_secret_clear)
    if errors:
        raise ApplicationError("Some notification settings are not valid.", fields=errors)

    changes = {key: [old, getattr(row, key)] for key, old in before.items() if getattr(row, key) != old}
    if webhook_secret:
        row.webhook_secret_encrypted = encrypt(webhook_secret)
        changes["webhook_secret"] = "changed"  # audit_record redacts the value of any *secret* key anyway
    elif webhook_secret_clear and row.webhook_secret_set:
        row.webhook_secret_encrypted = ""
        changes["webhook_secret"] = "removed"
    row.updated_at = timezone.now()
    row.updated_by = actor if actor is not None and actor.is_authenticated else None
    row.save()
    audit_record(actor=actor, action="update", obj=row, changes=changes)
    return row


def _absolute(path: str) -> str:
    base = settings.DEPPORTAL_PUBLIC_URL.rstrip("/")
    return f"{base}{path}" if base else path


def alert_payload(alert: Alert) -> dict:
    """The JSON a webhook receives for one alert. It carries a delivery id that stays the same across retries."""
    return {
        "event": "alert",
        "delivery_id": str(uuid.uuid4()),
        "key": alert.key,
        "code": alert.code,
        "level": alert.level,
        "message": alert.message,
        "subject": {
            "type": alert.subject,
            "id": alert.subject_id,
            "name": alert.subject_name,
            "url": _absolute(alert.url),
        },
        "created_at": timezone.now().isoformat(),
    }


def _alert_email(alerts: list[Alert]) -> tuple[str, str]:
    critical = sum(1 for alert in alerts if alert.level == CRITICAL)
    subject = f"[DEP Portal] {len(alerts)} new alert{'s' if len(alerts) != 1 else ''}"
    if critical:
        subject += f" ({critical} critical)"
    lines = [f"{alert.level.upper()}: {alert.message}\n  {_absolute(alert.url)}\n" for alert in alerts]
    footer = (
        "You receive this because your address is listed in DEP Portal under Tenant administration > "
        "Notifications. Each alert is sent once per level."
    )
    return subject, "\n".join([*lines, footer])


def _claim(key: str, level: str) -> AlertDelivery | None:
    """Record that this run sends the alert at this level; None when another run already did."""
    try:
        with transaction.atomic():
            return AlertDelivery.objects.create(key=key, level=level)
    except IntegrityError:
        return None


def alerts_notify() -> dict:
    """Send every current alert not yet sent at its level: one email listing them, one webhook task each.

    Deliveries of alerts that are no longer current are forgotten first, so a condition that comes
    back alerts again. While no channel is enabled nothing is recorded, so the alerts that are current
    when one gets enabled still go out.
    """
    from overview.alerts.tasks import alert_webhook_send_task  # the task module imports this one

    current = selectors.alert_list_all()
    cleared, _ = AlertDelivery.objects.exclude(key__in={alert.key for alert in current}).delete()
    counts = {"alerts": len(current), "cleared": cleared, "sent": 0, "emailed": 0, "webhooks_queued": 0}
    config = selectors.notification_settings_get()
    email_on = config.email_enabled and bool(config.recipient_list)
    webhook_on = config.webhook_enabled and bool(config.webhook_url) and config.webhook_secret_set
    if not (email_on or webhook_on):
        return counts

    sent = set(AlertDelivery.objects.filter(key__in={alert.key for alert in current}).values_list("key", "level"))
    claims = []
    for alert in current:
        if (alert.key, alert.level) not in sent and (delivery := _claim(alert.key, alert.level)) is not None:
            claims.append((delivery, alert))
    if not claims:
        return counts

    if webhook_on:
        for _, alert in claims:
            alert_webhook_send_task.delay(alert_payload(alert))
        counts["webhooks_queued"] = len(claims)
    if email_on:
        subject, body = _alert_email([alert for _, alert in claims])
        try:
            send_mail(subject, body, None, config.recipient_list)
        except Exception:
            logger.exception("Sending the alert email to %d recipients failed", len(config.recipient_list))
            if not webhook_on:
                # Nothing went out: forget the claims so the next run tries again.
                AlertDelivery.objects.filter(pk__in=[delivery.pk for delivery, _ in claims]).delete()
                raise
        else:
            counts["emailed"] = len(claims)
    counts["sent"] = len(claims)
    logger.info("Alerts: %s", counts)
    return counts


def _post_signed(url: str, secret: str, payload: dict) -> None:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "DEPPortal-Webhook/1",
        SIGNATURE_HEADER: f"sha256={signature}",
        EVENT_HEADER: payload.get("event", "alert"),
        DELIVERY_HEADER: payload.get("delivery_id", ""),
    }
    if _private_address(url):
        raise WebhookRejected(f"The webhook at {_host(url)} resolves to a loopback or private address; not sent.")
    try:
        response = requests.post(url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as error:
        # The exception text can quote the full URL, so only its type is passed on.
        raise WebhookDeliveryError(
            f"The webhook at {_host(url)} could not be reached ({type(error).__name__})."
        ) from None
    if not 200 <= response.status_code < 300:
        status = response.status_code
        error_class = WebhookDeliveryError if status >= 500 or status in _RETRYABLE_STATUSES else WebhookRejected
        raise error_class(f"The webhook at {_host(url)} answered HTTP {status}.")


def alert_webhook_send(payload: dict) -> bool:
    """POST the payload, HMAC-SHA256 signed, to the configured webhook; False when none is configured any more.

    Raises WebhookDeliveryError on a network error or a non-2xx answer (WebhookRejected when retrying is pointless).
    """
    config = selectors.notification_settings_get()
    if not (config.webhook_enabled and config.webhook_url and config.webhook_secret_set):
        logger.info("Alert webhook %s not sent: the webhook was turned off", payload.get("delivery_id"))
        return False
    _post_signed(config.webhook_url, decrypt_text(config.webhook_secret_encrypted), payload)
    return True


def notification_test_send(*, actor) -> dict[str, dict[str, str]]:
    """Send a test message to each configured channel (enabled or not) and say how each went."""
    config = selectors.notification_settings_get()
    has_webhook = bool(config.webhook_url) and config.webhook_secret_set
    if not config.recipient_list and not has_webhook:
        raise ApplicationError("Add email recipients or a webhook URL and secret, save, then send a test.")
    results: dict[str, dict[str, str]] = {}
    if config.recipient_list:
        try:
            send_mail(
                "[DEP Portal] Test notification",
                "This is a test message from DEP Portal. Alerts about enrollment program tokens are sent to this "
                "address once per alert and level.",
                None,
                config.recipient_list,
            )
        except Exception as error:
            logger.warning("Test email failed: %s", type(error).__name__)
            results["email"] = {"status": "failed", "detail": f"Sending failed: {type(error).__name__}: {error}"[:300]}
        else:
            count = len(config.recipient_list)
            results["email"] = {"status": "sent", "detail": f"Sent to {count} recipient{'s' if count != 1 else ''}."}
    if has_webhook:
        payload = {
            "event": "test",
            "delivery_id": str(uuid.uuid4()),
            "message": "This is a test delivery from DEP Portal.",
            "created_at": timezone.now().isoformat(),
        }
        try:
            _post_signed(config.webhook_url, decrypt_text(config.webhook_secret_encrypted), payload)
        except WebhookDeliveryError as error:
            results["webhook"] = {"status": "failed", "detail": str(error)}
        else:
            results["webhook"] = {
                "status": "sent",
                "detail": f"The webhook at {_host(config.webhook_url)} accepted it.",
            }
    audit_record(
        actor=actor,
        action="test_notification",
        obj=config,
        changes={channel: result["status"] for channel, result in results.items()},
    )
    return results
