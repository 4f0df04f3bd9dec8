"""Bodies of the conversation routes: opening one, reading it, and its stored events.

The event body itself (``EventCreate``) lives in :mod:`calmline.api.schemas.events`, shared
with the WebSocket.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from calmline.api.schemas.common import NAME_CHARS, Public, Request


class ConversationCreate(Request):
    id: str = Field(
        min_length=1,
        max_length=NAME_CHARS,
        description="the helpdesk's id for the conversation",
        examples=["chat-2291"],
    )
    customer_name: str | None = Field(default=None, max_length=NAME_CHARS)
    customer_id: str | None = Field(default=None, max_length=NAME_CHARS)
    channel: str | None = Field(default=None, max_length=32, examples=["chat"])
    agent: str | None = Field(
        default=None,
        max_length=NAME_CHARS,
        description="admins only: whose conversation it is (an agent's key opens its own)",
    )
    team: str | None = Field(
        default=None,
        max_length=NAME_CHARS,
        description="admins only: the agent's team (an agent's key gives its own)",
    )


class ConversationPublic(Public):
    """A conversation as stored (StoredConversation.to_dict()); times are ISO 8601."""

    id: str
    customer_id: str | None
    customer_name: str | None
    agent: str | None
    channel: str
    team: str | None
    created_at: str
    last_event_at: str | None
    event_count: int
    state: str = Field(examples=["abusive"])
    protocol_stage: str = Field(examples=["warned"])
    closed_at: str | None
    history: str | None = Field(description="the summary of the customer's last incident")


class ConversationDetail(ConversationPublic):
    guidance: dict[str, Any] | None = Field(
        description="the guidance after the newest event (Guidance.to_dict()), or null"
    )


class ConversationList(Public):
    conversations: list[ConversationPublic]


class EventGuidancePublic(Public):
    event_id: str
    guidance: dict[str, Any] = Field(description="the coach's guidance after the event")


class StoredEventPublic(Public):
    seq: int = Field(description="1 for the first event stored, then 2, 3 ...")
    event: dict[str, Any]
    guidance: dict[str, Any]
    created_at: str


class EventList(Public):
    events: list[StoredEventPublic]
