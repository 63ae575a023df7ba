"""The rules of an enrollment profile's settings: one implementation for the console, the API and services.

`check_profile_settings` raises ApplicationError with messages keyed to the field they concern, and
returns warnings (things allowed but worth telling the admin).
"""

import base64
import binascii
import re
from urllib.parse import urlsplit

from cryptography import x509
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from depportal.core.exceptions import ApplicationError
from profiles.models import (
    AuthMethod,
    EnrollmentProfile,
    Platform,
    SyncWithComputers,
    UserAffinity,
    VppToken,
    max_profiles_per_token,
)
from profiles.setup_screens import skip_keys_for
from tokens.models import EnrollmentProgramToken

# The yes/no settings of a profile: the form shows each as Yes/No, the service stores each as a bool.
BOOLEAN_SETTINGS = (
    "install_company_portal",
    "single_app_mode",
    "supervised",
    "locked_enrollment",
    "await_final_configuration",
    "apply_device_name_template",
    "auto_advance_setup",
    "shared_ipad",
    "mandatory_enrollment",
    "do_not_use_profile_from_backup",
    "return_to_service",
)
MAX_NAME_LENGTH = 125  # Apple's CONFIG_NAME_INVALID limit
MAX_DESCRIPTION_LENGTH = 1024
MAX_DEPARTMENT_LENGTH = 125  # Apple's DEPARTMENT_INVALID limit
MAX_PHONE_LENGTH = 50  # Apple's SUPPORT_PHONE_INVALID limit
MAX_EMAIL_LENGTH = 250  # Apple's SUPPORT_EMAIL_INVALID limit
MAX_ORG_MAGIC_LENGTH = 256  # Apple's MAGIC_INVALID limit
MAX_URL_LENGTH = 2000  # Apple's CONFIG_URL_INVALID limit
MAX_ANCHOR_CERTS = 10
MAX_CONFIGURATOR_CERTIFICATES = 10  # Intune's console limit
MAX_DEVICE_NAME_LENGTH = 63
# The longest values the placeholders expand to: 12-character serials (older models) and "iPhone".
LONGEST_SERIAL = 12
LONGEST_DEVICE_TYPE = 6
LOW_LICENSES_WARNING = 10

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z]+)\s*\}\}")
_KNOWN_PLACEHOLDERS = {"SERIAL": LONGEST_SERIAL, "DEVICETYPE": LONGEST_DEVICE_TYPE}
# What a device name (also its Bonjour/host name) may hold once the placeholders are expanded.
_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9 ._'-]*")
# Digits with the usual separators, an optional leading + and an optional extension.
# Apple: ISO 639-1 (two letters, preferred) or ISO 639-2 (three); ISO 3166-1 alpha-2, capitals.
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_REGION = re.compile(r"[A-Z]{2}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()./-]*(\s*(x|ext\.?)\s*[0-9]+)?", re.IGNORECASE)

SETTING_FIELDS = (
    "name",
    "description",
    "platform",
    "user_affinity",
    "auth_method",
    "install_company_portal",
    "vpp_token",
    "single_app_mode",
    "supervised",
    "locked_enrollment",
    "sync_with_computers",
    "configurator_certificates",
    "await_final_configuration",
    "apply_device_name_template",
    "device_name_template",
    "department",
    "department_phone",
    "support_email",
    "org_magic",
    "language",
    "region",
    "auto_advance_setup",
    "shared_ipad",
    "mandatory_enrollment",
    "anchor_certs",
    "web_sign_in_url",
    "do_not_use_profile_from_backup",
    "return_to_service",
    "skip_setup_items",
)


# What each platform's profile offers (Intune's per-platform profiles): Company Portal, its VPP token and single
# app mode exist on iOS/iPadOS only; Apple TV has no user; pairing with computers and Configurator certificates
# are iOS/iPadOS and tvOS (Apple's allow_pairing / supervising_host_certs). Apple's Profile page: language,
# region and auto_advance_setup are for tvOS and macOS 11+, is_multi_user is Shared iPad,
# do_not_use_profile_from_backup and is_return_to_service are iOS and visionOS 26+.
# https://developer.apple.com/documentation/devicemanagement/profile
_LOCALE_AND_ADVANCE = {"language", "region", "auto_advance_setup"}
_IOS_26 = {"do_not_use_profile_from_backup", "return_to_service"}
_NOT_ON = {
    Platform.IOS: _LOCALE_AND_ADVANCE,
    Platform.MACOS: _IOS_26
    | {
        "shared_ipad",
        "auth_method",
        "install_company_portal",
        "vpp_token",
        "single_app_mode",
        "sync_with_computers",
        "configurator_certificates",
    },
    Platform.TVOS: _IOS_26
    | {
        "shared_ipad",
        "web_sign_in_url",
        "user_affinity",
        "auth_method",
        "install_company_portal",
        "vpp_token",
        "single_app_mode",
        "apply_device_name_template",
        "device_name_template",
    },
    Platform.VISIONOS: _LOCALE_AND_ADVANCE
    | {
        "shared_ipad",
        "auth_method",
        "install_company_portal",
        "vpp_token",
        "single_app_mode",
        "sync_with_computers",
        "configurator_certificates",
        "apply_device_name_template",
        "device_name_template",
    },
}


