"""What goes into a coach (events) and what comes out (guidance): frozen, JSON-ready values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from calmline.core.types import Credit, Finding, MessageAnalysis
from calmline.errors import EventError

#: Longest client-supplied event id accepted.
MAX_EVENT_ID_CHARS = 200
#: Longest agent name or id accepted as an event's author.
MAX_AUTHOR_CHARS = 200


class EventKind(StrEnum):
    CUSTOMER_MESSAGE = "customer_message"
    #: checked against the playbook; never changes the conversation's state
    AGENT_DRAFT = "agent_draft"
    #: sent to the customer: advances the protocol and counts for pacing
    AGENT_MESSAGE = "agent_message"
    #: the chat or call was closed (by the agent, the customer or the system)
    CONVERSATION_END = "conversation_end"


class CustomerState(StrEnum):
    CALM = "calm"
    UPSET = "upset"
    ABUSIVE = "abusive"
    UNSAFE = "unsafe"


class Trend(StrEnum):
    CALMING = "calming"
    STEADY = "steady"
    ESCALATING = "escalating"


def _iso(at: datetime) -> str:
    return at.isoformat()


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened in a conversation, as the client reports it."""

    id: str
    kind: EventKind
    at: datetime
    text: str = ""
    #: the agent's name or id, for agent events
    author: str | None = None
    #: voice: how long the utterance took, for words per minute
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise EventError("event id: expected a non-empty string")
        if len(self.id) > MAX_EVENT_ID_CHARS:
            raise EventError(
                f"event id: {len(self.id)} characters; the limit is {MAX_EVENT_ID_CHARS}"
            )
        if not isinstance(self.kind, EventKind):
            try:
                object.__setattr__(self, "kind", EventKind(self.kind))
            except ValueError:
                kinds = ", ".join(k.value for k in EventKind)
                raise EventError(
                    f"event {self.id}: kind {self.kind!r} is not one of {kinds}"
                ) from None
        if not isinstance(self.at, datetime):
            raise EventError(f"event {self.id}: timestamp missing or not a date-time")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise EventError(
                f"event {self.id}: timestamp {self.at.isoformat()} has no time zone; "
                "give one (for example 2026-11-30T10:00:00Z)"
            )
        if not isinstance(self.text, str):
            raise EventError(f"event {self.id}: text must be a string")
        if self.kind is not EventKind.CONVERSATION_END and not self.text.strip():
            raise EventError(f"event {self.id}: a {self.kind.value} needs text")
        if self.author is not None:
            if not isinstance(self.author, str) or not self.author.strip():
                raise EventError(f"event {self.id}: author must be a non-empty name or id")
            if len(self.author) > MAX_AUTHOR_CHARS:
                raise EventError(
                    f"event {self.id}: author is {len(self.author)} characters; "
                    f"the limit is {MAX_AUTHOR_CHARS}"
                )
        if self.duration_s is not None and not (
            isinstance(self.duration_s, int | float) and 0 < self.duration_s < math.inf
        ):
            raise EventError(
                f"event {self.id}: duration_s must be a finite, positive number of seconds"
            )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind.value,
            "at": _iso(self.at),
            "text": self.text,
        }
        if self.author is not None:
            out["author"] = self.author
        if self.duration_s is not None:
            out["duration_s"] = self.duration_s
        return out


@dataclass(frozen=True, slots=True)
class NextStep:
    """What the agent should do next, with a line they can use."""

    #: make_aware, ask_to_stop, warn, warn_again, invite_back, end, steer_back, apologise,
    #: empathise, escalate_safety, accept_forgiveness, respond
    action: str
    principle: str
    wording: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "principle": self.principle,
            "wording": self.wording,
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class PacingAdvice:
    """Advice on timing and length (A2-A4), with the figure it is based on."""

    #: hold, replied_too_fast, time_out, wall_of_text, rapid_fire, words_per_minute
    kind: str
    principle: str
    message: str
    hold_seconds: float | None = None
    value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "principle": self.principle,
            "message": self.message,
        }
        if self.hold_seconds is not None:
            out["hold_seconds"] = self.hold_seconds
        if self.value is not None:
            out["value"] = round(self.value, 2)
        return out


@dataclass(frozen=True, slots=True)
class ProtocolStep:
    """One entry of the boundary-protocol timeline."""

    #: D1..D5, "calmed" (back to normal), "safety" (threat to safety), "end"
    step: str
    #: the protocol stage after this step
    stage: str
    at: datetime
    event_id: str
    quote: str
    #: False when the step was taken out of order (a premature end)
    proper: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "stage": self.stage,
            "at": _iso(self.at),
            "event_id": self.event_id,
            "quote": self.quote,
            "proper": self.proper,
        }


