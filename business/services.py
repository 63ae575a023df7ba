"""The Apple Business connection, the organisation's inventory, device activities and webhook-driven syncs.

Every change is audited in its transaction. Apple is reached only through depportal.apple.business.
"""

import csv
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from business.models import (
    APPLE_ACTIVITY_TYPES,
    ASSIGN_WITH_DEADLINE,
    ActivityKind,
    ActivityState,
    BusinessConnection,
    BusinessServer,
    ConnectionState,
    DeviceActivity,
    OrgDevice,
    WebhookSync,
)
from business.selectors import inventory_refresh_running
from depportal.apple import AppleError
from depportal.apple.business import BusinessClient, kind_for_client_id, load_private_key
from depportal.audit.services import audit_record
from depportal.core import crypto
from depportal.core.exceptions import ApplicationError, Conflict
from devices.models import Device
from syncjobs.models import SyncKind, SyncTrigger
from syncjobs.services import SyncRefused, syncjob_request
from tokens.models import EnrollmentProgramToken

logger = logging.getLogger(__name__)

MAX_KEY_FILE_BYTES = 16 * 1024
# Apple documents no device count per activity; we send at most this many, as the DEP service allows per call.
ACTIVITY_CHUNK = 1000
MAX_DEVICES_PER_REQUEST = 100_000
MIGRATION_DEADLINE_MAX_DAYS = 90
INTERACTIVE_DEADLINE_S = 30
ACTIVITY_DEADLINE_S = 15 * 60
WEBHOOK_EVENTS = ["ORG_DEVICE_ATTRIBUTE_CHANGED", "ORG_DEVICE_RELATIONSHIP_ASSIGNED_SERVER_CHANGED"]
# How Apple signs a delivery. "Understanding webhook events"
# (https://developer.apple.com/documentation/apple-school-and-business-manager-api/understanding-apple-business-api-webhook-events)
# has a section "Set up notification authentication" for Apple Business webhooks, created with a `secret` like
# App Store Connect's; only its heading could be read here. App Store Connect's section of the same name
# (https://developer.apple.com/documentation/appstoreconnectapi/configuring-webhook-notifications) documents the
# scheme in full: an `x-apple-signature` header holding "hmacsha256=" and the hex HMAC-SHA256 of the raw body
# keyed with the secret. We verify exactly that, and trust nothing else in the body: it only names the devices
# and servers whose tokens to sync, and the sync reads their state from Apple. A replayed delivery therefore
# changes nothing but an extra (debounced) sync.
SIGNATURE_HEADER = "x-apple-signature"
SIGNATURE_PREFIX = "hmacsha256="
MAX_WEBHOOK_BODY_BYTES = 256 * 1024
# A delivery naming more devices than this syncs every linked token instead of looking each one up.
MAX_WEBHOOK_SUBJECTS = 1000
_SERIAL = re.compile(r"^[A-Z0-9]{8,20}$")
_SPLIT = re.compile(r"[\s,;]+")


def _audit(actor, action: str, obj, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, obj=obj, changes=changes)


def _field_error(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, fields={field: [message]})


# --- the connection -----------------------------------------------------------------------------------------


def connection_get() -> BusinessConnection | None:
    return BusinessConnection.objects.first()


def connection_client(connection: BusinessConnection, *, deadline: float | None = None) -> BusinessClient:
    return BusinessClient(
        client_id=connection.client_id,
        key_id=connection.key_id,
        private_key_pem=crypto.decrypt(connection.private_key_encrypted),
        key=f"business:{connection.pk}",
        kind=connection.kind,
        deadline=deadline,
    )


def connection_create(*, actor, client_id: str, key_id: str, private_key: bytes) -> BusinessConnection:
    """Connect the organisation: validated by getting an access token from Apple; nothing stored if that fails."""
    client_id, key_id = (client_id or "").strip(), (key_id or "").strip()
    kind = kind_for_client_id(client_id)
    if kind is None:
        raise _field_error(
            "client_id", "The client ID starts with BUSINESSAPI. or SCHOOLAPI.: copy it from the API account."
        )
    if not key_id or len(key_id) > 128:
        raise _field_error("key_id", "Enter the key ID shown for the API account's private key.")
    if not private_key or len(private_key) > MAX_KEY_FILE_BYTES:
        raise _field_error("private_key", "Upload the private key (.pem) downloaded when the key was generated.")
    try:
        load_private_key(private_key)
    except ValueError as error:
        raise _field_error("private_key", str(error)) from None
    if BusinessConnection.objects.exists():
        raise Conflict("The organisation is already connected. Disconnect it first to use another API account.")
    client = BusinessClient(
        client_id=client_id,
        key_id=key_id,
        private_key_pem=private_key,
        key="business:new",
        kind=kind,
        deadline=time.monotonic() + INTERACTIVE_DEADLINE_S,
    )
    try:
        token = client.access_token(renew=True)
    except AppleError as error:
        raise ApplicationError(f"Apple did not accept the API account: {error.message}") from None
    now = timezone.now()
    try:
        with transaction.atomic():
            connection = BusinessConnection.objects.create(
                kind=kind,
                client_id=client_id,
                key_id=key_id,
                private_key_encrypted=crypto.encrypt(private_key),
                last_validated_at=now,
                access_token_expires_at=datetime.fromtimestamp(token.expires_at, UTC),
                created_by=actor,
            )
            _audit(actor, "create", connection, {"kind": kind, "client_id": client_id, "key_id": key_id})
    except IntegrityError:
        raise Conflict("The organisation is already connected.") from None
    return connection


