"""Storing an event a client sent: retries answered from the store, the hub told, metrics counted.

An event sent without ``at`` is timed by the server, so the same event sent again (a retry
after a lost answer) arrives with a later time: the store then compares it time aside. A retry
gets the stored guidance back and is neither announced nor counted again; the same id with
different content is a conflict (409).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from calmline.api.hub import guidance_message
from calmline.api.metrics import Metrics
from calmline.api.schemas.events import EventCreate
from calmline.api.services import Services
from calmline.coach.events import Guidance
from calmline.store.keys import ApiKey
from calmline.store.service import Ingested


def store_event(
    services: Services, conversation_id: str, body: EventCreate, key: ApiKey
) -> Ingested:
    """Ingest ``body`` into the conversation; EventConflict for a reused id."""
    event = body.to_event(key, datetime.now(UTC))
    return services.conversations.store(conversation_id, event, retry_ignores_time=body.at is None)


def count(metrics: Metrics | None, guidance: Guidance) -> None:
    """Findings, signals and a new incident of one stored event, in the service's metrics."""
    if metrics is None:
        return
    metrics.count_findings(guidance.findings)
    if guidance.analysis is not None:
        metrics.count_signals(guidance.analysis.signals)
    if guidance.incident is not None:
        metrics.incidents.inc()


def announce(state: Any, conversation_id: str, stored: Ingested) -> None:
    """Tell the conversation's open sockets (when the service has a hub) and count it."""
    if not stored.new:
        return
    hub = getattr(state, "hub", None)
    if hub is not None:
        hub.publish(conversation_id, guidance_message(stored.event.id, stored.guidance))
    count(getattr(state, "metrics", None), stored.guidance)
