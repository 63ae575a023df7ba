"""Writing Apple's device records: bulk, per page, idempotent (a retried page changes nothing twice).

Apple's rules (Device Assignment Services, developer.apple.com/documentation/devicemanagement):
- "Get a List of Devices" (fetch-devices) lists the devices assigned to the MDM server now; a fetch that
  pages is one listing, whatever the number of jobs that walk it.
- "Sync the List of Devices" (sync-devices) returns changes since a cursor and "may return the same device
  more than once": duplicates resolve by serial number, the record with the latest `op_date` winning. The
  op_date is Apple's: it is stored as Apple sent it and only ever compared with Apple's.

One bad record never stops a page: text the database would refuse is cleaned per field, a record without a
usable serial number is refused alone, and each is reported with its serial on the job.
"""

import io
import json
import math
import operator
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from django.db import connection
from django.utils.dateparse import parse_datetime

from devices.models import Device, DeviceOp

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
_TEXT_ITEMS = tuple(_TEXT_FIELDS.items())
_UPDATED_COLUMNS = ["profile_status", *_TEXT_FIELDS, *_TIME_FIELDS, "extra"]
# Compared as they are; "extra", the last, is compared after decoding.
_COMPARED_COLUMNS = _UPDATED_COLUMNS[:-1]
_NEVER = datetime.min.replace(tzinfo=UTC)
_OP_DATE = _UPDATED_COLUMNS.index("op_date")
_OP_TYPE = _UPDATED_COLUMNS.index("op_type")
_ASSIGNED = _UPDATED_COLUMNS.index("device_assigned_date")
SERIAL_MAX = 64
# Records prepared between two offers of the interpreter lock (see device_prepare_apple_page): about 1 ms.
YIELD_EVERY = 50
# Apple's newer fields are small scalars and lists; anything deeper or larger is not a device field.
_EXTRA_MAX_DEPTH = 6
_EXTRA_MAX_CHARS = 16_384
# Longest compact text (orjson's) that json.dumps's could not make longer than the bound: it writes a character
# as at most a 12-character escape pair.
_EXTRA_FAST_MAX = _EXTRA_MAX_CHARS // 12
# Text PostgreSQL refuses (NUL) or that cannot be encoded (lone surrogates), and other control characters.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SERIAL_OK = re.compile(r"[0-9A-Za-z._\-]+")
# Stand-ins for COPY's tab, newline and NULL while a page's text is built: control characters that no value
# can hold (_row removes them from text, json.dumps escapes them, serials and dates have none), so the page is
# escaped in one pass at the end instead of value by value.
_FIELD, _LINE, _NULL = "\x1f", "\x1e", "\x1d"
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
# A new row's columns that differ row by row, in the order _copy_new writes them.
_COPY_ROW_COLUMNS = [
    "serial_number", *_TEXT_FIELDS, "profile_status", *_TIME_FIELDS, "extra", "default_profile_pending"
]  # fmt: skip
_ROW_TEXTS = operator.itemgetter(*_TEXT_FIELDS)
# In json.dumps output (ASCII): escaped C0 controls (backspace and form feed have short escapes) and DEL,
# surrogates, and the non-finite numbers.
_JSON_SUSPECT = re.compile(r"\\u00[01][0-9a-f]|\\[bf]|\\u007f|\\ud[89a-f]|NaN|Infinity")


@dataclass
class PageResult:
    added: list[str]
    modified: int
    removed: int
    unchanged: int
    # Change in the number of devices assigned here (not removed, not deleted here), kept exactly per page
    # so the token's count never needs a count over all its devices.
    assigned_delta: int = 0
    # Devices of the page that Apple lists (a fetch page) or that are assigned after the page (a delta page).
    listed: int = 0
    refused: int = 0
    problems: list[dict] = field(default_factory=list)


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict] = []
        self.refused = 0

    def add(self, serial: str, name: str, problem: str) -> None:
        self.items.append({"serial": serial, "field": name, "problem": problem})


def _printable(value: str) -> str:
    """A serial number as it may be shown: unstorable characters escaped, bounded."""
    return _UNSTORABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)[:80]


