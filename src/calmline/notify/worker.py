"""The delivery worker: send what the outbox holds, retry with backoff, never give up.

Each round takes the queues (channel and target) whose oldest pending notification is due,
and delivers from them in turn, oldest first, until every queue is empty, blocked by a failure
or the round's limit is reached. A failure counts the attempt, keeps a short reason and
schedules the next try ``backoff_seconds * 2**attempts`` later (at most
``max_backoff_seconds``, less up to 10 % of deterministic jitter); the notifications behind it
in its queue wait, so they arrive in the order they were created once the receiver is back.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from calmline.errors import NotifyError, StoreError
from calmline.notify.channels import Channels, configure_channels
from calmline.notify.outbox import Claim, Queue, claim_head, due_queues, mark_delivered, mark_failed
from calmline.settings import NotifySettings

log = logging.getLogger("calmline.notify.worker")

#: The most a retry is brought forward, as a share of its delay, so that notifications that
#: failed together do not all retry in the same second.
JITTER = 0.1
#: The lease is this long plus a few delivery timeouts (see :func:`lease_for`).
LEASE_BASE_SECONDS = 60.0
#: A round delivers at most this many notifications unless told otherwise.
DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt and how it ended."""

    notification_id: int
    channel: str
    delivered: bool
    #: attempts made so far, this one included
    attempts: int
    error: str | None = None
    next_attempt_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "notification_id": self.notification_id,
            "channel": self.channel,
            "delivered": self.delivered,
            "attempts": self.attempts,
            "error": self.error,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one round of :func:`deliver_due` did."""

    attempts: tuple[Attempt, ...]
    #: the round stopped at its limit with notifications still due
    more_due: bool = False

    @property
    def delivered(self) -> int:
        return sum(1 for a in self.attempts if a.delivered)

    @property
    def failed(self) -> int:
        return sum(1 for a in self.attempts if not a.delivered)

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "more_due": self.more_due,
            "attempts": [a.to_dict() for a in self.attempts],
        }


def retry_delay(attempts_before: int, settings: NotifySettings, key: int) -> float:
    """Seconds until the next try after failed attempt number ``attempts_before + 1``.

    ``backoff_seconds * 2**attempts_before``, capped at ``max_backoff_seconds``, then brought
    forward by up to ``JITTER`` of itself: the same for the same notification and attempt, so
    a run can be replayed, but different across notifications.
    """
    exponent = min(max(attempts_before, 0), 62)
    base = min(settings.backoff_seconds * 2.0**exponent, settings.max_backoff_seconds)
    digest = hashlib.blake2b(f"{key}:{attempts_before}".encode(), digest_size=2).digest()
    share = int.from_bytes(digest, "big") / 0xFFFF
    return base * (1.0 - JITTER * share)


def lease_for(settings: NotifySettings) -> timedelta:
    """How long a claimed notification is kept from other workers while it is being sent.

    Long enough for the slowest delivery (an SMTP conversation is several round trips, each
    with the timeout); after a crash, the notification is sent again once it runs out.
    """
    return timedelta(seconds=LEASE_BASE_SECONDS + 4 * settings.timeout_seconds)


def deliver_due(
    session_factory: sessionmaker[Session],
    settings: NotifySettings,
    *,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    channels: Channels | None = None,
) -> DeliveryReport:
    """Deliver the notifications that are due at ``now`` (default: the current time).

    At most ``limit`` attempts are made, taken in turn from each due queue so one backlog does
    not hold up the others. ``channels`` defaults to those ``settings`` configure (a
    NotifyError when they are misconfigured). Database failures are a StoreError; a
    notification that was sent but could not be marked is sent again later (at least once).
    """
    if limit < 1:
        raise NotifyError(f"limit: expected at least 1, got {limit}")
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        raise NotifyError(f"now: {now.isoformat()} has no time zone")
    if channels is None:
        channels = configure_channels(settings)
    clock: Callable[[], datetime] = (lambda: now) if now is not None else _utc_now
    active = due_queues(session_factory, clock())
    done: list[Attempt] = []
    while active and len(done) < limit:
        for queue in list(active):
            if len(done) >= limit:
                break
            attempt = _attempt_head(session_factory, settings, channels, queue, clock)
            if attempt is not None:
                done.append(attempt)
            if attempt is None or not attempt.delivered:
                active.remove(queue)
    return DeliveryReport(tuple(done), more_due=bool(active))


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _attempt_head(
    sessions: sessionmaker[Session],
    settings: NotifySettings,
    channels: Channels,
    queue: Queue,
    clock: Callable[[], datetime],
) -> Attempt | None:
    """Claim and send the next notification of ``queue``; None when there is none to send."""
    claim = claim_head(sessions, queue, clock(), lease_for(settings))
    if claim is None:
        return None
    error = claim.problem or _send(channels, claim)
    if error is None:
        if not mark_delivered(sessions, claim, clock()):
            log.warning(
                "notification %s was delivered but another worker had already marked it",
                claim.row_id,
            )
        log.info(
            "notification %s delivered by %s (attempt %d)",
            claim.row_id,
            claim.notification.channel,
            claim.attempts + 1,
        )
        return Attempt(claim.row_id, claim.notification.channel, True, claim.attempts + 1)
    retry_at = clock() + timedelta(seconds=retry_delay(claim.attempts, settings, claim.row_id))
    if not mark_failed(sessions, claim, error, retry_at):
        log.warning("notification %s: another worker took it over during delivery", claim.row_id)
    log.warning(
        "notification %s not delivered by %s (attempt %d): %s; next try at %s",
        claim.row_id,
        claim.notification.channel,
        claim.attempts + 1,
        error,
        retry_at.isoformat(timespec="seconds"),
    )
    return Attempt(
        claim.row_id, claim.notification.channel, False, claim.attempts + 1, error, retry_at
    )


def _send(channels: Channels, claim: Claim) -> str | None:
    """Send one notification; the reason it failed, or None when it was delivered."""
    notification = claim.notification
    channel = channels.get(notification.channel)
    if channel is None:
        return (
            f"the {notification.channel} channel is not configured "
            "(it will be sent once it is; see docs/notifications.md)"
        )
    try:
        channel.deliver(notification)
    except NotifyError as exc:
        return exc.message
    except Exception as exc:  # a bug must not stop the worker nor lose the notification
        log.error(
            "notification %s: unexpected %s in the %s channel",
            claim.row_id,
            type(exc).__name__,
            notification.channel,
        )
        return f"unexpected {type(exc).__name__} in the {notification.channel} channel"
    return None


def run_worker(
    session_factory: sessionmaker[Session],
    settings: NotifySettings,
    stop_event: threading.Event,
    *,
    poll_seconds: float = 5.0,
    limit: int = DEFAULT_LIMIT,
    channels: Channels | None = None,
    on_round: Callable[[DeliveryReport], None] | None = None,
) -> None:
    """Deliver due notifications every ``poll_seconds`` until ``stop_event`` is set.

    The channels are checked before the first round (a NotifyError for a misconfiguration).
    A round that fails on the database is logged and tried again after the pause, so the
    worker rides out a database restart. A round that stopped at its limit is followed at once
    by the next. The current delivery is finished before the worker stops.
    """
    if not poll_seconds > 0:
        raise NotifyError(f"poll seconds: expected a positive number, got {poll_seconds}")
    if channels is None:
        channels = configure_channels(settings)
    log.info("notification worker started: %s", ", ".join(channels.names) or "no channel")
    while not stop_event.is_set():
        report: DeliveryReport | None = None
        try:
            report = deliver_due(session_factory, settings, limit=limit, channels=channels)
        except StoreError as exc:
            log.error("notification round failed: %s", exc.message)
        if report is not None and on_round is not None:
            on_round(report)
        if report is not None and report.more_due:
            continue
        stop_event.wait(poll_seconds)
    log.info("notification worker stopped")
