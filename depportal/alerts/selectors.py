"""Reads: the alerts a user may see, the alerts of every token, and the notification settings."""

from collections.abc import Iterable

from depportal.alerts.models import SETTINGS_ROW_ID, NotificationSettings
from tokens.alerts import CRITICAL, WARNING, Alert, token_alerts
from tokens.models import EnrollmentProgramToken, TokenState
from tokens.selectors import token_list

LEVEL_RANK = {CRITICAL: 0, WARNING: 1}
# Everything token_alerts and alert_key read; loading only these keeps the per-page count to one query.
_ALERT_FIELDS = ("pk", "name", "state", "access_token_expiry", "last_error_code", "last_error_message")


def _most_urgent_first(alerts: Iterable[Alert]) -> list[Alert]:
    # sorted() is stable, so within a level the alerts keep the tokens' order (by name).
    return sorted(alerts, key=lambda alert: LEVEL_RANK.get(alert.level, len(LEVEL_RANK)))


def alert_key(alert: Alert, token: EnrollmentProgramToken) -> str:
    """A name for the situation behind an alert: it changes when the situation is a new one.

    The expiry date is part of expiry keys, so a renewed token that nears its new expiry alerts again.
    """
    if alert.code in ("token_expiring", "token_expired"):
        return f"{alert.code}:{token.pk}:{token.access_token_expiry:%Y-%m-%d}"
    if alert.code == "sync_failed":
        return f"{alert.code}:{token.pk}:{token.last_error_code or 'error'}"
    return f"{alert.code}:{token.pk}"


def alert_list(*, user) -> list[Alert]:
    """Alerts of the tokens the user may see, most urgent first (critical before warning)."""
    tokens = token_list(user=user).prefetch_related(None).only(*_ALERT_FIELDS)
    return _most_urgent_first(alert for token in tokens for alert in token_alerts(token))


def alert_count(*, user) -> int:
    """How many alerts the user may see."""
    return len(alert_list(user=user))


def alert_list_keyed() -> list[tuple[str, Alert]]:
    """(key, alert) for every current alert of every token, whoever may see it; for notifications."""
    tokens = (
        EnrollmentProgramToken.objects.exclude(state=TokenState.PENDING).only(*_ALERT_FIELDS).order_by("name", "pk")
    )
    keyed = [(alert_key(alert, token), alert) for token in tokens for alert in token_alerts(token)]
    return sorted(keyed, key=lambda pair: LEVEL_RANK.get(pair[1].level, len(LEVEL_RANK)))


def notification_settings_get() -> NotificationSettings:
    """The notification settings; an unsaved default row until an administrator saves them."""
    return NotificationSettings.objects.filter(pk=SETTINGS_ROW_ID).first() or NotificationSettings(pk=SETTINGS_ROW_ID)
