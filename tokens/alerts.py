"""Health alerts of tokens, computed from their state (never stored, so they cannot go stale)."""

from depportal.core.alerts import CRITICAL, WARNING, Alert, expiry_level
from tokens.models import EnrollmentProgramToken, TokenState


def token_alerts(token: EnrollmentProgramToken) -> list[Alert]:
    """What an admin must act on for this token, most urgent first."""
    if token.is_pending:
        return []

    def alert(code: str, level: str, message: str) -> Alert:
        return Alert(
            code=code,
            level=level,
            message=message,
            subject="token",
            subject_id=token.pk,
            subject_name=str(token),
            key=_key(code, token),
        )

    alerts = []
    days = token.days_until_expiry
    if token.is_expired:
        alerts.append(
            alert(
                "token_expired",
                CRITICAL,
                f"The token {token} expired on {token.access_token_expiry:%Y-%m-%d}: syncing and profile assignment "
                "stopped. Renew it with a new server token from Apple Business Manager.",
            )
        )
    elif (level := expiry_level(days)) is not None:
        alerts.append(
            alert(
                "token_expiring",
                level,
                f"The token {token} expires in {days} day{'s' if days != 1 else ''} "
                f"({token.access_token_expiry:%Y-%m-%d}). Renew it before then.",
            )
        )
    if token.state == TokenState.TERMS_NOT_ACCEPTED:
        alerts.append(
            alert(
                "terms_not_accepted",
                CRITICAL,
                f"Apple requires new terms and conditions to be accepted for {token}. Sign in to Apple Business "
                "Manager as an administrator and accept them; syncing resumes afterwards.",
            )
        )
    elif token.state == TokenState.ERROR:
        alerts.append(
            alert(
                "sync_failed",
                WARNING,
                f"The last sync of {token} failed: {token.last_error_message or 'see its sync history'}.",
            )
        )
    return alerts


def _key(code: str, token: EnrollmentProgramToken) -> str:
    if code in ("token_expiring", "token_expired"):
        return f"{code}:{token.pk}:{token.access_token_expiry:%Y-%m-%d}"
    if code == "sync_failed":
        return f"{code}:{token.pk}:{token.last_error_code or 'error'}"
    return f"{code}:{token.pk}"
