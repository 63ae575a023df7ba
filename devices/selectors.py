"""Reading devices, scoped to the user: keyset pages, counts, detail and the dashboard's figures."""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from depportal.accounts.roles import VIEW
from depportal.accounts.scoping import get_scoped, scope_tag_ids, scoped
from depportal.audit.models import AuditEvent
from devices.columns import (
    DEFAULT_COLUMNS,
    ROW_VALUES,
    Column,
    DeviceRow,
    clean_columns,
    parse_ordering,
    sort_value,
)
from devices.filters import DeviceFilter
from devices.models import Device, DeviceImport, DeviceListColumns, DeviceOp
from tokens.models import EnrollmentProgramToken

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
# Below this many rows (the planner's estimate) an exact count costs a few milliseconds; above it, show the estimate.
# The DEVICES_EXACT_COUNT_LIMIT setting overrides it.
EXACT_COUNT_LIMIT = 20_000
DASHBOARD_CACHE_S = 60
# Column choices change only through device_columns_save, which updates the cache; the timeout only frees memory.
COLUMNS_CACHE_S = 24 * 3600


@dataclass
class DevicePage:
    """One page of a keyset-paginated list, with the cursors of its neighbours."""

    rows: list[DeviceRow]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    # The first page holds every matching row: its length is the exact count.
    complete: bool = False


@dataclass
class DeviceCount:
    """How many devices match: exact, or PostgreSQL's planner estimate (labelled so)."""

    value: int
    estimated: bool = False


@dataclass
class Dashboard:
    """The Home page's figures."""

    by_token: list[tuple[int, str, int]] = field(default_factory=list)
    by_status: list[tuple[str, str, int]] = field(default_factory=list)
    by_family: list[tuple[str, int]] = field(default_factory=list)
    per_day: list[tuple[str, int]] = field(default_factory=list)
    total: int = 0
    computed_at: str = ""


def device_queryset(*, user, action: str = VIEW) -> QuerySet[Device]:
    """The devices the user may see (or act on)."""
    return scoped(Device.objects.all(), user, action)


def device_rows(queryset: QuerySet[Device]) -> list[DeviceRow]:
    """Evaluate a (sliced, ordered) queryset as list rows."""
    return list(map(DeviceRow._make, queryset.values_list(*ROW_VALUES)))


def device_filter(data, *, user, request=None, queryset: QuerySet[Device] | None = None) -> DeviceFilter:
    """The FilterSet bound to query parameters, over the user's devices."""
    if queryset is None:
        queryset = device_queryset(user=user)
    return DeviceFilter(data, queryset=queryset, request=request)


def _ordering(column: Column, descending: bool) -> list:
    if descending:
        return [F(column.sort).desc(nulls_first=True) if column.nullable else f"-{column.sort}", "-pk"]
    return [F(column.sort).asc(nulls_last=True) if column.nullable else column.sort, "pk"]


def _after(column: Column, descending: bool, value, pk: int) -> Q:
    """Rows after (value, pk) in the list's order: NULLs sort last ascending and first descending."""
    path = column.sort
    if not descending:
        if value is None:
            return Q(**{f"{path}__isnull": True, "pk__gt": pk})
        # `>= value` gives PostgreSQL an index range to start from; the OR only trims ties.
        after = Q(**{f"{path}__gte": value}) & (Q(**{f"{path}__gt": value}) | Q(pk__gt=pk))
        return after | Q(**{f"{path}__isnull": True}) if column.nullable else after
    if value is None:
        return Q(**{f"{path}__isnull": True, "pk__lt": pk}) | Q(**{f"{path}__isnull": False})
    return Q(**{f"{path}__lte": value}) & (Q(**{f"{path}__lt": value}) | Q(pk__lt=pk))


def encode_cursor(column: Column, descending: bool, device: DeviceRow, backwards: bool) -> str:
    """An opaque cursor: the ordering, the row's sort value and id, and the direction."""
    value = sort_value(device, column)
    if value is not None and column.is_date:
        value = value.isoformat()
    raw = json.dumps([("-" if descending else "") + column.key, value, device.pk, backwards])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, column: Column, descending: bool):
    """(value, pk, backwards) or None for a cursor that is malformed or from another ordering."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ordering, value, pk, backwards = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None
    if ordering != ("-" if descending else "") + column.key or not isinstance(pk, int):
        return None
    if value is not None and (not isinstance(value, str | int) or "\x00" in str(value)):
        return None
    if value is not None and column.is_date:
        value = parse_datetime(str(value))
        if value is None:
            return None
    return value, pk, bool(backwards)


def device_page(queryset: QuerySet[Device], *, ordering: str = "", cursor: str = "", size: int = 50) -> DevicePage:
    """One page in keyset order: cost does not grow with depth, unlike OFFSET."""
    column, descending = parse_ordering(ordering)
    decoded = _decode_cursor(cursor, column, descending) if cursor else None
    backwards = bool(decoded and decoded[2])
    # Walking backwards is walking forwards in the reversed order, then flipping the page.
    walk_descending = descending != backwards
    if decoded:
        queryset = queryset.filter(_after(column, walk_descending, decoded[0], decoded[1]))
    rows = device_rows(queryset.order_by(*_ordering(column, walk_descending))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    page = DevicePage(rows=rows, complete=decoded is None and not more)
    if rows:
        has_next = more if not backwards else True
        has_previous = more if backwards else decoded is not None
        if has_next:
            page.next_cursor = encode_cursor(column, descending, rows[-1], backwards=False)
        if has_previous:
            page.previous_cursor = encode_cursor(column, descending, rows[0], backwards=True)
    return page


def device_count(queryset: QuerySet[Device], page: DevicePage | None = None) -> DeviceCount:
    """Exact when the planner expects few rows; otherwise its estimate, so a count never scans a million rows.

    Given the list's page, a first page that holds every match (a narrow search) is counted without a query.
    """
    if page is not None and page.complete:
        return DeviceCount(len(page.rows))
    queryset = queryset.order_by()
    if queryset.query.is_empty():
        return DeviceCount(0)
    if connection.vendor != "postgresql":
        return DeviceCount(queryset.count())
    estimate = planner_estimate(queryset.values("pk"))
    if estimate <= getattr(settings, "DEVICES_EXACT_COUNT_LIMIT", EXACT_COUNT_LIMIT):
        return DeviceCount(queryset.count())
    return DeviceCount(estimate, estimated=True)


def planner_estimate(queryset: QuerySet) -> int:
    """PostgreSQL's estimate of a query's rows, from EXPLAIN (no execution)."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def device_get(*, user, pk: int, action: str = VIEW) -> Device:
    """One device with everything Apple reported: 404 outside the user's scope, 403 without `action`."""
    queryset = Device.objects.select_related("token", "assigned_profile").prefetch_related("token__scope_tags")
    return get_scoped(queryset, user, action, pk=pk)


