"""Who may see what: an agent their own conversations, a manager their team's, an admin all.

Something outside the caller's scope answers exactly as something that does not exist (the
same error, so the same 404 and code), so ids of other teams' conversations and incidents, or
other agents' practice sessions, cannot be probed. Routes a role may never use answer 403 (see
:func:`calmline.api.deps.require`).
"""

from __future__ import annotations

from calmline.errors import UnknownConversation, UnknownIncident, UnknownPractice
from calmline.store.keys import ApiKey, Role
from calmline.store.practice import PracticeRecord
from calmline.store.records import StoredConversation, StoredIncident


def sees_conversation(key: ApiKey, conversation: StoredConversation) -> bool:
    if key.role is Role.ADMIN:
        return True
    if key.role is Role.AGENT:
        # Name and team: two agents of one name in two teams do not see each other's chats.
        return conversation.agent == key.name and conversation.team == key.team
    if key.role is Role.MANAGER:
        return key.team is not None and conversation.team == key.team
    return False


def sees_incident(key: ApiKey, incident: StoredIncident) -> bool:
    if key.role is Role.ADMIN:
        return True
    if key.role is Role.MANAGER:
        return key.team is not None and incident.team == key.team
    return False


def sees_practice(key: ApiKey, record: PracticeRecord) -> bool:
    """An agent sees their own practice sessions; trainers and admins every trainee's."""
    if key.role is Role.AGENT:
        return record.trainee == key.name
    return key.role in (Role.TRAINER, Role.ADMIN)


def visible_conversation(key: ApiKey, conversation: StoredConversation) -> StoredConversation:
    """The conversation when ``key`` may see it, else the unknown conversation's error."""
    if not sees_conversation(key, conversation):
        raise UnknownConversation(f"no conversation {conversation.id!r}")
    return conversation


def visible_incident(key: ApiKey, incident: StoredIncident) -> StoredIncident:
    """The incident when ``key`` may see it, else the unknown incident's error."""
    if not sees_incident(key, incident):
        raise UnknownIncident(f"no incident {incident.id}")
    return incident


def visible_practice(key: ApiKey, record: PracticeRecord) -> PracticeRecord:
    """The practice session when ``key`` may see it, else the unknown session's error."""
    if not sees_practice(key, record):
        raise UnknownPractice(f"no practice session {record.id!r}")
    return record
