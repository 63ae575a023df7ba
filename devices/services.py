"""Writing Apple's device records: bulk, per page, idempotent (a retried page changes nothing twice)."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Count, F, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from depportal.audit.services import audit_record
from depportal.exceptions import ApplicationError, Conflict
from depportal.spreadsheet import SafeWriter
from devices.columns import ROW_VALUES, DeviceRow, clean_columns, csv_header, csv_row
from devices.csv_import import ALREADY, DUPLICATE, MATCHED, OUTCOME_LABELS, UNKNOWN, parse_serials
from devices.models import Device, DeviceImport, DeviceListColumns, DeviceOp
from tokens.models import EnrollmentProgramToken

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
    # Change in the number of devices assigned here (not removed, not deleted here), kept exactly per page
    # so the token's count never needs a count over all its devices.
    assigned_delta: int = 0


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
    *, token_id: int, records: list[dict], now: datetime, full_sync_job_id: int | None, job_id: int | None = None
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
    if not full:
        _record_ops(token_id, records, now, job_id)
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
    assigned_delta = 0
    for serial, record in latest.items():
        old = stored.get(serial)
        if record.get("op_type") == "deleted" and not full:
            if old is not None and old[-3] is None:
                deletions.append(serial)
                assigned_delta -= old[-2] is None
            continue
        row = _row(record)
        if old is None:
            added.append(serial)
            writes.append((serial, row))
            assigned_delta += 1
            continue
        *old_values, removed_at, deleted_here_at, seen_in = old
        if not full and (deleted_here_at is not None or _older(row["op_date"], old_values[_OP_DATE])):
            continue
        # Written rows end up assigned here (a delta never writes a tombstoned one).
        assigned_delta += removed_at is not None or deleted_here_at is not None
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
    return PageResult(
        added=added, modified=modified, removed=len(deletions), unchanged=unchanged, assigned_delta=assigned_delta
    )


def _record_ops(token_id: int, records: list[dict], now: datetime, job_id: int | None) -> None:
    """Keep every op of a delta page as the devices' history; Apple's exact repeats are kept once."""
    seen = set()
    ops = []
    for record in records:
        serial = str(record.get("serial_number") or "").strip()[:64]
        op = (serial, str(record.get("op_type") or "")[:16], _time(record.get("op_date")))
        if serial and op[1] and op not in seen:
            seen.add(op)
            ops.append(
                DeviceOp(
                    token_id=token_id,
                    serial_number=serial,
                    op_type=op[1],
                    op_date=op[2],
                    sync_job_id=job_id,
                    recorded_at=now,
                )
            )
    DeviceOp.objects.bulk_create(ops)


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


# Admin actions on the device list: delete from the portal, restore, CSV import, export, bulk assignment.

AUDIT_EACH_LIMIT = 200
MAX_BULK_ASSIGN = 100_000
EXPORT_CHUNK = 2000
_LOOKUP_CHUNK = 5000
_LOOKUP_FIELDS = (
    "serial_number",
    "assigned_profile_id",
    "profile_uuid",
    "assignment_result",
    "removed_at",
    "deleted_here_at",
)


def _audit_devices(actor, action: str, devices: list[tuple[int, str, int]], changes: dict | None = None) -> None:
    """One event per device for small batches; one per token (with up to 1000 serials) for large ones."""
    tokens = {t.pk: t for t in EnrollmentProgramToken.objects.filter(pk__in={d[2] for d in devices})}
    tags = {pk: list(token.scope_tags.all()) for pk, token in tokens.items()}
    if len(devices) <= AUDIT_EACH_LIMIT:
        for pk, serial, token_id in devices:
            audit_record(
                actor=actor,
                action=action,
                object_type="device",
                object_id=pk,
                object_repr=serial,
                changes={**(changes or {}), "token": tokens[token_id].name},
                scope_tags=tags[token_id],
            )
        return
    by_token: dict[int, list[str]] = {}
    for _, serial, token_id in devices:
        by_token.setdefault(token_id, []).append(serial)
    for token_id, serials in by_token.items():
        audit_record(
            actor=actor,
            action=f"{action}_bulk",
            obj=tokens[token_id],
            changes={**(changes or {}), "devices": len(serials), "serial_numbers": serials[:1000]},
            scope_tags=tags[token_id],
        )


def device_delete_here(*, actor, devices: QuerySet[Device]) -> int:
    """Tombstone devices in the portal; a delta sync leaves them deleted, the next full sync brings them back."""
    now = timezone.now()
    rows = list(devices.filter(deleted_here_at__isnull=True).order_by().values_list("pk", "serial_number", "token_id"))
    devices_assigned_per_token = _assigned_per_token(devices.filter(deleted_here_at__isnull=True))
    with transaction.atomic():
        for start in range(0, len(rows), _LOOKUP_CHUNK):
            ids = [row[0] for row in rows[start : start + _LOOKUP_CHUNK]]
            Device.objects.filter(pk__in=ids).update(deleted_here_at=now, updated_at=now)
        if rows:
            _adjust_device_counts(devices_assigned_per_token, -1)
            _audit_devices(actor, "delete_device_here", rows)
    return len(rows)


def _assigned_per_token(devices: QuerySet[Device]) -> dict[int, int]:
    """How many of these devices Apple still assigns here, per token."""
    rows = devices.filter(removed_at__isnull=True).order_by().values("token_id").annotate(n=Count("pk"))
    return {row["token_id"]: row["n"] for row in rows}


def _adjust_device_counts(per_token: dict[int, int], sign: int) -> None:
    """Keep each token's count of assigned devices exact (the sync keeps it page by page too)."""
    for token_id, count in per_token.items():
        EnrollmentProgramToken.objects.filter(pk=token_id).update(
            device_count=Greatest(F("device_count") + sign * count, 0)
        )


