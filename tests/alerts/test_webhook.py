"""The signed webhook over real HTTP, and its retry policy run eagerly (no worker, no waiting)."""

import pytest

from overview.alerts.services import WebhookDeliveryError, WebhookRejected, alert_webhook_send
from overview.alerts.tasks import WEBHOOK_MAX_RETRIES, alert_webhook_send_task
from tests.alerts.conftest import SECRET, closed_port

pytestmark = pytest.mark.django_db

PAYLOAD = {"event": "alert", "delivery_id": "d-1", "key": "token_expired:1:2030-01-01", "level": "critical"}


def test_the_body_is_signed_with_the_secret(webhook_receiver, notify_by):
    receiver = webhook_receiver()
    notify_by(webhook=receiver.url)
    assert alert_webhook_send(PAYLOAD) is True
    (delivery,) = receiver.deliveries
    assert delivery.json == PAYLOAD
    assert delivery.signed_with(SECRET)
    assert not delivery.signed_with("another-secret-of-some-length")
    assert delivery.headers["X-DEPPortal-Event"] == "alert"
    assert delivery.headers["X-DEPPortal-Delivery"] == "d-1"
    assert delivery.headers["Content-Type"] == "application/json"


def test_errors_say_the_host_but_not_the_url(webhook_receiver, notify_by):
    receiver = webhook_receiver(default=503)
    notify_by(webhook=receiver.url)
    with pytest.raises(WebhookDeliveryError) as failed:
        alert_webhook_send(PAYLOAD)
    assert str(failed.value) == "The webhook at 127.0.0.1 answered HTTP 503."
    assert not isinstance(failed.value, WebhookRejected)


def test_unreachable_receiver_is_a_delivery_error(notify_by):
    notify_by(webhook=f"http://127.0.0.1:{closed_port()}/hook/with-a-path-secret")
    with pytest.raises(WebhookDeliveryError) as failed:
        alert_webhook_send(PAYLOAD)
    assert "path-secret" not in str(failed.value)


def test_turned_off_webhook_sends_nothing(webhook_receiver, notify_by):
    receiver = webhook_receiver()
    notify_by(email=["mdm@example.com"])
    assert alert_webhook_send(PAYLOAD) is False
    assert receiver.deliveries == []


def test_server_errors_are_retried_a_bounded_number_of_times(webhook_receiver, notify_by):
    receiver = webhook_receiver(default=500)
    notify_by(webhook=receiver.url)
    result = alert_webhook_send_task.apply(args=[PAYLOAD])
    assert result.failed()
    assert isinstance(result.result, WebhookDeliveryError)
    assert len(receiver.deliveries) == 1 + WEBHOOK_MAX_RETRIES
    assert {delivery.body for delivery in receiver.deliveries} == {receiver.deliveries[0].body}


def test_a_refusal_is_not_retried(webhook_receiver, notify_by):
    receiver = webhook_receiver(default=400)
    notify_by(webhook=receiver.url)
    result = alert_webhook_send_task.apply(args=[PAYLOAD])
    assert result.failed() and isinstance(result.result, WebhookRejected)
    assert len(receiver.deliveries) == 1


def test_throttling_is_retried_until_accepted(webhook_receiver, notify_by):
    receiver = webhook_receiver(statuses=[429, 502], default=204)
    notify_by(webhook=receiver.url)
    assert alert_webhook_send_task.apply(args=[PAYLOAD]).successful()
    assert [delivery.status for delivery in receiver.deliveries] == [429, 502, 204]