def connection_validate(*, actor, connection: BusinessConnection) -> BusinessConnection:
    """Get a new access token now (Test connection); the outcome is stored and shown."""
    client = connection_client(connection, deadline=time.monotonic() + INTERACTIVE_DEADLINE_S)
    with client:
        try:
            token = client.access_token(renew=True)
        except AppleError as error:
            _record_error(connection, error)
        else:
            connection.state = ConnectionState.ACTIVE
            connection.last_error_code = connection.last_error_message = ""
            connection.last_validated_at = timezone.now()
            connection.access_token_expires_at = datetime.fromtimestamp(token.expires_at, UTC)
            connection.save()
    _audit(actor, "validate", connection, {"state": connection.state})
    return connection


def _note_token(connection: BusinessConnection, client: BusinessClient) -> None:
    """Show the expiry of the access token the workers share now (renewed by itself before it lapses)."""
    if client.token is not None:
        expires = datetime.fromtimestamp(client.token.expires_at, UTC)
        BusinessConnection.objects.filter(pk=connection.pk).update(access_token_expires_at=expires)


def _record_error(connection: BusinessConnection, error: AppleError) -> None:
    connection.state = ConnectionState.ERROR
    connection.last_error_code = error.code or f"HTTP_{error.status}"
    connection.last_error_message = error.message
    connection.save(update_fields=["state", "last_error_code", "last_error_message"])


def connection_delete(*, actor, connection: BusinessConnection) -> None:
    """Forget the API account and the inventory copy; nothing changes at Apple."""
    with transaction.atomic():
        _audit(actor, "delete", connection, {"client_id": connection.client_id})
        connection.delete()


# --- inventory --------------------------------------------------------------------------------------------


def _normalised_uuid(value: str) -> str:
    return value.replace("-", "").upper()


def _link_servers(connection: BusinessConnection, client: BusinessClient) -> dict[str, BusinessServer]:
    """Upsert the organisation's MDM servers; a server is the portal token's when their ids agree.

    Apple gives each server an `id`, `serverName` and `serverType`
    (https://developer.apple.com/documentation/applebusinessapi/get-mdm-servers) but does not say how the id
    relates to the DEP service's server_uuid; its examples show 32 hex digits, so we compare both without
    dashes and fall back to the server name (the DEP account's server_name).
    """
    tokens = list(EnrollmentProgramToken.objects.exclude(server_uuid=""))
    by_uuid = {_normalised_uuid(t.server_uuid): t for t in tokens}
    by_name = {t.server_name: t for t in tokens if t.server_name}
    servers = {}
    for item in client.mdm_servers():
        apple_id = str(item.get("id") or "")
        attributes = item.get("attributes") or {}
        name = str(attributes.get("serverName") or apple_id)
        token = by_uuid.get(_normalised_uuid(apple_id)) or by_name.get(name)
        server, _ = BusinessServer.objects.update_or_create(
            connection=connection,
            apple_id=apple_id,
            defaults={"name": name[:255], "server_type": str(attributes.get("serverType") or "")[:32], "token": token},
        )
        servers[apple_id] = server
    BusinessServer.objects.filter(connection=connection).exclude(apple_id__in=servers).delete()
    return servers


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _device_fields(attributes: dict) -> dict:
    def text(key: str, limit: int) -> str:
        value = attributes.get(key)
        return str(value)[:limit] if value is not None else ""

    return {
        "device_model": text("deviceModel", 255),
        "product_family": text("productFamily", 32),
        "product_type": text("productType", 64),
        "capacity": text("deviceCapacity", 32),
        "color": text("color", 64),
        "part_number": text("partNumber", 64),
        "order_number": text("orderNumber", 64),
        "order_date": _parse_time(attributes.get("orderDateTime")),
        "purchase_source_type": text("purchaseSourceType", 32),
        "purchase_source_id": text("purchaseSourceId", 64),
        "status": text("status", 16),
        "added_to_org_at": _parse_time(attributes.get("addedToOrgDateTime")),
        "updated_at_apple": _parse_time(attributes.get("updatedDateTime")),
        # https://developer.apple.com/documentation/applebusinessapi/mdmmigrationstatus; the attribute names
        # are those public clients of Apple Business API 2.3 read (Apple's attributes page was not readable).
        "migration_status": text("mdmMigrationStatus", 16),
        "migration_deadline_at_apple": _parse_time(attributes.get("mdmMigrationDeadlineDateTime")),
    }