def device_restore(*, actor, devices: QuerySet[Device]) -> int:
    """Remove the tombstone: the device lists again (its data is as of the last sync that applied to it)."""
    now = timezone.now()
    rows = list(
        devices.filter(deleted_here_at__isnull=False).order_by().values_list("pk", "serial_number", "token_id")
    )
    devices_assigned_per_token = _assigned_per_token(devices.filter(deleted_here_at__isnull=False))
    with transaction.atomic():
        for start in range(0, len(rows), _LOOKUP_CHUNK):
            ids = [row[0] for row in rows[start : start + _LOOKUP_CHUNK]]
            Device.objects.filter(pk__in=ids).update(deleted_here_at=None, updated_at=now)
        if rows:
            _adjust_device_counts(devices_assigned_per_token, +1)
            _audit_devices(actor, "restore_device", rows)
    return len(rows)


def device_columns_save(*, user, columns: list[str]) -> list[str]:
    """Remember the columns the user wants in the device list (and its export)."""
    chosen = clean_columns(columns)
    DeviceListColumns.objects.update_or_create(user=user, defaults={"columns": chosen})
    return chosen


def device_import_preview(
    *, actor, token: EnrollmentProgramToken, text: str, profile=None, filename: str = ""
) -> DeviceImport:
    """Check serial numbers against the token (and the profile, if assigning); store the preview, change nothing."""
    if profile is not None and profile.token_id != token.pk:
        raise ApplicationError("That profile belongs to another token.", fields={"profile": ["Not this token's."]})
    rows = parse_serials(text)
    candidates = [row for row in rows if not row.outcome]
    if not candidates and not any(row.outcome == DUPLICATE for row in rows):
        raise ApplicationError(
            "No serial number found in the input.", fields={"serial_numbers": ["No serial number found in the input."]}
        )
    found = _lookup(token, [row.serial for row in candidates])
    for row in candidates:
        device = found.get(row.serial)
        if device is None:
            row.outcome, row.reason = UNKNOWN, "This token has no device with this serial number."
        elif device["deleted_here_at"] is not None:
            row.outcome, row.reason = UNKNOWN, "Deleted from the portal; restore it first."
        elif device["removed_at"] is not None:
            row.outcome, row.reason = UNKNOWN, "Apple no longer assigns it to this token's MDM server."
        elif profile is not None and _on_profile(device, profile):
            row.outcome, row.reason = ALREADY, f"Already on {profile.name}."
        else:
            row.outcome = MATCHED
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    return DeviceImport.objects.create(
        token=token,
        profile=profile,
        filename=filename[:255],
        rows=[[r.line, r.text, r.serial, r.outcome, r.reason] for r in rows],
        counts=counts,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )


