"""Reading and acknowledging incidents, and the other queries the service and the CLI share.

Functions here take an open session and leave committing to the caller; the service and the
``calmline incidents`` commands wrap them in a transaction and turn database failures into
StoreErrors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from calmline.errors import InputError, UnknownConversation, UnknownIncident
from calmline.store import models
from calmline.store.models import NAME_CHARS
from calmline.store.records import StoredConversation, StoredEvent, StoredIncident


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Which incidents to list: all of them unless narrowed."""

    #: a customer id, or a customer name (any case)
    customer: str | None = None
    #: incidents that ended at or after this time
    since: datetime | None = None
    #: only those no manager has acknowledged yet
    unacknowledged: bool = False
    #: at most this many, newest first
    limit: int | None = None
    #: only this team's (the team of the incident's conversation)
    team: str | None = None
    #: only this agent's
    agent: str | None = None

    def __post_init__(self) -> None:
        for name in ("customer", "team", "agent"):
            value = getattr(self, name)
            if value is not None:
                problem = unstorable(value) if isinstance(value, str) else "is not text"
                if problem:
                    raise InputError(f"{name}: {value!r} {problem}")
        if self.since is not None and self.since.utcoffset() is None:
            raise InputError(f"since: {self.since.isoformat()} has no time zone")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit: {self.limit} is not a positive number")


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored the same way on every backend (None when it can):
    PostgreSQL refuses NUL characters, and no backend takes unpaired surrogates."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (it has an unpaired surrogate)"
    return None


def check_text(value: object, what: str, limit: int) -> str:
    """``value`` stripped, or an InputError naming ``what`` when it is not a non-empty string
    of at most ``limit`` characters that every backend can store."""
    if not isinstance(value, str):
        raise InputError(f"{what}: expected a string, got {type(value).__name__}")
    stripped = value.strip()
    if not stripped:
        raise InputError(f"{what}: empty")
    if len(stripped) > limit:
        raise InputError(f"{what}: {len(stripped)} characters; the limit is {limit}")
    problem = unstorable(stripped)
    if problem:
        raise InputError(f"{what}: {stripped!r} {problem}")
    return stripped


def conversation_row(session: Session, conversation_id: str) -> models.Conversation:
    row = session.scalars(
        sa.select(models.Conversation).where(models.Conversation.external_id == conversation_id)
    ).one_or_none()
    if row is None:
        raise UnknownConversation(f"no conversation {conversation_id!r}")
    return row


def get_conversation(session: Session, conversation_id: str) -> StoredConversation:
    return StoredConversation.from_row(conversation_row(session, conversation_id))


#: The most conversations one listing returns.
MAX_CONVERSATIONS = 1000


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    """Which conversations to list: the newest ``limit`` unless narrowed."""

    #: only this agent's (exactly)
    agent: str | None = None
    #: only this team's (exactly)
    team: str | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        for name in ("agent", "team"):
            value = getattr(self, name)
            if value is not None:
                problem = unstorable(value) if isinstance(value, str) else "is not text"
                if problem:
                    raise InputError(f"{name}: {value!r} {problem}")
        limit = self.limit
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_CONVERSATIONS
        ):
            raise InputError(f"limit: expected 1 to {MAX_CONVERSATIONS}, got {limit!r}")


def list_conversations(
    session: Session, where: ConversationFilter
) -> tuple[StoredConversation, ...]:
    """Conversations matching ``where``, the most recently opened first."""
    query = sa.select(models.Conversation)
    if where.agent is not None:
        query = query.where(models.Conversation.agent == where.agent)
    if where.team is not None:
        query = query.where(models.Conversation.team == where.team)
    query = query.order_by(
        models.Conversation.created_at.desc(), models.Conversation.id.desc()
    ).limit(where.limit)
    return tuple(StoredConversation.from_row(row) for row in session.scalars(query))


def list_events(session: Session, conversation_id: str) -> tuple[StoredEvent, ...]:
    conversation = conversation_row(session, conversation_id)
    rows = session.scalars(
        sa.select(models.Event)
        .where(models.Event.conversation_id == conversation.id)
        .order_by(models.Event.seq)
    )
    return tuple(StoredEvent.from_row(row) for row in rows)


