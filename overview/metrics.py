"""/metrics in the Prometheus text format, for the whole installation whichever process answers.

Counters several processes update come from the database (sync jobs, devices, alert deliveries) or from
Redis (Apple calls, refused requests: depportal/ops/counters.py), never from one process's memory.
Protected by DEPPORTAL_METRICS_TOKEN (a bearer token); unset, the endpoint does not exist (404).
"""

import hmac
import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from depportal.ops import counters

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS_S = (1, 5, 15, 30, 60, 120, 300, 600, 900)
# Celery on Redis: one list per priority step for the default queue (kombu's naming).
_QUEUE_KEYS = ("celery", "celery\x06\x163", "celery\x06\x166", "celery\x06\x169")


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float | int) -> str:
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


class Exposition:
    """Builds the text format: HELP and TYPE once per metric, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict, float | int]]) -> None:
        """Add one metric family with (labels, value) samples."""
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.sample(name, labels, value)

    def sample(self, name: str, labels: dict, value: float | int) -> None:
        """One sample line (for families whose samples carry suffixes, e.g. histogram _bucket)."""
        label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
        self.lines.append(f"{name}{{{label_text}}} {_number(value)}" if label_text else f"{name} {_number(value)}")

    def text(self) -> str:
        """The whole exposition, newline terminated."""
        return "\n".join(self.lines) + "\n"


def _sync_metrics(out: Exposition) -> None:
    from syncjobs.models import SyncJob

    rows = SyncJob.objects.values("kind", "state").annotate(n=Count("pk")).order_by("kind", "state")
    out.metric(
        "depportal_sync_jobs_total",
        "counter",
        "Sync jobs by kind and state (outcome once finished).",
        (({"kind": row["kind"], "state": row["state"]}, row["n"]) for row in rows),
    )
    totals = SyncJob.objects.aggregate(
        added=Sum("devices_added"),
        modified=Sum("devices_modified"),
        removed=Sum("devices_removed"),
        unchanged=Sum("devices_unchanged"),
    )
    out.metric(
        "depportal_devices_synced_total",
        "counter",
        "Device records received from Apple by sync, by what they changed here.",
        (({"change": change}, value or 0) for change, value in totals.items()),
    )
    _duration_histogram(out)


def _duration_histogram(out: Exposition) -> None:
    from syncjobs.models import SyncJob, SyncState

    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    buckets = {f"le_{b}": Count("pk", filter=Q(d__lte=timedelta(seconds=b))) for b in DURATION_BUCKETS_S}
    rows = (
        SyncJob.objects.filter(started_at__isnull=False, finished_at__isnull=False)
        .exclude(state__in=[SyncState.QUEUED, SyncState.RUNNING])
        .annotate(d=duration)
        .values("kind")
        .annotate(n=Count("pk"), total=Sum("d"), **buckets)
        .order_by("kind")
    )
    name = "depportal_sync_duration_seconds"
    out.lines.append(f"# HELP {name} Wall time of finished sync jobs, from start to end.")
    out.lines.append(f"# TYPE {name} histogram")
    for row in rows:
        for bound in DURATION_BUCKETS_S:
            out.sample(f"{name}_bucket", {"kind": row["kind"], "le": bound}, row[f"le_{bound}"])
        out.sample(f"{name}_bucket", {"kind": row["kind"], "le": "+Inf"}, row["n"])
        out.sample(f"{name}_sum", {"kind": row["kind"]}, (row["total"] or timedelta()).total_seconds())
        out.sample(f"{name}_count", {"kind": row["kind"]}, row["n"])


def _active_jobs(out: Exposition) -> None:
    from syncjobs.models import ACTIVE_STATES, SyncJob

    counts = dict(
        SyncJob.objects.filter(state__in=ACTIVE_STATES).values_list("state").annotate(n=Count("pk")).order_by()
    )
    out.metric(
        "depportal_sync_jobs_active",
        "gauge",
        "Sync jobs queued or running now.",
        (({"state": state}, counts.get(state, 0)) for state in ACTIVE_STATES),
    )


def _apple_metrics(out: Exposition) -> None:
    requests_by = counters.read_counters(counters.APPLE_REQUESTS)
    out.metric(
        "depportal_apple_requests_total",
        "counter",
        "HTTP exchanges with Apple's DEP service by method, endpoint and status (0: no answer).",
        (({"method": m, "endpoint": p, "status": s}, n) for (m, p, s), n in sorted(requests_by.items())),
    )
    errors = counters.read_counters(counters.APPLE_ERRORS)
    out.metric(
        "depportal_apple_errors_total",
        "counter",
        "Failed exchanges with Apple by endpoint, status and Apple's error code (or the network error).",
        (({"endpoint": p, "status": s, "code": c}, n) for (p, s, c), n in sorted(errors.items())),
    )
    throttled = sum(n for (_, _, status), n in requests_by.items() if status == "429")
    out.metric("depportal_apple_throttled_total", "counter", "Requests Apple answered 429.", [({}, throttled)])
    refused = counters.read_counters(counters.REFUSED)
    out.metric(
        "depportal_requests_refused_total",
        "counter",
        "Requests the portal refused with 429 under its throttle rules, by endpoint kind.",
        (({"endpoint": kind}, n) for (kind,), n in sorted(refused.items())),
    )


def _queue_metrics(out: Exposition) -> None:
    broker = getattr(settings, "CELERY_BROKER_URL", "")
    if not broker.startswith(("redis://", "rediss://")):
        return
    import redis

    client = redis.Redis.from_url(broker, socket_timeout=3, socket_connect_timeout=3)
    try:
        pipe = client.pipeline(transaction=False)
        for key in _QUEUE_KEYS:
            pipe.llen(key)
        pipe.hlen("unacked")
        *lengths, unacked = pipe.execute()
    finally:
        client.close()
    out.metric(
        "depportal_queue_depth", "gauge", "Tasks waiting in the Celery queue.", [({"queue": "celery"}, sum(lengths))]
    )
    out.metric(
        "depportal_queue_unacked", "gauge", "Tasks taken by a worker and not yet acknowledged.", [({}, unacked)]
    )


def _token_metrics(out: Exposition) -> None:
    from tokens.models import EnrollmentProgramToken, TokenState

    states = dict(EnrollmentProgramToken.objects.values_list("state").annotate(n=Count("pk")).order_by())
    out.metric(
        "depportal_tokens",
        "gauge",
        "Enrollment program tokens by state.",
        (({"state": state}, states.get(state, 0)) for state in TokenState.values),
    )
    now = timezone.now()
    tokens = (
        EnrollmentProgramToken.objects.exclude(state=TokenState.PENDING)
        .filter(access_token_expiry__isnull=False)
        .values_list("pk", "name", "access_token_expiry", "device_count")
        .order_by("pk")
    )
    rows = list(tokens)
    out.metric(
        "depportal_token_days_to_expiry",
        "gauge",
        "Days until each token's server token expires (negative: expired).",
        (
            ({"token_id": pk, "token": name}, round((expiry - now).total_seconds() / 86400, 2))
            for pk, name, expiry, _ in rows
        ),
    )
    out.metric(
        "depportal_token_devices",
        "gauge",
        "Devices assigned to each token at its last successful sync.",
        (({"token_id": pk, "token": name}, count) for pk, name, _, count in rows),
    )


def _alert_metrics(out: Exposition) -> None:
    from overview.alerts.models import AlertDelivery
    from overview.alerts.selectors import alert_list_all

    current: dict[tuple[str, str], int] = {}
    for alert in alert_list_all():
        current[(alert.code, alert.level)] = current.get((alert.code, alert.level), 0) + 1
    out.metric(
        "depportal_alerts",
        "gauge",
        "Current alerts by code and level.",
        (({"code": code, "level": level}, n) for (code, level), n in sorted(current.items())),
    )
    sent = AlertDelivery.objects.values_list("level").annotate(n=Count("pk")).order_by("level")
    out.metric(
        "depportal_alert_notifications_total",
        "counter",
        "Alerts sent out by email or webhook, by level.",
        (({"level": level}, n) for level, n in sent),
    )


def _redis_metrics(out: Exposition) -> None:
    # Redis down must not hide the database-derived metrics: report it as a gauge instead of failing the scrape.
    try:
        section = Exposition()
        _apple_metrics(section)
        _queue_metrics(section)
    except Exception as exc:  # noqa: BLE001 - any Redis failure
        logger.warning("metrics: Redis unavailable (%s); Apple and queue metrics left out", type(exc).__name__)
        out.metric("depportal_metrics_redis_up", "gauge", "Whether Redis answered this scrape.", [({}, 0)])
        return
    out.lines.extend(section.lines)
    out.metric("depportal_metrics_redis_up", "gauge", "Whether Redis answered this scrape.", [({}, 1)])


def render_metrics() -> str:
    """Every metric of the installation in the Prometheus text format."""
    out = Exposition()
    _sync_metrics(out)
    _active_jobs(out)
    _redis_metrics(out)
    _token_metrics(out)
    _alert_metrics(out)
    return out.text()


def _authorized(request: HttpRequest, expected: str) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics for a scraper holding DEPPORTAL_METRICS_TOKEN; 404 when metrics are off."""
    expected = getattr(settings, "DEPPORTAL_METRICS_TOKEN", "")
    if not expected:
        return HttpResponse("Not Found\n", status=404, content_type="text/plain")
    if not _authorized(request, expected):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE)
