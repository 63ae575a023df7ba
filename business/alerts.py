"""What an administrator must act on for the Apple Business connection (computed, never stored)."""

from business.models import BusinessConnection, ConnectionState
from depportal.core.alerts import CRITICAL, WARNING


def connection_alerts(connection: BusinessConnection | None) -> list[tuple[str, str]]:
    """(level, message) pairs, most urgent first.

    Apple's public pages name no expiry for an API account or its key, so there is no expiry to warn of:
    a revoked or replaced key shows as a failed connection, which this reports.
    """
    if connection is None:
        return []
    alerts = []
    if connection.state == ConnectionState.ERROR:
        alerts.append(
            (
                CRITICAL,
                f"Apple refused the Apple Business connection: {connection.last_error_message} Assigning devices and "
                "refreshing the inventory stop until it works again.",
            )
        )
    if connection.inventory_refreshed_at is None:
        alerts.append((WARNING, "The organisation's inventory has not been read yet: refresh it."))
    return alerts
