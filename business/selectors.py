"""Reads of the Apple Business connection: its servers, the inventory in keyset pages, activities."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from business.models import BusinessConnection, BusinessServer, DeviceActivity, OrgDevice
from devices.models import Device

PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# "holder" filter values: the devices on a server this portal holds, on another MDM server, or on none.
HOLDERS = {
    "portal": "On a server this portal holds",
    "other": "On a server this portal does not hold",
    "none": "Unassigned",
}


@dataclass
class InventoryPage:
    rows: list[OrgDevice]
    next_cursor: str | None


def inventory_refresh_running(connection: BusinessConnection, *, now: datetime | None = None) -> bool:
    """A refresh holds the lease (its heartbeat is younger than the lease); a dead worker's run expires."""
    heartbeat = connection.inventory_refresh_heartbeat_at
    if connection.inventory_refresh_started_at is None or heartbeat is None:
        return False
    return heartbeat > (now or timezone.now()) - timedelta(seconds=settings.BUSINESS_INVENTORY_LEASE_S)


def server_list(connection: BusinessConnection) -> QuerySet[BusinessServer]:
    return BusinessServer.objects.filter(connection=connection).select_related("token")


def server_get(connection: BusinessConnection, pk) -> BusinessServer | None:
    try:
        return server_list(connection).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def inventory_queryset(
    connection: BusinessConnection,
    *,
    search: str = "",
    order_number: str = "",
    status: str = "",
    server: str = "",
    holder: str = "",
    family: str = "",
) -> QuerySet[OrgDevice]:
    """The organisation's devices under the filters; every filter runs on an indexed column or a prefix."""
    devices = OrgDevice.objects.filter(connection=connection)
    if search:
        devices = devices.filter(Q(serial_number__startswith=search.strip().upper()) | Q(order_number=search.strip()))
    if order_number:
        devices = devices.filter(order_number=order_number.strip())
    if status in ("ASSIGNED", "UNASSIGNED"):
        devices = devices.filter(status=status)
    if server:
        devices = devices.filter(server_id=int(server)) if server.isdigit() else devices
    if holder == "portal":
        devices = devices.filter(server__token__isnull=False)
    elif holder == "other":
        devices = devices.filter(server__isnull=False, server__token__isnull=True)
    elif holder == "none":
        devices = devices.filter(server__isnull=True)
    if family:
        devices = devices.filter(product_family=family)
    return devices


def _cursor(serial: str) -> str:
    return base64.urlsafe_b64encode(serial.encode()).decode().rstrip("=")


def _after(cursor: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def inventory_page(devices: QuerySet[OrgDevice], *, cursor: str = "", size: int = PAGE_SIZE) -> InventoryPage:
    """One page in serial-number order after `cursor`: each page costs the same however deep it is."""
    size = max(1, min(int(size), MAX_PAGE_SIZE))
    after = _after(cursor) if cursor else None
    if after:
        devices = devices.filter(serial_number__gt=after)
    rows = list(devices.select_related("server", "server__token").order_by("serial_number")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return InventoryPage(rows=rows, next_cursor=_cursor(rows[-1].serial_number) if more and rows else None)


def migration_deadlines(serials: list[str]) -> dict[str, str]:
    """The MDM migration deadline Apple's DEP service reported for these devices (kept in the synced record)."""
    rows = Device.objects.filter(serial_number__in=serials, extra__has_key="mdm_migration_deadline").values_list(
        "serial_number", "extra__mdm_migration_deadline"
    )
    return {serial: deadline for serial, deadline in rows if deadline}


def activity_list(connection: BusinessConnection) -> QuerySet[DeviceActivity]:
    return DeviceActivity.objects.filter(connection=connection).select_related("server", "requested_by")


def activity_get(connection: BusinessConnection, pk) -> DeviceActivity | None:
    try:
        return activity_list(connection).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None
