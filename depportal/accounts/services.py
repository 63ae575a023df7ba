"""Changes to users, role assignments, scope tags and API tokens. Each one is audited."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from depportal.accounts.models import DEFAULT_SCOPE_TAG, ApiToken, Role, RoleAssignment, ScopeTag
from depportal.audit.services import audit_record
from depportal.core.exceptions import ApplicationError, Conflict
from depportal.core.text import visible

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


def _user_audit(actor, action: str, user, changes: dict) -> None:
    audit_record(
        actor=actor, action=action, obj=user, object_type="user", object_repr=user.get_username(), changes=changes
    )


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ApplicationError(
                "Enter a valid email address.", fields={"email": ["Enter a valid email address."]}
            ) from None
    return email


@transaction.atomic
def user_create(*, actor, username: str, password: str = "", email: str = "") -> User:
    """Create a console user (no role yet: they see nothing until one is assigned).

    Without a password the account cannot sign in until its holder follows a one-time link
    (`user_password_reset_link`).
    """
    username = username.strip()
    if not username:
        raise ApplicationError("A user needs a username.", fields={"username": ["This field is required."]})
    try:
        User._meta.get_field(User.USERNAME_FIELD).run_validators(username)
    except ValidationError as exc:
        raise ApplicationError("This username is not allowed.", fields={"username": list(exc.messages)}) from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"A user named {username!r} exists already.", fields={"username": ["This name is taken."]})
    email = _clean_email(email)
    if password:
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            raise ApplicationError("The password is too weak.", fields={"password": list(exc.messages)}) from None
    user = User.objects.create_user(username=username, email=email, password=password or None)
    _user_audit(actor, "create", user, {"username": username, "email": email, "password_set": bool(password)})
    return user


@transaction.atomic
def user_update(*, actor, user, email: str | None = None, is_active: bool | None = None) -> User:
    """Change a user's email, or disable (enable) the account: a disabled user cannot sign in or use API tokens."""
    user = User.objects.select_for_update().get(pk=user.pk)
    changes: dict = {}
    if email is not None:
        email = _clean_email(email)
        if email != user.email:
            changes["email"] = [user.email, email]
            user.email = email
    if is_active is not None and is_active != user.is_active:
        if not is_active:
            if actor is not None and actor.pk == user.pk:
                raise ApplicationError(
                    "You cannot disable your own account.",
                    fields={"is_active": ["You cannot disable your own account."]},
                )
        changes["is_active"] = [user.is_active, is_active]
        user.is_active = is_active
    if changes:
        user.save(update_fields=["email", "is_active"])
        _user_audit(actor, "disable" if changes.get("is_active") == [True, False] else "update", user, changes)
    return user


@transaction.atomic
def user_delete(*, actor, user) -> None:
    """Delete a user with their roles and API tokens; the audit trail keeps their name."""
    if actor is not None and actor.pk == user.pk:
        raise ApplicationError("You cannot delete your own account.")
    _user_audit(
        actor,
        "delete",
        user,
        {
            "username": user.get_username(),
            "roles": sorted(a.role for a in user.role_assignments.all()),
            "api_tokens_revoked": user.api_tokens.filter(revoked_at=None).count(),
        },
    )
    user.delete()


@transaction.atomic
def user_password_reset_link(*, actor, user) -> tuple[str, datetime]:
    """A link that lets the user choose a new password once; returns (path, valid until).

    Django's token generator signs the password hash and last login into the link, so it stops
    working once used (the hash changes) and after PASSWORD_RESET_TIMEOUT.
    """
    if not user.is_active:
        raise ApplicationError("Enable this account before resetting its password.")
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    valid_until = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    _user_audit(actor, "reset_password", user, {"link_valid_until": valid_until.isoformat()})
    return path, valid_until


@transaction.atomic
def user_password_set(*, form) -> User:
    """Save the password a user chose through their one-time link (a validated SetPasswordForm)."""
    user = form.save()
    _user_audit(user, "set_password", user, {})
    return user


@transaction.atomic
def user_roles_set(*, actor, user, roles: dict[str, list[ScopeTag]]) -> list[RoleAssignment]:
    """Set every role of a user at once: the roles given (with their scope tags) and no others."""
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise ApplicationError(
            f"Unknown role {unknown[0]!r}.", fields={"roles": [f"Choose from {', '.join(Role.values)}."]}
        )
    current = {a.role: a for a in user.role_assignments.prefetch_related("scope_tags")}
    kept = []
    for role, tags in roles.items():
        held = current.get(role)
        if held is not None and {t.pk for t in held.scope_tags.all()} == {t.pk for t in tags}:
            kept.append(held)  # unchanged: no audit event for a role that stays as it was
        else:
            kept.append(role_assignment_set(actor=actor, user=user, role=role, scope_tags=list(tags)))
    for role, assignment in current.items():
        if role not in roles:
            role_assignment_delete(actor=actor, assignment=assignment)
    return kept


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
    """Take a role away from a user. Nobody demotes themself: with the checks on disabling and deleting oneself,
    the tenant always keeps the administrator who acts."""
    user = assignment.user
    if assignment.role == Role.ADMINISTRATOR and not user.is_superuser:
        if actor is not None and actor.pk == user.pk:
            raise ApplicationError(
                "You cannot take the Administrator role from yourself.", fields={"roles": ["This is you."]}
            )
    audit_record(
        actor=actor,
        action="remove_role",
        obj=assignment,
        object_type="role_assignment",
        object_repr=f"{assignment.user.get_username()}: {assignment.get_role_display()}",
        changes={"role": assignment.role},
    )
    assignment.delete()


MAX_API_TOKEN_DAYS = 730


@transaction.atomic
def api_token_create(*, actor, user, name: str, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """Create an API token for `user`; returns it with the key, which is shown once and never stored.

    `expires_in_days` None means the token never expires (command-line tokens for automation).
    """
    name = name.strip() or "API token"
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_API_TOKEN_DAYS:
        raise ApplicationError(
            f"A token expires after 1 to {MAX_API_TOKEN_DAYS} days.",
            fields={"expires_in_days": [f"Choose 1 to {MAX_API_TOKEN_DAYS} days."]},
        )
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    for _ in range(3):
        key = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name,
                    prefix=key[:API_TOKEN_PREFIX_LENGTH],
                    key_hash=hash_api_key(key),
                    expires_at=expires_at,
                )
            break
        except IntegrityError:  # a hash collision is astronomically unlikely; draw again rather than fail
            continue
    else:
        raise ApplicationError("Could not create a unique API token; try again.")
    audit_record(
        actor=actor,
        action="create",
        obj=token,
        object_type="api_token",
        changes={
            "name": name,
            "user": user.get_username(),
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
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
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(Q(expires_at=None) | Q(expires_at__gt=now), key_hash=hash_api_key(key), revoked_at=None)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