#: Incidents with their conversation (for its external id) in the same query.
_INCIDENTS = sa.select(models.Incident).options(joinedload(models.Incident.conversation))


def _stored(row: models.Incident) -> StoredIncident:
    return StoredIncident.from_row(row, row.conversation.external_id)


def list_incidents(session: Session, where: IncidentFilter) -> tuple[StoredIncident, ...]:
    """Incidents matching ``where``, the most recently ended first."""
    query = _INCIDENTS
    if where.customer is not None:
        query = query.where(
            sa.or_(
                models.Incident.customer_id == where.customer,
                sa.func.lower(models.Incident.customer_name) == sa.func.lower(where.customer),
            )
        )
    if where.since is not None:
        query = query.where(models.Incident.closed_at >= where.since)
    if where.unacknowledged:
        query = query.where(models.Incident.acknowledged_at.is_(None))
    if where.team is not None:
        query = query.where(models.Incident.team == where.team)
    if where.agent is not None:
        query = query.where(models.Incident.agent == where.agent)
    query = query.order_by(models.Incident.closed_at.desc(), models.Incident.id.desc())
    if where.limit is not None:
        query = query.limit(where.limit)
    return tuple(_stored(row) for row in session.scalars(query))


#: Incident ids are 32-bit integers on PostgreSQL (64-bit on SQLite): a larger number names none.
MAX_INCIDENT_ID = 2**31 - 1


def _incident_id(incident_id: int) -> int:
    """``incident_id`` when a stored incident could have it, else UnknownIncident (a huge id
    from a URL or the command line would overflow the database's integer)."""
    if isinstance(incident_id, bool) or not isinstance(incident_id, int):
        raise UnknownIncident(f"no incident {incident_id!r}")
    if not 0 < incident_id <= MAX_INCIDENT_ID:
        raise UnknownIncident(f"no incident {incident_id}")
    return incident_id


def get_incident(session: Session, incident_id: int) -> StoredIncident:
    incident_id = _incident_id(incident_id)
    row = session.scalars(_INCIDENTS.where(models.Incident.id == incident_id)).one_or_none()
    if row is None:
        raise UnknownIncident(f"no incident {incident_id}")
    return _stored(row)


def acknowledge_incident(
    session: Session, incident_id: int, by: str, at: datetime
) -> StoredIncident:
    """Record that ``by`` (the line manager) has seen incident ``incident_id``.

    Acknowledging again by the same person changes nothing (a retried command is harmless);
    by someone else it is refused, so the first acknowledgement is never overwritten.
    """
    incident_id = _incident_id(incident_id)
    by = " ".join(by.split()) if isinstance(by, str) else ""
    if not by:
        raise InputError("acknowledged by: give the name of who acknowledges the incident")
    if len(by) > NAME_CHARS:
        raise InputError(f"acknowledged by: {len(by)} characters; the limit is {NAME_CHARS}")
    problem = unstorable(by)
    if problem:
        raise InputError(f"acknowledged by: the name {problem}")
    row = session.scalars(
        sa.select(models.Incident).where(models.Incident.id == incident_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise UnknownIncident(f"no incident {incident_id}")
    if row.acknowledged_at is not None:
        if row.acknowledged_by != by:
            raise InputError(
                f"incident {incident_id} was already acknowledged by {row.acknowledged_by} "
                f"at {row.acknowledged_at.isoformat()}"
            )
    else:
        row.acknowledged_at = at
        row.acknowledged_by = by
        session.flush()
    return get_incident(session, incident_id)


def last_incident_summary(
    session: Session, *, customer_id: str | None, customer_name: str | None
) -> str | None:
    """The summary of the customer's most recent incident: by id when known, else by name."""
    query = sa.select(models.Incident.summary)
    if customer_id:
        query = query.where(models.Incident.customer_id == customer_id)
    elif customer_name:
        query = query.where(
            sa.func.lower(models.Incident.customer_name) == sa.func.lower(customer_name)
        )
    else:
        return None
    query = query.order_by(models.Incident.closed_at.desc(), models.Incident.id.desc()).limit(1)
    return session.scalars(query).first()
