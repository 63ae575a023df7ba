"""Health alerts of VPP tokens, computed from their state (never stored, so they cannot go stale)."""

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from depportal.core.alerts import CRITICAL, WARNING, Alert, expiry_level
from devices.models import Device
from profiles.assignment import FAILED, MAX_ATTEMPTS, THROTTLED
from profiles.models import VppToken

LOW_LICENSES_WARNING = 10


def vpp_token_alerts(vpp_token: VppToken) -> list[Alert]:
    """Expired or expiring token, no or few Company Portal licenses left; most urgent first."""

    def alert(code: str, level: str, message: str) -> Alert:
        # The expiry date or licence count is in the key: a renewal or a new shortage alerts again.
        situation = f"{vpp_token.expires_at:%Y-%m-%d}" if "expir" in code else str(vpp_token.licenses_left)
        return Alert(
            code=code,
            level=level,
            message=message,
            subject="vpp_token",
            subject_id=vpp_token.pk,
            subject_name=str(vpp_token),
            key=f"{code}:{vpp_token.pk}:{situation}",
        )

    alerts = []
    days = vpp_token.days_until_expiry
    if vpp_token.is_expired:
        alerts.append(
            alert(
                "vpp_token_expired",
                CRITICAL,
                f"The VPP token {vpp_token} expired on {vpp_token.expires_at:%Y-%m-%d}: devices of profiles that "
                "install Company Portal with it are blocked. Upload a renewed token from Apple.",
            )
        )
    elif (level := expiry_level(days)) is not None:
        alerts.append(
            alert(
                "vpp_token_expiring",
                level,
                f"The VPP token {vpp_token} expires in {days} day{'s' if days != 1 else ''} "
                f"({vpp_token.expires_at:%Y-%m-%d}). Renew it at Apple and upload the new file.",
            )
        )
    left = vpp_token.licenses_left
    if left <= 0:
        alerts.append(
            alert(
                "vpp_licenses_exhausted",
                CRITICAL,
                f"The VPP token {vpp_token} has no Company Portal licenses left: devices will be blocked. "
                "Buy more licenses at Apple.",
            )
        )
    elif left < LOW_LICENSES_WARNING:
        alerts.append(
            alert(
                "vpp_licenses_low",
                WARNING,
                f"The VPP token {vpp_token} has only {left} Company Portal license{'s' if left != 1 else ''} left.",
            )
        )
    return alerts


def with_gave_up_devices(tokens: QuerySet) -> QuerySet:
    """Tokens annotated with `gave_up_devices`: their devices whose profile assignment Apple refused through
    every retry. A subquery in the tokens' own query, so the alerts of every page cost one query, not two."""
    gave_up = (
        Device.objects.filter(
            token_id=OuterRef("pk"),
            assignment_result__in=[FAILED, THROTTLED],
            assignment_retry_at__isnull=True,
            assignment_attempts__gte=MAX_ATTEMPTS,
            deleted_here_at__isnull=True,
        )
        .order_by()
        .values("token_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return tokens.annotate(gave_up_devices=Coalesce(Subquery(gave_up), 0))


def assignment_alerts(tokens) -> list[Alert]:
    """Tokens (annotated by `with_gave_up_devices`) with devices whose profile assignment Apple refused for good."""
    return [
        Alert(
            code="assignment_failed",
            level=WARNING,
            message=(
                f"{token.gave_up_devices} device{'s' if token.gave_up_devices != 1 else ''} of {token} could not get "
                f"their profile at Apple after {MAX_ATTEMPTS} attempts. Open the token's devices, filter by "
                "assignment result, and assign again (or check the devices in Apple Business Manager)."
            ),
            subject="token",
            subject_id=token.pk,
            subject_name=str(token),
            key=f"assignment_failed:{token.pk}",
        )
        for token in tokens
        if token.gave_up_devices
    ]
