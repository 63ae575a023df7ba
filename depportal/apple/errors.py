"""Typed errors raised by the Apple DEP client, one class per thing a caller can act on."""

from __future__ import annotations

import json


class AppleError(Exception):
    """An Apple DEP call failed; `status` is the HTTP status (0 without a response), `code` Apple's error string."""

    default_message = "Apple's device enrollment service returned an error."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int = 0,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.message = message or self.default_message
        super().__init__(self.message)

    def __str__(self) -> str:
        detail = ", ".join(part for part in (f"HTTP {self.status}" if self.status else "", self.code) if part)
        return f"{self.message} ({detail})" if detail else self.message


class AuthenticationFailed(AppleError):
    """Apple refused the server token on GET /session (bad, revoked or expired OAuth values)."""

    default_message = (
        "Apple rejected the server token. It may have expired or been replaced: download a new server token "
        "for this MDM server in Apple Business Manager or Apple School Manager and upload it here."
    )


class SessionRejected(AppleError):
    """Apple refused a freshly issued auth session token too, so re-authenticating again would only loop."""

    default_message = "Apple rejected a freshly issued session; the call was not retried again."


class TermsNotSigned(AppleError):
    """403 T_C_NOT_SIGNED: the organisation has new terms and conditions to accept."""

    default_message = (
        "Apple requires new terms and conditions to be accepted: sign in to Apple Business Manager or "
        "Apple School Manager as an administrator and accept them, then sync again."
    )


class AccessDenied(AppleError):
    """403 ACCESS_DENIED: this MDM server or token is not allowed to use the service."""

    default_message = (
        "Apple denied access for this server token. Check that the MDM server still exists in Apple Business "
        "Manager or Apple School Manager and that the token belongs to it."
    )


class NotFound(AppleError):
    """404, or 400 NOT_FOUND: the profile (or device) does not exist at Apple."""

    default_message = "Apple does not know this object."


class BadRequest(AppleError):
    """Any other 4xx: Apple rejected the request itself (validation codes such as CONFIG_NAME_INVALID)."""

    default_message = "Apple rejected the request."


class CursorError(BadRequest):
    """Base for the cursor codes of fetch and sync."""


class CursorExpired(CursorError):
    """400 EXPIRED_CURSOR: the sync cursor is older than 7 days; run a full fetch."""

    default_message = "The stored device cursor has expired at Apple; a full sync is needed."


class CursorInvalid(CursorError):
    """400 INVALID_CURSOR: Apple does not recognise the cursor; run a full fetch."""

    default_message = "Apple does not recognise the stored device cursor; a full sync is needed."


class CursorExhausted(CursorError):
    """400 EXHAUSTED_CURSOR: that fetch cursor already returned everything; continue with sync."""

    default_message = "The fetch cursor is exhausted; continue with a delta sync from it."


class Throttled(AppleError):
    """429 (or 503) that outlasted the retry budget; `retry_after` says when Apple wants the next try."""

    default_message = "Apple is throttling requests for this token; try again later."


class AppleServerError(AppleError):
    """Apple kept answering 5xx after the bounded retries."""

    default_message = "Apple's device enrollment service is failing; try again later."


class MalformedResponse(AppleError):
    """A 2xx answer whose body was not the JSON Apple documents."""

    default_message = "Apple returned a response that could not be understood."


class NetworkError(AppleError):
    """Connection failures and timeouts that outlasted the bounded retries."""

    default_message = "Could not reach Apple's device enrollment service."


class DeadlineExceeded(AppleError):
    """The caller's deadline left no time for the next request or wait."""

    default_message = "The time allowed for talking to Apple ran out."


# Codes whose meaning is independent of the HTTP status they arrive with.
_CODE_CLASSES: dict[str, type[AppleError]] = {
    "T_C_NOT_SIGNED": TermsNotSigned,
    "ACCESS_DENIED": AccessDenied,
    "EXPIRED_CURSOR": CursorExpired,
    "INVALID_CURSOR": CursorInvalid,
    "EXHAUSTED_CURSOR": CursorExhausted,
    "NOT_FOUND": NotFound,
    "DEVICE_NOT_FOUND": NotFound,
}

# Codes we look for inside a body: Apple sends bare strings, its simulator quoted ones, some mocks JSON objects.
_KNOWN_CODES = (
    "T_C_NOT_SIGNED",
    "ACCESS_DENIED",
    "EXPIRED_CURSOR",
    "INVALID_CURSOR",
    "EXHAUSTED_CURSOR",
    "CURSOR_REQUIRED",
    "DEVICE_NOT_FOUND",
    "NOT_FOUND",
    "FORBIDDEN",
    "UNAUTHORIZED",
    "TOO_MANY_REQUESTS",
)


def error_code_from_body(body: str) -> str:
    """Apple's error string from a response body: bare, JSON-quoted or a {"code": ...} object."""
    text = (body or "").strip()
    if not text:
        return ""
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    if isinstance(parsed, dict):
        parsed = parsed.get("code") or parsed.get("error") or ""
    if isinstance(parsed, str) and parsed.strip():
        candidate = parsed.strip().strip('"').strip()
        # Short upper-case words are codes as sent; anything longer is searched for a known code.
        if candidate.replace("_", "").isalnum() and candidate.upper() == candidate and len(candidate) <= 64:
            return candidate
        for code in _KNOWN_CODES:
            if code in candidate:
                return code
    return ""


def error_for_status(status: int, code: str, *, retry_after: float | None = None) -> AppleError:
    """The typed error for a non-retried failing answer (status and Apple code)."""
    cls = _CODE_CLASSES.get(code)
    if cls is None:
        if status == 404:
            cls = NotFound
        elif status == 403:
            cls = AccessDenied
        elif status == 429:
            cls = Throttled
        elif status >= 500:
            cls = AppleServerError
        elif 400 <= status < 500:
            cls = BadRequest
        else:
            cls = MalformedResponse
    return cls(status=status, code=code, retry_after=retry_after)
