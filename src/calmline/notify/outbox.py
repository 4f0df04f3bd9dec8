"""The worker's side of the outbox table: find due queues, claim a row, record what happened.

Notifications are delivered in queues, one per channel and target, oldest first: a queue's
next row goes only after the one before it was delivered, so a receiver that was down gets
everything in the order it was created. A row is *claimed* before it is sent, by moving its
``next_attempt_at`` a lease into the future in a short transaction; other workers then see
the queue as not due. The lease only matters when a worker dies mid-delivery: the row becomes
due again when it runs out, and is delivered again (at least once).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from calmline.notify.channel import MAX_ERROR_CHARS, Notification
from calmline.store.db import store_errors, write_session
from calmline.store.models import Notification as Row

PENDING = "pending"
DELIVERED = "delivered"


@dataclass(frozen=True, slots=True)
class Queue:
    """The pending notifications of one channel and target; ``head_id`` goes next."""

    channel: str
    target: str
    head_id: int


@dataclass(frozen=True, slots=True)
class Claim:
    """A row taken for one delivery attempt: what to send and what to restore."""

    notification: Notification
    row_id: int
    attempts: int
    #: the lease end written to the row (recording the outcome checks it is still ours)
    leased_until: datetime
    #: why the row cannot be sent as it is stored (recorded as a failed attempt, never dropped)
    problem: str | None = None


@contextmanager
def database(sessions: sessionmaker[Session], doing: str) -> Iterator[None]:
    """Database failures while ``doing`` something, as a StoreError naming the database."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, sa.Engine):
        with sessions() as session:
            engine = session.get_bind()
    assert isinstance(engine, sa.Engine)
    with store_errors(engine, doing):
        yield


def _heads() -> sa.Subquery:
    """The id of the oldest pending row of each queue."""
    return (
        sa.select(sa.func.min(Row.id).label("id"))
        .where(Row.status == PENDING)
        .group_by(Row.channel, Row.target)
        .subquery()
    )


def due_queues(sessions: sessionmaker[Session], now: datetime) -> list[Queue]:
    """Queues whose oldest pending row is due at ``now``, the longest-waiting first."""
    heads = _heads()
    query = (
        sa.select(Row.channel, Row.target, Row.id)
        .join(heads, Row.id == heads.c.id)
        .where(Row.next_attempt_at <= now)
        .order_by(Row.next_attempt_at, Row.id)
    )
    with database(sessions, "finding due notifications"), sessions() as session:
        return [Queue(c, t, i) for c, t, i in session.execute(query).all()]


def next_due_at(sessions: sessionmaker[Session]) -> datetime | None:
    """When the next delivery is due: the earliest try of a queue's head (None: nothing waits)."""
    heads = _heads()
    query = sa.select(sa.func.min(Row.next_attempt_at)).join(heads, Row.id == heads.c.id)
    with database(sessions, "finding due notifications"), sessions() as session:
        return session.scalar(query)


def claim_head(
    sessions: sessionmaker[Session], queue: Queue, now: datetime, lease: timedelta
) -> Claim | None:
    """Take the oldest pending row of ``queue`` if it is due and no other worker has it.

    On PostgreSQL the row is read ``FOR UPDATE SKIP LOCKED``, so a second worker passes over
    it instead of waiting; on SQLite the transaction holds the write lock from its start.
    Whether the row is still the queue's head and still due is checked under that lock.
    """
    with database(sessions, "claiming a notification"), write_session(sessions) as session:
        head_id = session.scalar(
            sa.select(sa.func.min(Row.id)).where(
                Row.status == PENDING, Row.channel == queue.channel, Row.target == queue.target
            )
        )
        if head_id is None:
            return None
        query = sa.select(Row).where(Row.id == head_id, Row.status == PENDING)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = session.scalar(query)
        if row is None or row.next_attempt_at > now:
            return None
        leased_until = now + lease
        row.next_attempt_at = leased_until
        payload = row.payload
        notification = Notification(
            delivery_id=str(row.id),
            kind=row.kind,
            channel=row.channel,
            target=row.target,
            payload=payload if isinstance(payload, dict) else {},
            created_at=row.created_at,
            incident_id=row.incident_id,
            attempts=row.attempts,
        )
        problem = None if isinstance(payload, dict) else "the payload is not a JSON object"
        return Claim(notification, row.id, row.attempts, leased_until, problem)


