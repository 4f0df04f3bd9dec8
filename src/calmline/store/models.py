"""The stored tables: conversations, their events, incidents, the notification outbox, training,
API keys, live practice sessions and the saved playbook versions.

The same models run on SQLite and PostgreSQL. Date-times are stored in UTC and always come back
timezone-aware (SQLite has no time zones, so :class:`UTCDateTime` does the conversion); JSON
columns are ``JSONB`` on PostgreSQL and JSON text on SQLite. The Alembic migrations in
``migrations/versions`` must describe exactly these tables; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Constraint names are fixed so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Lengths of the text columns that hold ids and names (checked before writing, see service).
ID_CHARS = 200
NAME_CHARS = 200
CHANNEL_CHARS = 32
TARGET_CHARS = 1000

#: The notification channels and delivery states of the outbox.
NOTIFY_CHANNELS = ("webhook", "email", "log")
NOTIFY_STATUSES = ("pending", "delivered")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware date-time, stored in UTC on every backend.

    Naive date-times are refused when written: a time without a zone is ambiguous, and
    guessing would shift events by hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive date-time {value.isoformat()} cannot be stored")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONDocument = JSON().with_variant(postgresql.JSONB(), "postgresql")

#: A 64-bit key on PostgreSQL; on SQLite only INTEGER PRIMARY KEY numbers rows itself.
BigKey = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDocument,
    }


class Conversation(Base):
    """One chat or call, known by the id its client gave it."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the client's id of the conversation
    external_id: Mapped[str] = mapped_column(String(ID_CHARS), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(ID_CHARS), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(NAME_CHARS))
    agent: Mapped[str | None] = mapped_column(String(NAME_CHARS))
    #: the agent's team: a manager's API key sees the conversations of its team
    team: Mapped[str | None] = mapped_column(String(NAME_CHARS), index=True)
    channel: Mapped[str] = mapped_column(String(CHANNEL_CHARS))
    created_at: Mapped[datetime]
    #: the time of the newest event (events older than it are refused)
    last_event_at: Mapped[datetime | None]
    event_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the customer's state after the newest event: calm, upset, abusive, unsafe
    state: Mapped[str] = mapped_column(String(16), default="calm")
    protocol_stage: Mapped[str] = mapped_column(String(64), default="none")
    closed_at: Mapped[datetime | None]
    #: the summary of the customer's previous incident shown to this conversation's agent
    history: Mapped[str | None] = mapped_column(Text)

    events: Mapped[list[Event]] = relationship(
        back_populates="conversation", order_by="Event.seq", passive_deletes=True
    )


class Event(Base):
    """One event of a conversation in the order it was taken, with the guidance it produced."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("conversation_id", "event_id"),
        UniqueConstraint("conversation_id", "seq"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    #: the client's id of the event, unique within its conversation
    event_id: Mapped[str] = mapped_column(String(ID_CHARS))
    #: 1, 2, 3 ... within the conversation
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(NAME_CHARS))
    duration_s: Mapped[float | None] = mapped_column(Float)
    #: Guidance.to_dict() of what the coach said after this event
    guidance: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]

    conversation: Mapped[Conversation] = relationship(back_populates="events")


class Incident(Base):
    """D6: the record of a conversation ended through the protocol or for safety."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    customer_id: Mapped[str | None] = mapped_column(String(ID_CHARS), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(NAME_CHARS))
    agent: Mapped[str | None] = mapped_column(String(NAME_CHARS))
    #: the conversation's team when the incident was written
    team: Mapped[str | None] = mapped_column(String(NAME_CHARS), index=True)
    #: protocol_end, safety_threat or premature_end
    reason: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime] = mapped_column(index=True)
    #: Incident.to_dict(): key points, timeline, steps done, the note
    data: Mapped[dict[str, Any]]
    #: Incident.summary(): the lines shown to the next agent
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(NAME_CHARS))

    conversation: Mapped[Conversation] = relationship()


