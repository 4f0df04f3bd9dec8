"""The tables keep what they are given: aware date-times, JSON, and their constraints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from calmline.store.models import Conversation, Event, Incident, Notification
from tests.store.helpers import T0, conversation_row


def _event(conversation: Conversation, event_id: str, seq: int) -> Event:
    return Event(
        conversation=conversation,
        event_id=event_id,
        seq=seq,
        kind="customer_message",
        at=T0,
        text="Where is my parcel?",
        guidance={"state": "calm"},
        created_at=T0,
    )


def _incident(conversation: Conversation) -> Incident:
    return Incident(
        conversation=conversation,
        reason="protocol_end",
        opened_at=T0,
        closed_at=T0,
        data={},
        summary="",
        created_at=T0,
    )


def _outbox(incident: Incident | None, channel: str = "log", target: str = "x") -> Notification:
    return Notification(
        incident=incident,
        kind="incident",
        channel=channel,
        target=target,
        payload={},
        next_attempt_at=T0,
        created_at=T0,
    )


def test_date_times_come_back_aware_and_in_utc(sessions: sessionmaker[Session]) -> None:
    paris = timezone(timedelta(hours=1))
    when = datetime(2026, 11, 30, 11, 30, 15, 123456, tzinfo=paris)
    with sessions.begin() as session:
        session.add(conversation_row("c1", created_at=when, last_event_at=when))
    with sessions() as session:
        row = session.scalars(sa.select(Conversation)).one()
    assert row.created_at == when
    assert row.created_at.utcoffset() == timedelta(0)
    assert row.last_event_at == datetime(2026, 11, 30, 10, 30, 15, 123456, tzinfo=UTC)


def test_date_times_compare_as_instants_in_queries(sessions: sessionmaker[Session]) -> None:
    tokyo = timezone(timedelta(hours=9))
    with sessions.begin() as session:
        session.add(conversation_row("early", created_at=T0))
        session.add(conversation_row("late", created_at=T0 + timedelta(hours=2)))
    # 20:00 in Tokyo is 11:00 UTC: only the later conversation is after it.
    since = datetime(2026, 11, 30, 20, 0, tzinfo=tokyo)
    with sessions() as session:
        found = session.scalars(
            sa.select(Conversation.external_id).where(Conversation.created_at > since)
        ).all()
    assert found == ["late"]


def test_naive_date_times_are_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive date-time"), sessions.begin() as session:
        session.add(conversation_row("c1", created_at=datetime(2026, 11, 30, 10, 0)))


def test_json_keeps_text_in_any_script(sessions: sessionmaker[Session]) -> None:
    guidance = {"quote": "Ça suffit ! 🙄 “ne criez pas”", "scores": [0.5, 1], "none": None}
    with sessions.begin() as session:
        conversation = conversation_row("c1")
        event = _event(conversation, "e1", 1)
        event.guidance = guidance
        session.add(event)
    with sessions() as session:
        assert session.scalars(sa.select(Event.guidance)).one() == guidance


@pytest.mark.parametrize(
    "duplicate",
    [("e1", 2), ("e2", 1)],
    ids=["same event id", "same seq"],
)
def test_an_event_id_and_a_seq_occur_once_per_conversation(
    sessions: sessionmaker[Session], duplicate: tuple[str, int]
) -> None:
    with sessions.begin() as session:
        conversation = conversation_row("c1")
        session.add(_event(conversation, "e1", 1))
        # the same id and seq in another conversation is fine
        session.add(_event(conversation_row("c2"), "e1", 1))
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as session:
        conversation = session.scalars(
            sa.select(Conversation).where(Conversation.external_id == "c1")
        ).one()
        session.add(_event(conversation, *duplicate))


def test_one_incident_per_conversation(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        conversation = conversation_row("c1")
        session.add(_incident(conversation))
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as session:
        conversation = session.scalars(sa.select(Conversation)).one()
        session.add(_incident(conversation))


def test_one_outbox_row_per_incident_channel_and_target(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        incident = _incident(conversation_row("c1"))
        session.add(_outbox(incident, "log", "calmline.notify"))
        session.add(_outbox(incident, "webhook", "http://127.0.0.1:8080/hook"))
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as session:
        incident = session.scalars(sa.select(Incident)).one()
        session.add(_outbox(incident, "log", "calmline.notify"))


def test_new_outbox_rows_are_pending_with_no_attempts(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(_outbox(None))
    with sessions() as session:
        row = session.scalars(sa.select(Notification)).one()
    assert (row.status, row.attempts, row.delivered_at) == ("pending", 0, None)


@pytest.mark.parametrize(("column", "value"), [("channel", "sms"), ("status", "lost")])
def test_outbox_channel_and_status_are_checked(
    sessions: sessionmaker[Session], column: str, value: str
) -> None:
    row = _outbox(None)
    setattr(row, column, value)
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as session:
        session.add(row)


def test_foreign_keys_are_enforced(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as session:
        session.execute(
            sa.insert(Notification).values(
                incident_id=12345,
                kind="incident",
                channel="log",
                target="x",
                payload={},
                next_attempt_at=T0,
                created_at=T0,
            )
        )
