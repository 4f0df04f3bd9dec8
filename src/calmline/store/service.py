"""The conversation service: stored events fed through a Coach, one transaction per event.

``ingest`` is the whole job of live coaching with storage. For each event it, in one
transaction: locks the conversation (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
write transaction holds the database's write lock from its start), answers an event id it has
already stored with the stored guidance and writes nothing, refuses events that are out of
order or arrive after the end, rebuilds the conversation's Coach (kept in memory between
events, else replayed from the stored events), feeds it the event, stores the event with its
guidance, updates the conversation, and when the guidance carries an incident stores it with
one outbox row per configured notification channel. If anything fails, nothing is written.

Message text is stored (it is what the coach replays) but never logged.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from calmline.coach.coach import Coach
from calmline.coach.events import Event, EventKind, Guidance, Incident
from calmline.core.analyzer import Engine
from calmline.errors import (
    ConversationClosed,
    EventConflict,
    EventError,
    EventOrderError,
    InputError,
    UnknownConversation,
)
from calmline.settings import NotifySettings
from calmline.store import models, queries
from calmline.store.db import MigratedDatabase
from calmline.store.decode import guidance_from_dict
from calmline.store.models import CHANNEL_CHARS, ID_CHARS, NAME_CHARS, TARGET_CHARS
from calmline.store.queries import IncidentFilter, unstorable
from calmline.store.records import StoredConversation, StoredEvent, StoredIncident

log = logging.getLogger("calmline.store")

#: The logger the ``log`` notification channel writes to (its outbox target).
NOTIFY_LOGGER = "calmline.notify"
#: The kind of outbox row written for an incident.
INCIDENT_NOTIFICATION = "incident"
#: How many conversations' coaches are kept in memory between events.
DEFAULT_CACHED_COACHES = 1024
DEFAULT_CHANNEL = "chat"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Ingested:
    """An event as stored, the guidance after it, and whether this call stored it."""

    event: Event
    guidance: Guidance
    #: False when the event was already stored (a retry): nothing new happened
    new: bool


@dataclass(frozen=True, slots=True)
class _Details:
    """Who a conversation is with, as a caller gives it; None means "not given"."""

    customer_name: str | None = None
    customer_id: str | None = None
    agent: str | None = None
    channel: str | None = None
    team: str | None = None

    def __post_init__(self) -> None:
        for name, limit in (
            ("customer_name", NAME_CHARS),
            ("customer_id", ID_CHARS),
            ("agent", NAME_CHARS),
            ("channel", CHANNEL_CHARS),
            ("team", NAME_CHARS),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"{name}: expected a non-empty string or None")
            if len(value) > limit:
                raise InputError(f"{name}: {len(value)} characters; the limit is {limit}")
            problem = unstorable(value)
            if problem:
                raise InputError(f"{name} {problem}")

    def conflicts(self, row: models.Conversation) -> list[str]:
        """The given values that differ from the stored conversation's."""
        stored = {
            "customer_name": row.customer_name,
            "customer_id": row.customer_id,
            "agent": row.agent,
            "channel": row.channel,
            "team": row.team,
        }
        return [
            f"{name} {stored[name]!r} (given: {getattr(self, name)!r})"
            for name in stored
            if getattr(self, name) is not None and getattr(self, name) != stored[name]
        ]


def _check_conversation_id(conversation_id: object) -> str:
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise InputError("conversation id: expected a non-empty string")
    if len(conversation_id) > ID_CHARS:
        raise InputError(
            f"conversation id: {len(conversation_id)} characters; the limit is {ID_CHARS}"
        )
    problem = unstorable(conversation_id)
    if problem:
        raise InputError(f"conversation id {problem}")
    return conversation_id


def _check_event(event: object, conversation_id: str) -> Event:
    if not isinstance(event, Event):
        raise EventError(
            f"conversation {conversation_id}: expected an Event, got {type(event).__name__}"
        )
    for name, value in (("id", event.id), ("text", event.text), ("author", event.author)):
        problem = unstorable(value) if value is not None else None
        if problem:
            where = "an event" if name == "id" else f"event {event.id}"
            raise EventError(f"{where}: its {name} {problem}")
    return event


def _event_of(row: models.Event) -> Event:
    return Event(
        id=row.event_id,
        kind=EventKind(row.kind),
        at=row.at,
        text=row.text,
        author=row.author,
        duration_s=row.duration_s,
    )


