"""The audit log as people read it: labels for actions and object types, changes as "before → after"."""

from django.utils import timezone
from django.utils.dateparse import parse_datetime

# Changes of these actions are values as they were set; every other action records [before, after] pairs.
_PLAIN_ACTIONS = {"create", "delete", "consent", "abandon", "revoke", "disable"}


def label(value: str) -> str:
    """`reset_password` -> "Reset password", `enrollment_program_token` -> "Enrollment program token"."""
    return value.replace("_", " ").capitalize() if value else ""


def _text(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{label(str(key))}: {_text(item)}" for key, item in value.items())
    if isinstance(value, str) and "T" in value:
        moment = parse_datetime(value)
        if moment is not None:
            return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(moment) else str(moment)
    return str(value)


def change_rows(action: str, changes: dict) -> list[tuple[str, str, str | None]]:
    """(field, value, previous value or None) per change of one event."""
    rows = []
    for key, value in (changes or {}).items():
        if action not in _PLAIN_ACTIONS and isinstance(value, list) and len(value) == 2:
            rows.append((label(key), _text(value[1]), _text(value[0])))
        else:
            rows.append((label(key), _text(value), None))
    return rows
