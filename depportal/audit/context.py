"""Where the current request came from, so services can audit it without views passing it down."""

from contextvars import ContextVar

_source_ip: ContextVar[str | None] = ContextVar("audit_source_ip", default=None)


def current_source_ip() -> str | None:
    return _source_ip.get()


class AuditContextMiddleware:
    """Remember the client address of each request for the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _source_ip.set(request.META.get("REMOTE_ADDR") or None)
        try:
            return self.get_response(request)
        finally:
            _source_ip.reset(token)
