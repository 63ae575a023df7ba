"""Alerts through a real Celery worker: queued webhook tasks, retried with backoff, reach the receiver."""

import pytest

from overview.alerts.services import alerts_notify
from overview.alerts.tasks import alert_webhook_send_task
from tests.alerts.conftest import SECRET
from tests.plugins.celery_worker import wait_for

pytestmark = pytest.mark.usefixtures("celery_worker", "transactional_db")


def test_receiver_failing_twice_gets_the_alert_on_the_third_try(webhook_receiver, notify_by):
    receiver = webhook_receiver(statuses=[500, 500], default=200)
    notify_by(webhook=receiver.url)
    payload = {"event": "alert", "delivery_id": "d-7", "key": "terms_not_accepted:7", "level": "critical"}

    alert_webhook_send_task.delay(payload)

    wait_for(lambda: len(receiver.deliveries) >= 3)
    assert [delivery.status for delivery in receiver.deliveries] == [500, 500, 200]
    assert all(delivery.signed_with(SECRET) and delivery.json == payload for delivery in receiver.deliveries)


def test_notify_queues_one_signed_webhook_per_new_alert(onboard, admin_user, expire_in, webhook_receiver, notify_by):
    receiver = webhook_receiver()
    notify_by(webhook=receiver.url)
    soon = expire_in(onboard(admin_user, server_name="Soon"), 20)
    gone = expire_in(onboard(admin_user, server_name="Gone"), -1)

    assert alerts_notify()["webhooks_queued"] == 2
    wait_for(lambda: len(receiver.deliveries) >= 2)
    bodies = sorted((delivery.json for delivery in receiver.deliveries), key=lambda body: body["subject"]["name"])
    assert [(body["code"], body["level"], body["subject"]["id"]) for body in bodies] == [
        ("token_expired", "critical", gone.pk),
        ("token_expiring", "warning", soon.pk),
    ]
    assert bodies[1]["key"] == f"token_expiring:{soon.pk}:{soon.access_token_expiry:%Y-%m-%d}"
    assert bodies[1]["subject"]["url"] == f"/tokens/{soon.pk}/"
    assert all(delivery.signed_with(SECRET) for delivery in receiver.deliveries)

    expire_in(soon, 3)
    assert alerts_notify()["webhooks_queued"] == 1
    wait_for(lambda: len(receiver.deliveries) >= 3)
    assert (
        receiver.deliveries[2].json["level"] == "critical" and receiver.deliveries[2].json["subject"]["id"] == soon.pk
    )
