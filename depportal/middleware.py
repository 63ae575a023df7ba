"""Request bounds and the Content-Security-Policy, for every page of the console and the API."""

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

NUL_REFUSED = "NUL characters (\\0) are not allowed in an address or a search."


class RequestBoundsMiddleware:
    """Refuses addresses no view could answer: a NUL character in the path or the query string.

    PostgreSQL cannot hold NUL in text, so a search for one failed deep in the database with a server error.
    Refusing it here covers every search box and filter of the console and the API at once.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"error": "invalid", "detail": NUL_REFUSED, "fields": {}}, status=400)
            return render(request, "400.html", {"message": NUL_REFUSED}, status=400)
        return self.get_response(request)


# Scripts only from our own static files or an inline block carrying this response's nonce, so markup
# injected into a page cannot run. Styles only from our stylesheet: no page writes a style attribute or a
# <style> block, and htmx is told not to add its indicator styles (base.html).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Gives each request a nonce (`request.csp_nonce`, for the templates' inline scripts) and the header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(nonce=request.csp_nonce))
        return response
