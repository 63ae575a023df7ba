"""Apple VPP tokens (Company Portal licences) and Apple Configurator certificates. Every change is audited."""

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from depportal.accounts.models import ScopeTag
from depportal.accounts.scoping import can_see, scope_tags_for
from depportal.apple.vpp import AppsAndBooksClient, VppError, parse_apple_time
from depportal.audit.services import audit_record
from depportal.core import crypto
from depportal.core.db import save_unique
from depportal.core.exceptions import ApplicationError
from depportal.core.text import INVISIBLE_REFUSED, visible
from profiles.models import ConfiguratorCertificate, VppToken

MAX_UPLOAD_BYTES = 64 * 1024
# Far above any Apple Business Manager purchase, and inside the database's integer.
MAX_LICENSES = 10_000_000


def _field_error(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, fields={field: [message]})


def read_vpp_token_file(data: bytes) -> dict:
    """{"s_token", "expires_at", "org_name"} from a .vpptoken (base64 of JSON with sToken, expDate, orgName)."""
    if not data:
        raise _field_error("token_file", "Choose the VPP token file (.vpptoken) you downloaded from Apple.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _field_error("token_file", "This file is far too large to be a VPP token (.vpptoken).")
    try:
        payload = json.loads(base64.b64decode(data.strip(), validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        raise _field_error(
            "token_file", "This is not a VPP token: a .vpptoken holds base64-encoded JSON with sToken and expDate."
        )
    s_token = payload.get("sToken") or payload.get("token")
    if not isinstance(s_token, str) or not s_token:
        raise _field_error("token_file", "This VPP token file has no sToken.")
    if "\x00" in s_token or "\x00" in str(payload.get("orgName") or ""):
        raise _field_error("token_file", "This VPP token file holds NUL characters: download it again from Apple.")
    expires_at = _parse_exp_date(payload.get("expDate"))
    if expires_at is None:
        raise _field_error("token_file", "This VPP token file has no readable expDate.")
    return {"s_token": s_token, "expires_at": expires_at, "org_name": str(payload.get("orgName") or "")[:255]}


def vpp_token_create(
    *,
    actor,
    token_file: bytes,
    name: str = "",
    apple_id: str = "",
    licenses_total: int = 0,
    licenses_used: int = 0,
    scope_tags: list[ScopeTag] | None = None,
) -> VppToken:
    """Store an uploaded .vpptoken: its sToken sealed, its expiry and organisation readable."""
    parsed = read_vpp_token_file(token_file)
    fingerprint = hashlib.sha256(parsed["s_token"].encode()).hexdigest()
    existing = VppToken.objects.filter(s_token_fingerprint=fingerprint).first()
    if existing is not None:
        raise _field_error("token_file", _already_uploaded("This VPP token", existing, actor))
    _check_licenses(licenses_total, licenses_used)
    if name and not visible(name):
        raise _field_error("name", INVISIBLE_REFUSED)
    tags = scope_tags_for(actor, scope_tags or [])
    vpp_token = VppToken(
        name=(name or "").strip() or parsed["org_name"] or "VPP token",
        apple_id=(apple_id or "").strip(),
        org_name=parsed["org_name"],
        s_token_encrypted=crypto.encrypt(parsed["s_token"]),
        s_token_fingerprint=fingerprint,
        expires_at=parsed["expires_at"],
        cp_licenses_total=licenses_total,
        cp_licenses_used=licenses_used,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    with transaction.atomic():
        _save_unique(vpp_token)
        vpp_token.scope_tags.set(tags)
        audit_record(
            actor=actor,
            action="create",
            obj=vpp_token,
            changes={
                "name": vpp_token.name,
                "org_name": vpp_token.org_name,
                "expires_at": vpp_token.expires_at.isoformat(),
                "cp_licenses": [licenses_used, licenses_total],
            },
            scope_tags=tags,
        )
    return vpp_token_refresh(actor=actor, vpp_token=vpp_token)


def vpp_token_refresh(*, actor, vpp_token: VppToken) -> VppToken:
    """Read Company Portal's licence counts and the token's expiry from Apple's Apps and Books service.

    On upload, on demand and on a schedule. When Apple cannot be reached or refuses the token, the
    counts stay as they were and `licenses_error` says why (the lists and alerts show it).
    """
    client = AppsAndBooksClient(crypto.decrypt(vpp_token.s_token_encrypted).decode())
    failure, config, count = "", {}, None
    try:
        config = client.client_config()
        count = client.licence_count(settings.VPP_COMPANY_PORTAL_ADAM_ID)
    except VppError as error:
        failure = error.message
    finally:
        client.close()
    with transaction.atomic():
        vpp_token = VppToken.objects.select_for_update().get(pk=vpp_token.pk)
        before = {
            "cp_licenses": [vpp_token.cp_licenses_used, vpp_token.cp_licenses_total],
            "expires_at": vpp_token.expires_at.isoformat() if vpp_token.expires_at else None,
            "location_name": vpp_token.location_name,
            "licenses_error": vpp_token.licenses_error,
        }
        if failure:
            vpp_token.licenses_error = failure
        else:
            vpp_token.cp_licenses_used, vpp_token.cp_licenses_total = (
                (count.assigned, count.total) if count else (0, 0)
            )
            vpp_token.expires_at = parse_apple_time(config.get("tokenExpirationDate")) or vpp_token.expires_at
            vpp_token.location_name = str(config.get("locationName") or "")[:255]
            vpp_token.licenses_checked_at = timezone.now()
            vpp_token.licenses_error = (
                ""
                if count
                else "Company Portal is not among this location's apps: get it (it is free) in Apple Business "
                "Manager > Apps and Books for this location, then refresh."
            )
        vpp_token.save()
        after = {
            "cp_licenses": [vpp_token.cp_licenses_used, vpp_token.cp_licenses_total],
            "expires_at": vpp_token.expires_at.isoformat() if vpp_token.expires_at else None,
            "location_name": vpp_token.location_name,
            "licenses_error": vpp_token.licenses_error,
        }
        changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
        if changes:
            audit_record(
                actor=actor,
                action="refresh_licenses",
                obj=vpp_token,
                changes=changes,
                scope_tags=vpp_token.scope_tags.all(),
            )
    return vpp_token


def vpp_token_refresh_all() -> int:
    """The schedule: refresh every token that has not expired; returns how many were read."""
    tokens = VppToken.objects.exclude(expires_at__lte=timezone.now())
    for vpp_token in tokens:
        vpp_token_refresh(actor=None, vpp_token=vpp_token)
    return len(tokens)


def vpp_token_update(
    *,
    actor,
    vpp_token: VppToken,
    name: str | None = None,
    apple_id: str | None = None,
    licenses_total: int | None = None,
    licenses_used: int | None = None,
    token_file: bytes | None = None,
    scope_tags: list[ScopeTag] | None = None,
) -> VppToken:
    """Edit a VPP token; a new .vpptoken file (Apple's renewal) replaces the sealed sToken and expiry."""
    changes: dict = {}
    with transaction.atomic():
        vpp_token = VppToken.objects.select_for_update().get(pk=vpp_token.pk)
        if name is not None and name.strip() != vpp_token.name:
            if not visible(name):
                raise _field_error("name", "A VPP token needs a name.")
            changes["name"] = [vpp_token.name, name.strip()]
            vpp_token.name = name.strip()
        if apple_id is not None and apple_id.strip() != vpp_token.apple_id:
            changes["apple_id"] = [vpp_token.apple_id, apple_id.strip()]
            vpp_token.apple_id = apple_id.strip()
        total = vpp_token.cp_licenses_total if licenses_total is None else licenses_total
        used = vpp_token.cp_licenses_used if licenses_used is None else licenses_used
        _check_licenses(total, used)
        if [used, total] != [vpp_token.cp_licenses_used, vpp_token.cp_licenses_total]:
            changes["cp_licenses"] = [[vpp_token.cp_licenses_used, vpp_token.cp_licenses_total], [used, total]]
            vpp_token.cp_licenses_total, vpp_token.cp_licenses_used = total, used
        if token_file:
            parsed = read_vpp_token_file(token_file)
            vpp_token.s_token_encrypted = crypto.encrypt(parsed["s_token"])
            vpp_token.s_token_fingerprint = hashlib.sha256(parsed["s_token"].encode()).hexdigest()
            changes["expires_at"] = [
                vpp_token.expires_at.isoformat() if vpp_token.expires_at else None,
                parsed["expires_at"].isoformat(),
            ]
            vpp_token.expires_at = parsed["expires_at"]
            vpp_token.org_name = parsed["org_name"] or vpp_token.org_name
        _save_unique(vpp_token)
        if scope_tags is not None:
            before = sorted(tag.name for tag in vpp_token.scope_tags.all())
            tags = scope_tags_for(actor, scope_tags, keeping=vpp_token)
            if before != sorted(tag.name for tag in tags):
                changes["scope_tags"] = [before, sorted(tag.name for tag in tags)]
                vpp_token.scope_tags.set(tags)
        if changes:
            audit_record(
                actor=actor, action="update", obj=vpp_token, changes=changes, scope_tags=vpp_token.scope_tags.all()
            )
    if token_file:
        return vpp_token_refresh(actor=actor, vpp_token=vpp_token)
    return vpp_token


def vpp_token_delete(*, actor, vpp_token: VppToken) -> None:
    """Delete a VPP token no profile uses."""
    users = list(vpp_token.profiles.values_list("name", flat=True)[:5])
    if users:
        raise ApplicationError(
            f"The VPP token {vpp_token} installs Company Portal for the profiles {', '.join(users)}; "
            "choose another token in those profiles first."
        )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="delete",
            obj=vpp_token,
            changes={"name": vpp_token.name},
            scope_tags=vpp_token.scope_tags.all(),
        )
        vpp_token.delete()


def read_certificate(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER bytes (.cer, .pem, .der)."""
    if not data:
        raise _field_error("certificate_file", "Choose the Apple Configurator certificate (.cer, .pem or .der).")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _field_error("certificate_file", "This file is far too large to be a certificate.")
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise _field_error(
            "certificate_file", "This is not a certificate. Export it from Apple Configurator as .cer (DER) or .pem."
        ) from None


def configurator_certificate_create(
    *, actor, certificate_file: bytes, name: str = "", scope_tags: list[ScopeTag] | None = None
) -> ConfiguratorCertificate:
    """Store an Apple Configurator certificate, readable by subject and expiry."""
    certificate = read_certificate(certificate_file)
    der = certificate.public_bytes(encoding=Encoding.DER)
    fingerprint = hashlib.sha256(der).hexdigest()
    existing = ConfiguratorCertificate.objects.filter(fingerprint_sha256=fingerprint).first()
    if existing is not None:
        raise _field_error("certificate_file", _already_uploaded("This certificate", existing, actor))
    subject = certificate.subject.rfc4514_string()
    if name and not visible(name):
        raise _field_error("name", INVISIBLE_REFUSED)
    tags = scope_tags_for(actor, scope_tags or [])
    with transaction.atomic():
        record = ConfiguratorCertificate.objects.create(
            name=(name or "").strip()[:128] or _common_name(certificate) or subject[:128] or "Apple Configurator",
            certificate_der_b64=base64.b64encode(der).decode(),
            subject=subject[:512],
            issuer=certificate.issuer.rfc4514_string()[:512],
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            fingerprint_sha256=fingerprint,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        record.scope_tags.set(tags)
        audit_record(
            actor=actor,
            action="create",
            obj=record,
            changes={"subject": record.subject, "not_after": record.not_after.isoformat()},
            scope_tags=tags,
        )
    return record


def configurator_certificate_delete(*, actor, certificate: ConfiguratorCertificate) -> None:
    """Delete a certificate no profile uses."""
    users = list(certificate.profiles.values_list("name", flat=True)[:5])
    if users:
        raise ApplicationError(
            f"The certificate {certificate} is attached to the profiles {', '.join(users)}; detach it there first."
        )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="delete",
            obj=certificate,
            changes={"subject": certificate.subject},
            scope_tags=certificate.scope_tags.all(),
        )
        certificate.delete()


# Helpers


def _already_uploaded(what: str, existing, actor) -> str:
    # Its name only for those who can see it: others learn nothing of another scope's uploads.
    if can_see(actor, existing):
        return f"{what} is already uploaded as {existing.name!r}."
    return f"{what} is already uploaded to DEP Portal; ask an Administrator."


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value)[:128] if names else ""


def _parse_exp_date(value) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    # Apple writes offsets without a colon (+0000); fromisoformat wants +00:00 before Python 3.11's fixes.
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: 9999-12-31 with a negative offset is past year 9999 in UTC
        return None


def _check_licenses(total: int, used: int) -> None:
    for field, count in (("licenses_total", total), ("licenses_used", used)):
        if count < 0:
            raise _field_error(field, "Enter zero or more licenses.")
        if count > MAX_LICENSES:
            raise _field_error(field, f"Enter at most {MAX_LICENSES:,} licenses.")
    if used > total:
        raise _field_error("licenses_used", "More licenses used than the token holds: check both numbers.")


def _save_unique(vpp_token: VppToken) -> None:
    message = f"Another VPP token is named {vpp_token.name!r}; choose another name."
    save_unique(vpp_token, unique=("name",), message=message)