class RefreshLost(Exception):
    """Another run took over this refresh's lease: this one stops writing."""


def inventory_refresh_request(*, actor, connection: BusinessConnection) -> BusinessConnection:
    """Refresh now (console and API); refused while one runs, so two never read Apple at once."""
    from business.tasks import inventory_refresh_task

    connection.refresh_from_db()
    if inventory_refresh_running(connection):
        raise Conflict(
            f"The inventory is already being read from Apple ({connection.inventory_refresh_pages} pages, "
            f"{connection.inventory_refresh_devices} devices so far). Wait for it to end."
        )
    with transaction.atomic():
        _audit(actor, "inventory_refresh", connection, {})
        connection_id = connection.pk
        transaction.on_commit(lambda: inventory_refresh_task.delay(connection_id))
    return connection


def _claim_refresh(connection: BusinessConnection) -> int | None:
    """Take the refresh lease: free, or left by a run whose heartbeat stopped. The claim number, or None."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.BUSINESS_INVENTORY_LEASE_S)
    claimed = (
        BusinessConnection.objects.filter(pk=connection.pk)
        .filter(Q(inventory_refresh_started_at__isnull=True) | Q(inventory_refresh_heartbeat_at__lt=stale))
        .update(
            inventory_refresh_started_at=now,
            inventory_refresh_heartbeat_at=now,
            inventory_refresh_pages=0,
            inventory_refresh_devices=0,
            inventory_refresh_error="",
            inventory_refresh_attempt=F("inventory_refresh_attempt") + 1,
        )
    )
    if not claimed:
        return None
    return BusinessConnection.objects.values_list("inventory_refresh_attempt", flat=True).get(pk=connection.pk)


def _refresh_progress(connection: BusinessConnection, attempt: int, **progress) -> None:
    updated = BusinessConnection.objects.filter(pk=connection.pk, inventory_refresh_attempt=attempt).update(
        inventory_refresh_heartbeat_at=timezone.now(), **progress
    )
    if not updated:
        raise RefreshLost


def inventory_refresh(*, connection: BusinessConnection) -> dict:
    """Walk every orgDevices page and every server's serials; devices Apple no longer lists are dropped.

    One refresh at a time (beat, console and API alike): a second one finds the lease taken and does nothing.
    Progress (pages and devices so far) is written after every page.
    """
    attempt = _claim_refresh(connection)
    if attempt is None:
        return {"status": "already_running"}
    started = timezone.now()
    try:
        outcome = _walk_inventory(connection, attempt, started)
    except RefreshLost:
        return {"status": "taken_over"}
    except AppleError as error:
        BusinessConnection.objects.filter(pk=connection.pk, inventory_refresh_attempt=attempt).update(
            inventory_refresh_started_at=None, inventory_refresh_error=error.message
        )
        raise
    except Exception:
        BusinessConnection.objects.filter(pk=connection.pk, inventory_refresh_attempt=attempt).update(
            inventory_refresh_started_at=None,
            inventory_refresh_error="The portal failed while reading the inventory; the next refresh starts over.",
        )
        raise
    removed, _ = OrgDevice.objects.filter(connection=connection, refreshed_at__lt=started).delete()
    finished = BusinessConnection.objects.filter(pk=connection.pk, inventory_refresh_attempt=attempt).update(
        inventory_refreshed_at=timezone.now(), inventory_refresh_started_at=None, state=ConnectionState.ACTIVE
    )
    if not finished:
        return {"status": "taken_over"}
    connection.refresh_from_db()
    return {"status": "done", **outcome, "removed": removed}


def _walk_inventory(connection: BusinessConnection, attempt: int, started: datetime) -> dict:
    with connection_client(connection) as client:
        try:
            servers = _link_servers(connection, client)
            seen = pages = 0
            for page in client.org_device_pages():
                rows = []
                for item in page.data:
                    serial = str(item.get("id") or "").upper()
                    # A released device is no longer the organisation's, even while Apple still lists it.
                    if not serial or (item.get("attributes") or {}).get("releasedFromOrgDateTime"):
                        continue
                    fields = _device_fields(item.get("attributes") or {})
                    rows.append(
                        OrgDevice(connection=connection, serial_number=serial[:64], refreshed_at=started, **fields)
                    )
                OrgDevice.objects.bulk_create(
                    rows,
                    update_conflicts=True,
                    unique_fields=["connection", "serial_number"],
                    update_fields=[*_device_fields({}), "refreshed_at"],
                )
                seen += len(rows)
                pages += 1
                _refresh_progress(connection, attempt, inventory_refresh_pages=pages, inventory_refresh_devices=seen)
            OrgDevice.objects.filter(connection=connection).update(server=None)
            for apple_id, server in servers.items():
                batch: list[str] = []
                for serial in client.server_device_serials(apple_id):
                    batch.append(serial)
                    if len(batch) == 5000:
                        _link_devices(connection, server, batch)
                        # A server with many devices takes many pages: the lease must not lapse meanwhile.
                        _refresh_progress(connection, attempt)
                        batch = []
                _link_devices(connection, server, batch)
                _refresh_progress(connection, attempt)
        except AppleError as error:
            _record_error(connection, error)
            raise
        _note_token(connection, client)
    return {"devices": seen, "pages": pages, "servers": len(servers)}


def _link_devices(connection: BusinessConnection, server: BusinessServer, serials: list[str]) -> None:
    if serials:
        OrgDevice.objects.filter(connection=connection, serial_number__in=serials).update(server=server)


def device_apple_care(*, connection: BusinessConnection, serial: str) -> list[dict]:
    """The device's AppleCare coverage, read from Apple when asked (one call per device, so not in the walk)."""
    device = OrgDevice.objects.filter(connection=connection, serial_number=serial).first()
    if device is None:
        raise ApplicationError("No such device in the organisation's inventory.")
    with connection_client(connection, deadline=time.monotonic() + INTERACTIVE_DEADLINE_S) as client:
        try:
            coverages = client.apple_care_coverage(device.serial_number)
        except AppleError as error:
            raise ApplicationError(f"Apple did not give the AppleCare coverage: {error.message}") from None
    return [{"id": item.get("id"), **(item.get("attributes") or {})} for item in coverages]


