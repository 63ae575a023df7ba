"""Reads: the alerts a user may see, the alerts of every token, and the notification settings."""

from collections.abc import Iterable

from business.alerts import connection_alerts
from business.models import BusinessConnection
from depportal.accounts.scoping import is_administrator
from depportal.core.alerts import CRITICAL, WARNING, Alert
from overview.alerts.models import SETTINGS_ROW_ID, NotificationSettings
from profiles.alerts import assignment_alerts, vpp_token_alerts
from profiles.models import VppToken
from profiles.selectors import vpp_token_list
from tokens.alerts import token_alerts
from tokens.models import EnrollmentProgramToken, TokenState
from tokens.selectors import token_list

LEVEL_RANK = {CRITICAL: 0, WARNING: 1}
# Everything token_alerts reads; loading only these keeps the per-page count to one query.
_ALERT_FIELDS = ("pk", "name", "state", "access_token_expiry", "last_error_code", "last_error_message")


def _most_urgent_first(alerts: Iterable[Alert]) -> list[Alert]:
    # sorted() is stable, so within a level the alerts keep the tokens' order (by name).
    return sorted(alerts, key=lambda alert: LEVEL_RANK.get(alert.level, len(LEVEL_RANK)))


def _business_alerts() -> list[Alert]:
    connection = BusinessConnection.objects.only("state", "inventory_refreshed_at", "last_error_message").first()
    return connection_alerts(connection)


def alert_list(*, user) -> list[Alert]:
    """Alerts the user may see, most urgent first (critical before warning).

    Tokens and VPP tokens by scope; the Apple Business connection for administrators, who alone manage it.
    """
    tokens = list(token_list(user=user).prefetch_related(None).only(*_ALERT_FIELDS))
    vpp_tokens = vpp_token_list(user=user).prefetch_related(None)
    return _most_urgent_first(
        [
            *(alert for token in tokens for alert in token_alerts(token)),
            *assignment_alerts(tokens),
            *(alert for vpp_token in vpp_tokens for alert in vpp_token_alerts(vpp_token)),
            *(_business_alerts() if is_administrator(user) else []),
        ]
    )


def alert_list_all() -> list[Alert]:
    """Every current alert, whoever may see it; for notifications."""
    tokens = list(
        EnrollmentProgramToken.objects.exclude(state=TokenState.PENDING).only(*_ALERT_FIELDS).order_by("name", "pk")
    )
    return _most_urgent_first(
        [
            *(alert for token in tokens for alert in token_alerts(token)),
            *assignment_alerts(tokens),
            *(alert for vpp_token in VppToken.objects.order_by("name", "pk") for alert in vpp_token_alerts(vpp_token)),
            *_business_alerts(),
        ]
    )


def notification_settings_get() -> NotificationSettings:
    """The notification settings; an unsaved default row until an administrator saves them."""
    return NotificationSettings.objects.filter(pk=SETTINGS_ROW_ID).first() or NotificationSettings(pk=SETTINGS_ROW_ID)
