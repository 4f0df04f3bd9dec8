"""What the store hands back: frozen values read from the rows, never the rows themselves.

Exports can drop names (``redact_names``): the customer's and the agent's names are removed
from their fields and replaced by ``[name]`` wherever they appear in quotes, notes and the
summary. Emails and phone numbers were already replaced when the incident was written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from calmline.coach.events import Event, Guidance, Incident
from calmline.core.redact import redact_names
from calmline.store import models
from calmline.store.decode import guidance_from_dict, incident_from_dict


@dataclass(frozen=True, slots=True)
class StoredConversation:
    """A conversation as stored: who it is with, how far it got, whether it has ended."""

    id: str
    customer_id: str | None
    customer_name: str | None
    agent: str | None
    channel: str
    #: the agent's team, if given
    team: str | None
    created_at: datetime
    last_event_at: datetime | None
    event_count: int
    #: the customer's state after the newest event
    state: str
    protocol_stage: str
    closed_at: datetime | None
    #: the summary of the customer's previous incident, shown to this conversation's agent
    history: str | None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @classmethod
    def from_row(cls, row: models.Conversation) -> StoredConversation:
        return cls(
            id=row.external_id,
            customer_id=row.customer_id,
            customer_name=row.customer_name,
            agent=row.agent,
            channel=row.channel,
            team=row.team,
            created_at=row.created_at,
            last_event_at=row.last_event_at,
            event_count=row.event_count,
            state=row.state,
            protocol_stage=row.protocol_stage,
            closed_at=row.closed_at,
            history=row.history,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "agent": self.agent,
            "channel": self.channel,
            "team": self.team,
            "created_at": _iso(self.created_at),
            "last_event_at": _iso(self.last_event_at),
            "event_count": self.event_count,
            "state": self.state,
            "protocol_stage": self.protocol_stage,
            "closed_at": _iso(self.closed_at),
            "history": self.history,
        }


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One stored event, its place in the conversation and the guidance it produced."""

    seq: int
    event: Event
    guidance: Guidance
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.Event) -> StoredEvent:
        event = Event(
            id=row.event_id,
            kind=row.kind,  # type: ignore[arg-type]  # Event turns the text into an EventKind
            at=row.at,
            text=row.text,
            author=row.author,
            duration_s=row.duration_s,
        )
        guidance = guidance_from_dict(row.guidance, text=row.text)
        return cls(seq=row.seq, event=event, guidance=guidance, created_at=row.created_at)


@dataclass(frozen=True, slots=True)
class StoredIncident:
    """A stored incident (D6) with its acknowledgement by the line manager (D7)."""

    id: int
    conversation_id: str
    customer_id: str | None
    customer_name: str | None
    agent: str | None
    #: the team of the conversation when the incident was written
    team: str | None
    reason: str
    opened_at: datetime
    closed_at: datetime
    summary: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    #: Incident.to_dict() as written
    data: Mapping[str, Any]

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @classmethod
    def from_row(cls, row: models.Incident, conversation_id: str) -> StoredIncident:
        return cls(
            id=row.id,
            conversation_id=conversation_id,
            customer_id=row.customer_id,
            customer_name=row.customer_name,
            agent=row.agent,
            team=row.team,
            reason=row.reason,
            opened_at=row.opened_at,
            closed_at=row.closed_at,
            summary=row.summary,
            created_at=row.created_at,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
            data=MappingProxyType(dict(row.data)),
        )

    def incident(self) -> Incident:
        """The Incident value the coach wrote."""
        return incident_from_dict(self.data)

    def to_dict(self, *, redact_names: bool = False) -> dict[str, Any]:
        """The incident for export: its record, id and acknowledgement, in one JSON object.

        ``redact_names`` drops the customer's, the agent's and the acknowledging manager's
        names, and replaces the customer's and agent's names inside quotes, notes and the
        summary with ``[name]``.
        """
        out: dict[str, Any] = {
            **self.data,
            "id": self.id,
            "conversation_id": self.conversation_id,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "agent": self.agent,
            "team": self.team,
            "reason": self.reason,
            "opened_at": _iso(self.opened_at),
            "closed_at": _iso(self.closed_at),
            "summary": self.summary,
            "created_at": _iso(self.created_at),
            "acknowledged_at": _iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
        }
        if not redact_names:
            return out
        names = name_variants(self.customer_name, self.agent, self.data.get("agent"))
        scrubbed: dict[str, Any] = scrub_names(out, names)
        scrubbed["customer_name"] = None
        scrubbed["agent"] = None
        scrubbed["acknowledged_by"] = None
        return scrubbed


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def name_variants(*names: object) -> tuple[str, ...]:
    """The forms a name may appear in, longest first: the whole name, then each capitalised
    part of two letters or more ("Dana Whitfield" -> "Dana Whitfield", "Whitfield", "Dana").
    Lower-case particles ("de", "van") are left alone: they are ordinary words too."""
    found: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name.strip():
            continue
        found.add(" ".join(name.split()))
        for part in name.replace("-", " ").split():
            part = part.strip(".,'’")
            if len(part) >= 2 and part[0].isupper():
                found.add(part)
    return tuple(sorted(found, key=lambda n: (-len(n), n)))


def scrub_names(value: Any, names: Iterable[str]) -> Any:
    """``value`` (JSON-like) with every string's ``names`` replaced by ``[name]``."""
    names = tuple(names)
    if not names:
        return value
    if isinstance(value, str):
        return redact_names(value, names)
    if isinstance(value, Mapping):
        return {k: scrub_names(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_names(v, names) for v in value]
    return value
