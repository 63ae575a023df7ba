"""What console pages show about alerts, computed once per request."""

from depportal.core.alerts import CRITICAL, Alert
from overview.alerts.selectors import alert_list

_REQUEST_ATTR = "_depportal_alerts"


def alerts_for_request(request) -> list[Alert]:
    """The alerts the signed-in user may see; cached on the request (top bar, Home and lists share it)."""
    cached = getattr(request, _REQUEST_ATTR, None)
    if cached is None:
        user = getattr(request, "user", None)
        cached = alert_list(user=user) if user is not None and user.is_authenticated else []
        setattr(request, _REQUEST_ATTR, cached)
    return cached


def alert_summary(alerts: list[Alert]) -> dict:
    """Counts by level for badges and summaries."""
    critical = sum(1 for alert in alerts if alert.level == CRITICAL)
    business = [alert.level for alert in alerts if alert.subject == "business_connection"]
    return {
        "total": len(alerts),
        "critical": critical,
        "warning": len(alerts) - critical,
        "business_level": business[0] if business else "",  # the most urgent: alerts come sorted
    }
