"""Enrollment program tokens: the add-token wizard, renewal, edits and deletion. Every change is audited."""

import json
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from depportal.accounts.models import ScopeTag
from depportal.accounts.scoping import can_see, scope_tags_for
from depportal.apple import AccessDenied, AppleError, AuthenticationFailed, DEPClient, TermsNotSigned
from depportal.apple.secrets_cache import LocalSecretCache
from depportal.apple.tokenfile import (
    ServerTokenCredentials,
    TokenFileError,
    decrypt_server_token,
    generate_server_keypair,
)
from depportal.audit.services import audit_record
from depportal.core import crypto
from depportal.core.exceptions import ApplicationError
from depportal.core.text import visible
from tokens.models import EnrollmentProgramToken, TokenState
from tokens.signals import token_activated

# Activation and renewal happen while an admin waits: give Apple a short, bounded time.
INTERACTIVE_APPLE_DEADLINE_S = 30
MAX_TOKEN_FILE_BYTES = 64 * 1024


def _audit(actor, action: str, token: EnrollmentProgramToken, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, obj=token, changes=changes, scope_tags=list(token.scope_tags.all()))


def _field_error(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, fields={field: [message]})


def token_start(*, actor, data_sharing_consent: bool, name: str = "") -> EnrollmentProgramToken:
    """Step 1 and 2 of the wizard: record consent and make the key pair whose public key goes to Apple."""
    if not data_sharing_consent:
        raise _field_error(
            "data_sharing_consent",
            "Agree to send user and device information to Apple first: Apple needs it to enroll your devices.",
        )
    private_key_pem, certificate_pem = generate_server_keypair(common_name="DEP Portal MDM server", valid_days=3650)
    now = timezone.now()
    with transaction.atomic():
        token = EnrollmentProgramToken.objects.create(
            name="",
            state=TokenState.PENDING,
            consent_given_at=now,
            consent_given_by=actor,
            pending_expires_at=now + timedelta(seconds=settings.DEP_TOKEN_WIZARD_TTL_S),
            certificate_pem=certificate_pem.decode(),
            private_key_encrypted=crypto.encrypt(private_key_pem),
            created_by=actor,
        )
        token.scope_tags.set(scope_tags_for(actor, []))
        if name.strip():
            _set_name(token, name)
            _save_unique(token)
        _audit(actor, "consent", token, {"data_sharing_consent": True})
    return token


def token_abandon(*, actor, token: EnrollmentProgramToken) -> None:
    """The wizard was closed or left: its key pair is destroyed, so a token made for it can never be used."""
    with transaction.atomic():
        locked = EnrollmentProgramToken.objects.select_for_update().filter(pk=token.pk, state=TokenState.PENDING)
        if locked.exists():
            _audit(actor, "abandon", token)
            locked.delete()


def token_activate(
    *,
    actor,
    token: EnrollmentProgramToken,
    token_file: bytes,
    apple_id: str,
    scope_tags: list[ScopeTag] | None = None,
    name: str = "",
) -> EnrollmentProgramToken:
    """Step 4: decrypt the uploaded .p7m with the wizard's key, validate it at Apple, and store it."""
    tags = scope_tags_for(actor, scope_tags or [])
    apple_id, credentials, account = _check_upload(actor, token, token_file=token_file, apple_id=apple_id, name=name)
    now = timezone.now()
    with transaction.atomic():
        token = EnrollmentProgramToken.objects.select_for_update().get(pk=token.pk)
        if not token.is_pending:
            raise ApplicationError("This token was set up in the meantime; open it from the token list.")
        _store_credentials(token, credentials, account)
        token.apple_id = apple_id
        _set_name(token, name or token.name or account.get("server_name") or "Enrollment program token")
        token.state = TokenState.ACTIVE
        token.pending_expires_at = None
        token.activated_at = now
        _save_unique(token)
        token.scope_tags.set(tags)
        token_activated.send(sender=EnrollmentProgramToken, token=token)
        _audit(
            actor,
            "create",
            token,
            {
                "name": token.name,
                "apple_id": apple_id,
                "server_name": token.server_name,
                "access_token_expiry": token.access_token_expiry.isoformat() if token.access_token_expiry else None,
                "scope_tags": sorted(tag.name for tag in tags),
            },
        )
    return token


def token_check_upload(
    *, actor, token: EnrollmentProgramToken, token_file: bytes, apple_id: str, name: str = ""
) -> dict:
    """The wizard's Apple token step, checked as it is left: the same checks as Create, nothing stored.

    Returns what Review + create shows: the Apple MDM server and organisation the token belongs to.
    """
    apple_id, credentials, account = _check_upload(actor, token, token_file=token_file, apple_id=apple_id, name=name)
    return {
        "apple_id": apple_id,
        "name": name.strip() or account.get("server_name") or "Enrollment program token",
        "server_name": account.get("server_name", ""),
        "org_name": account.get("org_name", ""),
        "access_token_expiry": credentials.access_token_expiry,
    }


