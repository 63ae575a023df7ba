"""Changes to users, role assignments, scope tags and API tokens. Each one is audited."""

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from depportal.accounts.models import DEFAULT_SCOPE_TAG, ApiToken, Role, RoleAssignment, ScopeTag
from depportal.audit.services import audit_record
from depportal.exceptions import ApplicationError, Conflict
from depportal.text import visible

User = get_user_model()

API_TOKEN_PREFIX_LENGTH = 8


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def default_scope_tag() -> ScopeTag:
    """The "Default" tag, which always exists."""
    tag, _ = ScopeTag.objects.get_or_create(name=DEFAULT_SCOPE_TAG, defaults={"description": "Built-in tag."})
    return tag


@transaction.atomic
def scope_tag_create(*, actor, name: str, description: str = "") -> ScopeTag:
    """Create a scope tag; names are unique (case-insensitively)."""
    name = name.strip()
    if not visible(name):
        raise ApplicationError("A scope tag needs a name.", fields={"name": ["This field is required."]})
    if ScopeTag.objects.filter(name__iexact=name).exists():
        raise Conflict(f"A scope tag named {name!r} exists already.", fields={"name": ["This name is taken."]})
    tag = ScopeTag.objects.create(name=name, description=description.strip())
    audit_record(actor=actor, action="create", obj=tag, changes={"name": name, "description": tag.description})
    return tag


@transaction.atomic
def scope_tag_update(*, actor, tag: ScopeTag, name: str, description: str = "") -> ScopeTag:
    """Rename or describe a scope tag; the Default tag keeps its name."""
    name = name.strip()
    if tag.is_default and name != tag.name:
        raise ApplicationError("The Default scope tag cannot be renamed.", fields={"name": ["Built-in name."]})
    if not visible(name):
        raise ApplicationError("A scope tag needs a name.", fields={"name": ["This field is required."]})
    if ScopeTag.objects.filter(name__iexact=name).exclude(pk=tag.pk).exists():
        raise Conflict(f"A scope tag named {name!r} exists already.", fields={"name": ["This name is taken."]})
    changes = {"name": [tag.name, name], "description": [tag.description, description.strip()]}
    tag.name, tag.description = name, description.strip()
    tag.save(update_fields=["name", "description"])
    audit_record(actor=actor, action="update", obj=tag, changes=changes)
    return tag


@transaction.atomic
def scope_tag_delete(*, actor, tag: ScopeTag) -> None:
    """Delete a scope tag that no token carries; the Default tag stays."""
    if tag.is_default:
        raise ApplicationError("The Default scope tag cannot be deleted.")
    in_use = [
        str(rel.related_model._meta.verbose_name_plural)
        for rel in ScopeTag._meta.related_objects
        if rel.many_to_many
        and rel.related_model._meta.label not in _TAG_USERS_THAT_DO_NOT_BLOCK
        and rel.related_model.objects.filter(**{rel.field.name: tag}).exists()
    ]
    if in_use:
        raise Conflict(f"The scope tag {tag.name!r} is still used by {', '.join(in_use)}. Remove it from them first.")
    audit_record(actor=actor, action="delete", obj=tag, changes={"name": tag.name})
    tag.delete()


# Deleting a tag simply narrows these; for tokens it would hide objects, so those block it.
_TAG_USERS_THAT_DO_NOT_BLOCK = {"accounts.RoleAssignment", "audit.AuditEvent"}


@transaction.atomic
def user_create(*, actor, username: str, password: str, email: str = "") -> User:
    """Create a console user (no role yet: they see nothing until one is assigned)."""
    username = username.strip()
    if not username:
        raise ApplicationError("A user needs a username.", fields={"username": ["This field is required."]})
    try:
        User._meta.get_field(User.USERNAME_FIELD).run_validators(username)
    except ValidationError as exc:
        raise ApplicationError("This username is not allowed.", fields={"username": list(exc.messages)}) from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"A user named {username!r} exists already.", fields={"username": ["This name is taken."]})
    try:
        validate_password(password, User(username=username, email=email))
    except ValidationError as exc:
        raise ApplicationError("The password is too weak.", fields={"password": list(exc.messages)}) from None
    user = User.objects.create_user(username=username, email=email, password=password)
    audit_record(actor=actor, action="create", obj=user, object_type="user", changes={"username": username})
    return user


@transaction.atomic
def role_assignment_set(*, actor, user, role: str, scope_tags: list[ScopeTag]) -> RoleAssignment:
    """Give `user` the role limited to `scope_tags` (replacing that role's previous tags)."""
    if role not in Role.values:
        raise ApplicationError(
            f"Unknown role {role!r}.", fields={"role": [f"Choose one of {', '.join(Role.values)}."]}
        )
    if role != Role.ADMINISTRATOR and not scope_tags:
        raise ApplicationError(
            "Choose at least one scope tag: without one the role grants nothing.",
            fields={"scope_tags": ["Choose at least one scope tag."]},
        )
    assignment, created = RoleAssignment.objects.get_or_create(user=user, role=role)
    before = sorted(tag.name for tag in assignment.scope_tags.all())
    assignment.scope_tags.set(scope_tags)
    audit_record(
        actor=actor,
        action="assign_role" if created else "update_role",
        obj=assignment,
        object_type="role_assignment",
        object_repr=f"{user.get_username()}: {assignment.get_role_display()}",
        changes={"role": role, "scope_tags": [before, sorted(tag.name for tag in scope_tags)]},
    )
    return assignment


@transaction.atomic
def role_assignment_delete(*, actor, assignment: RoleAssignment) -> None:
    """Take a role away from a user."""
    audit_record(
        actor=actor,
        action="remove_role",
        obj=assignment,
        object_type="role_assignment",
        object_repr=f"{assignment.user.get_username()}: {assignment.get_role_display()}",
        changes={"role": assignment.role},
    )
    assignment.delete()


@transaction.atomic
def api_token_create(*, actor, user, name: str) -> tuple[ApiToken, str]:
    """Create an API token for `user`; returns it with the key, which is shown once and never stored."""
    name = name.strip() or "API token"
    for _ in range(3):
        key = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user, name=name, prefix=key[:API_TOKEN_PREFIX_LENGTH], key_hash=hash_api_key(key)
                )
            break
        except IntegrityError:  # a hash collision is astronomically unlikely; draw again rather than fail
            continue
    else:
        raise ApplicationError("Could not create a unique API token; try again.")
    audit_record(actor=actor, action="create", obj=token, object_type="api_token", changes={"name": name})
    return token, key


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke an API token at once; revoked tokens stay listed for the record."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="revoke", obj=token, object_type="api_token", changes={"name": token.name})
    return token


def api_token_authenticate(key: str) -> ApiToken | None:
    """The active token with this key, marking it used (at most once a minute, to spare the database)."""
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_api_key(key), revoked_at=None).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
