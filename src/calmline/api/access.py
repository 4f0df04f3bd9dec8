"""Who may see what: an agent their own conversations, a manager their team's, an admin all.

Something outside the caller's scope answers 404, as if it did not exist, so ids of other
teams' conversations and incidents cannot be probed. Routes a role may never use answer 403
(see :func:`calmline.api.deps.require`).
"""

from __future__ import annotations

from fastapi import HTTPException

from calmline.store.keys import ApiKey, Role
from calmline.store.records import StoredConversation, StoredIncident


def sees_conversation(key: ApiKey, conversation: StoredConversation) -> bool:
    if key.role is Role.ADMIN:
        return True
    if key.role is Role.AGENT:
        return conversation.agent == key.name
    if key.role is Role.MANAGER:
        return key.team is not None and conversation.team == key.team
    return False


def sees_incident(key: ApiKey, incident: StoredIncident) -> bool:
    if key.role is Role.ADMIN:
        return True
    if key.role is Role.MANAGER:
        return key.team is not None and incident.team == key.team
    return False


def not_found(what: str) -> HTTPException:
    return HTTPException(404, f"no {what}, or not one this key may see")


def visible_conversation(key: ApiKey, conversation: StoredConversation) -> StoredConversation:
    """The conversation when ``key`` may see it, else a 404."""
    if not sees_conversation(key, conversation):
        raise not_found(f"conversation {conversation.id!r}")
    return conversation


def visible_incident(key: ApiKey, incident: StoredIncident) -> StoredIncident:
    if not sees_incident(key, incident):
        raise not_found(f"incident {incident.id}")
    return incident
