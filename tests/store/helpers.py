"""Rows, events and incidents for the storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from calmline.coach.events import Incident, KeyPoint, ProtocolStep
from calmline.store import models

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """``seconds`` after the start of the test conversation."""
    return T0 + timedelta(seconds=seconds)


def conversation_row(external_id: str, **values: object) -> models.Conversation:
    fields: dict[str, object] = {
        "external_id": external_id,
        "channel": "chat",
        "created_at": T0,
        "state": "calm",
        "protocol_stage": "none",
    }
    fields.update(values)
    return models.Conversation(**fields)


def sample_incident(
    conversation_id: str = "chat-1",
    *,
    customer_name: str | None = "Dana Whitfield",
    customer_id: str | None = "C-1042",
    agent: str | None = "Sam Okafor",
    reason: str = "protocol_end",
    closed_at: datetime = T0 + timedelta(minutes=7),
) -> Incident:
    """An incident as the coach writes it, with the names where real ones turn up."""
    first, *rest = (customer_name or "the customer").split()
    last = rest[-1] if rest else first
    agent_first = (agent or "your agent").split()[0]
    return Incident(
        conversation_id=conversation_id,
        customer_name=customer_name,
        customer_id=customer_id,
        agent=agent,
        reason=reason,
        opened_at=T0,
        closed_at=closed_at,
        key_points=(
            KeyPoint(
                quote=f"This is {customer_name} and I want a full refund",
                signals=("demand",),
                at=T0,
                event_id="e1",
            ),
        ),
        demands=("a full refund",),
        threats=(),
        timeline=(
            ProtocolStep(
                step="D1",
                stage="made_aware",
                at=T0 + timedelta(minutes=1),
                event_id="e2",
                quote=f"{first}, I want to help, but do you realise you are shouting at me?",
            ),
            ProtocolStep(
                step="D5",
                stage="ended",
                at=closed_at,
                event_id="e9",
                quote=f"{agent_first} here: please get in touch when you are ready, Ms {last}.",
            ),
        ),
        steps_done={"D1": True, "D2": True, "D3": True, "D4": True, "D5": True},
        note=f"{customer_name} shouted after the refund was refused; {agent} kept to the protocol.",
    )


def store_incident(
    sessions: sessionmaker[Session],
    incident: Incident,
    *,
    acknowledged_by: str | None = None,
) -> int:
    """Write ``incident`` (and its conversation) straight to the tables; its id."""
    with sessions.begin() as session:
        conversation = conversation_row(
            incident.conversation_id,
            customer_id=incident.customer_id,
            customer_name=incident.customer_name,
            agent=incident.agent,
            closed_at=incident.closed_at,
        )
        row = models.Incident(
            conversation=conversation,
            customer_id=incident.customer_id,
            customer_name=incident.customer_name,
            agent=incident.agent,
            reason=incident.reason,
            opened_at=incident.opened_at,
            closed_at=incident.closed_at,
            data=incident.to_dict(),
            summary=incident.summary(),
            created_at=incident.closed_at,
            acknowledged_at=incident.closed_at + timedelta(hours=1) if acknowledged_by else None,
            acknowledged_by=acknowledged_by,
        )
        session.add(row)
        session.flush()
        return row.id