def settings_for(platform: str) -> tuple[str, ...]:
    """The settings a profile of the platform has, in the wizard's order."""
    hidden = _NOT_ON.get(platform, set())
    return tuple(name for name in SETTING_FIELDS if name not in hidden)


class _Errors:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            first = next(iter(self.fields.values()))[0]
            count = sum(len(messages) for messages in self.fields.values())
            summary = first if count == 1 else f"{first} (and {count - 1} more problem{'s' if count > 2 else ''})"
            raise ApplicationError(summary, fields=self.fields)


def expand_device_name(template: str, *, serial: str, device_type: str) -> str:
    """The device name a template gives (placeholders are case-insensitive)."""
    values = {"SERIAL": serial, "DEVICETYPE": device_type}
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1).upper(), match.group(0)), template)


def device_name_template_problems(template: str) -> list[str]:
    """Why a device name template cannot be used (empty list when it can)."""
    template = template or ""
    if not template.strip():
        return ["Enter a device name template, e.g. {{DEVICETYPE}}-{{SERIAL}}."]
    problems = []
    unknown = sorted(
        {m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1).upper() not in _KNOWN_PLACEHOLDERS}
    )
    if unknown:
        problems.append(
            f"Unknown placeholder {', '.join('{{' + name + '}}' for name in unknown)}: "
            "use {{SERIAL}} and {{DEVICETYPE}} only."
        )
    literal = _PLACEHOLDER.sub("", template)
    if "{" in literal or "}" in literal:
        problems.append("Write placeholders as {{SERIAL}} or {{DEVICETYPE}}, with two braces on each side.")
    bad = sorted(set(_NAME_CHARACTERS.sub("", literal.replace("{", "").replace("}", ""))))
    if bad:
        problems.append(
            f"A device name cannot contain {' '.join(repr(char) for char in bad)}. "
            "Use letters, digits, spaces and . _ ' -"
        )
    longest = len(literal) + sum(
        _KNOWN_PLACEHOLDERS.get(m.group(1).upper(), 0) for m in _PLACEHOLDER.finditer(template)
    )
    if longest > MAX_DEVICE_NAME_LENGTH:
        problems.append(
            f"Expanded with the longest serial number and device type the name has {longest} characters; "
            f"a device name allows {MAX_DEVICE_NAME_LENGTH}."
        )
    return problems


def department_phone_problem(phone: str) -> str | None:
    """Why Apple would refuse this support phone number (None when it is fine)."""
    if not phone:
        return None
    if len(phone) > MAX_PHONE_LENGTH:
        return f"Use at most {MAX_PHONE_LENGTH} characters (Apple's limit)."
    if not _PHONE.fullmatch(phone) or sum(char.isdigit() for char in phone) < 3:
        return "Enter a phone number: digits, spaces, + ( ) . - and an optional extension (x123)."
    return None


def web_sign_in_url_problem(url: str) -> str | None:
    """Why Apple would refuse this configuration_web_url (None when it is fine)."""
    if not url:
        return None
    if len(url) > MAX_URL_LENGTH:
        return f"Use at most {MAX_URL_LENGTH} characters (Apple's limit)."
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme != "https" or not parts.hostname or " " in url:
        return "Enter the https address of your web sign-in page, e.g. https://login.example.com/enroll."
    return None


def anchor_certs_problem(certs) -> str | None:
    """Why these anchor certificates cannot be sent: each must be a base64 DER X.509 certificate."""
    if not isinstance(certs, list) or not all(isinstance(cert, str) for cert in certs):
        return "Give the anchor certificates as a list of base64 DER certificates."
    if len(certs) > MAX_ANCHOR_CERTS:
        return f"Give at most {MAX_ANCHOR_CERTS} anchor certificates."
    for number, cert in enumerate(certs, start=1):
        try:
            x509.load_der_x509_certificate(base64.b64decode(cert, validate=True))
        except (ValueError, binascii.Error):
            return f"Certificate {number} is not a base64 DER (or PEM) X.509 certificate."
    return None


def anchor_certs_from_text(text: str) -> list[str]:
    """The console's pasted PEM blocks as base64 DER strings (the body of each block), in order."""
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text or "", re.S)
    if not blocks and (text or "").strip():
        return ["".join((text or "").split())]  # not PEM: checked (and refused) as base64
    return ["".join(block.split()) for block in blocks]


