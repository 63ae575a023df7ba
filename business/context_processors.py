from functools import cache

from business.alerts import connection_alerts
from business.models import BusinessConnection
from depportal.accounts.scoping import is_administrator


def business_nav(request):
    """The navigation marks Apple Business when its connection needs an administrator (one small query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not is_administrator(user):
        return {}

    @cache
    def level() -> str:
        connection = BusinessConnection.objects.only("state", "inventory_refreshed_at", "last_error_message").first()
        alerts = connection_alerts(connection)
        return alerts[0][0] if alerts else ""

    # A callable, which the template engine calls only where the navigation shows it (not in fragments).
    return {"business_alert_level": level}