# --- choosing devices and previewing an activity ------------------------------------------------------------


def serials_from_text(text: str) -> list[str]:
    return list(dict.fromkeys(s.strip().upper() for s in _SPLIT.split(text or "") if s.strip()))


def serials_from_csv(data: bytes) -> list[str]:
    """The first column of a CSV file (a header row that is not a serial number is skipped)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _field_error("csv_file", "The CSV file is not UTF-8 text.") from None
    serials = [row[0].strip().upper() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if serials and not _SERIAL.match(serials[0]):
        serials = serials[1:]
    return list(dict.fromkeys(serials))


def activity_preview(
    *,
    connection: BusinessConnection,
    kind: str,
    server: BusinessServer | None = None,
    serials: list[str] | None = None,
    order_number: str = "",
    migration_deadline: datetime | None = None,
) -> dict:
    """What the activity would do: devices that change, from which server, and serials the organisation lacks."""
    if kind not in ActivityKind.values:
        raise _field_error("kind", "Choose assign, unassign, release, change migration deadline or cancel migration.")
    if kind == ActivityKind.ASSIGN and server is None:
        raise _field_error("server", "Choose the MDM server to assign the devices to.")
    _check_deadline(kind, migration_deadline)
    if connection.inventory_refreshed_at is None:
        raise ApplicationError("Refresh the organisation's inventory first: the preview is checked against it.")
    serials = list(dict.fromkeys(s.strip().upper() for s in serials or [] if s and s.strip()))
    order_number = (order_number or "").strip()
    if not serials and not order_number:
        raise _field_error("serials", "Enter serial numbers, an order number or a CSV file.")
    if len(serials) > MAX_DEVICES_PER_REQUEST:
        raise _field_error("serials", f"At most {MAX_DEVICES_PER_REQUEST} devices at a time.")
    invalid = [s for s in serials if not _SERIAL.match(s)]
    if invalid:
        raise _field_error("serials", f"Not serial numbers: {', '.join(invalid[:10])}.")
    devices = OrgDevice.objects.filter(connection=connection).select_related("server", "server__token")
    if order_number:
        found = list(devices.filter(order_number=order_number))
        if not found:
            raise _field_error("order_number", f"No device of the organisation has order number {order_number}.")
    else:
        found = list(devices.filter(serial_number__in=serials))
    known = {d.serial_number for d in found}
    unknown = [s for s in serials if s not in known]
    if kind == ActivityKind.ASSIGN and migration_deadline is None:
        changing = [d for d in found if d.server_id != server.pk]
    elif kind == ActivityKind.ASSIGN:
        # A migration moves devices that some other MDM server manages now.
        changing = [d for d in found if d.server_id is not None and d.server_id != server.pk]
    elif kind == ActivityKind.UNASSIGN:
        changing = [d for d in found if d.server_id is not None]
    else:
        changing = found
    unchanged = [d.serial_number for d in found if d not in changing]
    by_source: dict[str, int] = {}
    for device in changing:
        label = device.server.name if device.server else "Unassigned"
        by_source[label] = by_source.get(label, 0) + 1
    return {
        "kind": kind,
        "server": server,
        "devices": changing,
        "serials": sorted(d.serial_number for d in changing),
        "unchanged": sorted(unchanged),
        "unknown": unknown,
        "by_source": sorted(by_source.items()),
        "migration_deadline": migration_deadline,
    }


def _check_deadline(kind: str, deadline: datetime | None) -> None:
    """Apple: the deadline is at most 90 days ahead; an earlier one than before is honoured without delay."""
    if kind == ActivityKind.UPDATE_DEADLINE and deadline is None:
        raise _field_error("migration_deadline", "Enter the new migration deadline.")
    if deadline is None:
        return
    if kind not in (ActivityKind.ASSIGN, ActivityKind.UPDATE_DEADLINE):
        raise _field_error("migration_deadline", "Only an assignment or a deadline change takes a deadline.")
    now = timezone.now()
    if deadline <= now:
        raise _field_error("migration_deadline", "The migration deadline must be in the future.")
    if deadline > now + timedelta(days=MIGRATION_DEADLINE_MAX_DAYS):
        raise _field_error(
            "migration_deadline",
            f"Apple allows a migration deadline at most {MIGRATION_DEADLINE_MAX_DAYS} days ahead.",
        )


def activity_start(
    *,
    actor,
    connection: BusinessConnection,
    kind: str,
    server: BusinessServer | None,
    serials: list[str],
    migration_deadline: datetime | None = None,
) -> DeviceActivity:
    """The confirmed activity: checked again against the inventory, queued, audited; Apple is called by a task."""
    from business.tasks import activity_run_task

    preview = activity_preview(
        connection=connection, kind=kind, server=server, serials=serials, migration_deadline=migration_deadline
    )
    if preview["unknown"]:
        raise _field_error("serials", f"Not devices of the organisation: {', '.join(preview['unknown'][:10])}.")
    if not preview["serials"]:
        raise _field_error("serials", "None of these devices would change.")
    with transaction.atomic():
        activity = DeviceActivity.objects.create(
            connection=connection,
            kind=kind,
            server=server if kind == ActivityKind.ASSIGN else None,
            migration_deadline=migration_deadline,
            serials=preview["serials"],
            requested_by=actor,
        )
        _audit(
            actor,
            kind,
            activity,
            {
                "devices": len(preview["serials"]),
                "server": server.name if server else None,
                "migration_deadline": migration_deadline.isoformat() if migration_deadline else None,
            },
        )
        transaction.on_commit(lambda: activity_run_task.delay(activity.pk))
    return activity


# --- running an activity at Apple -------------------------------------------------------------------------


def activity_run(*, activity_id: int) -> dict:
    """Send the activity to Apple in chunks, poll until Apple finishes, record per-device results, then sync."""
    claimed = DeviceActivity.objects.filter(pk=activity_id, state=ActivityState.QUEUED).update(
        state=ActivityState.RUNNING
    )
    if not claimed:
        return {"activity": activity_id, "status": "not_queued"}
    activity = DeviceActivity.objects.select_related("connection", "server", "server__token").get(pk=activity_id)
    before = dict(
        OrgDevice.objects.filter(connection=activity.connection, serial_number__in=activity.serials).values_list(
            "serial_number", "server__token_id"
        )
    )
    deadline = time.monotonic() + ACTIVITY_DEADLINE_S
    try:
        with connection_client(activity.connection, deadline=deadline) as client:
            statuses = _send_and_wait(activity, client, deadline)
            activity.results = _results(activity, client, statuses)
            _note_token(activity.connection, client)
    except AppleError as error:
        _fail(activity, error.message)
        return {"activity": activity_id, "status": "failed"}
    except Exception:
        # Never leave an activity "in progress" for ever: the admin must see that it stopped.
        _fail(activity, "The portal failed while following the activity; check the devices in the inventory.")
        raise
    failed = [s for s, r in activity.results.items() if r != "success"]
    activity.devices_failed = len(failed)
    activity.devices_done = len(activity.serials) - len(failed)
    activity.state = (
        ActivityState.SUCCEEDED
        if not failed
        else ActivityState.FAILED
        if len(failed) == len(activity.serials)
        else ActivityState.PARTIAL
    )
    _apply_locally(activity)
    token_ids = {t for s, t in before.items() if t and activity.results.get(s) == "success"}
    if activity.kind == ActivityKind.ASSIGN and activity.server.token_id and activity.devices_done:
        token_ids.add(activity.server.token_id)
    activity.synced_tokens = [
        _request_sync(token_id, SyncTrigger.BUSINESS, activity.requested_by) for token_id in sorted(token_ids)
    ]
    activity.finished_at = timezone.now()
    activity.save()
    return {"activity": activity_id, "status": activity.state}


def _fail(activity: DeviceActivity, message: str) -> None:
    activity.state = ActivityState.FAILED
    activity.error_message = message
    activity.finished_at = timezone.now()
    activity.save()


def _batches(activity: DeviceActivity) -> list[tuple[str | None, list[str]]]:
    """The (MDM server id, serials) of each Apple activity, in a fixed order so a resumed run skips those sent.

    Apple's example for "Assign or Unassign Devices" names the mdmServer in both cases
    (https://developer.apple.com/documentation/applebusinessapi/create-an-orgdeviceactivity), so an unassignment
    goes to each server the devices are on, in batches of its own.
    """
    if activity.kind != ActivityKind.UNASSIGN:
        server_id = activity.server.apple_id if activity.server else None
        groups = [(server_id, list(activity.serials))]
    else:
        on_server = dict(
            OrgDevice.objects.filter(
                connection=activity.connection, serial_number__in=activity.serials, server__isnull=False
            ).values_list("serial_number", "server__apple_id")
        )
        by_server: dict[str, list[str]] = {}
        for serial in activity.serials:
            if serial in on_server:
                by_server.setdefault(on_server[serial], []).append(serial)
        groups = sorted(by_server.items())
    return [
        (server_id, serials[start : start + ACTIVITY_CHUNK])
        for server_id, serials in groups
        for start in range(0, len(serials), ACTIVITY_CHUNK)
    ]


def _send_and_wait(activity: DeviceActivity, client: BusinessClient, deadline: float) -> dict[str, str]:
    activity_type = APPLE_ACTIVITY_TYPES[activity.kind]
    metadata = None
    if activity.migration_deadline:
        if activity.kind == ActivityKind.ASSIGN:
            activity_type = ASSIGN_WITH_DEADLINE
        metadata = {"mdmMigrationDeadlineDateTime": activity.migration_deadline.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    ids = list(activity.apple_activity_ids)
    for server_id, serials in _batches(activity)[len(ids) :]:
        created = client.create_activity(activity_type, serials, server_id=server_id, metadata=metadata)
        ids.append(created["id"])
        DeviceActivity.objects.filter(pk=activity.pk).update(apple_activity_ids=ids)
    activity.apple_activity_ids = ids
    pending = set(ids)
    statuses: dict[str, str] = {}
    while pending:
        for apple_id in sorted(pending):
            attributes = client.get_activity(apple_id).get("attributes") or {}
            statuses[apple_id] = f"{attributes.get('status')} ({attributes.get('subStatus')})"
            if attributes.get("status") != "IN_PROGRESS":
                pending.discard(apple_id)
        activity.apple_status = _status_summary(statuses)
        DeviceActivity.objects.filter(pk=activity.pk).update(apple_status=activity.apple_status)
        if pending:
            if time.monotonic() + settings.BUSINESS_ACTIVITY_POLL_S > deadline:
                raise AppleError(
                    "Apple did not finish the activity within 15 minutes; see it in Apple Business Manager."
                )
            time.sleep(settings.BUSINESS_ACTIVITY_POLL_S)
    return statuses


def _status_summary(statuses: dict[str, str]) -> str:
    counts = Counter(statuses.values())
    return "; ".join(f"{status} ×{count}" if count > 1 else status for status, count in sorted(counts.items()))[:255]


def _results(activity: DeviceActivity, client: BusinessClient, statuses: dict[str, str]) -> dict[str, str]:
    """Per-device outcome read back from Apple's resources (the activity log's CSV columns are not documented)."""
    if activity.kind in (ActivityKind.UPDATE_DEADLINE, ActivityKind.CANCEL_MIGRATION):
        # Apple's activity log columns are not documented, so each chunk's outcome stands for its devices; each
        # device's own migration status (mdmMigrationStatus) comes with the next inventory refresh.
        results = {}
        for apple_id, (_, chunk) in zip(activity.apple_activity_ids, _batches(activity), strict=False):
            status = statuses.get(apple_id, "")
            outcome = (
                "success"
                if "COMPLETED_WITH_SUCCESS" in status
                else "unknown: see Apple's activity log"
                if "COMPLETED_WITH_FAILURE" in status
                else "failed"
            )
            results.update(dict.fromkeys(chunk, outcome))
        return results
    if activity.kind == ActivityKind.ASSIGN:
        on_server = set(client.server_device_serials(activity.server.apple_id))
        return {s: "success" if s in on_server else "failed" for s in activity.serials}
    if activity.kind == ActivityKind.UNASSIGN:
        # A page of 1000 serials per call instead of one call per device: read the servers they were on.
        sources = set(
            OrgDevice.objects.filter(
                connection=activity.connection, serial_number__in=activity.serials, server__isnull=False
            ).values_list("server__apple_id", flat=True)
        )
        still = {serial for apple_id in sources for serial in client.server_device_serials(apple_id)}
        return {s: "failed" if s in still else "success" for s in activity.serials}
    # Release: Apple may answer 404 for a released device, or still list it with releasedFromOrgDateTime.
    results = {}
    for serial in activity.serials:
        try:
            attributes = client.org_device(serial).get("attributes") or {}
        except AppleError as error:
            if error.status != 404:
                raise
            results[serial] = "success"
        else:
            results[serial] = "success" if attributes.get("releasedFromOrgDateTime") else "failed"
    return results


def _apply_locally(activity: DeviceActivity) -> None:
    done = [s for s, r in activity.results.items() if r == "success"]
    devices = OrgDevice.objects.filter(connection=activity.connection, serial_number__in=done)
    if activity.kind == ActivityKind.RELEASE:
        devices.delete()
    elif activity.kind == ActivityKind.ASSIGN:
        devices.update(server=activity.server, status="ASSIGNED")
    elif activity.kind == ActivityKind.UNASSIGN:
        devices.update(server=None, status="UNASSIGNED")


def _request_sync(token_id: int, trigger: str, actor) -> dict:
    token = EnrollmentProgramToken.objects.get(pk=token_id)
    try:
        job = syncjob_request(token=token, kind=SyncKind.DELTA, trigger=trigger, actor=actor)
    except SyncRefused as refused:
        return {
            "token": token_id,
            "name": token.name,
            "job": None,
            "refused": refused.message,
            "rule": refused.refusal.rule,
        }
    return {"token": token_id, "name": token.name, "job": job.pk, "refused": "", "rule": ""}


# --- webhooks ---------------------------------------------------------------------------------------------


def webhook_enable(*, actor, connection: BusinessConnection, url: str) -> BusinessConnection:
    """Register the portal's receiver with Apple (POST /v1/webhooks) with a fresh secret kept sealed here."""
    if not url.startswith(("https://", "http://")):
        raise _field_error("url", "The webhook URL must be an https URL Apple can reach.")
    secret = secrets.token_urlsafe(32)
    with connection_client(connection, deadline=time.monotonic() + INTERACTIVE_DEADLINE_S) as client:
        try:
            created = client.create_webhook(name="DEP Portal", url=url, secret=secret, event_types=WEBHOOK_EVENTS)
        except AppleError as error:
            raise ApplicationError(f"Apple did not create the webhook: {error.message}") from None
    with transaction.atomic():
        connection.webhook_id = str(created.get("id") or "")
        connection.webhook_secret_encrypted = crypto.encrypt(secret)
        connection.save(update_fields=["webhook_id", "webhook_secret_encrypted"])
        _audit(actor, "webhook_enable", connection, {"url": url, "events": WEBHOOK_EVENTS})
    return connection


