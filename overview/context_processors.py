from functools import cache, lru_cache

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf

from depportal.accounts.roles import CHANGE, VIEW
from depportal.accounts.scoping import can, is_administrator
from overview.alerts.console import alert_summary, alerts_for_request


def console(request):
    """What the layout needs on every page: the user's powers, for showing or hiding actions."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # The alerts (overview.alerts.selectors), which Home and the token list reuse.
    # Callables, which the template engine calls when the layout shows the badge: fragments such as the sync panel
    # polled every two seconds never show it, so they never pay for it.
    alerts = cache(lambda: alert_summary(alerts_for_request(request)))
    section, can_view, is_admin = _nav_section(request), can(user, VIEW), is_administrator(user)
    match = request.resolver_match
    return {
        "user_can_view": can_view,
        "user_can_change": can(user, CHANGE),
        "user_is_admin": is_admin,
        "console_alert_count": lambda: alerts()["total"],
        "console_alert_critical": lambda: alerts()["critical"],
        # Drawn afresh under DEBUG, where templates reload when edited.
        "console_nav": lambda: (_nav.__wrapped__ if settings.DEBUG else _nav)(
            section,
            match.url_name if match else None,
            can_view,
            is_admin,
            alerts()["business_level"] if is_admin else "",
            get_urlconf() or settings.ROOT_URLCONF,
            get_script_prefix(),
        ),
    }


@lru_cache(maxsize=256)
def _nav(section, url_name, can_view, is_admin, business_level, urlconf, prefix) -> str:
    """The left navigation, drawn once per key: its two dozen links and current-page checks were 6% of a device
    list page's instructions. It depends on nothing but the key; `urlconf` and `prefix` are only part of it,
    as reverse() reads the thread's own (see depportal.core.urltag)."""
    context = {
        "section": section,
        "url_name": url_name,
        "user_can_view": can_view,
        "user_is_admin": is_admin,
        "business_alert_level": business_level,
    }
    return render_to_string("includes/_nav.html", context)


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
