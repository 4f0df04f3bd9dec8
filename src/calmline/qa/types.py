"""The values quality review passes between its stages: conversations read from an archive,
problems with records, and the scores of a conversation.

Ingest (``calmline.qa.ingest``) yields :class:`Conversation` and :class:`IngestProblem`;
scoring (``calmline.qa.score``) turns a conversation into a :class:`ConversationScore`;
aggregation, reports and exports read scores only. All of them are frozen and picklable, so
they cross process boundaries (multiprocessing, Dask) unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from calmline.core.types import Role

Outcome = Literal["de-escalated", "escalated", "steady", "ended-by-protocol"]


@dataclass(frozen=True, slots=True)
class Message:
    """One message of an archived conversation."""

    role: Role
    text: str
    #: when it was sent (UTC), if the export says
    at: datetime | None = None
    #: the agent's (or customer's) name or id, as the export gives it
    author: str | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    """One conversation read from an archive, with where it came from."""

    id: str
    messages: tuple[Message, ...]
    #: the archive file and the record (line, index or id) it was read from
    source: str
    record: str
    #: the export's format name (``calmline-jsonl``, ``zendesk``, ``intercom``, ...)
    format: str
    #: the agent who handled it (the author of most agent messages when not given)
    agent: str | None = None
    team: str | None = None
    customer_name: str | None = None
    #: channel: chat, email, voice, social ...
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class IngestProblem:
    """A record that could not be used, or a warning about one: file, record and field."""

    source: str
    record: str
    field: str
    message: str
    #: a warning keeps the record (an unknown field, say); an error skips it
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning" if self.warning else "skipped"
        where = f"{self.source}:{self.record}"
        return (
            f"{where}: {kind}: {self.field}: {self.message}"
            if self.field
            else f"{where}: {kind}: {self.message}"
        )


@dataclass(frozen=True, slots=True)
class PrincipleHit:
    """A principle an agent message followed (a credit) or broke (a finding), with a quote."""

    principle: str
    #: the rule id (findings) or behaviour (credits) behind it
    source: str
    followed: bool
    #: the words of the agent message it is about (personal data is redacted in exports)
    quote: str
    #: index of the message in the conversation
    message: int
    severity: str | None = None

    def to_dict(self, quote: str | None = None) -> dict[str, Any]:
        """The hit as a plain record; ``quote`` replaces the quote (a redacted one, say)."""
        return {
            "principle": self.principle,
            "source": self.source,
            "followed": self.followed,
            "quote": self.quote if quote is None else quote,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True, slots=True)
class ConversationScore:
    """The scorecard of one conversation."""

    conversation_id: str
    source: str
    format: str
    agent: str | None
    team: str | None
    #: ISO year-week of the conversation's first message (``2026-W48``), if timed
    week: str | None
    started_at: datetime | None
    customer_messages: int
    agent_messages: int
    hits: tuple[PrincipleHit, ...]
    #: anger (0-1) of the first and last customer message, and the highest
    anger_start: float
    anger_end: float
    anger_peak: float
    #: the highest abuse level any customer message reached (none, venting, abusive, safety)
    abuse: str
    #: whether the boundary protocol (D1-D5) was needed, and whether the agent kept to it
    protocol_needed: bool
    protocol_followed: bool | None
    protocol_steps: tuple[str, ...]
    outcome: Outcome
    #: the score 0-100 the conversation earns from its findings and credits
    score: float
    extra: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """The scorecard's plain fields (not its hits or extra), numbers as floats: the
        common part of the records that exports and DataFrames make of it."""
        return {
            "conversation_id": self.conversation_id,
            "source": self.source,
            "format": self.format,
            "agent": self.agent,
            "team": self.team,
            "week": self.week,
            "started_at": self.started_at,
            "customer_messages": self.customer_messages,
            "agent_messages": self.agent_messages,
            "anger_start": float(self.anger_start),
            "anger_end": float(self.anger_end),
            "anger_peak": float(self.anger_peak),
            "abuse": self.abuse,
            "protocol_needed": self.protocol_needed,
            "protocol_followed": self.protocol_followed,
            "protocol_steps": self.protocol_steps,
            "outcome": self.outcome,
            "score": float(self.score),
        }

    @property
    def followed(self) -> tuple[PrincipleHit, ...]:
        return tuple(h for h in self.hits if h.followed)

    @property
    def violated(self) -> tuple[PrincipleHit, ...]:
        return tuple(h for h in self.hits if not h.followed)
