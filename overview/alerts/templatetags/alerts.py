from django import template

from overview.alerts.console import alert_summary, alerts_for_request

register = template.Library()


@register.simple_tag(takes_context=True)
def console_alerts(context) -> list:
    """The alerts the signed-in user may see (computed once per request)."""
    request = context.get("request")
    return alerts_for_request(request) if request is not None else []


@register.filter
def alert_counts(alerts) -> dict:
    """{"total", "critical", "warning"} of a list of alerts."""
    return alert_summary(alerts)


_SHORT_LABELS = {
    "token_expiring": "Expiring",
    "token_expired": "Expired",
    "terms_not_accepted": "Terms not accepted",
    "sync_failed": "Sync failed",
}


@register.filter
def alert_label(alert) -> str:
    """A word or two for an alert, for summaries that have no room for its message."""
    return _SHORT_LABELS.get(alert.code, alert.code.replace("_", " ").capitalize())