def _serial(record, problems: _Problems) -> str | None:
    """The record's serial number, or None (the record is refused and reported)."""
    if not isinstance(record, dict):
        problems.refused += 1
        problems.add("", "record", "Apple sent a record that is not an object; it was skipped.")
        return None
    value = record.get("serial_number")
    serial = value.strip() if isinstance(value, str) else ""
    if serial and len(serial) <= SERIAL_MAX and _SERIAL_OK.fullmatch(serial):
        return serial
    problems.refused += 1
    shown = _printable(value) if isinstance(value, str) else repr(value)[:80]
    problems.add(shown, "serial_number", "Apple sent a record without a usable serial number; it was skipped.")
    return None


def _text(serial: str, name: str, value, length: int, problems: _Problems) -> str:
    """A text field that is not plain printable text (the caller takes those as they are): cleaned, reported."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        problems.add(serial, name, f"Apple sent {type(value).__name__} where text belongs; left empty.")
        return ""
    text = str(value)
    cleaned = _UNSTORABLE.sub("", text)
    if cleaned != text:
        problems.add(serial, name, "Control characters (such as NUL) removed.")
    return cleaned[:length]


def _time(value) -> datetime | None:
    """Apple's timestamp, or None for none (Apple's zero date `0001-...` included)."""
    if not value or not isinstance(value, str) or value.startswith("0001-"):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _checked_time(serial: str, name: str, value, problems: _Problems) -> datetime | None:
    parsed = _time(value)
    if parsed is None and value and not (isinstance(value, str) and value.startswith("0001-")):
        problems.add(serial, name, "Not a date Apple's format allows; left empty.")
    return parsed


def _clean_json(value, depth: int = 0):
    """Apple's extra fields as JSON PostgreSQL accepts: no NUL or lone surrogates, no NaN, bounded depth."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("", value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if depth >= _EXTRA_MAX_DEPTH:
        return None
    if isinstance(value, list):
        return [_clean_json(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_UNSTORABLE.sub("", str(key)): _clean_json(item, depth + 1) for key, item in value.items()}
    return None


def _extra_text(extra: dict) -> str:
    """Apple's other fields as JSON text: json.dumps's, unless orjson's (a fifth of the time) is sure to pass the
    checks that follow unchanged.

    orjson writes a non-finite number as null, DEL unescaped and other characters as they are, and refuses lone
    surrogates, deep nesting and integers past 64 bits: text holding a null, a DEL or any escape, text long
    enough that json.dumps's escapes could make it too large, and what orjson refuses all take json.dumps, so
    the checks in _row see what they would have seen.
    """
    if not extra:
        return "{}"
    try:
        text = orjson.dumps(extra).decode()
    except orjson.JSONEncodeError:
        text = None
    if text is None or "\\" in text or "null" in text or "\x7f" in text or len(text) > _EXTRA_FAST_MAX:
        try:
            text = json.dumps(extra)
        except (RecursionError, ValueError):
            text = "\\u0000"  # not serialisable as it is: take the cleaning path
    return text


def _row(serial: str, record: dict, problems: _Problems) -> dict:
    get = record.get
    row = {}
    for name, length in _TEXT_ITEMS:
        value = get(name)
        # Nearly every value is plain printable text (no control character to scan for): taken as it is.
        if value.__class__ is str and value.isprintable():
            row[name] = value[:length]
        else:
            row[name] = _text(serial, name, value, length, problems)
    for name in _TIME_FIELDS:
        value = get(name)
        row[name] = None if value is None else _checked_time(serial, name, value, problems)
    status = get("profile_status") or "empty"
    row["profile_status"] = status if status in _STATUSES else "empty"
    extra = {key: value for key, value in record.items() if key not in _KNOWN}
    text = _extra_text(extra)
    # One scan of the JSON text finds what PostgreSQL's jsonb refuses (NUL, lone surrogates, NaN) and the
    # other control characters; only such records are cleaned value by value. Each of those needs an escape or
    # a non-finite number, so plain text skips the regular expression.
    if ("\\" in text or "NaN" in text or "Infinity" in text) and _JSON_SUSPECT.search(text):
        cleaned = _clean_json(extra)
        if cleaned != extra:
            problems.add(serial, "extra", "Unstorable values in Apple's other fields were removed.")
        extra, text = cleaned, json.dumps(cleaned)
    if len(text) > _EXTRA_MAX_CHARS:
        problems.add(serial, "extra", "Apple's other fields were too large to keep; dropped.")
        extra, text = {}, "{}"
    row["extra"] = extra
    row["extra_json"] = text
    return row


def _latest_per_serial(records: Iterable, problems: _Problems) -> dict[str, dict]:
    """Apple may repeat a serial within a sync: keep the record with the latest op_date (ties: the last)."""
    latest: dict[str, dict] = {}
    for record in records:
        serial = _serial(record, problems)
        if serial is None:
            continue
        current = latest.get(serial)
        if current is None or (_time(record.get("op_date")) or _NEVER) >= (_time(current.get("op_date")) or _NEVER):
            latest[serial] = record
    return latest


def _without_profile(row: dict) -> bool:
    return not row["profile_uuid"] and row["profile_status"] in ("empty", "removed")


@dataclass
class PreparedPage:
    """A page of Apple's records checked and cleaned without the database, so it can be done ahead of writing."""

    records: list
    latest: dict[str, dict]
    # The row of each record that is not a `deleted` op, in page order, with its COPY line should it be new.
    rows: dict[str, dict]
    copy_lines: dict[str, str]
    problems: _Problems


def device_prepare_apple_page(*, records: list) -> PreparedPage:
    """Everything of a page's writing that needs no database, done before the page's transaction opens so the
    transaction holds its locks only for the database work.

    The sync prepares a page on a thread of its own while other threads fetch the next page and write the last:
    every YIELD_EVERY records it lets them have the interpreter lock (sleep(0)), or each of their round trips to
    Apple or the database would wait up to the 5 ms switch interval behind this work to go on.
    """
    problems = _Problems()
    if not isinstance(records, list):
        records = []
    latest = _latest_per_serial(records, problems)
    rows: dict[str, dict] = {}
    copy_lines: dict[str, str] = {}
    for count, (serial, record) in enumerate(latest.items(), 1):
        if record.get("op_type") != "deleted":
            row = rows[serial] = _row(serial, record, problems)
            copy_lines[serial] = _copy_line(serial, row)
        if count % YIELD_EVERY == 0:
            time.sleep(0)
    return PreparedPage(records=records, latest=latest, rows=rows, copy_lines=copy_lines, problems=problems)


def device_apply_apple_page(
    *,
    token_id: int,
    page: PreparedPage,
    now: datetime,
    fetch_job_id: int | None,
    job_id: int | None = None,
    none_stored: bool = False,
) -> PageResult:
    """Upsert one prepared page of Apple's records for a token; the caller's transaction commits it with the cursor.

    A fetch page (fetch_job_id set: the job that began the fetch) lists devices Apple assigns now: they are
    (re)activated, even when deleted here, and marked with the fetch so the ones it never lists can be found.
    Delta ops resolve by Apple's op_date; `deleted` marks a device removed; a device deleted here stays
    deleted (hidden) whatever a delta op says (DESIGN.md rule 9), though its fields follow Apple's. One sync per
    token runs at a time, so deciding from the rows read at the start of the page is safe.

    `none_stored` (fetch pages only) skips looking the page's devices up, for a caller that expects none of them
    stored, as on a token's first fetch. Every device is then new, and the insert is the page's only write: if
    one is stored after all, the (token, serial) constraint refuses the insert with an IntegrityError, the
    caller's transaction rolls the page back, and the caller writes it again without the assumption.
    """
    problems, latest = page.problems, page.latest
    full = fetch_job_id is not None
    if none_stored and not full:
        raise ValueError("none_stored is for fetch pages: a delta page's deletions need the stored rows")
    if not full:
        _record_ops(token_id, page.records, now, job_id)
    stored = {} if none_stored else _stored(token_id, list(latest))
    added: list[str] = []
    writes: list[tuple[str, dict]] = []
    deletions: list[tuple[int, datetime | None]] = []
    returned: list[int] = []
    modified = assigned_delta = listed = 0
    for serial, record in latest.items():
        old = stored.get(serial)
        if record.get("op_type") == "deleted":
            # A fetch lists assigned devices only; a deletion in a fetch page just does not list the device.
            op_date = _time(record.get("op_date"))
            if not full and old is not None:
                pk, *old_values, removed_at, deleted_here_at, _ = old
                if removed_at is None and not _older(op_date, old_values[_OP_DATE]):
                    deletions.append((pk, op_date))
                    assigned_delta -= deleted_here_at is None
            continue
        row = page.rows[serial]
        listed += 1
        if old is None:
            added.append(serial)
            assigned_delta += 1
            continue
        pk, *old_values, removed_at, deleted_here_at, seen_in = old
        if not full and _older(row["op_date"], old_values[_OP_DATE]):
            continue
        if full and row["op_date"] is None:
            # Fetch records carry no op (Apple: op_type and op_date come with sync records only): keep the last
            # op Apple reported, or a repeated older op arriving later would look newer than what it replaced.
            row["op_type"], row["op_date"] = old_values[_OP_TYPE], old_values[_OP_DATE]
        # Shown (assigned here) before and after this record: a delta keeps a device deleted here hidden but
        # still applies Apple's changes to it, so a restore shows Apple's latest; a fetch brings it back.
        was_shown = removed_at is None and deleted_here_at is None
        shown = full or deleted_here_at is None
        assigned_delta += shown - was_shown
        comes_back = shown and not was_shown
        # Assigned to this server again (an `added` op, or a newer assignment date in a fetch) even where the
        # portal never saw it leave: Apple took its profile away with the unassignment.
        reassigned = row["op_type"] == "added" or (
            row["device_assigned_date"] is not None and row["device_assigned_date"] != old_values[_ASSIGNED]
        )
        if shown and (comes_back or reassigned) and _without_profile(row):
            returned.append(pk)
        # Apple's other fields (stored as JSON text) are decoded only when every column before them matches.
        changed = (
            (removed_at is not None or comes_back)
            or any(row[column] != value for column, value in zip(_COMPARED_COLUMNS, old_values, strict=False))
            or row["extra"] != json.loads(old_values[-1])
        )
        modified += changed
        # A fetch marks every device it lists, changed or not, so the ones it does not list can be found.
        if changed or (full and seen_in != fetch_job_id):
            writes.append((serial, row))
    if added:
        _insert_new(token_id, page, added, now, fetch_job_id)
    if writes:
        _upsert(token_id, writes, now, fetch_job_id)
    if deletions:
        _mark_deleted(deletions, now)
    if returned:
        # The profile assigned here before Apple removed the device no longer holds at Apple.
        Device.objects.filter(pk__in=returned).update(
            assigned_profile=None, assignment_action="", assignment_result="", assignment_result_at=None,
            assignment_attempts=0, assignment_retry_at=None, default_profile_pending=True,
        )  # fmt: skip
    unchanged = len(latest) - len(added) - modified - len(deletions)
    return PageResult(
        added=added,
        modified=modified,
        removed=len(deletions),
        unchanged=unchanged,
        assigned_delta=assigned_delta,
        listed=listed,
        refused=problems.refused,
        problems=problems.items,
    )


def _stored(token_id: int, serials: list[str]) -> dict[str, tuple]:
    """The page's devices as stored: serial -> (id, *_UPDATED_COLUMNS, removed_at, deleted_here_at, full_sync_job_id).

    On PostgreSQL, one probe of the (token, serial) index per serial, whatever the statistics say. A plain
    `token_id = %s AND serial_number = ANY(%s)` is planned from statistics that a token's first fetch makes
    stale as it goes (the token had no rows when they were taken): PostgreSQL then reads every row of the
    token for each page, and a fetch grows quadratic in the token's size. A LATERAL subquery with a LIMIT is
    never flattened, so each serial is one index lookup. The array is one parameter, where the ORM's `__in`
    would prepare each of the page's 1,000 serials one by one.
    """
    if not serials:  # an empty page: nothing changed since the cursor
        return {}
    columns = ["serial_number", "id", *_UPDATED_COLUMNS, "removed_at", "deleted_here_at", "full_sync_job_id"]
    if connection.vendor != "postgresql":
        found = Device.objects.filter(token_id=token_id, serial_number__in=serials).values_list(*columns)
        # "extra" as the JSON text PostgreSQL's query returns (the ORM decodes it; the comparison decodes it again).
        return {row[0]: (*row[1:-4], json.dumps(row[-4]), *row[-3:]) for row in found}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(f'd.{column}' for column in columns)} FROM unnest(%s::text[]) AS page(serial) "  # noqa: S608 - identifiers from the model only
            f"CROSS JOIN LATERAL (SELECT * FROM {Device._meta.db_table} "
            "WHERE token_id = %s AND serial_number = page.serial LIMIT 1) AS d",
            [serials, token_id],
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _mark_deleted(deletions: list[tuple[int, datetime | None]], now: datetime) -> None:
    """Apple's `deleted` ops, each with Apple's own op_date (so a later `added` from Apple compares right)."""
    by_date: dict[datetime | None, list[int]] = {}
    for pk, op_date in deletions:
        by_date.setdefault(op_date, []).append(pk)
    for op_date, pks in by_date.items():
        # By primary key, found by the page's lookup: no plan that statistics could spoil.
        Device.objects.filter(pk__in=pks).update(removed_at=now, op_type="deleted", op_date=op_date, updated_at=now)


