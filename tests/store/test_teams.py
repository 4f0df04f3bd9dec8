"""Teams: a conversation's team is kept like its other details, its incident copies it, and
both can be listed by team and by agent, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from calmline import Engine
from calmline.errors import InputError
from calmline.store.service import ConversationService
from tests.store.helpers import T0
from tests.store.test_service import ALL_CHANNELS, CASES, details, events_of, message


def ticking() -> Callable[[], datetime]:
    """A clock one minute later on each call, so "newest first" has an answer."""
    minutes = itertools.count()
    return lambda: T0 + timedelta(minutes=next(minutes))


@pytest.fixture
def service(sessions: sessionmaker[Session], engine: Engine) -> ConversationService:
    return ConversationService(sessions, engine, ALL_CHANNELS, clock=ticking())


def play(service: ConversationService, name: str, cid: str, team: str | None) -> None:
    case = CASES[name]
    service.open_conversation(cid, team=team, **details(case))
    for event in events_of(case):
        service.ingest(cid, event)


def test_the_team_is_kept_and_shown(service: ConversationService) -> None:
    opened = service.open_conversation("c1", agent="Alex", team="north")
    assert opened.team == "north"
    assert service.get_conversation("c1").team == "north"
    assert opened.to_dict()["team"] == "north"
    # the same team again, or none given, is the same conversation
    assert service.open_conversation("c1", team="north") == opened
    assert service.open_conversation("c1") == opened


def test_a_conversation_without_a_team_has_none(service: ConversationService) -> None:
    assert service.open_conversation("c1").team is None
    assert service.open_conversation("c1").to_dict()["team"] is None


def test_another_team_is_refused_like_any_other_detail(service: ConversationService) -> None:
    service.open_conversation("c1", team="north")
    with pytest.raises(InputError, match="team 'north' \\(given: 'south'\\)"):
        service.open_conversation("c1", team="south")
    with pytest.raises(InputError, match="team 'north'"):
        service.ingest("c1", message("e1", 0), team="south")
    assert service.get_conversation("c1").event_count == 0


def test_ingest_can_create_the_conversation_with_its_team(service: ConversationService) -> None:
    service.ingest("c1", message("e1", 0), create=True, agent="Alex", team="north")
    assert service.get_conversation("c1").team == "north"
    service.ingest("c1", message("e2", 5), team="north")  # the same team is fine
    assert service.get_conversation("c1").event_count == 2


@pytest.mark.parametrize("bad", ["", "   ", "x" * 201, "nor\x00th", "\ud800"])
def test_a_team_is_checked_before_anything_is_written(
    service: ConversationService, bad: str
) -> None:
    with pytest.raises(InputError, match="team"):
        service.open_conversation("c1", team=bad)
    assert service.conversations() == ()


def test_the_incident_copies_the_team_of_its_conversation(service: ConversationService) -> None:
    play(service, "protocol_end", "north-1", "north")
    play(service, "safety_threat", "south-1", "south")
    play(service, "safety_threat", "none-1", None)
    (north,) = service.incidents(team="north")
    (south,) = service.incidents(team="south")
    assert (north.conversation_id, north.team) == ("north-1", "north")
    assert (south.conversation_id, south.team) == ("south-1", "south")
    assert north.to_dict()["team"] == "north"
    assert north.to_dict(redact_names=True)["team"] == "north"
    nobody = next(i for i in service.incidents() if i.conversation_id == "none-1")
    assert nobody.team is None
    assert service.incidents(team="west") == ()
    assert service.incident(north.id).team == "north"


def test_incidents_by_agent_and_team_together(service: ConversationService) -> None:
    play(service, "protocol_end", "north-1", "north")  # agent Alex
    play(service, "safety_threat", "north-2", "north")  # agent Alex
    assert len(service.incidents(agent="Alex")) == 2
    assert len(service.incidents(agent="Alex", team="north")) == 2
    assert service.incidents(agent="alex") == ()  # exact, unlike customer names
    assert service.incidents(agent="Alex", team="south") == ()
    assert len(service.incidents(agent="Alex", team="north", limit=1)) == 1


def test_conversations_are_listed_newest_first_by_agent_and_team(
    service: ConversationService,
) -> None:
    service.open_conversation("a", agent="Alex", team="north")
    service.open_conversation("b", agent="Blair", team="north")
    service.open_conversation("c", agent="Alex", team="south")
    service.open_conversation("d")
    assert [c.id for c in service.conversations()] == ["d", "c", "b", "a"]
    assert [c.id for c in service.conversations(agent="Alex")] == ["c", "a"]
    assert [c.id for c in service.conversations(team="north")] == ["b", "a"]
    assert [c.id for c in service.conversations(agent="Alex", team="north")] == ["a"]
    assert [c.id for c in service.conversations(limit=2)] == ["d", "c"]
    assert service.conversations(team="west") == ()
    newest = service.conversations(limit=1)[0]
    assert isinstance(newest.created_at, datetime)
    assert newest == service.get_conversation("d")


@pytest.mark.parametrize("limit", [0, -1, 1001, True])
def test_a_conversation_listing_limit_is_checked(service: ConversationService, limit: int) -> None:
    with pytest.raises(InputError, match="limit"):
        service.conversations(limit=limit)


def test_a_filter_no_backend_can_store_is_an_input_error(service: ConversationService) -> None:
    with pytest.raises(InputError, match="team"):
        service.conversations(team="a\x00b")
    with pytest.raises(InputError, match="agent"):
        service.incidents(agent="\ud800")