def notification_targets(notify: NotifySettings) -> tuple[tuple[str, str], ...]:
    """(channel, target) of every configured channel: one outbox row each per incident."""
    targets: list[tuple[str, str]] = []
    if notify.webhook_url:
        targets.append(("webhook", notify.webhook_url))
    if notify.smtp_host and notify.email_to:
        targets.append(("email", ", ".join(notify.email_to)))
    if notify.log:
        targets.append(("log", NOTIFY_LOGGER))
    for channel, target in targets:
        if len(target) > TARGET_CHARS:
            raise InputError(
                f"notify: the {channel} target is {len(target)} characters; "
                f"the outbox keeps at most {TARGET_CHARS}"
            )
    return tuple(targets)


class ConversationService:
    """Stored, transactional coaching: many conversations, any number of threads.

    ``session_factory`` comes from :func:`calmline.store.db.make_session_factory` on a
    migrated database (checked here: a StoreError says to run ``calmline db upgrade``);
    ``engine`` is the calmline engine (playbook) the coach uses; ``notify`` says which
    channels get an outbox row for each incident (default: the log channel only).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        engine: Engine,
        notify: NotifySettings | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
        cached_coaches: int = DEFAULT_CACHED_COACHES,
    ) -> None:
        self._database = MigratedDatabase(session_factory)
        self.engine = engine
        self.notify = notify if notify is not None else NotifySettings()
        self._targets = notification_targets(self.notify)
        self._clock = clock
        self._cached_coaches = max(0, cached_coaches)
        #: conversation row id -> (events fed, its coach), least recently used first
        self._coaches: OrderedDict[int, tuple[int, Coach]] = OrderedDict()
        self._coaches_lock = threading.Lock()

    # ----- writing ------------------------------------------------------------------------------

    def open_conversation(
        self,
        conversation_id: str,
        *,
        customer_name: str | None = None,
        customer_id: str | None = None,
        agent: str | None = None,
        channel: str | None = None,
        team: str | None = None,
    ) -> StoredConversation:
        """Create the conversation, or return it when it exists with the same details.

        A detail left as None is "not given" (``channel`` is ``chat`` when created); a given
        detail that differs from the stored one is an InputError. When the customer (by id,
        else by name) has an earlier incident, its summary becomes the conversation's
        ``history``, shown to the agent with the first guidance. ``team`` is the agent's team:
        a manager sees the conversations and incidents of theirs.
        """
        conversation_id = _check_conversation_id(conversation_id)
        details = _Details(customer_name, customer_id, agent, channel, team)
        with self._database.writing(f"opening conversation {conversation_id}") as session:
            row = self._lock_conversation(session, conversation_id, details, create=True)
            return StoredConversation.from_row(row)

    def ingest(
        self,
        conversation_id: str,
        event: Event,
        *,
        create: bool = False,
        customer_name: str | None = None,
        customer_id: str | None = None,
        agent: str | None = None,
        channel: str | None = None,
        team: str | None = None,
    ) -> Guidance:
        """Store ``event`` and return the coach's guidance after it, all in one transaction.

        The same event again returns the stored guidance and writes nothing; the same id with
        different content is an EventConflict. An event older than the conversation's last one
        is an EventOrderError, an unknown conversation (without ``create=True``) is
        UnknownConversation, and anything but a draft after the conversation ended is
        ConversationClosed.
        """
        return self.store(
            conversation_id,
            event,
            create=create,
            customer_name=customer_name,
            customer_id=customer_id,
            agent=agent,
            channel=channel,
            team=team,
        ).guidance

    def store(
        self,
        conversation_id: str,
        event: Event,
        *,
        create: bool = False,
        retry_ignores_time: bool = False,
        customer_name: str | None = None,
        customer_id: str | None = None,
        agent: str | None = None,
        channel: str | None = None,
        team: str | None = None,
    ) -> Ingested:
        """:meth:`ingest`, also saying whether the event is new or a retry of a stored one.

        With ``retry_ignores_time`` an event whose id is stored is a retry when everything but
        its time matches (for clients that let the server time their events: a retry then
        arrives later than the original).
        """
        conversation_id = _check_conversation_id(conversation_id)
        event = _check_event(event, conversation_id)
        details = _Details(customer_name, customer_id, agent, channel, team)
        doing = f"storing event {event.id} of conversation {conversation_id}"
        with self._database.writing(doing) as session:
            row = self._lock_conversation(session, conversation_id, details, create=create)
            stored = session.scalars(
                sa.select(models.Event).where(
                    models.Event.conversation_id == row.id, models.Event.event_id == event.id
                )
            ).one_or_none()
            if stored is not None:
                earlier = _event_of(stored)
                if retry_ignores_time:
                    event = replace(event, at=earlier.at)
                if earlier != event:
                    raise EventConflict(
                        f"event {event.id}: conversation {conversation_id} already has an event "
                        "with this id and different content; give each event its own id"
                    )
                log.debug("event %s of conversation %s was already stored", event.id, row.id)
                guidance = guidance_from_dict(stored.guidance, text=stored.text)
                return Ingested(earlier, guidance, new=False)
            if row.closed_at is not None and event.kind is not EventKind.AGENT_DRAFT:
                raise ConversationClosed(
                    f"conversation {conversation_id} ended at {row.closed_at.isoformat()}; "
                    f"event {event.id} ({event.kind.value}) cannot be added"
                )
            if row.last_event_at is not None and event.at < row.last_event_at:
                raise EventOrderError(
                    f"event {event.id} at {event.at.isoformat()} is older than the last event "
                    f"of conversation {conversation_id} ({row.last_event_at.isoformat()})"
                )
            coach = self._coach(session, row)
            guidance = coach.feed(event)
            self._record(session, row, event, guidance, coach)
            fed = row.event_count
            row_id = row.id
        self._keep_coach(row_id, fed, coach)
        return Ingested(event, guidance, new=True)

    def acknowledge(self, incident_id: int, by: str) -> StoredIncident:
        """Record that the line manager ``by`` has seen the incident (D7)."""
        with self._database.writing(f"acknowledging incident {incident_id}") as session:
            return queries.acknowledge_incident(session, incident_id, by, self._clock())

    # ----- reading ------------------------------------------------------------------------------

    def get_conversation(self, conversation_id: str) -> StoredConversation:
        conversation_id = _check_conversation_id(conversation_id)
        with self._database.reading(f"reading conversation {conversation_id}") as session:
            return queries.get_conversation(session, conversation_id)

    def events(self, conversation_id: str) -> tuple[StoredEvent, ...]:
        """The conversation's events in the order they were stored, each with its guidance."""
        conversation_id = _check_conversation_id(conversation_id)
        with self._database.reading(
            f"reading the events of conversation {conversation_id}"
        ) as session:
            return queries.list_events(session, conversation_id)

    def incidents(
        self,
        *,
        customer: str | None = None,
        since: datetime | None = None,
        unacknowledged: bool = False,
        limit: int | None = None,
        team: str | None = None,
        agent: str | None = None,
    ) -> tuple[StoredIncident, ...]:
        """Incidents, the most recently ended first; ``customer`` is an id or a name,
        ``team`` and ``agent`` match exactly."""
        where = IncidentFilter(customer, since, unacknowledged, limit, team=team, agent=agent)
        with self._database.reading("listing incidents") as session:
            return queries.list_incidents(session, where)

    def conversations(
        self, *, agent: str | None = None, team: str | None = None, limit: int = 50
    ) -> tuple[StoredConversation, ...]:
        """Conversations, the most recently opened first; only ``agent``'s or ``team``'s
        (matched exactly) when given."""
        where = queries.ConversationFilter(agent=agent, team=team, limit=limit)
        with self._database.reading("listing conversations") as session:
            return queries.list_conversations(session, where)

    def incident(self, incident_id: int) -> StoredIncident:
        with self._database.reading(f"reading incident {incident_id}") as session:
            return queries.get_incident(session, incident_id)

    # ----- inside a transaction -------------------------------------------------------------

    def _lock_conversation(
        self, session: Session, conversation_id: str, details: _Details, *, create: bool
    ) -> models.Conversation:
        """The conversation's row, locked until the transaction ends (created if asked)."""
        query = (
            sa.select(models.Conversation)
            .where(models.Conversation.external_id == conversation_id)
            .with_for_update()
        )
        row = session.scalars(query).one_or_none()
        if row is None:
            if not create:
                raise UnknownConversation(
                    f"no conversation {conversation_id!r}; open it first (or ingest with "
                    "create=True)"
                )
            self._insert_conversation(session, conversation_id, details)
            row = session.scalars(query).one()
        conflicts = details.conflicts(row)
        if conflicts:
            raise InputError(
                f"conversation {conversation_id} already exists with " + "; ".join(conflicts)
            )
        return row

    def _insert_conversation(
        self, session: Session, conversation_id: str, details: _Details
    ) -> None:
        history = queries.last_incident_summary(
            session, customer_id=details.customer_id, customer_name=details.customer_name
        )
        values: dict[str, Any] = {
            "external_id": conversation_id,
            "customer_id": details.customer_id,
            "customer_name": details.customer_name,
            "agent": details.agent,
            "team": details.team,
            "channel": details.channel or DEFAULT_CHANNEL,
            "created_at": self._clock(),
            "event_count": 0,
            "state": "calm",
            "protocol_stage": "none",
            "history": history,
        }
        # Two callers may create the same conversation at once: the second one's insert does
        # nothing, and both go on with the one row.
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(models.Conversation).values(**values)
        session.execute(statement.on_conflict_do_nothing(index_elements=["external_id"]))
        if history:
            log.info("conversation %s: the customer has an earlier incident", conversation_id)

    def _coach(self, session: Session, row: models.Conversation) -> Coach:
        """The conversation's coach after its stored events: from memory, else replayed."""
        with self._coaches_lock:
            cached = self._coaches.pop(row.id, None)
        if cached is not None and cached[0] == row.event_count:
            return cached[1]
        coach = Coach(
            self.engine,
            conversation_id=row.external_id,
            customer_name=row.customer_name,
            customer_id=row.customer_id,
            agent=row.agent,
            history=row.history,
        )
        events = session.scalars(
            sa.select(models.Event)
            .where(models.Event.conversation_id == row.id)
            .order_by(models.Event.seq)
        )
        for stored in events:
            coach.feed(_event_of(stored))
        return coach

    def _keep_coach(self, row_id: int, fed: int, coach: Coach) -> None:
        """Keep a coach for the next event, once its transaction has committed."""
        if not self._cached_coaches:
            return
        with self._coaches_lock:
            self._coaches[row_id] = (fed, coach)
            self._coaches.move_to_end(row_id)
            while len(self._coaches) > self._cached_coaches:
                self._coaches.popitem(last=False)

    def _record(
        self,
        session: Session,
        row: models.Conversation,
        event: Event,
        guidance: Guidance,
        coach: Coach,
    ) -> None:
        now = self._clock()
        seq = row.event_count + 1
        session.add(
            models.Event(
                conversation_id=row.id,
                event_id=event.id,
                seq=seq,
                kind=event.kind.value,
                at=event.at,
                text=event.text,
                author=event.author,
                duration_s=event.duration_s,
                guidance=guidance.to_dict(),
                created_at=now,
            )
        )
        row.event_count = seq
        # Drafts do not move the conversation's clock (the coach keeps the same rule).
        row.last_event_at = coach.last_at or row.last_event_at
        row.state = guidance.state.value
        row.protocol_stage = guidance.protocol_stage
        if coach.closed and row.closed_at is None:
            row.closed_at = coach.last_at or event.at
        if guidance.incident is not None:
            self._record_incident(session, row, guidance.incident, now)
        session.flush()

    def _record_incident(
        self, session: Session, row: models.Conversation, incident: Incident, now: datetime
    ) -> None:
        data = incident.to_dict()
        existing = session.scalars(
            sa.select(models.Incident).where(models.Incident.conversation_id == row.id)
        ).one_or_none()
        if existing is not None:
            # A conversation has one incident; a later one (the end after a safety threat)
            # completes its record. The manager was told the first time.
            existing.reason = incident.reason
            existing.closed_at = incident.closed_at
            existing.data = data
            existing.summary = incident.summary()
            log.info("incident %d of conversation %s updated", existing.id, row.external_id)
            return
        stored = models.Incident(
            conversation_id=row.id,
            customer_id=incident.customer_id,
            customer_name=incident.customer_name,
            agent=incident.agent,
            team=row.team,
            reason=incident.reason,
            opened_at=incident.opened_at,
            closed_at=incident.closed_at,
            data=data,
            summary=incident.summary(),
            created_at=now,
        )
        session.add(stored)
        session.flush()  # its id goes into the notifications
        payload = {
            "kind": INCIDENT_NOTIFICATION,
            "incident_id": stored.id,
            "conversation_id": row.external_id,
            "incident": data,
        }
        for channel, target in self._targets:
            session.add(
                models.Notification(
                    incident_id=stored.id,
                    kind=INCIDENT_NOTIFICATION,
                    channel=channel,
                    target=target,
                    payload=payload,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        log.info(
            "incident %d (%s) recorded for conversation %s; %d notifications queued",
            stored.id,
            incident.reason,
            row.external_id,
            len(self._targets),
        )