def _record_ops(token_id: int, records: list, now: datetime, job_id: int | None) -> None:
    """Keep every op of a delta page as the devices' history; Apple's exact repeats are kept once."""
    ops: dict[tuple, None] = {}
    ignored = _Problems()
    for record in records:
        serial = _serial(record, ignored)
        if serial is None:
            continue
        op_type = _UNSTORABLE.sub("", str(record.get("op_type") or ""))[:16]
        if op_type:
            ops[(serial, op_type, _time(record.get("op_date")))] = None
    if not ops:
        return
    if connection.vendor != "postgresql":
        DeviceOp.objects.bulk_create(
            DeviceOp(token_id=token_id, serial_number=serial, op_type=op_type, op_date=op_date, sync_job_id=job_id,
                     recorded_at=now)
            for serial, op_type, op_date in ops
        )  # fmt: skip
        return
    shared = (str(token_id), _NULL if job_id is None else str(job_id), now.isoformat())
    lines = [
        _FIELD.join((shared[0], serial, op_type, _NULL if op_date is None else op_date.isoformat(), *shared[1:]))
        for serial, op_type, op_date in ops
    ]
    _copy(
        DeviceOp._meta.db_table,
        ["token_id", "serial_number", "op_type", "op_date", "sync_job_id", "recorded_at"],
        lines,
    )


