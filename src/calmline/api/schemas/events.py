"""The body of an event a client reports (REST ``POST .../events`` and the WebSocket's ``event``).

Both ways in build the coach's :class:`~calmline.coach.events.Event` through
:meth:`EventCreate.to_event`, so an event means the same whichever way it arrives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field

from calmline.api.schemas.common import NAME_CHARS, Request
from calmline.coach.events import Event, EventKind
from calmline.errors import EventError
from calmline.store.keys import ApiKey

#: Kinds written by the agent: the caller's key name becomes the event's author.
AGENT_KINDS = frozenset({EventKind.AGENT_DRAFT, EventKind.AGENT_MESSAGE})
#: How far ahead of the server's clock a client's ``at`` may be (clocks drift a little). A
#: later event would stay the conversation's newest, and every real event after it would be
#: refused as out of order.
MAX_CLOCK_AHEAD = timedelta(minutes=5)


class EventCreate(Request):
    id: str = Field(
        min_length=1,
        max_length=NAME_CHARS,
        description="the client's id for the event; the same id again is answered from the store",
        examples=["msg-0001"],
    )
    kind: Literal["customer_message", "agent_draft", "agent_message", "conversation_end"]
    text: str = Field(default="", description="what was written or said (empty for the end)")
    at: datetime | None = Field(
        default=None,
        description="when it happened, with a time zone (default: when the server receives it)",
    )
    duration_s: float | None = Field(
        default=None, gt=0, description="voice: how long the utterance took, in seconds"
    )

    def to_event(self, key: ApiKey, now: datetime | None = None) -> Event:
        """The coach's event; the agent's events are authored by the key's holder.

        Raises :class:`calmline.errors.EventError` (``event_invalid``) when the event itself is
        not valid, for example a message without text, a time without a zone, or a time further
        ahead of ``now`` (the server's clock) than :data:`MAX_CLOCK_AHEAD`.
        """
        now = now or datetime.now(UTC)
        kind = EventKind(self.kind)
        event = Event(
            id=self.id,
            kind=kind,
            at=self.at if self.at is not None else now,
            text=self.text,
            author=key.name if kind in AGENT_KINDS else None,
            duration_s=self.duration_s,
        )
        if event.at > now + MAX_CLOCK_AHEAD:
            raise EventError(
                f"event {event.id}: at {event.at.isoformat()} is after the server's time "
                f"({now.isoformat(timespec='seconds')}) by more than "
                f"{int(MAX_CLOCK_AHEAD.total_seconds() // 60)} minutes; send the time from a "
                "synchronised clock, or leave at out"
            )
        return event
