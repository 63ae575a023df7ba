"""Reads: the alerts a user may see, the alerts of every token, and the notification settings."""

from collections.abc import Iterable
from functools import lru_cache

from django.db import router

from business.alerts import connection_alerts
from business.models import BusinessConnection
from depportal.accounts.scoping import is_administrator, scope_of, scoped_to
from depportal.core.alerts import CRITICAL, WARNING, Alert
from overview.alerts.models import SETTINGS_ROW_ID, NotificationSettings
from profiles.alerts import assignment_alerts, vpp_token_alerts, with_gave_up_devices
from profiles.models import VppToken
from tokens.alerts import token_alerts
from tokens.models import EnrollmentProgramToken, TokenState

LEVEL_RANK = {CRITICAL: 0, WARNING: 1}
# What token_alerts and vpp_token_alerts read: loading only these keeps the alerts to one query each.
_ALERT_FIELDS = ("pk", "name", "state", "access_token_expiry", "last_error_code", "last_error_message")
_VPP_ALERT_FIELDS = ("pk", "name", "expires_at", "cp_licenses_total", "cp_licenses_used")


def _most_urgent_first(alerts: Iterable[Alert]) -> list[Alert]:
    # sorted() is stable, so within a level the alerts keep the tokens' order (by name).
    return sorted(alerts, key=lambda alert: LEVEL_RANK.get(alert.level, len(LEVEL_RANK)))


@lru_cache(maxsize=256)
def _alert_sql(using: str, scope: frozenset[int] | None) -> tuple[tuple[str, tuple], tuple[str, tuple]]:
    """The SQL of the scope's token and VPP token queries, built and compiled once per database and scope.

    Every console page runs them for its alerts badge, and building and compiling them cost more than running
    them (about 2 ms a page). They depend on the viewer only through `scope`, the key, because that is all
    they are given; nothing in them reads the clock (expiry is judged in Python, on the rows).
    """
    live = EnrollmentProgramToken.objects.using(using).exclude(state=TokenState.PENDING)
    tokens = with_gave_up_devices(scoped_to(live, scope).only(*_ALERT_FIELDS).order_by("name", "pk"))
    vpp_tokens = scoped_to(VppToken.objects.using(using), scope).only(*_VPP_ALERT_FIELDS).order_by("name", "pk")
    return tokens.query.sql_with_params(), vpp_tokens.query.sql_with_params()


@lru_cache(maxsize=4)
def _business_sql(using: str) -> tuple[str, tuple]:
    """The Apple Business connection's query (there is at most one), compiled once per database like the above."""
    connection = BusinessConnection.objects.using(using).only("state", "inventory_refreshed_at", "last_error_message")
    return connection.order_by("pk")[:1].query.sql_with_params()


def _business_alerts(using: str) -> list[Alert]:
    return connection_alerts(next(iter(BusinessConnection.objects.db_manager(using).raw(*_business_sql(using))), None))


def _alerts(scope: frozenset[int] | None, *, business: bool) -> list[Alert]:
    using = router.db_for_read(EnrollmentProgramToken)
    if scope is not None and not scope:  # a scope of no tags sees no token
        tokens, vpp_tokens = [], []
    else:
        token_sql, vpp_sql = _alert_sql(using, scope)
        tokens = list(EnrollmentProgramToken.objects.db_manager(using).raw(*token_sql))
        vpp_tokens = VppToken.objects.db_manager(using).raw(*vpp_sql)
    return _most_urgent_first(
        [
            *(alert for token in tokens for alert in token_alerts(token)),
            *assignment_alerts(tokens),
            *(alert for vpp_token in vpp_tokens for alert in vpp_token_alerts(vpp_token)),
            *(_business_alerts(using) if business else []),
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