def _older(incoming: datetime | None, stored: datetime | None) -> bool:
    """True for an op Apple sent before the one already applied (a repeat arriving late)."""
    return incoming is not None and stored is not None and incoming < stored


def _bookkeeping(token_id: int, now: datetime, fetch_job_id: int | None) -> dict:
    """The columns a new device row takes from the sync itself rather than from Apple."""
    return {
        "token_id": token_id,
        "removed_at": None,
        "deleted_here_at": None,
        "full_sync_job_id": fetch_job_id,
        "first_seen_at": now,
        "updated_at": now,
    }


def _column_defaults() -> dict:
    return {f.column: f.get_db_prep_save(f.get_default(), connection) for f in _insert_fields()}


def _insert_fields() -> list:
    return [field for field in Device._meta.concrete_fields if not field.primary_key]


def _copy_line(serial: str, row: dict) -> str:
    """A new row's own columns (_COPY_ROW_COLUMNS) as a COPY line, without the columns every new row shares."""
    times = [_NULL if row[name] is None else row[name].isoformat() for name in _TIME_FIELDS]
    # Written with the new row itself: no second pass over the page's new devices.
    pending = "t" if _without_profile(row) else "f"
    return _FIELD.join((serial, *_ROW_TEXTS(row), row["profile_status"], *times, row["extra_json"], pending))


