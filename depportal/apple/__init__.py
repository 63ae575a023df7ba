"""Apple DEP web-service client, its typed errors and the shared rate limiter."""

from .client import AssignResult, DEPClient, DevicePage
from .errors import (
    AccessDenied,
    AppleError,
    AppleServerError,
    AuthenticationFailed,
    BadRequest,
    CursorError,
    CursorExhausted,
    CursorExpired,
    CursorInvalid,
    DeadlineExceeded,
    MalformedResponse,
    NetworkError,
    NotFound,
    SessionRejected,
    TermsNotSigned,
    Throttled,
)

__all__ = [
    "AccessDenied",
    "AppleError",
    "AppleServerError",
    "AssignResult",
    "AuthenticationFailed",
    "BadRequest",
    "CursorError",
    "CursorExhausted",
    "CursorExpired",
    "CursorInvalid",
    "DEPClient",
    "DeadlineExceeded",
    "DevicePage",
    "MalformedResponse",
    "NetworkError",
    "NotFound",
    "SessionRejected",
    "TermsNotSigned",
    "Throttled",
]