def mark_delivered(sessions: sessionmaker[Session], claim: Claim, at: datetime) -> bool:
    """Record a delivery; False when the row was no longer ours (another worker took it)."""
    with database(sessions, "recording a delivery"), write_session(sessions) as session:
        result = session.execute(
            sa.update(Row)
            .where(Row.id == claim.row_id, Row.status == PENDING)
            .values(status=DELIVERED, delivered_at=at, attempts=Row.attempts + 1)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_failed(
    sessions: sessionmaker[Session], claim: Claim, error: str, retry_at: datetime
) -> bool:
    """Count a failed attempt and schedule the next; False when the row was no longer ours."""
    with database(sessions, "recording a failed delivery"), write_session(sessions) as session:
        result = session.execute(
            sa.update(Row)
            .where(
                Row.id == claim.row_id,
                Row.status == PENDING,
                Row.next_attempt_at == claim.leased_until,
            )
            .values(
                attempts=Row.attempts + 1,
                last_error=error[:MAX_ERROR_CHARS],
                next_attempt_at=retry_at,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


# ----- status -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """The pending rows of one channel and target, and the row they are waiting on."""

    channel: str
    target: str
    pending: int
    oldest_created_at: datetime
    head_id: int
    head_attempts: int
    head_next_attempt_at: datetime
    head_last_error: str | None


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """How many notifications are in each status, and what each waiting queue is stuck on."""

    counts: dict[str, int]
    queues: tuple[QueueStatus, ...]
    #: the most recent delivery
    last_delivered_at: datetime | None

    @property
    def pending(self) -> int:
        return self.counts.get(PENDING, 0)

    @property
    def oldest_pending(self) -> QueueStatus | None:
        return min(self.queues, key=lambda q: q.oldest_created_at, default=None)


def outbox_status(sessions: sessionmaker[Session]) -> OutboxStatus:
    """Counts by status and, per waiting queue, its oldest row and its head's last error."""
    pending = Row.status == PENDING
    per_queue = (
        sa.select(
            Row.channel,
            Row.target,
            sa.func.count().label("pending"),
            sa.func.min(Row.created_at).label("oldest"),
            sa.func.min(Row.id).label("head_id"),
        )
        .where(pending)
        .group_by(Row.channel, Row.target)
        .subquery()
    )
    query = (
        sa.select(per_queue, Row.attempts, Row.next_attempt_at, Row.last_error)
        .join(Row, Row.id == per_queue.c.head_id)
        .order_by(per_queue.c.oldest)
    )
    with database(sessions, "reading the notification outbox"), sessions() as session:
        by_status = sa.select(Row.status, sa.func.count()).group_by(Row.status)
        counts: dict[str, int] = {str(s): int(n) for s, n in session.execute(by_status).all()}
        queues = tuple(
            QueueStatus(
                channel=r.channel,
                target=r.target,
                pending=r.pending,
                oldest_created_at=_aware(r.oldest),
                head_id=r.head_id,
                head_attempts=r.attempts,
                head_next_attempt_at=r.next_attempt_at,
                head_last_error=r.last_error,
            )
            for r in session.execute(query).all()
        )
        last = session.scalar(sa.select(sa.func.max(Row.delivered_at)))
    return OutboxStatus(
        counts={PENDING: 0, DELIVERED: 0, **counts},
        queues=queues,
        last_delivered_at=_aware(last) if last is not None else None,
    )


def _aware(value: datetime | str) -> datetime:
    """An aggregate's date-time (SQLite gives text and drops the zone, which is UTC)."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
