"""The device list's columns: one definition for the console table, the sort keys and the CSV export."""

from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from devices.filters import FAMILY_LABELS


@dataclass(frozen=True)
class Column:
    """A list column: its key (also the `ordering` value), label, ORM sort path and whether that can be NULL."""

    key: str
    label: str
    sort: str
    nullable: bool = False
    is_date: bool = False
    short: str = ""

    @property
    def heading(self) -> str:
        """The table's (narrower) heading; the CSV and the column chooser use the full label."""
        return self.short or self.label


COLUMNS: list[Column] = [
    Column("serial_number", "Serial number", "serial_number"),
    Column("model", "Model", "model"),
    Column("description", "Description", "description"),
    Column("color", "Color", "color"),
    Column("os", "OS", "os"),
    Column("device_family", "Device family", "device_family", short="Family"),
    Column("asset_tag", "Asset tag", "asset_tag"),
    Column("profile_status", "Apple profile status", "profile_status", short="Apple status"),
    Column("assigned_profile", "Profile assigned here", "assigned_profile__name", nullable=True, short="Profile here"),
    Column(
        "profile_assign_time",
        "Profile assigned at Apple on",
        "profile_assign_time",
        nullable=True,
        is_date=True,
        short="Assigned at Apple",
    ),
    Column("op_date", "Last Apple change", "op_date", nullable=True, is_date=True, short="Last change"),
    Column("token", "Token", "token__name"),
    Column("assignment_result", "Assignment result", "assignment_result", short="Result"),
]
BY_KEY = {column.key: column for column in COLUMNS}
DEFAULT_COLUMNS = [
    "serial_number",
    "model",
    "description",
    "profile_status",
    "assigned_profile",
    "op_date",
    "token",
    "assignment_result",
]
DEFAULT_ORDERING = "serial_number"
# The values a list row needs (the API list's fields too): the rest (notably `extra`) stays in the database.
ROW_VALUES = (
    "id",
    "token_id",
    "serial_number",
    "model",
    "description",
    "color",
    "os",
    "device_family",
    "asset_tag",
    "profile_status",
    "profile_assign_time",
    "op_type",
    "op_date",
    "assigned_profile_id",
    "assignment_result",
    "assignment_result_at",
    "profile_uuid",
    "profile_push_time",
    "device_assigned_date",
    "device_assigned_by",
    "first_seen_at",
    "removed_at",
    "deleted_here_at",
    "token__name",
    "assigned_profile__name",
)


_STATUS_LABELS = {"empty": "Empty", "assigned": "Assigned", "pushed": "Pushed", "removed": "Removed"}


class DeviceRow(namedtuple("DeviceRow", [name.replace("__", "_") for name in ROW_VALUES])):
    """One device of a list page, from a values_list(*ROW_VALUES) row: plain attributes, no model instance to build.

    Lists read 50-1000 rows per request and exports 100,000s; model instances (with their related token and
    profile) cost several times the query itself, and even setting two dozen attributes per row showed. A named
    tuple takes the database's row as it comes.
    """

    __slots__ = ()

    @property
    def pk(self) -> int:
        return self.id


def clean_columns(keys) -> list[str]:
    """Known column keys in table order; the serial number is always shown."""
    wanted = set(keys or []) | {"serial_number"}
    return [column.key for column in COLUMNS if column.key in wanted]


def parse_ordering(value: str | None) -> tuple[Column, bool]:
    """(column, descending) for an `ordering` value such as `-op_date`; unknown values sort by serial number."""
    value = (value or "").strip()
    descending = value.startswith("-")
    column = BY_KEY.get(value.lstrip("-"))
    if column is None:
        return BY_KEY[DEFAULT_ORDERING], False
    return column, descending


def sort_value(device: DeviceRow, column: Column):
    """The value a row sorts by (the keyset cursor stores it)."""
    return getattr(device, column.sort.replace("__", "_"))


def _when(value: datetime | None, tz) -> str:
    return timezone.localtime(value, tz).strftime("%Y-%m-%d %H:%M") if value else ""


def cell_text(device: DeviceRow, key: str, tz=None) -> str:
    """What a cell shows (and the CSV holds) for one device; dates in `tz`, the current time zone by default.

    A page passes the time zone it looked up once: looking it up per date cell was a fifth of the cells' cost.
    """
    if key == "token":
        return device.token_name
    if key == "assigned_profile":
        return device.assigned_profile_name or ""
    if key == "profile_status":
        return _STATUS_LABELS.get(device.profile_status, device.profile_status)
    if key == "device_family":
        return FAMILY_LABELS.get(device.device_family, device.device_family)
    if key == "profile_assign_time":
        return _when(device.profile_assign_time, tz)
    if key == "op_date":
        return f"{device.op_type} {_when(device.op_date, tz)}".strip() if device.op_date or device.op_type else ""
    return str(getattr(device, key) or "")


def csv_text(device: DeviceRow, key: str) -> str:
    """A CSV cell: dates in ISO 8601 so spreadsheets and scripts read them unambiguously."""
    if key == "profile_assign_time":
        return device.profile_assign_time.isoformat() if device.profile_assign_time else ""
    if key == "op_date":
        return device.op_date.isoformat() if device.op_date else ""
    if key in ("profile_status", "device_family"):
        return getattr(device, key)  # Apple's value, as the API and the list's filters take it
    return cell_text(device, key)


def csv_header(keys: list[str]) -> list[str]:
    """Header row of an export; the last Apple change splits into its type and date."""
    header = []
    for key in keys:
        if key == "op_date":
            header += ["Last Apple change", "Last Apple change date"]
        else:
            header.append(BY_KEY[key].label)
    return header


def csv_row(device: DeviceRow, keys: list[str]) -> list[str]:
    """One device as CSV cells, in the header's order."""
    row = []
    for key in keys:
        if key == "op_date":
            row += [device.op_type, csv_text(device, key)]
        else:
            row.append(csv_text(device, key))
    return row