class WebhookRejected(ApplicationError):
    code = "webhook_rejected"
    status = 401


class WebhookTooLarge(ApplicationError):
    code = "webhook_too_large"
    status = 413


def webhook_signature(*, secret: bytes, body: bytes) -> str:
    """The `x-apple-signature` value Apple sends for `body` (see SIGNATURE_HEADER)."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def webhook_receive(*, body: bytes, signature: str) -> dict:
    """Verify a delivery's signature, then queue a debounced delta sync of every token it concerns."""
    connection = connection_get()
    if connection is None or not connection.webhook_secret_encrypted:
        raise WebhookRejected("No Apple Business webhook is configured.")
    if len(body) > MAX_WEBHOOK_BODY_BYTES:
        raise WebhookTooLarge("The webhook delivery is larger than any Apple sends.")
    expected = webhook_signature(secret=crypto.decrypt(connection.webhook_secret_encrypted), body=body)
    if not hmac.compare_digest(expected.encode(), (signature or "").strip().encode("utf-8", "replace")):
        raise WebhookRejected("The webhook signature does not match.")
    try:
        delivery = json.loads(body)
    except (ValueError, RecursionError):
        raise ApplicationError("The webhook body is not JSON.") from None
    serials, server_ids = _event_subjects(delivery)
    if len(serials) + len(server_ids) > MAX_WEBHOOK_SUBJECTS:
        serials, server_ids = set(), set()
    if server_ids - set(BusinessServer.objects.filter(connection=connection).values_list("apple_id", flat=True)):
        # A server created or renamed since the last inventory read: learn it so its token is found.
        try:
            with connection_client(connection, deadline=time.monotonic() + INTERACTIVE_DEADLINE_S) as client:
                _link_servers(connection, client)
        except AppleError as error:
            logger.warning("Could not read the MDM servers for a webhook event: %s", error)
    token_ids = set(Device.objects.filter(serial_number__in=serials).values_list("token_id", flat=True))
    token_ids |= set(
        BusinessServer.objects.filter(connection=connection, apple_id__in=server_ids, token__isnull=False).values_list(
            "token_id", flat=True
        )
    )
    if not serials and not server_ids:
        token_ids = set(BusinessServer.objects.filter(token__isnull=False).values_list("token_id", flat=True))
    return {"tokens": sorted(token_ids), "syncs": [webhook_sync_request(token_id=t) for t in sorted(token_ids)]}


