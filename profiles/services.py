"""Enrollment profiles: create, edit (push and re-assign), delete, default profile. Every change is audited.

Assignment lives in profiles.assignment, VPP tokens and Configurator certificates in profiles.vpp; their
public functions are re-exported here so callers have one module to import from.
"""

import time
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from depportal.accounts.roles import VIEW
from depportal.accounts.scoping import scoped
from depportal.apple import AppleError
from depportal.audit.services import audit_record
from depportal.core.exceptions import ApplicationError, Conflict
from devices.filters import platform_for_family
from devices.models import Device, ProfileStatus
from profiles.apple_json import apple_profile_json
from profiles.assignment import (  # noqa: F401 - re-exported
    assignment_preview,
    assignment_retry_due,
    assignment_run,
    profile_assign_devices,
    profile_devices_using,
    profile_unassign_devices,
    start_assignment,
)
from profiles.models import (
    AssignmentJob,
    AuthMethod,
    ConfiguratorCertificate,
    EnrollmentProfile,
    JobAction,
    Platform,
    PushStatus,
    UserAffinity,
    VppToken,
)
from profiles.rules import (
    BOOLEAN_SETTINGS,
    SETTING_FIELDS,
    check_profile_limit,
    check_profile_settings,
    settings_for,
)
from profiles.setup_screens import screen_label
from profiles.vpp import (  # noqa: F401 - re-exported
    configurator_certificate_create,
    configurator_certificate_delete,
    vpp_token_create,
    vpp_token_delete,
    vpp_token_refresh,
    vpp_token_update,
)
from tokens.models import EnrollmentProgramToken
from tokens.services import token_client

# A push happens while the admin waits: give Apple a short, bounded time.
PUSH_DEADLINE_S = 30

FIELD_LABELS = {
    "name": "Name",
    "description": "Description",
    "platform": "Platform",
    "user_affinity": "User affinity",
    "auth_method": "Select where users must authenticate",
    "install_company_portal": "Install Company Portal",
    "vpp_token": "Install Company Portal with VPP",
    "single_app_mode": "Run Company Portal in Single App Mode until authentication",
    "supervised": "Supervised",
    "locked_enrollment": "Locked enrollment",
    "sync_with_computers": "Sync with computers",
    "configurator_certificates": "Apple Configurator certificates",
    "await_final_configuration": "Await final configuration",
    "apply_device_name_template": "Apply device name template",
    "device_name_template": "Device name template",
    "department": "Department name",
    "department_phone": "Department phone",
    "support_email": "Support e-mail address",
    "org_magic": "Organization magic",
    "language": "Language",
    "region": "Region",
    "auto_advance_setup": "Auto advance Setup Assistant",
    "shared_ipad": "Shared iPad",
    "mandatory_enrollment": "Mandatory enrollment",
    "anchor_certs": "Anchor certificates",
    "web_sign_in_url": "Web sign-in URL",
    "do_not_use_profile_from_backup": "Do not restore the enrollment profile from a backup",
    "return_to_service": "Return to Service",
    "skip_setup_items": "Setup Assistant screens hidden",
}


@dataclass
class EditPreview:
    """What saving an edit would do: the changed settings, whether Apple gets a new profile, devices re-assigned."""

    changes: list[tuple[str, str, str]] = field(default_factory=list)
    repush: bool = False
    devices_to_reassign: int = 0
    warnings: list[str] = field(default_factory=list)


def profile_values(profile: EnrollmentProfile) -> dict:
    """The profile's settings as a values dict (the shape services and rules take)."""
    values = {name: getattr(profile, name) for name in SETTING_FIELDS if name != "configurator_certificates"}
    values["configurator_certificates"] = list(profile.configurator_certificates.order_by("pk")) if profile.pk else []
    values["skip_setup_items"] = list(profile.skip_setup_items or [])
    values["anchor_certs"] = list(profile.anchor_certs or [])
    return values


def default_values(platform: str = Platform.IOS) -> dict:
    """The settings of a new profile of the platform before the admin changes anything."""
    values = profile_values(EnrollmentProfile(platform=platform))
    if platform == Platform.TVOS:
        values["user_affinity"] = UserAffinity.WITHOUT_USER  # an Apple TV has no user
    return values


def display_value(name: str, value) -> str:
    """A setting's value as the console and the audit log show it."""
    if name == "configurator_certificates":
        return ", ".join(str(cert) for cert in value or []) or "None"
    if name == "skip_setup_items":
        return ", ".join(sorted(screen_label(key) for key in value or [])) or "None hidden"
    if name == "anchor_certs":
        return f"{len(value)} certificate{'s' if len(value) != 1 else ''}" if value else "None (built-in roots)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or value == "":
        return "—" if name != "vpp_token" else "None"
    choices = dict(EnrollmentProfile._meta.get_field(name).choices or []) if name not in ("vpp_token",) else {}
    return str(choices.get(value, value))


