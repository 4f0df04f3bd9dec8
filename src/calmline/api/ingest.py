"""Storing an event a client sent: retries answered from the store, the hub told, metrics counted.

An event sent without ``at`` is timed by the server, so the same event sent again (a retry
after a lost answer) arrives with a later time. The store compares events exactly and would
call that a different event; here a retry of a stored id whose content matches, time aside,
gets the stored guidance back. The same id with different content is a conflict (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from calmline.api.hub import guidance_message
from calmline.api.metrics import Metrics
from calmline.api.schemas.events import EventCreate
from calmline.api.services import Services
from calmline.coach.events import Event, Guidance
from calmline.errors import EventConflict, EventError
from calmline.store.keys import ApiKey


@dataclass(frozen=True, slots=True)
class Stored:
    event: Event
    guidance: Guidance
    #: False when the event was already stored (a retry): nothing new happened
    new: bool


def _same(given: Event, stored: Event, *, timed: bool) -> bool:
    """Whether ``given`` is ``stored`` sent again (its time only counts when the client gave it)."""
    return (
        given.kind == stored.kind
        and given.text == stored.text
        and given.author == stored.author
        and given.duration_s == stored.duration_s
        and (not timed or given.at == stored.at)
    )


def store_event(services: Services, conversation_id: str, body: EventCreate, key: ApiKey) -> Stored:
    """Ingest ``body`` into the conversation; EventConflict for a reused id."""
    event = body.to_event(key, datetime.now(UTC))
    try:
        guidance = services.conversations.ingest(conversation_id, event)
    except EventError:
        earlier = next(
            (s for s in services.conversations.events(conversation_id) if s.event.id == event.id),
            None,
        )
        if earlier is None:
            raise
        if not _same(event, earlier.event, timed=body.at is not None):
            raise EventConflict(
                f"event {event.id}: conversation {conversation_id} already has an event with "
                "this id and different content; give each event its own id"
            ) from None
        return Stored(earlier.event, earlier.guidance, new=False)
    return Stored(event, guidance, new=True)


def count(metrics: Metrics | None, guidance: Guidance) -> None:
    """Findings, signals and a new incident of one stored event, in the service's metrics."""
    if metrics is None:
        return
    metrics.count_findings(guidance.findings)
    if guidance.analysis is not None:
        metrics.count_signals(guidance.analysis.signals)
    if guidance.incident is not None:
        metrics.incidents.inc()


def announce(state: Any, conversation_id: str, stored: Stored) -> None:
    """Tell the conversation's open sockets (when the service has a hub) and count it."""
    if not stored.new:
        return
    hub = getattr(state, "hub", None)
    if hub is not None:
        hub.publish(conversation_id, guidance_message(stored.event.id, stored.guidance))
    count(getattr(state, "metrics", None), stored.guidance)