def token_check_scope_tags(*, actor, scope_tags: list[ScopeTag]) -> list[ScopeTag]:
    """The wizard's scope tags step, checked as it is left: the tags Create would put on the token."""
    return scope_tags_for(actor, scope_tags)


def token_renew(*, actor, token: EnrollmentProgramToken, token_file: bytes, apple_id: str) -> EnrollmentProgramToken:
    """Replace the credentials with a new .p7m for the same Apple MDM server; nothing else changes."""
    if token.is_pending:
        raise ApplicationError("Finish adding this token before renewing it.")
    apple_id = _clean_apple_id(apple_id)
    credentials = _read_token_file(token, token_file)
    account = _fetch_account(token, credentials)
    if account.get("server_uuid") != token.server_uuid:
        other_server = account.get("server_name") or account.get("server_uuid")
        raise _field_error(
            "token_file",
            f"This server token is for the Apple MDM server {other_server!r}, "
            f"not {token.server_name!r}. In Apple Business Manager, choose the server {token.server_name!r} and "
            "generate a new token there.",
        )
    old_expiry = token.access_token_expiry
    with transaction.atomic():
        token = EnrollmentProgramToken.objects.select_for_update().get(pk=token.pk)
        _store_credentials(token, credentials, account)
        token.apple_id = apple_id
        token.renewed_by = actor
        token.renewed_at = timezone.now()
        if token.state == TokenState.TERMS_NOT_ACCEPTED:
            token.state = TokenState.ACTIVE
        token.save()
        _audit(
            actor,
            "renew",
            token,
            {
                "apple_id": apple_id,
                "access_token_expiry": [
                    old_expiry.isoformat() if old_expiry else None,
                    token.access_token_expiry.isoformat() if token.access_token_expiry else None,
                ],
            },
        )
    return token


def token_update(
    *,
    actor,
    token: EnrollmentProgramToken,
    name: str | None = None,
    apple_id: str | None = None,
    scope_tags: list[ScopeTag] | None = None,
) -> EnrollmentProgramToken:
    """Edit the name, Apple ID or scope tags (which its profiles and devices inherit)."""
    changes: dict = {}
    with transaction.atomic():
        token = EnrollmentProgramToken.objects.select_for_update().get(pk=token.pk)
        if name is not None and name.strip() != token.name:
            changes["name"] = [token.name, name.strip()]
            _set_name(token, name)
        if apple_id is not None and apple_id.strip() != token.apple_id:
            cleaned = _clean_apple_id(apple_id)
            changes["apple_id"] = [token.apple_id, cleaned]
            token.apple_id = cleaned
        _save_unique(token)
        if scope_tags is not None:
            before = sorted(tag.name for tag in token.scope_tags.all())
            tags = scope_tags_for(actor, scope_tags, keeping=token)
            after = sorted(tag.name for tag in tags)
            if before != after:
                changes["scope_tags"] = [before, after]
                token.scope_tags.set(tags)
        if changes:
            _audit(actor, "update", token, changes)
    return token


def token_delete(*, actor, token: EnrollmentProgramToken) -> None:
    """Delete the token with its profiles and device records here; nothing changes at Apple."""
    with transaction.atomic():
        _audit(actor, "delete", token, {"name": token.name, "server_name": token.server_name})
        token.delete()


def token_credentials(token: EnrollmentProgramToken) -> ServerTokenCredentials:
    """The token's OAuth values, decrypted for a call to Apple (never stored or logged elsewhere)."""
    if not token.oauth_encrypted:
        raise ApplicationError("This token has no server token yet.")
    values = json.loads(crypto.decrypt(token.oauth_encrypted))
    return ServerTokenCredentials(**values, access_token_expiry=token.access_token_expiry)


def token_client(token: EnrollmentProgramToken, *, deadline: float | None = None) -> DEPClient:
    """A client for Apple's DEP service acting as this token."""
    return DEPClient(token_credentials(token), key=f"token:{token.pk}", deadline=deadline)


def token_public_key(token: EnrollmentProgramToken) -> bytes:
    return token.certificate_pem.encode()


# Helpers


def _clean_apple_id(apple_id: str) -> str:
    apple_id = (apple_id or "").strip()
    if not apple_id:
        raise _field_error(
            "apple_id", "Enter the Apple ID you used to create this token at Apple, for future reference."
        )
    try:
        validate_email(apple_id)
    except ValidationError:
        raise _field_error("apple_id", "An Apple ID looks like an email address, e.g. admin@example.com.") from None
    return apple_id


def _set_name(token: EnrollmentProgramToken, name: str) -> None:
    name = name.strip()
    if not visible(name):  # empty, or only invisible characters
        raise _field_error("name", "A token needs a name.")
    if len(name) > 128:
        raise _field_error("name", "Use at most 128 characters.")
    token.name = name