def vpp_token_problem(vpp_token: VppToken) -> str | None:
    """Why a VPP token cannot install Company Portal now (None when it can)."""
    if not vpp_token.s_token_encrypted:
        return f"The VPP token {vpp_token} has no uploaded token file; upload its .vpptoken first."
    if vpp_token.is_expired:
        return f"The VPP token {vpp_token} expired on {vpp_token.expires_at:%Y-%m-%d}; renew it at Apple first."
    if vpp_token.licenses_left <= 0:
        return (
            f"The VPP token {vpp_token} has no Company Portal licenses left: devices would be blocked. "
            "Buy more licenses or choose another token."
        )
    return None


def check_profile_settings(
    values: dict,
    *,
    token: EnrollmentProgramToken,
    profile: EnrollmentProfile | None = None,
    defaults: dict | None = None,
) -> list[str]:
    """Check a profile's complete settings; raise ApplicationError keyed to fields, or return warnings.

    `defaults` are the platform's default settings: a setting the platform does not have must keep its default.
    """
    errors = _Errors()
    warnings: list[str] = []
    name = values.get("name") or ""
    if not name.strip():
        errors.add("name", "A profile needs a name.")
    elif len(name) > MAX_NAME_LENGTH:
        errors.add("name", f"Use at most {MAX_NAME_LENGTH} characters (Apple's limit).")
    else:
        others = EnrollmentProfile.objects.filter(token=token, name=name)
        if profile is not None:
            others = others.exclude(pk=profile.pk)
        if others.exists():
            errors.add("name", f"The token already has a profile named {name!r}; profile names are unique per token.")
    if len(values.get("description") or "") > MAX_DESCRIPTION_LENGTH:
        errors.add("description", f"Use at most {MAX_DESCRIPTION_LENGTH} characters.")
    platform = values.get("platform")
    if platform not in Platform.values:
        errors.add("platform", "Choose a platform.")
    if profile is not None and platform != profile.platform:
        errors.add("platform", "The platform of a profile cannot change; create a new profile instead.")
    if platform in Platform.values and defaults is not None:
        label = Platform(platform).label
        foreign = [name for name in _NOT_ON[platform] if _differs(values.get(name), defaults.get(name))]
        for name in sorted(foreign, key=SETTING_FIELDS.index):
            errors.add(name, f"This setting does not apply to {label} profiles; leave it out.")
        if foreign:
            # The other rules would only repeat the same settings in other words.
            errors.raise_if_any()

    _check_choice(errors, values, "user_affinity", UserAffinity)
    _check_choice(errors, values, "auth_method", AuthMethod)
    _check_choice(errors, values, "sync_with_computers", SyncWithComputers)
    with_user = values.get("user_affinity") == UserAffinity.WITH_USER
    portal_auth = values.get("auth_method") == AuthMethod.COMPANY_PORTAL
    if not with_user:
        if portal_auth:
            errors.add("auth_method", "Authenticating with Company Portal requires Enroll with User Affinity.")
        if values.get("install_company_portal"):
            errors.add("install_company_portal", "Installing Company Portal requires Enroll with User Affinity.")
        if values.get("single_app_mode"):
            errors.add("single_app_mode", "Single app mode requires Enroll with User Affinity.")

    vpp_token = values.get("vpp_token")
    if values.get("single_app_mode"):
        if not portal_auth:
            errors.add("single_app_mode", "Single app mode requires users to authenticate with Company Portal.")
        if vpp_token is None:
            errors.add("single_app_mode", "Single app mode requires a VPP token to install Company Portal.")
    if vpp_token is not None:
        if not with_user or not (portal_auth or values.get("install_company_portal")):
            errors.add(
                "vpp_token",
                "A VPP token installs Company Portal: use it with user affinity and Company Portal "
                "authentication, or with Install Company Portal.",
            )
        problem = vpp_token_problem(vpp_token)
        if problem:
            errors.add("vpp_token", problem)
        elif vpp_token.licenses_left < LOW_LICENSES_WARNING:
            warnings.append(
                f"The VPP token {vpp_token} has only {vpp_token.licenses_left} Company Portal license"
                f"{'s' if vpp_token.licenses_left != 1 else ''} left; devices are blocked when none remain."
            )

    if values.get("locked_enrollment") and not values.get("supervised"):
        errors.add("locked_enrollment", "Locked enrollment requires supervised devices: set Supervised to Yes.")

    certificates = list(values.get("configurator_certificates") or [])
    by_certificate = values.get("sync_with_computers") == SyncWithComputers.CERTIFICATE
    if by_certificate and not certificates:
        errors.add(
            "configurator_certificates", "Allow Apple Configurator by certificate needs at least one certificate."
        )
    if certificates and not by_certificate:
        errors.add(
            "configurator_certificates",
            "Apple Configurator certificates are only used with Allow Apple Configurator by certificate.",
        )
    if len(certificates) > MAX_CONFIGURATOR_CERTIFICATES:
        errors.add("configurator_certificates", f"Choose at most {MAX_CONFIGURATOR_CERTIFICATES} certificates.")
    for certificate in certificates:
        if certificate.is_expired:
            warnings.append(f"The Apple Configurator certificate {certificate} has expired.")

    if values.get("apply_device_name_template"):
        for problem in device_name_template_problems(values.get("device_name_template") or ""):
            errors.add("device_name_template", problem)
    elif values.get("device_name_template"):
        errors.add("device_name_template", "Set Apply device name template to Yes to use a template.")

    if len(values.get("department") or "") > MAX_DEPARTMENT_LENGTH:
        errors.add("department", f"Use at most {MAX_DEPARTMENT_LENGTH} characters (Apple's limit).")
    phone_problem = department_phone_problem(values.get("department_phone") or "")
    if phone_problem:
        errors.add("department_phone", phone_problem)

    email = values.get("support_email") or ""
    if len(email) > MAX_EMAIL_LENGTH:
        errors.add("support_email", f"Use at most {MAX_EMAIL_LENGTH} characters (Apple's limit).")
    elif email:
        try:
            validate_email(email)
        except ValidationError:
            errors.add("support_email", "Enter an e-mail address, e.g. help@example.com.")
    if len(values.get("org_magic") or "") > MAX_ORG_MAGIC_LENGTH:
        errors.add("org_magic", f"Use at most {MAX_ORG_MAGIC_LENGTH} characters (Apple's limit).")
    language, region = values.get("language") or "", values.get("region") or ""
    if language and not _LANGUAGE.fullmatch(language):
        errors.add("language", "Enter an ISO 639 language code: two letters (en, fr) or three (haw).")
    if region and not _REGION.fullmatch(region):
        errors.add("region", "Enter an ISO 3166-1 region code: two letters, e.g. US or GB.")
    elif region and not language:
        errors.add("region", "Choose a language too: Apple takes a region only with a language.")
    url_problem = web_sign_in_url_problem(values.get("web_sign_in_url") or "")
    if url_problem:
        errors.add("web_sign_in_url", url_problem)
    elif values.get("web_sign_in_url") and not with_user:
        errors.add("web_sign_in_url", "Web sign-in authenticates a user: it requires Enroll with User Affinity.")
    certs_problem = anchor_certs_problem(values.get("anchor_certs") or [])
    if certs_problem:
        errors.add("anchor_certs", certs_problem)
    if values.get("shared_ipad"):
        # Apple: Shared iPad needs supervision; it is one device for many users, so it has no user affinity
        # and no Company Portal (Intune's rules).
        if not values.get("supervised"):
            errors.add("shared_ipad", "Shared iPad requires supervised devices: set Supervised to Yes.")
        if with_user:
            errors.add("shared_ipad", "Shared iPad requires Enroll without User Affinity.")
        else:
            warnings.append(
                "Shared iPad only takes effect on iPads that meet Apple's Shared iPad requirements; "
                "assign this profile to iPads."
            )

    problem = skip_keys_problem(values.get("skip_setup_items"), platform or "")
    if problem:
        errors.add("skip_setup_items", problem)
    errors.raise_if_any()
    return warnings


