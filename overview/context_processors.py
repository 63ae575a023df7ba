from depportal.accounts.roles import CHANGE, VIEW
from depportal.accounts.scoping import can, is_administrator
from overview.alerts.console import alert_summary, alerts_for_request


def console(request):
    """What the layout needs on every page: the user's powers, for showing or hiding actions."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # One query per page (scoped tokens, few columns); Home and the token list reuse the result.
    alerts = alert_summary(alerts_for_request(request))
    return {
        "nav_section": _nav_section(request),
        "user_can_view": can(user, VIEW),
        "user_can_change": can(user, CHANGE),
        "user_is_admin": is_administrator(user),
        "console_alert_count": alerts["total"],
        "console_alert_critical": alerts["critical"],
        "business_alert_level": alerts["business_level"],
    }


def _nav_section(request) -> str:
    """Which left-navigation entry the page belongs to: profiles and syncs live under their token."""
    match = request.resolver_match
    if match is None:
        return ""
    if match.namespace == "profiles":
        if match.url_name == "platform_enrollment":
            return f"enroll_{match.kwargs['platform']}"
        return "vpp" if match.url_name.startswith("vpp_token") else "tokens"
    if match.namespace == "accounts" and match.url_name.startswith("user"):
        return "users"
    if match.namespace == "syncjobs":
        return "tokens"
    if match.namespace == "devices":
        if match.url_name.endswith("_device_list") and match.url_name != "token_device_list":
            return f"devices_{match.url_name.removesuffix('_device_list')}"
        return {"device_list": "devices"}.get(match.url_name, "tokens")
    return match.namespace or match.url_name or ""
