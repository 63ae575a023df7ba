"""Reads: the alerts a user may see, the alerts of every token, and the notification settings."""

from collections.abc import Iterable

from django.db.models import QuerySet

from business.alerts import connection_alerts
from business.models import BusinessConnection
from depportal.accounts.scoping import is_administrator, scope_of, scoped_to
from depportal.core.alerts import CRITICAL, WARNING, Alert
from depportal.core.db import compiled_instances
from overview.alerts.models import SETTINGS_ROW_ID, NotificationSettings
from profiles.alerts import assignment_alerts, vpp_token_alerts, with_gave_up_devices
from profiles.models import VppToken
from tokens.alerts import token_alerts
from tokens.models import EnrollmentProgramToken
from tokens.selectors import tokens_in

LEVEL_RANK = {CRITICAL: 0, WARNING: 1}
# What token_alerts and vpp_token_alerts read: loading only these keeps the alerts to one query each.
_ALERT_FIELDS = ("pk", "name", "state", "access_token_expiry", "last_error_code", "last_error_message")
_VPP_ALERT_FIELDS = ("pk", "name", "expires_at", "cp_licenses_total", "cp_licenses_used")


def _most_urgent_first(alerts: Iterable[Alert]) -> list[Alert]:
    # sorted() is stable, so within a level the alerts keep the tokens' order (by name).
    return sorted(alerts, key=lambda alert: LEVEL_RANK.get(alert.level, len(LEVEL_RANK)))


def _alert_tokens(scope: frozenset[int] | None) -> QuerySet[EnrollmentProgramToken]:
    return with_gave_up_devices(tokens_in(scope).only(*_ALERT_FIELDS).order_by("name", "pk"))


def _alert_vpp_tokens(scope: frozenset[int] | None) -> QuerySet[VppToken]:
    return scoped_to(VppToken.objects.all(), scope).only(*_VPP_ALERT_FIELDS).order_by("name", "pk")


def _business_connection() -> QuerySet[BusinessConnection]:
    return BusinessConnection.objects.only("state", "inventory_refreshed_at", "last_error_message").order_by("pk")[:1]


def _alerts(scope: frozenset[int] | None, *, business: bool) -> list[Alert]:
    # Every console page shows these in its alerts badge: their SQL is compiled once per scope (compiled_instances).
    tokens = compiled_instances(_alert_tokens, scope)
    business_alerts = []
    if business:
        connection = compiled_instances(_business_connection)
        business_alerts = connection_alerts(connection[0] if connection else None)
    return _most_urgent_first(
        [
            *(alert for token in tokens for alert in token_alerts(token)),
            *assignment_alerts(tokens),
            *(alert for vpp in compiled_instances(_alert_vpp_tokens, scope) for alert in vpp_token_alerts(vpp)),
            *business_alerts,
        ]
    )


def alert_list(*, user) -> list[Alert]:
    """Alerts the user may see, most urgent first (critical before warning).

    Tokens and VPP tokens by scope; the Apple Business connection for administrators, who alone manage it.
    """
    return _alerts(scope_of(user), business=is_administrator(user))


def alert_list_all() -> list[Alert]:
    """Every current alert, whoever may see it; for notifications."""
    return _alerts(None, business=True)


def notification_settings_get() -> NotificationSettings:
    """The notification settings; an unsaved default row until an administrator saves them."""
    return NotificationSettings.objects.filter(pk=SETTINGS_ROW_ID).first() or NotificationSettings(pk=SETTINGS_ROW_ID)