def skip_keys_problem(skip, platform: str) -> str | None:
    """Why these skip keys cannot be sent for the platform: only Apple's keys of that platform are valid."""
    if not isinstance(skip, list) or not all(isinstance(key, str) for key in skip):
        return "Give the Setup Assistant panes to hide as a list of Apple skip keys."
    valid = skip_keys_for(platform)
    unknown = [key for key in dict.fromkeys(skip) if key not in valid]
    if not unknown:
        return None
    platform_name = Platform(platform).label if platform in Platform.values else platform
    return (
        f"Not Apple skip keys for {platform_name}: {', '.join(unknown)}. "
        f"Valid keys (Apple's SkipKeys list): {', '.join(sorted(valid, key=str.lower))}."
    )


def check_profile_limit(token: EnrollmentProgramToken) -> None:
    """Refuse a profile past the per-token limit."""
    limit = max_profiles_per_token()
    if EnrollmentProfile.objects.filter(token=token).count() >= limit:
        raise ApplicationError(
            f"The token {token} already has {limit} enrollment profiles, the limit per token. "
            "Delete a profile you no longer use before creating another."
        )


def _differs(value, default) -> bool:
    if isinstance(default, list) or isinstance(value, list):
        return list(value or []) != list(default or [])
    return (value or None) != (default or None)


def _check_choice(errors: _Errors, values: dict, field: str, choices) -> None:
    if values.get(field) not in choices.values:
        errors.add(field, f"Choose one of: {', '.join(label for _, label in choices.choices)}.")