def summary_rows(values: dict, platform: str) -> list[tuple[str, str]]:
    """(label, value) of the settings the platform has, as the review and the profile page show them.

    Settings that the others make moot are left out (single app mode without Company Portal, the template while
    not applied); Company Portal authentication always installs Company Portal, so it says so.
    """
    rows = []
    with_user = values.get("user_affinity") == UserAffinity.WITH_USER
    portal_auth = with_user and values.get("auth_method") == AuthMethod.COMPANY_PORTAL
    for name in settings_for(platform):
        if name in ("name", "platform"):
            continue
        value = display_value(name, values.get(name))
        if name == "auth_method" and not with_user:
            continue
        if name == "install_company_portal" and portal_auth:
            value = "Yes (Company Portal authentication installs it)"
        if name == "single_app_mode" and not values.get("vpp_token"):
            continue
        if name == "device_name_template" and not values.get("apply_device_name_template"):
            continue
        rows.append((FIELD_LABELS[name], value))
    return rows


def device_word(platform: str, *, shared_ipad: bool = False) -> str:
    """What Apple's notices call the device ("This iPhone is managed by ...")."""
    if platform == Platform.IOS:
        return "iPad" if shared_ipad else "iPhone"
    return {Platform.MACOS: "Mac", Platform.TVOS: "Apple TV", Platform.VISIONOS: "Apple Vision Pro"}.get(
        platform, "device"
    )


def profile_changes(before: dict, after: dict) -> list[tuple[str, str, str]]:
    """(label, old, new) for every setting that differs."""
    changes = []
    for name in SETTING_FIELDS:
        old, new = before.get(name), after.get(name)
        if name == "configurator_certificates":
            same = sorted(c.pk for c in old or []) == sorted(c.pk for c in new or [])
        elif name in ("skip_setup_items", "anchor_certs"):
            same = sorted(old or []) == sorted(new or [])
        else:
            same = old == new
        if not same:
            changes.append((FIELD_LABELS[name], display_value(name, old), display_value(name, new)))
    return changes


def profile_create(*, actor, token: EnrollmentProgramToken, values: dict, push: bool = True) -> EnrollmentProfile:
    """Create a profile from (partial) settings, check the rules and define it at Apple.

    The profile is kept when Apple refuses or cannot be reached: its push status says so and it can be pushed again.
    `profile.warnings` lists what the admin should know (few VPP licenses left, ...).
    """
    if token.is_pending:
        raise ApplicationError("Finish adding this token before creating profiles for it.")
    values = _clean({**default_values(values.get("platform") or Platform.IOS), **values})
    _check_reachable(actor, values)
    warnings = check_profile_settings(values, token=token, defaults=default_values(values["platform"]))
    with transaction.atomic():
        # Serialise creations per token so the 100-profile limit holds under concurrent requests.
        EnrollmentProgramToken.objects.select_for_update().get(pk=token.pk)
        check_profile_limit(token)
        profile = EnrollmentProfile(token=token, created_by=actor)
        _apply(profile, values)
        _save_unique(profile)
        profile.configurator_certificates.set(values["configurator_certificates"])
        _audit(actor, "create", profile, {name: display_value(name, values[name]) for name in SETTING_FIELDS})
    if push:
        profile = profile_push(actor=actor, profile=profile)
    profile.warnings = warnings
    return profile


def profile_create_preview(*, actor, token: EnrollmentProgramToken, values: dict) -> list[str]:
    """Check what `profile_create` would check, without creating anything; returns the warnings."""
    values = _clean({**default_values(values.get("platform") or Platform.IOS), **values})
    _check_reachable(actor, values)
    check_profile_limit(token)
    return check_profile_settings(values, token=token, defaults=default_values(values["platform"]))


def profile_edit_preview(*, actor, profile: EnrollmentProfile, values: dict) -> EditPreview:
    """What `profile_update` would change, without changing anything (rules checked)."""
    before = profile_values(profile)
    after = _clean({**before, **values})
    _check_reachable(actor, after)
    warnings = check_profile_settings(
        after, token=profile.token, profile=profile, defaults=default_values(profile.platform)
    )
    repush = _needs_push(profile, after)
    return EditPreview(
        changes=profile_changes(before, after),
        repush=repush,
        devices_to_reassign=profile_devices_using(profile).count() if repush and profile.profile_uuid else 0,
        warnings=warnings,
    )