def _insert_new(
    token_id: int, page: PreparedPage, serials: list[str], now: datetime, fetch_job_id: int | None
) -> None:
    if connection.vendor != "postgresql":
        Device.objects.bulk_create(
            _devices(token_id, [(serial, page.rows[serial]) for serial in serials], now, fetch_job_id)
        )
        return
    # New rows cannot conflict (this is the token's only sync), so they take COPY, PostgreSQL's fastest path.
    _copy_new(token_id, [page.copy_lines[serial] for serial in serials], now, fetch_job_id)


def _devices(token_id: int, rows: list[tuple[str, dict]], now: datetime, fetch_job_id: int | None) -> list[Device]:
    """The rows as model instances, for a database without COPY (the embedded run's SQLite): the ORM then
    stores each value in that database's own format."""
    bookkeeping = _bookkeeping(token_id, now, fetch_job_id)
    return [
        Device(serial_number=serial, **{name: row[name] for name in _UPDATED_COLUMNS}, **bookkeeping,
               default_profile_pending=_without_profile(row))
        for serial, row in rows
    ]  # fmt: skip


def _copy_new(token_id: int, lines: list[str], now: datetime, fetch_job_id: int | None) -> None:
    """New rows in COPY's text format: each row's own columns, then the columns every new row shares."""
    # Columns Apple does not report take the model's defaults, so fields added later need no change here.
    shared = {**_column_defaults(), **_bookkeeping(token_id, now, fetch_job_id)}
    shared_columns = [f.column for f in _insert_fields() if f.column not in _COPY_ROW_COLUMNS]
    tail = _FIELD + _FIELD.join(_copy_value(shared[column]) for column in shared_columns)
    _copy(Device._meta.db_table, [*_COPY_ROW_COLUMNS, *shared_columns], [line + tail for line in lines])


