"""The Home page's device figures as charts, each bar linking into the filtered device list."""

from datetime import date

from devices.charts import bar_chart, day_chart
from devices.filters import FAMILY_LABELS
from devices.selectors import device_dashboard
from devices.views import device_list_url


def dashboard_context(user) -> dict:
    """Template context for templates/devices/_dashboard.html."""
    data = device_dashboard(user=user)
    days = []
    for day, count in data.per_day:
        days.append((day, count, device_list_url(state="active", added_after=day, added_before=day)))
    return {
        "dashboard": data,
        "charts": {
            "tokens": bar_chart(
                [(name, n, device_list_url(token=pk, state="active")) for pk, name, n in data.by_token]
            ),
            "status": bar_chart(
                [
                    (label, n, device_list_url(profile_status=value, state="active"))
                    for value, label, n in data.by_status
                ]
            ),
            "family": bar_chart(
                [
                    (
                        FAMILY_LABELS.get(family, family) or "Unknown",
                        n,
                        device_list_url(device_family=family, state="active"),
                    )
                    for family, n in data.by_family
                ]
            ),
            "days": day_chart(days),
        },
        "today": date.today().isoformat(),
    }