def _save_unique(token: EnrollmentProgramToken) -> None:
    try:
        with transaction.atomic():
            token.save()
    except IntegrityError:
        if EnrollmentProgramToken.objects.exclude(pk=token.pk).filter(name=token.name).exists():
            raise _field_error("name", f"Another token is named {token.name!r}; choose another name.") from None
        raise


def _check_upload(
    actor, token: EnrollmentProgramToken, *, token_file: bytes, apple_id: str, name: str
) -> tuple[str, ServerTokenCredentials, dict]:
    if not token.is_pending:
        raise ApplicationError("This token is already set up; use Renew to upload a new server token.")
    if not token.pending_key_usable:
        raise ApplicationError(
            "This wizard's public key is no longer valid (the wizard was left or its time ran out). "
            "Start again with Add and upload a token made for the new public key."
        )
    apple_id = _clean_apple_id(apple_id)
    if name.strip():
        _set_name(EnrollmentProgramToken(), name)
        if EnrollmentProgramToken.objects.exclude(pk=token.pk).filter(name=name.strip()).exists():
            raise _field_error("name", f"Another token is named {name.strip()!r}; choose another name.")
    credentials = _read_token_file(token, token_file)
    account = _fetch_account(token, credentials)
    _refuse_server_of_another_token(actor, token, account)
    return apple_id, credentials, account


def _read_token_file(token: EnrollmentProgramToken, token_file: bytes) -> ServerTokenCredentials:
    if not token_file:
        raise _field_error("token_file", "Choose the server token file (.p7m) you downloaded from Apple.")
    if len(token_file) > MAX_TOKEN_FILE_BYTES:
        raise _field_error("token_file", "This file is far too large to be a server token (.p7m).")
    try:
        credentials = decrypt_server_token(token_file, crypto.decrypt(token.private_key_encrypted))
    except TokenFileError as error:
        raise _field_error("token_file", error.message) from None
    expiry = credentials.access_token_expiry
    if expiry is not None and expiry <= timezone.now():
        raise _field_error(
            "token_file",
            f"This server token expired on {expiry:%Y-%m-%d}. Download a new one from Apple Business Manager.",
        )
    return credentials


def _fetch_account(token: EnrollmentProgramToken, credentials: ServerTokenCredentials) -> dict:
    """GET /account with the new credentials; Apple's refusals become messages that say what to do."""
    # A private session store: a cached session of the token's old credentials would make new,
    # bad credentials look valid.
    client = DEPClient(
        credentials,
        key=f"token:{token.pk}",
        deadline=time.monotonic() + INTERACTIVE_APPLE_DEADLINE_S,
        session_store=LocalSecretCache(),
    )
    try:
        return client.get_account()
    except AuthenticationFailed:
        raise _field_error(
            "token_file",
            "Apple rejected the credentials in this server token. It may have been replaced by a newer token "
            "at Apple: download the latest one from Apple Business Manager and try again.",
        ) from None
    except TermsNotSigned:
        raise ApplicationError(
            "Apple requires your organisation to accept new terms and conditions. Sign in to Apple Business "
            "Manager (or School Manager) as an administrator, accept them, then try again."
        ) from None
    except AccessDenied:
        raise ApplicationError(
            "Apple denied this MDM server access. Check in Apple Business Manager that the server still exists."
        ) from None
    except AppleError as error:
        raise ApplicationError(
            f"Apple could not be reached to check the token ({error.message}). Nothing was stored; try again shortly."
        ) from None
    finally:
        client.close()


def _refuse_server_of_another_token(actor, token: EnrollmentProgramToken, account: dict) -> None:
    other = EnrollmentProgramToken.objects.exclude(pk=token.pk).filter(server_uuid=account.get("server_uuid")).first()
    if other is None:
        return
    server = f"This server token belongs to the Apple MDM server {account.get('server_name')!r}, which is already"
    if can_see(actor, other):  # another scope's token is not named to those who cannot see it
        message = f"{server} connected here as {other.name!r}. Use Renew on that token instead."
    else:
        message = f"{server} connected to DEP Portal; ask an Administrator."
    raise _field_error("token_file", message)


def _store_credentials(token: EnrollmentProgramToken, credentials: ServerTokenCredentials, account: dict) -> None:
    values = {
        key: getattr(credentials, key) for key in ("consumer_key", "consumer_secret", "access_token", "access_secret")
    }
    token.oauth_encrypted = crypto.encrypt(json.dumps(values))
    token.access_token_expiry = credentials.access_token_expiry
    token.server_name = account.get("server_name", "")[:255]
    token.server_uuid = account.get("server_uuid", "")[:64]
    token.admin_id = (account.get("admin_id") or account.get("facilitator_id") or "")[:254]
    token.org_name = account.get("org_name", "")[:255]
    token.org_email = account.get("org_email", "")[:254]
    token.org_phone = account.get("org_phone", "")[:64]
    token.org_address = account.get("org_address", "")
    token.org_id = account.get("org_id", "")[:64]
    token.org_type = account.get("org_type", "")[:16]
    token.last_error_code = ""
    token.last_error_message = ""
