"""What an administrator must act on for the Apple Business connection (computed, never stored)."""

import hashlib

from business.models import BusinessConnection, ConnectionState
from depportal.core.alerts import CRITICAL, WARNING, Alert


def connection_alerts(connection: BusinessConnection | None) -> list[Alert]:
    """The connection's alerts, most urgent first; the Alerts list and notifications show them with the rest.

    Apple's public pages name no expiry for an API account or its key, so there is no expiry to warn of:
    a revoked or replaced key shows as a failed connection, which this reports.
    """
    if connection is None:
        return []
    alerts = []
    name = "Apple Business connection"
    if connection.state == ConnectionState.ERROR:
        # A different refusal is a new situation, worth a new notification.
        refusal = hashlib.sha256(connection.last_error_message.encode()).hexdigest()[:12]
        alerts.append(
            Alert(
                code="business_refused",
                level=CRITICAL,
                message=f"Apple refused the Apple Business connection: {connection.last_error_message} Assigning "
                "devices and refreshing the inventory stop until it works again.",
                subject="business_connection",
                subject_id=connection.pk,
                subject_name=name,
                key=f"business_refused:{connection.pk}:{refusal}",
            )
        )
    if connection.inventory_refreshed_at is None:
        alerts.append(
            Alert(
                code="business_inventory_unread",
                level=WARNING,
                message="The organisation's inventory has not been read yet: refresh it.",
                subject="business_connection",
                subject_id=connection.pk,
                subject_name=name,
                key=f"business_inventory_unread:{connection.pk}",
            )
        )
    return alerts
