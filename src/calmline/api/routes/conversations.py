"""Conversations: open one, list and read them, send their events, read the stored events.

An agent's key opens and sees its own conversations (its name and team go on them); a
manager reads their team's; an admin everything. Someone else's conversation answers exactly
as a conversation that does not exist (404), so ids cannot be probed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from calmline.api.access import sees_conversation, visible_conversation
from calmline.api.deps import Agent, ConversationReader, ServicesDep
from calmline.api.ingest import announce, store_event
from calmline.api.schemas.conversations import (
    ConversationCreate,
    ConversationDetail,
    ConversationList,
    ConversationPublic,
    EventGuidancePublic,
    EventList,
)
from calmline.api.schemas.events import EventCreate
from calmline.api.services import Services
from calmline.errors import UnknownConversation
from calmline.store.keys import ApiKey, Role
from calmline.store.queries import MAX_CONVERSATIONS
from calmline.store.records import StoredConversation

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

#: The details a client gives when opening a conversation, as they are stored.
DETAILS = ("customer_name", "customer_id", "channel", "agent", "team")


def visible(services: Services, key: ApiKey, conversation_id: str) -> StoredConversation:
    """The conversation when the key may see it; else the same 404 as for an unknown id."""
    return visible_conversation(key, services.conversations.get_conversation(conversation_id))


def _owner(body: ConversationCreate, key: ApiKey) -> tuple[str | None, str | None]:
    """Whose conversation it is: an agent's own (with their team), or whom an admin names."""
    if key.role is not Role.AGENT:
        return body.agent, body.team
    if body.agent not in (None, key.name) or body.team not in (None, key.team):
        raise HTTPException(
            403, "an agent opens conversations as themselves: agent and team are for admins"
        )
    return key.name, key.team


@router.post(
    "",
    status_code=201,
    response_model=ConversationPublic,
    summary="Open a conversation",
    responses={200: {"description": "it was already open with these details"}},
)
def open_conversation(
    body: ConversationCreate, services: ServicesDep, key: Agent, response: Response
) -> Any:
    """201 with the new conversation; the same id with the same details again is 200 with the
    stored one, and with other details (or someone else's) 409."""
    agent, team = _owner(body, key)
    given = {
        "customer_name": body.customer_name,
        "customer_id": body.customer_id,
        "channel": body.channel,
        "agent": agent,
        "team": team,
    }
    try:
        existing: StoredConversation | None = services.conversations.get_conversation(body.id)
    except UnknownConversation:
        existing = None
    if existing is not None:
        if not sees_conversation(key, existing):
            raise HTTPException(409, f"conversation id {body.id!r} is taken; choose another")
        differ = [
            f"{name} {getattr(existing, name)!r} (given: {value!r})"
            for name, value in given.items()
            if value is not None and value != getattr(existing, name)
        ]
        if differ:
            raise HTTPException(
                409, f"conversation {body.id!r} is already open with " + "; ".join(differ)
            )
        response.status_code = 200
        return existing.to_dict()
    return services.conversations.open_conversation(body.id, **given).to_dict()


@router.get("", response_model=ConversationList, summary="List conversations")
def list_conversations(
    services: ServicesDep,
    key: ConversationReader,
    limit: Annotated[int, Query(ge=1, le=MAX_CONVERSATIONS)] = 50,
) -> Any:
    """The newest conversations the key may see: an agent's own, a manager's team's, all for
    an admin."""
    if key.role is Role.AGENT:
        found = services.conversations.conversations(agent=key.name, team=key.team, limit=limit)
    elif key.role is Role.MANAGER:
        found = services.conversations.conversations(team=key.team, limit=limit)
    else:
        found = services.conversations.conversations(limit=limit)
    # The store matches what is given; the access rule also holds for a key without a team.
    return {"conversations": [c.to_dict() for c in found if sees_conversation(key, c)]}


@router.get("/{conversation_id}", response_model=ConversationDetail, summary="Read a conversation")
def read_conversation(conversation_id: str, services: ServicesDep, key: ConversationReader) -> Any:
    """The conversation and the guidance after its newest event (null before the first)."""
    conversation = visible(services, key, conversation_id)
    events = services.conversations.events(conversation_id) if conversation.event_count else ()
    latest = events[-1].guidance.to_dict() if events else None
    return {**conversation.to_dict(), "guidance": latest}


@router.post(
    "/{conversation_id}/events",
    response_model=EventGuidancePublic,
    summary="Send an event and get the coach's guidance",
)
def send_event(
    conversation_id: str,
    body: EventCreate,
    services: ServicesDep,
    key: Agent,
    request: Request,
) -> Any:
    """Store a customer message, a draft, a sent agent message or the end, and answer with
    the guidance after it. Sending the same event again answers the same guidance and stores
    nothing; the same id with different content is a 409. Open live sockets of the
    conversation get the guidance too."""
    visible(services, key, conversation_id)
    stored = store_event(services, conversation_id, body, key)
    announce(request.app.state, conversation_id, stored)
    return {"event_id": stored.event.id, "guidance": stored.guidance.to_dict()}


@router.get(
    "/{conversation_id}/events", response_model=EventList, summary="The conversation's events"
)
def list_events(conversation_id: str, services: ServicesDep, key: ConversationReader) -> Any:
    """Every stored event, oldest first, each with the guidance it produced."""
    visible(services, key, conversation_id)
    return {
        "events": [
            {
                "seq": stored.seq,
                "event": stored.event.to_dict(),
                "guidance": stored.guidance.to_dict(),
                "created_at": stored.created_at.isoformat(),
            }
            for stored in services.conversations.events(conversation_id)
        ]
    }