def device_audit_events(device: Device, *, limit: int = 50) -> list[AuditEvent]:
    """The audit events recorded on this device."""
    return list(AuditEvent.objects.filter(object_type="device", object_id=str(device.pk))[:limit])


def device_ops(device: Device, *, limit: int = 200) -> list:
    """The device's history of sync ops, newest first."""
    return list(DeviceOp.objects.filter(token_id=device.token_id, serial_number=device.serial_number)[:limit])


def device_assignment_jobs(device: Device, *, limit: int = 200) -> list:
    """The recent assignment jobs of the device's token that included this device."""
    from profiles.models import AssignmentJob

    # Filtered in the database: a job's serial list can hold 100,000 serials, never load it for one device.
    jobs = list(
        AssignmentJob.objects.filter(token_id=device.token_id)
        .filter(Q(results__has_key=device.serial_number) | Q(refused__has_key=device.serial_number))
        .defer("serials", "unknown_serials")
        .order_by("-created_at")[:limit]
    )
    for job in jobs:
        refused = job.refused.get(device.serial_number)
        job.device_result = f"Not sent: {refused}" if refused else job.results.get(device.serial_number, "")
        job.device_removed = job.removed.get(device.serial_number, "")
    return jobs


def device_columns_key(user_id: int) -> str:
    """The cache key of one user's column choice (every list page and export reads it)."""
    return f"devices:columns:{user_id}"


def device_columns_for(user) -> list[str]:
    """The columns the user chose, or the default set: from the cache, which the save keeps current."""
    key = device_columns_key(user.pk)
    choice = cache.get(key)
    if choice is None:
        choice = DeviceListColumns.objects.filter(user=user).values_list("columns", flat=True).first() or []
        # add, not set: a save that committed meanwhile has set its own value, which this read must not undo.
        cache.add(key, choice, COLUMNS_CACHE_S)
    return clean_columns(choice) if choice else list(DEFAULT_COLUMNS)


def device_import_get(*, user, pk: int, action: str = VIEW) -> DeviceImport:
    """A CSV import preview the user may see."""
    return get_scoped(DeviceImport.objects.select_related("token", "profile", "job"), user, action, pk=pk)


def device_dashboard(*, user) -> Dashboard:
    """Counts by token, profile status and family, and devices added per day over 30 days (cached a minute)."""
    tags = scope_tag_ids(user, VIEW)
    # The cache key moves on with every finished sync, so the charts never lag behind a sync just done.
    last_sync = EnrollmentProgramToken.objects.aggregate(latest=Max("last_successful_sync_at"))["latest"]
    key = "devices:dashboard:{}:{}".format(
        "all" if tags is None else ",".join(str(t) for t in sorted(tags)), last_sync.timestamp() if last_sync else 0
    )
    cached = cache.get(key)
    if cached is not None:
        return cached
    live = scoped(Device.objects.filter(deleted_here_at__isnull=True, removed_at__isnull=True), user)
    dashboard = Dashboard(computed_at=timezone.localtime().strftime("%H:%M"))
    groups = live.order_by().values("token_id", "token__name", "profile_status", "device_family")
    tokens: dict[int, list] = {}
    statuses: dict[str, int] = {}
    families: dict[str, int] = {}
    for row in groups.annotate(n=Count("pk")):
        entry = tokens.setdefault(row["token_id"], [row["token_id"], row["token__name"], 0])
        entry[2] += row["n"]
        statuses[row["profile_status"]] = statuses.get(row["profile_status"], 0) + row["n"]
        families[row["device_family"]] = families.get(row["device_family"], 0) + row["n"]
        dashboard.total += row["n"]
    dashboard.by_token = sorted((tuple(t) for t in tokens.values()), key=lambda t: (-t[2], t[1]))
    labels = dict(Device._meta.get_field("profile_status").choices)
    dashboard.by_status = [(value, labels[value], statuses.get(value, 0)) for value in labels]
    dashboard.by_family = sorted(families.items(), key=lambda f: (-f[1], f[0]))
    today = timezone.localdate()
    start = today - timedelta(days=29)
    added = (
        live.filter(first_seen_at__gte=timezone.make_aware(datetime.combine(start, time.min)))
        .annotate(day=TruncDate("first_seen_at"))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
    )
    per_day = {row["day"]: row["n"] for row in added}
    dashboard.per_day = [
        ((start + timedelta(days=i)).isoformat(), per_day.get(start + timedelta(days=i), 0)) for i in range(30)
    ]
    cache.set(key, dashboard, DASHBOARD_CACHE_S)
    return dashboard
