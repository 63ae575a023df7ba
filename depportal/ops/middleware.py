"""Answers the operational endpoints before host validation and the HTTPS redirect.

Probes and Prometheus reach the container by its internal address (127.0.0.1, web:8000) over plain HTTP,
which ALLOWED_HOSTS and SECURE_SSL_REDIRECT would refuse. These endpoints build no URLs from the Host
header, so skipping those two checks for them is safe; /metrics keeps its own bearer-token check.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from depportal.ops import counters
from depportal.ops.health import healthz, readyz


class OpsMiddleware:
    """Serves /healthz, /readyz and /metrics; counts the requests the portal refuses with 429."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        # Named in settings, like ROOT_URLCONF: the metrics read every app, and this layer sits below them.
        self.routes = {"/healthz": healthz, "/readyz": readyz, "/metrics": import_string(settings.METRICS_VIEW)}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = self.routes.get(request.path_info.rstrip("/") or "/")
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        response = self.get_response(request)
        if response.status_code == 429:
            counters.refused_request_counted(_kind_of(request.path_info))
        return response


def _kind_of(path: str) -> str:
    # A label per kind of endpoint, not per URL: ids would make one time series per token.
    if path.rstrip("/").endswith("/sync"):
        return "sync"
    return "other"