@dataclass(frozen=True, slots=True)
class KeyPoint:
    """Something the customer raised, quoted, with the signals that made it stand out."""

    quote: str
    signals: tuple[str, ...]
    at: datetime
    event_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "quote": self.quote,
            "signals": list(self.signals),
            "at": _iso(self.at),
            "event_id": self.event_id,
        }


@dataclass(frozen=True, slots=True)
class Incident:
    """D6: the written record of a conversation ended through the protocol or for safety."""

    conversation_id: str
    customer_name: str | None
    customer_id: str | None
    agent: str | None
    #: protocol_end, safety_threat or premature_end
    reason: str
    opened_at: datetime
    closed_at: datetime
    key_points: tuple[KeyPoint, ...]
    demands: tuple[str, ...]
    threats: tuple[str, ...]
    timeline: tuple[ProtocolStep, ...]
    #: D1..D5 -> whether the agent did it
    steps_done: Mapping[str, bool]
    #: the note for the next agent and the line manager, in plain words
    note: str

    def summary(self) -> str:
        """Two or three lines for the next agent who talks to this customer."""
        who = self.customer_name or self.customer_id or "This customer"
        when = self.closed_at.date().isoformat()
        why = {
            "protocol_end": "was ended through the boundary protocol",
            "safety_threat": "was ended after a threat to someone's safety",
            "premature_end": "was ended before the warnings were complete",
        }.get(self.reason, f"ended ({self.reason})")
        lines = [f"{who}'s last conversation ({when}) {why}."]
        if self.key_points:
            raised = "; ".join(p.quote.rstrip(".!?… ") for p in self.key_points[:3])
            lines.append(f"They raised: {raised}.")
        if self.demands:
            lines.append("They asked for: " + "; ".join(self.demands[:3]) + ".")
        return " ".join(lines)

    def to_dict(self, *, redact_names: bool = False) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "customer_name": None if redact_names else self.customer_name,
            "customer_id": self.customer_id,
            "agent": self.agent,
            "reason": self.reason,
            "opened_at": _iso(self.opened_at),
            "closed_at": _iso(self.closed_at),
            "key_points": [p.to_dict() for p in self.key_points],
            "demands": list(self.demands),
            "threats": list(self.threats),
            "timeline": [s.to_dict() for s in self.timeline],
            "steps_done": dict(self.steps_done),
            "note": self.note,
            "summary": self.summary() if not redact_names else None,
        }


@dataclass(frozen=True, slots=True)
class Guidance:
    """What the coach says after one event."""

    conversation_id: str
    event_id: str
    event_kind: EventKind
    state: CustomerState
    trend: Trend
    anger: float
    protocol_stage: str
    next_step: NextStep | None
    pacing: tuple[PacingAdvice, ...] = ()
    #: findings on a draft or sent message, in the conversation's context
    findings: tuple[Finding, ...] = ()
    credits: tuple[Credit, ...] = ()
    #: what the engine read in a customer message
    analysis: MessageAnalysis | None = None
    #: the suggested reply for a draft or sent message
    fixed: str | None = None
    #: D7: tell the line manager (a safety threat, or the conversation ended by the protocol)
    notify_manager: bool = False
    #: set on the event that closes an incident
    incident: Incident | None = None
    #: a summary of this customer's last incident, when they come back
    history: str | None = None
    #: things worth telling the agent that are not a step (e.g. "customer calmed down")
    notes: tuple[str, ...] = field(default=())

    @property
    def blocked(self) -> bool:
        return any(f.severity.value == "block" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "event_id": self.event_id,
            "event_kind": self.event_kind.value,
            "state": self.state.value,
            "trend": self.trend.value,
            "anger": round(self.anger, 3),
            "protocol_stage": self.protocol_stage,
            "next_step": self.next_step.to_dict() if self.next_step else None,
            "pacing": [p.to_dict() for p in self.pacing],
            "findings": [f.to_dict() for f in self.findings],
            "credits": [c.to_dict() for c in self.credits],
            "analysis": self.analysis.to_dict() if self.analysis else None,
            "fixed": self.fixed,
            "blocked": self.blocked,
            "notify_manager": self.notify_manager,
            "incident": self.incident.to_dict() if self.incident else None,
            "history": self.history,
            "notes": list(self.notes),
        }
