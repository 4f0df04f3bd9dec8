"""Who sees what (calmline.api.access): one rule per kind of record, shared by the routes, the
pages and the live socket; outside the caller's scope is the unknown record's own error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from calmline.api import access
from calmline.errors import CalmlineError
from calmline.store.keys import ApiKey, Role
from calmline.store.practice import PracticeRecord
from calmline.store.records import StoredConversation

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def key(name: str, role: Role, team: str | None = None) -> ApiKey:
    return ApiKey(1, "0123abcd", name, role, team, T0, None, None)


ANA = key("Ana", Role.AGENT, "north")
BEN = key("Ben", Role.AGENT, "south")
TESS = key("Tess", Role.TRAINER)
MAYA = key("Maya", Role.MANAGER, "north")
ROOT = key("Root", Role.ADMIN)


def conversation() -> StoredConversation:
    fields: dict[str, Any] = dict.fromkeys(StoredConversation.__slots__)
    fields.update(id="c1", agent="Ana", team="north")
    return StoredConversation(**fields)


def practice() -> PracticeRecord:
    return PracticeRecord("p1", "Ana", "insulter", 1, (), T0, T0, None, None, "Ana")


@pytest.mark.parametrize(
    ("who", "sees"), [(ANA, True), (BEN, False), (TESS, False), (MAYA, True), (ROOT, True)]
)
def test_conversations(who: ApiKey, sees: bool) -> None:
    stored = conversation()
    assert access.sees_conversation(who, stored) is sees
    if sees:
        assert access.visible_conversation(who, stored) is stored
    else:
        with pytest.raises(CalmlineError) as raised:
            access.visible_conversation(who, stored)
        assert raised.value.code == "conversation_unknown"
        assert raised.value.message == "no conversation 'c1'"


@pytest.mark.parametrize(
    ("who", "sees"), [(ANA, True), (BEN, False), (TESS, True), (MAYA, False), (ROOT, True)]
)
def test_practice_sessions(who: ApiKey, sees: bool) -> None:
    record = practice()
    assert access.sees_practice(who, record) is sees
    if sees:
        assert access.visible_practice(who, record) is record
    else:
        with pytest.raises(CalmlineError) as raised:
            access.visible_practice(who, record)
        assert raised.value.code == "practice_unknown"