class Notification(Base):
    """The outbox: one row per notification and channel, written with what it reports.

    The delivery worker (calmline.notify) picks ``pending`` rows whose ``next_attempt_at`` has
    come, delivers them and marks them ``delivered``, or counts the attempt and backs off.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("incident_id", "channel", "target"),
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        CheckConstraint(
            "channel IN (" + ", ".join(f"'{c}'" for c in NOTIFY_CHANNELS) + ")", name="channel"
        ),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in NOTIFY_STATUSES) + ")", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    #: what is reported, e.g. "incident"
    kind: Mapped[str] = mapped_column(String(64))
    #: webhook, email or log
    channel: Mapped[str] = mapped_column(String(16))
    #: the webhook URL, the email addresses (comma-separated) or the logger name
    target: Mapped[str] = mapped_column(String(TARGET_CHARS))
    payload: Mapped[dict[str, Any]]
    #: pending or delivered
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    incident: Mapped[Incident | None] = relationship()


#: Lengths of the training columns: scenario names and how a session ended.
SCENARIO_CHARS = 200
OUTCOME_CHARS = 32


class Trainee(Base):
    """Someone who practises with the roleplay trainer, known by a unique name."""

    __tablename__ = "trainees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_CHARS), unique=True)
    created_at: Mapped[datetime]

    sessions: Mapped[list[TrainingSession]] = relationship(
        back_populates="trainee", order_by="TrainingSession.finished_at", passive_deletes=True
    )


class TrainingSession(Base):
    """One roleplay session of a trainee: the scenario, how it ended and its debrief."""

    __tablename__ = "training_sessions"
    __table_args__ = (
        Index("ix_training_sessions_trainee_id_finished_at", "trainee_id", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id", ondelete="CASCADE"))
    scenario: Mapped[str] = mapped_column(String(SCENARIO_CHARS))
    seed: Mapped[int] = mapped_column(BigInteger)
    #: how the session ended, e.g. resolved, left_angry, protocol_end, premature_end
    outcome: Mapped[str] = mapped_column(String(OUTCOME_CHARS))
    passed: Mapped[bool]
    #: {"A": .., "B": .., "C": .., "D": .., "E": .., "overall": ..}: 0-100, null when not counted
    scores: Mapped[dict[str, Any]]
    #: the whole debrief as the trainer wrote it (Debrief.to_dict())
    debrief: Mapped[dict[str, Any]]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]

    trainee: Mapped[Trainee] = relationship(back_populates="sessions")


#: The roles an API key can have (calmline.store.keys.Role), and the lengths of its columns.
KEY_ROLES = ("agent", "trainer", "manager", "admin")
KEY_PREFIX_CHARS = 16
KEY_HASH_CHARS = 64


class ApiKey(Base):
    """A key of the HTTP service: who holds it, their role and team. Only the SHA-256 of the
    token is kept; the prefix (part of the token) finds the row."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in KEY_ROLES) + ")", name="role"),
        CheckConstraint("role <> 'manager' OR team IS NOT NULL", name="manager_team"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the public part of the token ("cl_<prefix>_..."), shown in lists and logs
    prefix: Mapped[str] = mapped_column(String(KEY_PREFIX_CHARS), unique=True)
    #: sha256 hex of the whole token
    secret_hash: Mapped[str] = mapped_column(String(KEY_HASH_CHARS))
    #: the agent or person the key belongs to
    name: Mapped[str] = mapped_column(String(NAME_CHARS))
    role: Mapped[str] = mapped_column(String(16))
    #: required for a manager: the team whose conversations and incidents they see
    team: Mapped[str | None] = mapped_column(String(NAME_CHARS))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


#: The length of a practice session's public id (uuid4 hex is 32; a dashed uuid 36).
PRACTICE_ID_CHARS = 36


class PracticeSession(Base):
    """A roleplay session played over HTTP, kept between requests until it is debriefed."""

    __tablename__ = "practice_sessions"
    __table_args__ = (Index("ix_practice_sessions_trainee_started_at", "trainee", "started_at"),)

    id: Mapped[str] = mapped_column(String(PRACTICE_ID_CHARS), primary_key=True)
    trainee: Mapped[str] = mapped_column(String(NAME_CHARS))
    scenario: Mapped[str] = mapped_column(String(SCENARIO_CHARS))
    seed: Mapped[int] = mapped_column(BigInteger)
    #: the trainee's replies so far: [{"text": ..., "seconds": ...}, ...]
    replies: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    #: the recorded debrief, once there is one
    training_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_sessions.id", ondelete="SET NULL")
    )
    #: the name on the API key that started it
    created_by: Mapped[str] = mapped_column(String(NAME_CHARS))


#: The length of a playbook version's note.
NOTE_CHARS = 1000


class PlaybookVersion(Base):
    """A playbook (YAML text) an admin put in force, kept so the service restarts with it."""

    __tablename__ = "playbook_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(NAME_CHARS))
    note: Mapped[str | None] = mapped_column(String(NOTE_CHARS))
