"""Outbox rows and incident payloads for the notification tests (inserted with the models)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from calmline.coach.events import Incident, KeyPoint, ProtocolStep
from calmline.store.models import Conversation
from calmline.store.models import Incident as IncidentRow
from calmline.store.models import Notification as Row

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)

#: What the customer wrote in full; only the short key point below may reach a notification.
CUSTOMER_MESSAGE = (
    "This is the THIRD time my parcel has gone missing and you lot keep lying to me, "
    "I want a full refund of 120 pounds today or I'm leaving reviews everywhere."
)
KEY_POINT = "I want a full refund of 120 pounds today"
#: The agent's words in the timeline: never in an email or a log line.
AGENT_WARNING = "Ms Okafor, if the swearing goes on I will have to end our chat."


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def incident(
    reason: str = "protocol_end", conversation: str = "chat-1042", name: str | None = "Ada Okafor"
) -> Incident:
    """A closed incident as the coach makes it."""
    steps = [
        ProtocolStep("D1", "made_aware", at(60), "e4", "Ada, I'd like to help. You are swearing."),
        ProtocolStep("D2", "asked_to_stop", at(90), "e6", "Please stop swearing at me."),
        ProtocolStep("D3", "warned", at(120), "e8", AGENT_WARNING),
        ProtocolStep("D4", "warned_again", at(150), "e10", AGENT_WARNING),
        ProtocolStep("D5", "invited_back", at(170), "e12", "Come back when you are ready."),
        ProtocolStep("end", "ended", at(171), "e13", "Goodbye for now."),
    ]
    return Incident(
        conversation_id=conversation,
        customer_name=name,
        customer_id="cust-77",
        agent="Sam Reyes",
        reason=reason,
        opened_at=at(0),
        closed_at=at(171),
        key_points=(KeyPoint(KEY_POINT, ("demand",), at(30), "e3"),),
        demands=("refund of 120 GBP (100%)",),
        threats=("public review",),
        timeline=tuple(steps),
        steps_done=dict.fromkeys(("D1", "D2", "D3", "D4", "D5"), True),
        note="The customer swore repeatedly about a missing parcel and was warned twice.",
    )


def payload(incident_id: int | None, record: Incident) -> dict[str, Any]:
    """The outbox payload for an incident, as the storage layer writes it."""
    return {
        "kind": "incident",
        "incident_id": incident_id,
        "conversation_id": record.conversation_id,
        "incident": record.to_dict(),
    }


def add_incident(sessions: sessionmaker[Session], record: Incident) -> int:
    """Store a conversation and its incident; the incident's id."""
    with sessions.begin() as session:
        conversation = Conversation(
            external_id=record.conversation_id,
            channel="chat",
            created_at=record.opened_at,
            customer_name=record.customer_name,
            customer_id=record.customer_id,
            agent=record.agent,
        )
        session.add(conversation)
        session.flush()
        row = IncidentRow(
            conversation_id=conversation.id,
            customer_id=record.customer_id,
            customer_name=record.customer_name,
            agent=record.agent,
            reason=record.reason,
            opened_at=record.opened_at,
            closed_at=record.closed_at,
            data=record.to_dict(),
            summary=record.summary(),
            created_at=record.closed_at,
        )
        session.add(row)
        session.flush()
        return row.id


def add_notifications(
    sessions: sessionmaker[Session],
    channel: str,
    target: str,
    count: int,
    *,
    created: datetime = T0,
    incidents: Sequence[int | None] | None = None,
    body: Any = None,
) -> list[int]:
    """``count`` pending outbox rows for one channel and target, created a second apart."""
    ids: list[int] = []
    with sessions.begin() as session:
        for n in range(count):
            incident_id = incidents[n] if incidents else None
            made = created + timedelta(seconds=n)
            row = Row(
                incident_id=incident_id,
                kind="incident",
                channel=channel,
                target=target,
                payload=body if body is not None else payload(incident_id, incident()),
                next_attempt_at=made,
                created_at=made,
            )
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


def rows(sessions: sessionmaker[Session]) -> dict[int, Row]:
    with sessions() as session:
        return {r.id: r for r in session.scalars(sa.select(Row).order_by(Row.id))}