def _lookup(token: EnrollmentProgramToken, serials: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for start in range(0, len(serials), _LOOKUP_CHUNK):
        chunk = serials[start : start + _LOOKUP_CHUNK]
        for row in Device.objects.filter(token=token, serial_number__in=chunk).values(
            "serial_number",
            "assigned_profile_id",
            "profile_uuid",
            "assignment_result",
            "removed_at",
            "deleted_here_at",
        ):
            found[row["serial_number"]] = row
    return found


def _on_profile(device: dict, profile) -> bool:
    if profile.profile_uuid and device["profile_uuid"] == profile.profile_uuid:
        return True
    return device["assigned_profile_id"] == profile.pk and device["assignment_result"] == "SUCCESS"


def device_import_confirm(*, actor, device_import: DeviceImport):
    """Assign the preview's matched devices to its profile (once); returns the assignment job."""
    from profiles.services import profile_assign_devices

    if device_import.profile is None:
        raise ApplicationError("This import only looked devices up; there is nothing to apply.")
    with transaction.atomic():
        claimed = DeviceImport.objects.filter(pk=device_import.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        )
    if not claimed:
        raise Conflict("This import was already confirmed.")
    serials = [row[2] for row in device_import.rows if row[3] == MATCHED]
    if not serials:
        raise ApplicationError("No device of this import can be assigned.")
    job = profile_assign_devices(actor=actor, profile=device_import.profile, serials=serials)
    DeviceImport.objects.filter(pk=device_import.pk).update(job=job)
    device_import.refresh_from_db()
    return job


def device_import_report_lines(device_import: DeviceImport) -> Iterator[str]:
    """The import's every line with its outcome and reason, as CSV text (streamed)."""
    writer = SafeWriter()  # the input is the uploader's text
    yield writer.writerow(["Line", "Input", "Serial number", "Outcome", "Reason"])
    for line, text, serial, outcome, reason in device_import.rows:
        yield writer.writerow([line, text, serial, OUTCOME_LABELS.get(outcome, outcome), reason])


def device_export_lines(queryset: QuerySet[Device], columns: list[str]) -> Iterator[str]:
    """CSV lines of every matching device, read in id-ordered chunks so memory stays flat at any size."""
    writer = SafeWriter()  # cells hold Apple's text (descriptions, asset tags), which no one vetted
    yield writer.writerow(csv_header(columns))
    last = 0
    while True:
        chunk = [DeviceRow(v) for v in queryset.filter(pk__gt=last).order_by("pk").values(*ROW_VALUES)[:EXPORT_CHUNK]]
        if not chunk:
            return
        yield "".join(writer.writerow(csv_row(device, columns)) for device in chunk)
        last = chunk[-1].pk


def device_bulk_assign(*, actor, profile, devices: QuerySet[Device]):
    """Assign a profile to the selected devices of its token (the profiles app talks to Apple)."""
    from profiles.services import profile_assign_devices

    serials = list(
        devices.filter(token_id=profile.token_id, deleted_here_at__isnull=True)
        .order_by()
        .values_list("serial_number", flat=True)[: MAX_BULK_ASSIGN + 1]
    )
    if len(serials) > MAX_BULK_ASSIGN:
        raise ApplicationError(f"Assign at most {MAX_BULK_ASSIGN:,} devices at a time; narrow the filter.")
    if not serials:
        raise ApplicationError(f"None of the selected devices belongs to {profile.token}, the profile's token.")
    return profile_assign_devices(actor=actor, profile=profile, serials=serials)


def device_bulk_unassign(*, actor, devices: QuerySet[Device]) -> list:
    """Remove the profile at Apple from the selected devices: one assignment job per token."""
    from profiles.assignment import start_assignment
    from profiles.models import JobAction

    by_token: dict[int, list[str]] = {}
    rows = devices.filter(deleted_here_at__isnull=True).order_by().values_list("token_id", "serial_number")
    for token_id, serial in rows[: MAX_BULK_ASSIGN + 1]:
        by_token.setdefault(token_id, []).append(serial)
    if sum(len(s) for s in by_token.values()) > MAX_BULK_ASSIGN:
        raise ApplicationError(f"Unassign at most {MAX_BULK_ASSIGN:,} devices at a time; narrow the filter.")
    jobs = []
    for token in EnrollmentProgramToken.objects.filter(pk__in=list(by_token)).order_by("name"):
        jobs.append(
            start_assignment(
                actor=actor, token=token, profile=None, action=JobAction.UNASSIGN, serials=by_token[token.pk]
            )
        )
    return jobs