def profile_update(*, actor, profile: EnrollmentProfile, values: dict) -> EnrollmentProfile:
    """Change settings; when Apple's copy changes, define a new Apple profile and re-assign its devices.

    `profile.reassign_job` is the re-assignment (None when nothing needed it); `profile.warnings` as for create.
    """
    before = profile_values(profile)
    after = _clean({**before, **values})
    _check_reachable(actor, after)
    warnings = check_profile_settings(
        after, token=profile.token, profile=profile, defaults=default_values(profile.platform)
    )
    changes = profile_changes(before, after)
    repush = _needs_push(profile, after)
    with transaction.atomic():
        profile = EnrollmentProfile.objects.select_for_update().get(pk=profile.pk)
        _apply(profile, after)
        _save_unique(profile)
        profile.configurator_certificates.set(after["configurator_certificates"])
        if changes:
            _audit(actor, "update", profile, {label: [old, new] for label, old, new in changes})
    profile.reassign_job = None
    if repush:
        old_uuid = profile.profile_uuid
        profile = profile_push(actor=actor, profile=profile)
        profile.reassign_job = None
        if old_uuid and profile.push_status == PushStatus.PUSHED and profile.profile_uuid != old_uuid:
            serials = list(profile_devices_using(profile, old_uuid).values_list("serial_number", flat=True))
            if serials:
                profile.reassign_job = start_assignment(
                    actor=actor, token=profile.token, profile=profile, action=JobAction.REASSIGN, serials=serials
                )
    profile.warnings = warnings
    return profile


def profile_push(*, actor, profile: EnrollmentProfile) -> EnrollmentProfile:
    """Define the profile at Apple (a new Apple profile every time) and record its UUID, or why it failed."""
    body = apple_profile_json(profile)
    try:
        with token_client(profile.token, deadline=time.monotonic() + PUSH_DEADLINE_S) as client:
            result = client.define_profile(body)
    except AppleError as error:
        EnrollmentProfile.objects.filter(pk=profile.pk).update(push_status=PushStatus.FAILED, push_error=str(error))
        profile.refresh_from_db()
        _audit(actor, "push_failed", profile, {"error": str(error)})
        return profile
    now = timezone.now()
    EnrollmentProfile.objects.filter(pk=profile.pk).update(
        profile_uuid=result["profile_uuid"], push_status=PushStatus.PUSHED, pushed_at=now, push_error=""
    )
    old_uuid = profile.profile_uuid
    profile.refresh_from_db()
    _audit(actor, "push", profile, {"profile_uuid": [old_uuid, profile.profile_uuid]})
    return profile


def profile_delete(*, actor, profile: EnrollmentProfile, confirmed: bool = False) -> int:
    """Delete a profile; devices using it have it removed at Apple first (only once `confirmed`).

    Returns how many devices it was removed from.
    """
    serials = list(profile_devices_using(profile).values_list("serial_number", flat=True))
    if serials and not confirmed:
        raise Conflict(
            f"The profile {profile} is assigned to {len(serials)} device{'s' if len(serials) != 1 else ''}. "
            "Deleting it removes it from them at Apple; confirm to go ahead.",
            extra={"devices_assigned": len(serials)},
        )
    if serials:
        job = start_assignment(
            actor=actor, token=profile.token, profile=profile, action=JobAction.UNASSIGN, serials=serials, inline=True
        )
        if job.state != "succeeded":
            raise ApplicationError(
                f"Apple could not remove the profile from its devices ({job.error or 'see the job'}); nothing was "
                "deleted. Try again later."
            )
    with transaction.atomic():
        _audit(actor, "delete", profile, {"name": profile.name, "devices_removed": len(serials)})
        profile.delete()
    return len(serials)


def token_default_profile_set(
    *, actor, token: EnrollmentProgramToken, profile: EnrollmentProfile | None, platform: str = Platform.IOS
) -> EnrollmentProfile | None:
    """Make `profile` the token's default for its platform, or clear the default (profile None)."""
    if profile is not None:
        if profile.token_id != token.pk:
            raise ApplicationError(
                "That profile belongs to another token.", fields={"profile": ["Choose a profile of this token."]}
            )
        platform = profile.platform
    with transaction.atomic():
        EnrollmentProgramToken.objects.select_for_update().get(pk=token.pk)
        old = EnrollmentProfile.objects.filter(token=token, platform=platform, is_default=True).first()
        if (old and old.pk) == (profile and profile.pk):
            return profile
        EnrollmentProfile.objects.filter(token=token, platform=platform, is_default=True).update(is_default=False)
        if profile is not None:
            EnrollmentProfile.objects.filter(pk=profile.pk).update(is_default=True)
            profile.is_default = True
        audit_record(
            actor=actor,
            action="set_default_profile",
            obj=token,
            changes={"default_profile": [old.name if old else None, profile.name if profile else None]},
            scope_tags=list(token.scope_tags.all()),
        )
    return profile


