"""Writing Apple's device records: bulk, per page, idempotent (a retried page changes nothing twice)."""

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime

from devices.models import Device

# Apple's record keys stored in columns, with the column length (zentral truncates to 256 too).
_TEXT_FIELDS = {
    "model": 256,
    "description": 256,
    "color": 256,
    "asset_tag": 256,
    "os": 64,
    "device_family": 64,
    "profile_uuid": 64,
    "device_assigned_by": 256,
    "op_type": 16,
}
_TIME_FIELDS = ("profile_assign_time", "profile_push_time", "device_assigned_date", "op_date")
_KNOWN = {"serial_number", "profile_status", *_TEXT_FIELDS, *_TIME_FIELDS, "response_status"}
_STATUSES = {"empty", "assigned", "pushed", "removed"}
_UPDATED_COLUMNS = ["profile_status", *_TEXT_FIELDS, *_TIME_FIELDS, "extra"]
_NEVER = datetime.min.replace(tzinfo=UTC)
_OP_DATE = _UPDATED_COLUMNS.index("op_date")


@dataclass
class PageResult:
    added: list[str]
    modified: int
    removed: int
    unchanged: int


def _time(value) -> datetime | None:
    if not value or not isinstance(value, str) or value.startswith("0001-"):
        return None
    return parse_datetime(value)


def _row(record: dict) -> dict:
    row = {name: str(record.get(name) or "")[:length] for name, length in _TEXT_FIELDS.items()}
    row.update({name: _time(record.get(name)) for name in _TIME_FIELDS})
    status = record.get("profile_status") or "empty"
    row["profile_status"] = status if status in _STATUSES else "empty"
    row["extra"] = {key: value for key, value in record.items() if key not in _KNOWN}
    return row


def _latest_per_serial(records: Iterable[dict]) -> dict[str, dict]:
    """Apple may repeat a serial within a sync: keep the record with the latest op_date (ties: the last)."""
    latest: dict[str, dict] = {}
    for record in records:
        serial = str(record.get("serial_number") or "").strip()[:64]
        if not serial:
            continue
        current = latest.get(serial)
        if current is None or (_time(record.get("op_date")) or _NEVER) >= (_time(current.get("op_date")) or _NEVER):
            latest[serial] = record
    return latest


def device_apply_apple_page(
    *, token_id: int, records: list[dict], now: datetime, full_sync_job_id: int | None
) -> PageResult:
    """Upsert one page of Apple's records for a token; the caller's transaction commits it with the cursor.

    A full-sync page (full_sync_job_id set) lists devices Apple assigns now: they are (re)activated, even
    when deleted here. Delta ops resolve by op_date; `deleted` marks a device removed; a device deleted here
    stays deleted whatever a delta op says (DESIGN.md rule 9). One sync per token runs at a time, so deciding
    from the rows read at the start of the page is safe.
    """
    latest = _latest_per_serial(records)
    if not latest:
        return PageResult([], 0, 0, 0)
    full = full_sync_job_id is not None
    stored = {
        row[0]: row[1:]
        for row in Device.objects.filter(token_id=token_id, serial_number__in=list(latest)).values_list(
            "serial_number", *_UPDATED_COLUMNS, "removed_at", "deleted_here_at", "full_sync_job_id"
        )
    }
    added: list[str] = []
    writes: list[tuple[str, dict]] = []
    deletions: list[str] = []
    modified = 0
    for serial, record in latest.items():
        old = stored.get(serial)
        if record.get("op_type") == "deleted" and not full:
            if old is not None and old[-3] is None:
                deletions.append(serial)
            continue
        row = _row(record)
        if old is None:
            added.append(serial)
            writes.append((serial, row))
            continue
        *old_values, removed_at, deleted_here_at, seen_in = old
        if not full and (deleted_here_at is not None or _older(row["op_date"], old_values[_OP_DATE])):
            continue
        changed = (
            removed_at is not None
            or (full and deleted_here_at is not None)
            or any(row[column] != value for column, value in zip(_UPDATED_COLUMNS, old_values, strict=True))
        )
        modified += changed
        # A full sync marks every device it lists, changed or not, so the ones it does not list can be found.
        if changed or (full and seen_in != full_sync_job_id):
            writes.append((serial, row))
    fresh = set(added)
    if connection.vendor == "postgresql" and fresh:
        # New rows cannot conflict (this is the token's only sync), so they take COPY, PostgreSQL's fastest path.
        _copy_new(token_id, [(s, r) for s, r in writes if s in fresh], now, full_sync_job_id)
        writes = [(s, r) for s, r in writes if s not in fresh]
    if writes:
        _upsert(token_id, writes, now, full_sync_job_id)
    if deletions:
        Device.objects.filter(token_id=token_id, serial_number__in=deletions).update(
            removed_at=now, op_type="deleted", op_date=now, updated_at=now
        )
    unchanged = len(latest) - len(added) - modified - len(deletions)
    return PageResult(added=added, modified=modified, removed=len(deletions), unchanged=unchanged)


