"""Validation of POST /profile bodies with Apple's error codes (reference section 2.5)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from depsim.errors import AppleError

STRING_KEYS = {
    "profile_name": ("CONFIG_NAME_INVALID", 125),
    "url": ("CONFIG_URL_INVALID", 2000),
    "department": ("DEPARTMENT_INVALID", 125),
    "org_magic": ("MAGIC_INVALID", 256),
    "support_email_address": ("SUPPORT_EMAIL_INVALID", 250),
    "support_phone_number": ("SUPPORT_PHONE_INVALID", 50),
    "language": ("LOCALE_INVALID", 3),
    "region": ("LOCALE_INVALID", 2),
    "configuration_web_url": ("CONFIG_URL_INVALID", 2000),
}
BOOL_KEYS = (
    "allow_pairing",
    "is_supervised",
    "is_multi_user",
    "is_mandatory",
    "await_device_configured",
    "is_mdm_removable",
    "auto_advance_setup",
    "do_not_use_profile_from_backup",
    "is_return_to_service",
)
LIST_KEYS = ("anchor_certs", "supervising_host_certs", "skip_setup_items")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_REGION = re.compile(r"[A-Z]{2}")


def _check_url(value: str) -> bool:
    # Apple measures the URL-encoded length and wants RFC 2396/2732 syntax: an absolute http(s) URL.
    if not value or len(quote(value, safe=":/?#[]@!$&'()*+,;=%")) > 2000:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def validate_profile(body: Any) -> dict:
    """The profile to store (known keys only) or AppleError(400, <Apple's code>)."""
    if not isinstance(body, dict):
        raise AppleError(400, "MALFORMED_REQUEST_BODY")
    if "profile_name" not in body:
        raise AppleError(400, "CONFIG_NAME_REQUIRED")
    if "url" not in body:
        raise AppleError(400, "CONFIG_URL_REQUIRED")
    stored: dict[str, Any] = {}
    for key, (code, limit) in STRING_KEYS.items():
        if key not in body:
            continue
        value = body[key]
        if not isinstance(value, str) or len(value) > limit:
            raise AppleError(400, code)
        stored[key] = value
    if not stored["profile_name"].strip():
        raise AppleError(400, "CONFIG_NAME_INVALID")
    if not _check_url(stored["url"]):
        raise AppleError(400, "CONFIG_URL_INVALID")
    if "configuration_web_url" in stored and not _check_url(stored["configuration_web_url"]):
        raise AppleError(400, "CONFIG_URL_INVALID")
    for key in BOOL_KEYS:
        if key in body:
            if not isinstance(body[key], bool):
                raise AppleError(400, "MALFORMED_REQUEST_BODY")
            stored[key] = body[key]
    for key in LIST_KEYS:
        if key in body:
            value = body[key]
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise AppleError(400, "MALFORMED_REQUEST_BODY")
            stored[key] = list(value)
    if stored.get("is_mdm_removable") is False and stored.get("is_supervised") is not True:
        raise AppleError(400, "FLAGS_INVALID")
    language, region = stored.get("language"), stored.get("region")
    if language is not None and not _LANGUAGE.fullmatch(language):
        raise AppleError(400, "LOCALE_INVALID")
    if region is not None and (not _REGION.fullmatch(region) or language is None):
        raise AppleError(400, "LOCALE_INVALID")
    return stored