def _event_subjects(delivery) -> tuple[set[str], set[str]]:
    """Device serials and server ids named by the delivery's events (the payload is a JSON string)."""
    serials: set[str] = set()
    servers: set[str] = set()
    included = delivery.get("included") if isinstance(delivery, dict) else None
    for item in included if isinstance(included, list) else []:
        attributes = item.get("attributes") if isinstance(item, dict) else None
        payload = (attributes or {}).get("payload")
        try:
            payload = json.loads(payload) if isinstance(payload, str) else payload
        except ValueError:
            continue
        if not isinstance(payload, dict):
            continue
        device = payload.get("orgDevice")
        if isinstance(device, dict) and isinstance(device.get("id"), str):
            serials.add(device["id"].upper())
        server = payload.get("assignedServer")
        if isinstance(server, dict) and isinstance(server.get("id"), str):
            servers.add(server["id"])
    return serials, servers


def webhook_sync_request(*, token_id: int) -> dict:
    """One webhook-driven delta sync per token per window; later events in the window share one follow-up."""
    window = timedelta(seconds=settings.BUSINESS_WEBHOOK_WINDOW_S)
    now = timezone.now()
    with transaction.atomic():
        state, _ = WebhookSync.objects.select_for_update().get_or_create(token_id=token_id)
        if state.last_requested_at and now < state.last_requested_at + window:
            _follow_up(state, due_at=state.last_requested_at + window, now=now)
            return {"token": token_id, "job": None, "debounced": True}
        state.last_requested_at, state.pending_since = now, None
        state.save(update_fields=["last_requested_at", "pending_since"])
        result = _request_sync(token_id, SyncTrigger.WEBHOOK, None)
        if result["rule"] == "sync_in_progress":
            # A sync already running may have read Apple before this event: one more follows it.
            _follow_up(state, due_at=now + window, now=now)
    return {**result, "debounced": False}


def _follow_up(state: WebhookSync, *, due_at: datetime, now: datetime) -> None:
    from business.tasks import webhook_sync_due_task

    if state.pending_since is not None:
        return
    state.pending_since = now
    state.save(update_fields=["pending_since"])
    countdown = max(0.0, (due_at - now).total_seconds())
    token_id = state.token_id
    transaction.on_commit(lambda: webhook_sync_due_task.apply_async((token_id,), countdown=countdown))


def webhook_sync_due(*, token_id: int) -> dict:
    """The window ended with events waiting: run their one sync now (or follow the running one again)."""
    now = timezone.now()
    with transaction.atomic():
        state = WebhookSync.objects.select_for_update().filter(token_id=token_id, pending_since__isnull=False).first()
        if state is None:
            return {"token": token_id, "job": None}
        state.last_requested_at, state.pending_since = now, None
        state.save(update_fields=["last_requested_at", "pending_since"])
        result = _request_sync(token_id, SyncTrigger.WEBHOOK, None)
        if result["rule"] == "sync_in_progress":
            _follow_up(state, due_at=now + timedelta(seconds=settings.BUSINESS_WEBHOOK_WINDOW_S), now=now)
    return result
