"""Celery tasks for alerts; the work is in services.

Beat runs alerts_notify_task hourly. Running it more often than the daily expiry check the issue asks
for costs one query over the tokens and sends nothing twice (deliveries are recorded per alert and
level), while a failed sync or unaccepted terms reach the admins within the hour instead of a day.
"""

from celery import shared_task

from overview.alerts import services

# Retries of a webhook wait at most 1, 2, 4 ... 512 s, then 900 s (full jitter), about 1.5 h in all.
# The cap stays well under the Redis visibility timeout (1 h), so a waiting retry is never redelivered.
WEBHOOK_MAX_RETRIES = 15
WEBHOOK_RETRY_BACKOFF_MAX_S = 900


@shared_task
def alerts_notify_task() -> dict:
    """Send the alerts not yet sent at their level (email and webhook)."""
    return services.alerts_notify()


@shared_task(
    autoretry_for=(services.WebhookDeliveryError,),
    dont_autoretry_for=(services.WebhookRejected,),
    retry_backoff=True,
    retry_backoff_max=WEBHOOK_RETRY_BACKOFF_MAX_S,
    retry_jitter=True,
    max_retries=WEBHOOK_MAX_RETRIES,
)
def alert_webhook_send_task(payload: dict) -> None:
    """POST one alert to the webhook, retried with exponential backoff while the receiver fails."""
    services.alert_webhook_send(payload)