def _copy(table: str, columns: list[str], lines: list[str]) -> None:
    """COPY lines built with the stand-in separators: COPY's escapes are applied to the whole page at once."""
    text = _LINE.join(lines) + _LINE
    for raw, escaped in _COPY_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    text = text.replace(_FIELD, "\t").replace(_LINE, "\n").replace(_NULL, "\\N")
    # wrap_database_errors: the driver's errors (a duplicate key) as Django's, as for execute().
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # In one read: psycopg2 reads the file 8 KB at a time by default, taking the interpreter lock for each
        # read, and the sync's other threads (fetching and preparing the next pages) hold it up to 5 ms a time.
        # The size goes by position: Django's debug cursor (DEBUG, or a test capturing queries) takes no keywords.
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(text), len(text) + 1)


def _copy_value(value) -> str:
    if value is None:
        return _NULL
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _upsert(token_id: int, rows: list[tuple[str, dict]], now: datetime, fetch_job_id: int | None) -> None:
    """One INSERT ... ON CONFLICT DO UPDATE for the page's changed rows."""
    updated = [*_UPDATED_COLUMNS, "removed_at", "updated_at"]
    if fetch_job_id is not None:
        # Apple lists it, so it is assigned here now, whatever happened before.
        updated += ["deleted_here_at", "full_sync_job_id"]
    if connection.vendor != "postgresql":
        Device.objects.bulk_create(
            _devices(token_id, rows, now, fetch_job_id),
            update_conflicts=True,
            unique_fields=["token", "serial_number"],
            update_fields=updated,
        )
        return
    table = Device._meta.db_table
    fields = _insert_fields()
    placeholders = "(" + ", ".join("%s::jsonb" if f.column == "extra" else "%s" for f in fields) + ")"
    params: list = []
    # Every column of the row: Apple's values, the bookkeeping, and the model's defaults for the rest.
    shared = {**_column_defaults(), **_bookkeeping(token_id, now, fetch_job_id)}
    columns = [f.column for f in fields]
    for serial, row in rows:
        values = {**shared, **row, "serial_number": serial, "extra": row["extra_json"]}
        params += map(values.__getitem__, columns)
    # Only identifiers from the model are interpolated; every value is a query parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT (token_id, serial_number) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in updated)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def device_mark_unlisted_removed(*, token_id: int, fetch_job_id: int, now: datetime) -> int:
    """After a complete fetch: devices it never listed, in any of its jobs, are no longer assigned here."""
    return (
        Device.objects.filter(token_id=token_id, removed_at__isnull=True)
        .exclude(full_sync_job_id=fetch_job_id)
        .update(removed_at=now, updated_at=now)
    )


def device_count_assigned(*, token_id: int) -> int:
    """The token's count: devices Apple assigns now that were not deleted here (the default device list)."""
    return Device.objects.filter(token_id=token_id, removed_at__isnull=True, deleted_here_at__isnull=True).count()
