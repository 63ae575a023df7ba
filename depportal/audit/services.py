"""Writing the audit trail. Only services call this, inside their own transaction."""

from collections.abc import Iterable

from django.db.models import Model

from depportal.accounts.models import ScopeTag
from depportal.audit.context import current_source_ip
from depportal.audit.models import AuditEvent

# Field names whose values never reach the audit log, whatever a caller passes.
_SECRET_MARKERS = ("secret", "password", "private_key", "token_key", "access_token", "key_hash")


def _redact(changes: dict) -> dict:
    return {
        key: "[redacted]" if any(marker in key.lower() for marker in _SECRET_MARKERS) else value
        for key, value in changes.items()
    }


def audit_record(
    *,
    actor,
    action: str,
    obj: Model | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    object_repr: str | None = None,
    changes: dict | None = None,
    scope_tags: Iterable[ScopeTag] | None = None,
) -> AuditEvent:
    """Record that `actor` (a user, or None for the system) did `action` to an object."""
    if obj is not None:
        object_type = object_type or obj._meta.verbose_name.replace(" ", "_")
        object_id = obj.pk if object_id is None else object_id
        object_repr = str(obj) if object_repr is None else object_repr
    event = AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None and actor.is_authenticated else "system",
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        object_repr=(object_repr or "")[:255],
        changes=_redact(changes or {}),
        source_ip=current_source_ip(),
    )
    if scope_tags:
        event.scope_tags.set(scope_tags)
    return event