def _older(incoming: datetime | None, stored: datetime | None) -> bool:
    """True for an op Apple sent before the one already applied (a repeat arriving late)."""
    return incoming is not None and stored is not None and incoming < stored


def _insert_values(
    defaults: dict, token_id: int, serial: str, row: dict, now: datetime, full_sync_job_id: int | None
) -> dict:
    """Every column of a new device row: Apple's values, the bookkeeping, and the model's defaults for the rest."""
    fixed = {
        "token_id": token_id,
        "serial_number": serial,
        "removed_at": None,
        "deleted_here_at": None,
        "full_sync_job_id": full_sync_job_id,
        "first_seen_at": now,
        "updated_at": now,
    }
    return {**defaults, **fixed, **row, "extra": json.dumps(row["extra"])}


def _column_defaults() -> dict:
    # Columns Apple does not report take the model's defaults, so fields added later need no change here.
    return {f.column: f.get_db_prep_save(f.get_default(), connection) for f in _insert_fields()}


def _insert_fields() -> list:
    return [field for field in Device._meta.concrete_fields if not field.primary_key]


def _copy_new(token_id: int, rows: list[tuple[str, dict]], now: datetime, full_sync_job_id: int | None) -> None:
    fields = _insert_fields()
    defaults = _column_defaults()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for serial, row in rows:
        values = _insert_values(defaults, token_id, serial, row, now, full_sync_job_id)
        writer.writerow(_copy_text(values[f.column]) for f in fields)
    buffer.seek(0)
    columns = ", ".join(f.column for f in fields)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {Device._meta.db_table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
        )


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _upsert(token_id: int, rows: list[tuple[str, dict]], now: datetime, full_sync_job_id: int | None) -> None:
    """One INSERT ... ON CONFLICT DO UPDATE for the page's new and changed rows."""
    table = Device._meta.db_table
    vendor = connection.vendor
    fields = _insert_fields()
    placeholders = (
        "(" + ", ".join("%s::jsonb" if vendor == "postgresql" and f.column == "extra" else "%s" for f in fields) + ")"
    )
    params: list = []
    defaults = _column_defaults()
    for serial, row in rows:
        values = _insert_values(defaults, token_id, serial, row, now, full_sync_job_id)
        params += [values[f.column] for f in fields]
    updated = [*_UPDATED_COLUMNS, "removed_at", "updated_at"]
    if full_sync_job_id is not None:
        # Apple lists it, so it is assigned here now, whatever happened before.
        updated += ["deleted_here_at", "full_sync_job_id"]
    # Only identifiers from the model are interpolated; every value is a query parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(f.column for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT (token_id, serial_number) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in updated)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def device_mark_unlisted_removed(*, token_id: int, full_sync_job_id: int, now: datetime) -> int:
    """After a complete full sync: devices it did not list are no longer assigned to this server."""
    return (
        Device.objects.filter(token_id=token_id, removed_at__isnull=True)
        .exclude(full_sync_job_id=full_sync_job_id)
        .update(removed_at=now, updated_at=now)
    )


def device_count_assigned(*, token_id: int) -> int:
    return Device.objects.filter(token_id=token_id, removed_at__isnull=True, deleted_here_at__isnull=True).count()
