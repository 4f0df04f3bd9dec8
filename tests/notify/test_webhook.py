"""The webhook channel against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading

import pytest

from calmline.errors import NotifyError
from calmline.notify import Notification, WebhookChannel, verify
from tests.notify.helpers import T0, incident, payload
from tests.notify.receivers import WebhookReceiver, free_port, webhook_receiver

SECRET = "webhook-s3cret"


def notification(target: str, delivery_id: str = "17") -> Notification:
    return Notification(
        delivery_id=delivery_id,
        kind="incident",
        channel="webhook",
        target=target,
        payload=payload(3, incident()),
        created_at=T0,
        incident_id=3,
    )


def channel(url: str, timeout: float = 5.0) -> WebhookChannel:
    return WebhookChannel(url, SECRET, timeout_seconds=timeout)


def test_posts_the_signed_json_payload_with_the_delivery_id(receiver: WebhookReceiver) -> None:
    sent = notification(receiver.url)
    channel(receiver.url).deliver(sent)
    (request,) = receiver.requests
    assert request.path == "/hooks/calmline?token=t0k3n"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Calmline-Delivery"] == "17"
    assert request.headers["X-Calmline-Kind"] == "incident"
    assert verify(request.body, SECRET, request.headers["X-Calmline-Signature"])
    assert json.loads(request.body) == sent.payload
    assert request.body == sent.body()


def test_the_body_is_the_same_bytes_on_every_attempt(receiver: WebhookReceiver) -> None:
    receiver.fail_first = 1
    with pytest.raises(NotifyError):
        channel(receiver.url).deliver(notification(receiver.url))
    channel(receiver.url).deliver(notification(receiver.url))
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["X-Calmline-Signature"] == second.headers["X-Calmline-Signature"]


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_any_status_but_2xx_is_a_failure_with_the_status(status: int) -> None:
    with (
        webhook_receiver(fail_first=1, failing_status=status) as server,
        pytest.raises(NotifyError) as caught,
    ):
        channel(server.url).deliver(notification(server.url))
    assert caught.value.message.startswith(f"HTTP {status}")
    assert "t0k3n" not in caught.value.message


def test_redirects_are_not_followed() -> None:
    with webhook_receiver() as elsewhere, webhook_receiver(redirect_to=elsewhere.url) as server:
        with pytest.raises(NotifyError, match=r"HTTP 302.*not followed"):
            channel(server.url).deliver(notification(server.url))
        assert elsewhere.requests == []


def test_a_closed_port_is_a_connection_failure() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(NotifyError, match="connection refused"):
        channel(url).deliver(notification(url))


def test_a_receiver_that_does_not_answer_in_time_is_a_failure() -> None:
    with (
        webhook_receiver(stall=threading.Event()) as server,
        pytest.raises(NotifyError, match=r"no answer within 0\.2 s"),
    ):
        channel(server.url, timeout=0.2).deliver(notification(server.url))


def test_proxies_from_the_environment_are_not_used(
    receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    channel(receiver.url).deliver(notification(receiver.url))
    assert len(receiver.accepted) == 1


@pytest.mark.parametrize(
    ("url", "secret", "expected"),
    [
        ("https://hooks.example.test/x", "", "CALMLINE_NOTIFY__WEBHOOK_SECRET"),
        ("ftp://hooks.example.test/x", SECRET, "CALMLINE_NOTIFY__WEBHOOK_URL"),
        ("hooks.example.test/x", SECRET, "CALMLINE_NOTIFY__WEBHOOK_URL"),
        ("https:///no-host", SECRET, "CALMLINE_NOTIFY__WEBHOOK_URL"),
    ],
)
def test_misconfiguration_is_refused_up_front(url: str, secret: str, expected: str) -> None:
    with pytest.raises(NotifyError, match=expected):
        WebhookChannel(url, secret, timeout_seconds=1)


def test_describe_hides_the_path_and_query() -> None:
    shown = channel("https://user:pw@hooks.example.test:8443/T000/B000/XXXX?token=abc").describe()
    assert "hooks.example.test:8443" in shown
    for secret in ("pw", "T000", "XXXX", "abc", "user"):
        assert secret not in shown