def profile_assign_default_to_new_devices(*, token: EnrollmentProgramToken, serials: list[str]) -> list[AssignmentJob]:
    """For the sync engine: give the token's default profile to those new devices that have no profile yet."""
    jobs = []
    defaults = EnrollmentProfile.objects.filter(token=token, is_default=True).exclude(profile_uuid="")
    for profile in defaults:
        devices = Device.objects.filter(
            token=token,
            serial_number__in=[serial.strip().upper() for serial in serials],
            assigned_profile__isnull=True,
            deleted_here_at__isnull=True,
        ).filter(Q(profile_uuid="") | Q(profile_status__in=[ProfileStatus.EMPTY, ProfileStatus.REMOVED]))
        wanted = [
            device.serial_number for device in devices if platform_for_family(device.device_family) == profile.platform
        ]
        if wanted:
            jobs.append(
                start_assignment(
                    actor=None, token=token, profile=profile, action=JobAction.ASSIGN, serials=wanted, inline=True
                )
            )
    return jobs


# Helpers


def _needs_push(profile: EnrollmentProfile, after: dict) -> bool:
    if profile.push_status != PushStatus.PUSHED:
        return True
    draft = EnrollmentProfile(token=profile.token)
    _apply(draft, after)
    return apple_profile_json(profile) != apple_profile_json(draft, after["configurator_certificates"])


def _clean(values: dict) -> dict:
    unknown = set(values) - set(SETTING_FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    cleaned = dict(values)
    for name in (
        "name",
        "description",
        "department",
        "department_phone",
        "device_name_template",
        "support_email",
        "org_magic",
        "web_sign_in_url",
    ):
        cleaned[name] = (cleaned.get(name) or "").strip()
    # Apple wants a lower-case language and a capitalised region; the case is not the admin's concern.
    cleaned["language"] = (cleaned.get("language") or "").strip().lower()
    cleaned["region"] = (cleaned.get("region") or "").strip().upper()
    if isinstance(cleaned.get("anchor_certs"), list):
        cleaned["anchor_certs"] = list(dict.fromkeys(cleaned["anchor_certs"]))
    cleaned["skip_setup_items"] = list(dict.fromkeys(cleaned.get("skip_setup_items") or []))
    cleaned["configurator_certificates"] = list(dict.fromkeys(cleaned.get("configurator_certificates") or []))
    for name in BOOLEAN_SETTINGS:
        cleaned[name] = bool(cleaned.get(name))
    return cleaned


# The same words for an id of another scope and one of nobody's (the API's fields say them too).
VPP_TOKEN_REFUSED = "Choose a VPP token you can see."
CERTIFICATES_REFUSED = "Choose certificates you can see."


def _check_reachable(actor, values: dict) -> None:
    """The VPP token and certificates must be ones the actor may see."""
    if actor is None:
        return
    vpp_token = values.get("vpp_token")
    if vpp_token is not None and not scoped(VppToken.objects.filter(pk=vpp_token.pk), actor, VIEW).exists():
        raise ApplicationError(VPP_TOKEN_REFUSED, fields={"vpp_token": [VPP_TOKEN_REFUSED]})
    certificates = values.get("configurator_certificates") or []
    visible = set(
        scoped(ConfiguratorCertificate.objects.filter(pk__in=[c.pk for c in certificates]), actor, VIEW).values_list(
            "pk", flat=True
        )
    )
    if any(cert.pk not in visible for cert in certificates):
        raise ApplicationError(CERTIFICATES_REFUSED, fields={"configurator_certificates": [CERTIFICATES_REFUSED]})


def _apply(profile: EnrollmentProfile, values: dict) -> None:
    for name in SETTING_FIELDS:
        if name != "configurator_certificates":
            setattr(profile, name, values[name])


def _save_unique(profile: EnrollmentProfile) -> None:
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError:
        if EnrollmentProfile.objects.exclude(pk=profile.pk).filter(token=profile.token, name=profile.name).exists():
            message = f"The token already has a profile named {profile.name!r}; profile names are unique per token."
            raise ApplicationError(message, fields={"name": [message]}) from None
        raise


def _audit(actor, action: str, profile: EnrollmentProfile, changes: dict | None = None) -> None:
    audit_record(
        actor=actor, action=action, obj=profile, changes=changes, scope_tags=list(profile.token.scope_tags.all())
    )
