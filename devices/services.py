"""Admin actions on devices: delete from the portal, restore, columns, CSV import and export, bulk assignment.

Writing Apple's records is the sync engine's (syncjobs/writer.py).
"""

from collections.abc import Iterator

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from depportal.audit.services import audit_record
from depportal.core.exceptions import ApplicationError
from depportal.core.serials import DUPLICATE, SerialReader
from depportal.core.spreadsheet import SafeWriter
from devices import selectors
from devices.columns import ROW_VALUES, DeviceRow, clean_columns, csv_header, csv_row
from devices.csv_import import ALREADY, MATCHED, OTHER_PLATFORM, OUTCOME_LABELS, UNKNOWN
from devices.filters import PLATFORMS
from devices.models import Device, DeviceImport, DeviceListColumns
from tokens.models import EnrollmentProgramToken

AUDIT_EACH_LIMIT = 200
EXPORT_CHUNK = 2000
_LOOKUP_CHUNK = 5000


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
    """Remove the tombstone: the device lists again, with Apple's latest data (syncs kept applying it)."""
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
    # Dropped now, so this transaction's own reads see the new choice; set once it is committed for everyone.
    key = selectors.device_columns_key(user.pk)
    cache.delete(key)
    transaction.on_commit(lambda: cache.set(key, chosen, selectors.COLUMNS_CACHE_S))
    return chosen


def device_import_preview(
    *,
    actor,
    token: EnrollmentProgramToken,
    text: str = "",
    file: bytes | None = None,
    profile=None,
    filename: str = "",
) -> DeviceImport:
    """Check serial numbers (an uploaded file, then typed text) against the token, and the profile if assigning;
    store the preview, change nothing."""
    if profile is not None and profile.token_id != token.pk:
        raise ApplicationError("That profile belongs to another token.", fields={"profile": ["Not this token's."]})
    reader = SerialReader()
    if file is not None:
        reader.read_file(file)
    reader.read_text(text)
    rows = reader.rows
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
        elif profile is not None and device["device_family"] not in ("", *PLATFORMS[profile.platform][1]):
            # The assignment would refuse it too: a profile never goes to a device of another platform.
            row.outcome = OTHER_PLATFORM
            row.reason = f"A {device['device_family']} device: {profile.name} is for {PLATFORMS[profile.platform][0]}."
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
            "device_family",
        ):
            found[row["serial_number"]] = row
    return found


def _on_profile(device: dict, profile) -> bool:
    if profile.profile_uuid and device["profile_uuid"] == profile.profile_uuid:
        return True
    return device["assigned_profile_id"] == profile.pk and device["assignment_result"] == "SUCCESS"


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
        rows = queryset.filter(pk__gt=last).order_by("pk").values_list(*ROW_VALUES)[:EXPORT_CHUNK]
        chunk = list(map(DeviceRow._make, rows))
        if not chunk:
            return
        yield "".join(writer.writerow(csv_row(device, columns)) for device in chunk)
        last = chunk[-1].pk
