"""The log channel: one line with the ids and the reason; never what anyone wrote."""

from __future__ import annotations

import logging

import pytest

from calmline.notify import LogChannel, Notification
from tests.notify.helpers import AGENT_WARNING, KEY_POINT, T0, incident, payload


def notification(**changes: object) -> Notification:
    record = incident(reason="safety_threat", conversation="chat 7\nFAKE line")
    fields: dict[str, object] = {
        "delivery_id": "41",
        "kind": "incident",
        "channel": "log",
        "target": "calmline.notify",
        "payload": payload(9, record),
        "created_at": T0,
        "incident_id": 9,
    }
    fields.update(changes)
    return Notification(**fields)  # type: ignore[arg-type]


def test_one_warning_line_with_the_ids_and_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="calmline.notify"):
        LogChannel().deliver(notification())
    assert len(caplog.records) == 1
    record = caplog.records[0]
    assert record.name == "calmline.notify" and record.levelno == logging.WARNING
    line = record.getMessage()
    assert "\n" not in line
    for needle in ("notification 41", "incident 9", "reason safety_threat", "chat_7_FAKE_line"):
        assert needle in line, needle


def test_no_message_text_names_or_quotes(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        LogChannel().deliver(notification())
    text = caplog.text
    record = incident()
    for secret in (KEY_POINT, AGENT_WARNING, "Ada", "Okafor", record.note, "refund"):
        assert secret not in text, secret


def test_the_target_names_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="team.alerts"):
        LogChannel().deliver(notification(target="team.alerts"))
    assert [r.name for r in caplog.records] == ["team.alerts"]


def test_a_test_notification_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="calmline.notify"):
        LogChannel().deliver(notification(kind="test", payload={"kind": "test"}))
    assert "test notification 41" in caplog.text
