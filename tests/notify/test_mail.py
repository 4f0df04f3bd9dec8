"""The email channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from calmline.errors import NotifyError
from calmline.notify import EmailChannel, Notification
from tests.notify.conftest import Certificate
from tests.notify.helpers import (
    AGENT_WARNING,
    CUSTOMER_MESSAGE,
    KEY_POINT,
    T0,
    incident,
    payload,
)
from tests.notify.receivers import LOCALHOST, free_port, password_check, smtp_server

MANAGERS = ("lead@example.test", "qa@example.test")


def notification(target: str = ", ".join(MANAGERS), **changes: Any) -> Notification:
    fields: dict[str, Any] = {
        "delivery_id": "23",
        "kind": "incident",
        "channel": "email",
        "target": target,
        "payload": payload(5, incident()),
        "created_at": T0,
        "incident_id": 5,
    }
    fields.update(changes)
    return Notification(**fields)


def channel(port: int, **options: Any) -> EmailChannel:
    settings: dict[str, Any] = {
        "host": LOCALHOST,
        "port": port,
        "sender": "calmline@example.test",
        "recipients": MANAGERS,
        "timeout_seconds": 5,
    }
    settings.update(options)
    return EmailChannel(**settings)


def test_the_manager_gets_a_plain_text_email_naming_the_reason() -> None:
    with smtp_server() as inbox:
        channel(inbox.port).deliver(notification())
    (mail,) = inbox.mails
    assert mail.sender == "calmline@example.test"
    assert sorted(mail.recipients) == sorted(MANAGERS)
    message = mail.message
    assert message["To"] == ", ".join(MANAGERS)
    assert "ended through the protocol" in message["Subject"]
    assert "Ada Okafor" in message["Subject"] and "Sam Reyes" in message["Subject"]
    assert message["X-Calmline-Delivery"] == "23"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    flat = " ".join(body.split())
    record = incident()
    for needle in ("Ada Okafor", "cust-77", "Sam Reyes", "chat-1042", KEY_POINT, record.note):
        assert needle in flat, needle
    for step in ("D1", "D2", "D3", "D4", "D5"):
        assert step in body
    assert "2026-11-30 10:02:30 UTC" in body  # the repeated warning (D4), 150 s in
    assert "Every protocol step was taken" in body
    assert "refund of 120 GBP (100%)" in body and "public review" in body


def test_a_repeated_delivery_has_the_same_message_id() -> None:
    with smtp_server() as inbox:
        channel(inbox.port).deliver(notification())
        channel(inbox.port).deliver(notification())
    first, second = (m.message["Message-ID"] for m in inbox.mails)
    assert first == second and "23" in first


def test_after_a_safety_threat_the_skipped_steps_are_not_blamed() -> None:
    data = payload(5, incident(reason="safety_threat"))
    data["incident"]["steps_done"] = {"D1": False, "D2": False, "D3": False, "D4": False}
    with smtp_server() as inbox:
        channel(inbox.port).deliver(notification(payload=data))
    assert "Not taken" not in inbox.mails[0].message.get_content()


def test_the_email_carries_no_message_bodies() -> None:
    with smtp_server() as inbox:
        channel(inbox.port).deliver(notification())
    raw = inbox.mails[0].raw.decode("utf-8", "replace")
    body = inbox.mails[0].message.get_content()
    assert CUSTOMER_MESSAGE not in body and CUSTOMER_MESSAGE not in raw
    for step in incident().timeline:
        assert step.quote not in body, step.quote
    assert AGENT_WARNING not in raw


@pytest.mark.parametrize(
    ("reason", "subject"),
    [
        ("safety_threat", "threat to safety"),
        ("premature_end", "before the warnings were complete"),
        ("protocol_end", "ended through the protocol"),
    ],
)
def test_the_subject_names_the_reason(reason: str, subject: str) -> None:
    with smtp_server() as inbox:
        channel(inbox.port).deliver(notification(payload=payload(5, incident(reason=reason))))
    assert subject in inbox.mails[0].message["Subject"].lower()


def test_a_missed_step_is_named() -> None:
    record = incident(reason="premature_end")
    data = payload(5, record)
    data["incident"]["steps_done"] = {"D1": True, "D2": True, "D3": True, "D4": False, "D5": False}
    with smtp_server() as inbox:
        channel(inbox.port).deliver(notification(payload=data))
    assert "Not taken: D4 (repeated the warning), D5 (invited them back)" in (
        inbox.mails[0].message.get_content()
    )


def test_a_name_with_a_line_break_cannot_add_a_header() -> None:
    data = payload(5, incident(name="Eve\r\nBcc: someone@evil.test"))
    with smtp_server() as inbox:
        channel(inbox.port).deliver(notification(payload=data))
    (mail,) = inbox.mails
    assert mail.message["Bcc"] is None
    assert "someone@evil.test" not in mail.recipients


def test_the_target_of_the_row_decides_the_recipients() -> None:
    with smtp_server() as inbox:
        channel(inbox.port).deliver(notification(target="night-lead@example.test"))
    assert inbox.mails[0].recipients == ["night-lead@example.test"]


def test_a_refused_recipient_is_a_failure() -> None:
    with smtp_server() as inbox, pytest.raises(NotifyError, match="refused"):
        channel(inbox.port).deliver(notification(target="gone@refused.test"))
    assert inbox.mails == []


def test_no_server_is_a_connection_failure() -> None:
    with pytest.raises(NotifyError, match="connection refused"):
        channel(free_port()).deliver(notification())


def test_starttls_and_login(certificate: Certificate) -> None:
    server = smtp_server(
        tls_context=certificate.server_context(),
        authenticator=password_check("calmline", "mail-s3cret"),
    )
    with server as inbox:
        channel(
            inbox.port,
            starttls=True,
            username="calmline",
            password="mail-s3cret",
            ssl_context=certificate.client_context(),
        ).deliver(notification())
        assert len(inbox.mails) == 1
        with pytest.raises(NotifyError, match="SMTP 535") as caught:
            channel(
                inbox.port,
                starttls=True,
                username="calmline",
                password="wrong",
                ssl_context=certificate.client_context(),
            ).deliver(notification())
        assert "wrong" not in caught.value.message


def test_an_untrusted_certificate_is_a_failure(certificate: Certificate) -> None:
    with smtp_server(tls_context=certificate.server_context()) as inbox:
        with pytest.raises(NotifyError, match="TLS"):
            channel(inbox.port, starttls=True).deliver(notification())
        assert inbox.mails == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"recipients": ()}, "CALMLINE_NOTIFY__EMAIL_TO: email needs at least one recipient"),
        ({"recipients": ("not-an-address",)}, "CALMLINE_NOTIFY__EMAIL_TO: 'not-an-address'"),
        ({"sender": ""}, "CALMLINE_NOTIFY__EMAIL_FROM"),
        ({"host": " "}, "CALMLINE_NOTIFY__SMTP_HOST"),
        ({"username": "calmline"}, "set both to log in, or neither"),
        ({"username": "calmline", "password": "pw"}, "in the clear"),
    ],
)
def test_misconfiguration_is_refused_up_front(options: dict[str, Any], expected: str) -> None:
    with pytest.raises(NotifyError, match=expected):
        channel(25, **options)
