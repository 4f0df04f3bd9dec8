"""ConversationService: idempotent, ordered, transactional ingestion on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session, sessionmaker

from calmline import Engine
from calmline.coach.coach import Coach
from calmline.coach.events import Event, EventKind, Guidance
from calmline.errors import (
    ConversationClosed,
    EventError,
    EventOrderError,
    InputError,
    StoreError,
    UnknownConversation,
)
from calmline.settings import NotifySettings
from calmline.store import models
from calmline.store.db import make_engine, make_session_factory
from calmline.store.service import NOTIFY_LOGGER, ConversationService
from tests.store.helpers import T0, at

CASES = yaml.safe_load(
    (Path(__file__).parents[1] / "cases" / "store" / "conversations.yml").read_text("utf-8")
)
#: Every channel configured (nothing is delivered here: the outbox only records them).
ALL_CHANNELS = NotifySettings(
    webhook_url="http://127.0.0.1:9/calmline-hook",
    smtp_host="127.0.0.1",
    email_to=["lead@example.com", "duty@example.com"],
    log=True,
)


def events_of(case: dict[str, Any]) -> list[Event]:
    out = []
    for n, item in enumerate(case["events"], 1):
        kind = EventKind.CUSTOMER_MESSAGE if "customer" in item else EventKind.AGENT_MESSAGE
        text = item.get("customer") or item.get("agent")
        author = case.get("agent") if kind is EventKind.AGENT_MESSAGE else None
        out.append(Event(f"e{n}", kind, at(item["at"]), text, author=author))
    return out


def details(case: dict[str, Any]) -> dict[str, Any]:
    return {k: case.get(k) for k in ("customer_name", "customer_id", "agent")}


def as_json(guidance: Guidance) -> Any:
    """Guidance as a JSON column keeps it."""
    return json.loads(json.dumps(guidance.to_dict()))


def counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {
            table.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in (models.Conversation, models.Event, models.Incident, models.Notification)
        }


@pytest.fixture
def service(sessions: sessionmaker[Session], engine: Engine) -> ConversationService:
    return ConversationService(sessions, engine, ALL_CHANNELS)


def play(
    service: ConversationService, name: str, conversation_id: str | None = None
) -> list[Guidance]:
    case = CASES[name]
    cid = conversation_id or name
    service.open_conversation(cid, **details(case))
    return [service.ingest(cid, event) for event in events_of(case)]


def message(event_id: str, seconds: float, text: str = "Where is my parcel?") -> Event:
    return Event(event_id, EventKind.CUSTOMER_MESSAGE, at(seconds), text)


# ----- opening ------------------------------------------------------------------------------------


def test_open_conversation_is_idempotent_for_the_same_details(service: ConversationService) -> None:
    first = service.open_conversation(
        "c1", customer_name="Dana", customer_id="C-1", channel="voice"
    )
    again = service.open_conversation(
        "c1", customer_name="Dana", customer_id="C-1", channel="voice"
    )
    assert first == again
    assert (first.channel, first.event_count, first.closed) == ("voice", 0, False)
    # a detail left out is "not given", not a change
    assert service.open_conversation("c1") == first


@pytest.mark.parametrize(
    "change",
    [{"customer_name": "Dan"}, {"customer_id": "C-2"}, {"agent": "Jo"}, {"channel": "chat"}],
)
def test_open_conversation_with_other_details_is_refused(
    service: ConversationService, change: dict[str, str]
) -> None:
    service.open_conversation("c1", customer_name="Dana", customer_id="C-1", channel="voice")
    with pytest.raises(InputError, match="conversation c1 already exists with"):
        service.open_conversation("c1", **change)
    assert service.get_conversation("c1").customer_name == "Dana"


@pytest.mark.parametrize("bad", ["", "   ", "x" * 201])
def test_conversation_ids_are_checked(service: ConversationService, bad: str) -> None:
    with pytest.raises(InputError, match="conversation id"):
        service.open_conversation(bad)


def test_names_longer_than_the_columns_are_refused_before_writing(
    service: ConversationService, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(InputError, match="customer_name: 201 characters"):
        service.open_conversation("c1", customer_name="n" * 201)
    with pytest.raises(EventError, match="author is 201 characters"):
        service.ingest(
            "c1",
            Event("e1", EventKind.AGENT_MESSAGE, T0, "Hello", author="a" * 201),
            create=True,
        )
    assert counts(sessions)["conversations"] == 0


@pytest.mark.parametrize("bad", ["with a \x00 in it", "half a pair \ud83d here"])
def test_text_no_backend_can_store_is_refused_before_anything_is_written(
    service: ConversationService, sessions: sessionmaker[Session], bad: str
) -> None:
    with pytest.raises(EventError, match=r"its text (contains a NUL|is not valid Unicode)"):
        service.ingest("c1", message("e1", 0, bad), create=True)
    with pytest.raises(EventError, match="its author"):
        service.ingest(
            "c1", Event("e1", EventKind.AGENT_MESSAGE, T0, "Hello", author=bad), create=True
        )
    with pytest.raises(EventError, match="an event: its id"):
        service.ingest("c1", message(bad, 0), create=True)
    with pytest.raises(InputError, match="customer_name"):
        service.open_conversation("c1", customer_name=bad)
    with pytest.raises(InputError, match="conversation id"):
        service.open_conversation(bad)
    assert counts(sessions)["conversations"] == 0


def test_an_endless_duration_is_refused(service: ConversationService) -> None:
    with pytest.raises(EventError, match="duration_s must be a finite"):
        voice = Event("e1", EventKind.AGENT_MESSAGE, T0, "Hello", duration_s=float("inf"))
        service.ingest("c1", voice, create=True)


# ----- ingesting ----------------------------------------------------------------------------------


def test_an_unknown_conversation_is_refused_unless_created(
    service: ConversationService, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(UnknownConversation, match="no conversation 'c1'"):
        service.ingest("c1", message("e1", 0))
    assert counts(sessions)["conversations"] == 0
    guidance = service.ingest("c1", message("e1", 0), create=True, customer_name="Dana")
    assert guidance.conversation_id == "c1"
    stored = service.get_conversation("c1")
    assert (stored.customer_name, stored.channel, stored.event_count) == ("Dana", "chat", 1)


def test_the_same_event_twice_is_stored_once_with_the_same_guidance(
    service: ConversationService, sessions: sessionmaker[Session]
) -> None:
    service.open_conversation("c1", customer_name="Dana")
    event = message("e1", 0, "WHERE IS MY PARCEL?? THIS IS A JOKE")
    first = service.ingest("c1", event)
    again = service.ingest("c1", event)
    assert as_json(again) == as_json(first)
    assert counts(sessions)["events"] == 1
    assert service.get_conversation("c1").event_count == 1


def test_the_same_event_id_with_other_content_is_an_error(
    service: ConversationService, sessions: sessionmaker[Session]
) -> None:
    service.open_conversation("c1")
    service.ingest("c1", message("e1", 0, "Where is my parcel?"))
    for changed in (
        message("e1", 0, "Where is my refund?"),
        message("e1", 5, "Where is my parcel?"),
        Event("e1", EventKind.AGENT_MESSAGE, at(0), "Where is my parcel?"),
    ):
        with pytest.raises(EventError, match="already has an event with this id"):
            service.ingest("c1", changed)
    (stored,) = service.events("c1")
    assert stored.event.text == "Where is my parcel?"


def test_an_event_older_than_the_last_is_refused_and_nothing_changes(
    service: ConversationService, sessions: sessionmaker[Session]
) -> None:
    service.open_conversation("c1")
    service.ingest("c1", message("e1", 60))
    before = service.get_conversation("c1")
    with pytest.raises(EventOrderError, match="older than the last event"):
        service.ingest("c1", message("e2", 59))
    assert service.get_conversation("c1") == before
    assert counts(sessions)["events"] == 1
    # the same time as the last event is not older
    service.ingest("c1", message("e3", 60))
    assert [e.seq for e in service.events("c1")] == [1, 2]


def test_events_come_back_in_order_with_their_guidance(service: ConversationService) -> None:
    given = play(service, "calm")
    stored = service.events("calm")
    assert [e.seq for e in stored] == [1, 2, 3]
    assert [e.event for e in stored] == events_of(CASES["calm"])
    assert [as_json(e.guidance) for e in stored] == [as_json(g) for g in given]


@pytest.mark.parametrize("name", list(CASES))
def test_conversations_end_as_their_case_says(
    service: ConversationService, sessions: sessionmaker[Session], name: str
) -> None:
    expect = CASES[name]["expect"]
    play(service, name)
    conversation = service.get_conversation(name)
    assert conversation.closed is expect["closed"]
    assert conversation.protocol_stage == expect["stage"]
    assert conversation.event_count == len(CASES[name]["events"])
    assert conversation.last_event_at == at(CASES[name]["events"][-1]["at"])
    found = service.incidents(customer=CASES[name]["customer_name"])
    assert [i.reason for i in found] == ([expect["incident"]] if expect["incident"] else [])


def test_an_incident_and_its_notifications_are_written_together(
    service: ConversationService, sessions: sessionmaker[Session]
) -> None:
    guidance = play(service, "protocol_end")
    closing = guidance[-1]
    assert closing.incident is not None and closing.notify_manager
    (incident,) = service.incidents()
    assert incident.conversation_id == "protocol_end"
    assert (incident.customer_name, incident.customer_id) == ("Priya Raman", "C-3310")
    assert incident.incident() == closing.incident
    assert incident.summary == closing.incident.summary()
    with sessions() as session:
        rows = session.scalars(
            sa.select(models.Notification).order_by(models.Notification.id)
        ).all()
        event = session.scalars(sa.select(models.Event).where(models.Event.seq == 10)).one()
    assert {(r.channel, r.target) for r in rows} == {
        ("webhook", "http://127.0.0.1:9/calmline-hook"),
        ("email", "lead@example.com, duty@example.com"),
        ("log", NOTIFY_LOGGER),
    }
    for row in rows:
        assert (row.incident_id, row.kind, row.status, row.attempts) == (
            incident.id,
            "incident",
            "pending",
            0,
        )
        assert row.next_attempt_at == row.created_at == event.created_at
        assert row.payload["incident_id"] == incident.id
        assert row.payload["incident"] == json.loads(json.dumps(closing.incident.to_dict()))


def test_without_notify_settings_only_the_log_channel_is_queued(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    play(ConversationService(sessions, engine), "safety_threat")
    with sessions() as session:
        channels = session.scalars(sa.select(models.Notification.channel)).all()
    assert channels == ["log"]
    play(ConversationService(sessions, engine, NotifySettings(log=False)), "safety_threat", "again")
    assert counts(sessions)["notifications"] == 1


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n]["expect"]["redacted"]])
def test_contact_details_arrive_redacted_in_the_incident_and_the_outbox(
    service: ConversationService, sessions: sessionmaker[Session], name: str
) -> None:
    play(service, name)
    with sessions() as session:
        incident = session.scalars(sa.select(models.Incident)).one()
        payloads = session.scalars(sa.select(models.Notification.payload)).all()
    stored = json.dumps([incident.data, incident.summary, payloads], ensure_ascii=False)
    for raw, marker in CASES[name]["expect"]["redacted"].items():
        assert raw not in stored
        assert marker in stored


def test_a_closed_conversation_takes_no_more_messages(
    service: ConversationService, sessions: sessionmaker[Session]
) -> None:
    play(service, "protocol_end")
    before = counts(sessions)
    with pytest.raises(ConversationClosed, match="conversation protocol_end ended at"):
        service.ingest("protocol_end", message("late", 400, "Hello? Are you still there?"))
    with pytest.raises(ConversationClosed):
        service.ingest(
            "protocol_end", Event("bye", EventKind.AGENT_MESSAGE, at(400), "Goodbye, Priya.")
        )
    assert counts(sessions) == before
    # a draft is still checked (and kept with its guidance), as the coach does
    draft = Event("d1", EventKind.AGENT_DRAFT, at(400), "Sorry, we are closed now.")
    assert service.ingest("protocol_end", draft).event_kind is EventKind.AGENT_DRAFT
    assert service.get_conversation("protocol_end").event_count == before["events"] + 1


def test_replaying_every_stored_event_returns_what_was_stored(
    service: ConversationService, sessions: sessionmaker[Session]
) -> None:
    given = play(service, "protocol_end")
    before = counts(sessions)
    again = [service.ingest("protocol_end", event) for event in events_of(CASES["protocol_end"])]
    assert [as_json(g) for g in again] == [as_json(g) for g in given]
    assert counts(sessions) == before


def test_a_new_service_carries_on_from_the_stored_events(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    """Another process (no coach in memory) gives the guidance an unbroken coach gives."""
    case = CASES["protocol_end"]
    events = events_of(case)
    first = ConversationService(sessions, engine, ALL_CHANNELS)
    first.open_conversation("c1", **details(case))
    for event in events[:6]:
        first.ingest("c1", event)
    second = ConversationService(sessions, engine, ALL_CHANNELS, cached_coaches=0)
    carried_on = [second.ingest("c1", event) for event in events[6:]]
    coach = Coach(engine, conversation_id="c1", **details(case))
    unbroken = [coach.feed(event) for event in events][6:]
    assert [as_json(g) for g in carried_on] == [as_json(g) for g in unbroken]
    assert carried_on[-1].incident is not None


def test_history_of_an_earlier_incident_reaches_the_next_agent(
    service: ConversationService,
) -> None:
    play(service, "protocol_end")
    (incident,) = service.incidents()
    # by customer id
    later = service.open_conversation("next-week", customer_id="C-3310")
    assert later.history == incident.summary
    guidance = service.ingest("next-week", message("n1", 9000, "Hello, it is me again."))
    assert guidance.history == incident.summary
    # by name when there is no id, in any case
    by_name = service.open_conversation("by-name", customer_name="priya raman")
    assert by_name.history == incident.summary
    # nobody else's
    assert service.open_conversation("other", customer_id="C-9999").history is None


# ----- nothing is written when something fails --------------------------------------------------


class Boom(RuntimeError):
    pass


def test_when_the_coach_raises_nothing_is_written(
    service: ConversationService, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    service.ingest("c1", message("e1", 0), create=True)
    before = counts(sessions)

    def broken_feed(self: Coach, event: Event) -> Guidance:
        raise Boom("the coach failed")

    monkeypatch.setattr(Coach, "feed", broken_feed)
    with pytest.raises(Boom):
        service.ingest("c1", message("e2", 10))
    with pytest.raises(Boom):  # not even the conversation it would have created
        service.ingest("c2", message("e1", 0), create=True, customer_name="Dana")
    assert counts(sessions) == before
    monkeypatch.undo()
    # and the service goes on as if the failures never happened
    assert service.ingest("c1", message("e2", 10)).event_id == "e2"
    assert service.get_conversation("c1").event_count == 2


def test_when_writing_the_outbox_fails_the_incident_and_its_event_are_not_written(
    service: ConversationService, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES["protocol_end"]
    events = events_of(case)
    service.open_conversation("c1", **details(case))
    for event in events[:-1]:
        service.ingest("c1", event)
    before = counts(sessions)
    conversation = service.get_conversation("c1")
    original = models.Notification.__init__

    def failing(self: models.Notification, **kwargs: Any) -> None:
        original(self, **kwargs)
        if kwargs.get("channel") == "log":  # the last channel: the others are already added
            raise Boom("cannot queue")

    monkeypatch.setattr(models.Notification, "__init__", failing)
    with pytest.raises(Boom):
        service.ingest("c1", events[-1])
    assert counts(sessions) == before
    assert service.get_conversation("c1") == conversation
    monkeypatch.undo()
    guidance = service.ingest("c1", events[-1])  # the retry goes through, once
    assert guidance.incident is not None
    after = counts(sessions)
    assert (after["incidents"], after["notifications"]) == (1, 3)


def test_a_database_that_is_not_migrated_is_a_store_error(
    database_url: str, engine: Engine
) -> None:
    db = make_engine(database_url)
    with pytest.raises(StoreError, match="calmline db upgrade"):
        ConversationService(make_session_factory(db), engine)
    db.dispose()


def test_message_text_is_never_logged(
    service: ConversationService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    play(service, "protocol_end")
    service.ingest("protocol_end", events_of(CASES["protocol_end"])[0])  # a repeat
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "incident" in logged  # the service does log what happened...
    for item in CASES["protocol_end"]["events"]:  # ...but never what anyone wrote
        for sentence in (item.get("customer") or item.get("agent")).split(". "):
            assert sentence not in logged


# ----- concurrency --------------------------------------------------------------------------------


def _run_threads(*targets: Any) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(targets))

    def wrap(target: Any) -> None:
        try:
            start.wait(10)
            target()
        except BaseException as exc:  # reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors


def test_two_threads_ingesting_into_one_conversation_lose_and_duplicate_nothing(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    # Two services, as two processes would be: each one's cached coach goes stale.
    services = [ConversationService(sessions, engine), ConversationService(sessions, engine)]
    per_thread = 15
    # All at the same moment, so any interleaving is in order.
    batches = [
        [
            message(f"t{t}-{n}", 0, f"Message {n} from side {t}: where is order {n}?")
            for n in range(per_thread)
        ]
        for t in range(2)
    ]
    returned: dict[str, Guidance] = {}

    def feed(t: int) -> None:
        for event in batches[t]:
            returned[event.id] = services[t].ingest("shared", event, create=True)

    assert _run_threads(lambda: feed(0), lambda: feed(1)) == []
    stored = services[0].events("shared")
    assert sorted(e.seq for e in stored) == list(range(1, 2 * per_thread + 1))
    assert {e.event.id for e in stored} == {e.id for batch in batches for e in batch}
    assert services[1].get_conversation("shared").event_count == 2 * per_thread
    for item in stored:
        assert as_json(item.guidance) == as_json(returned[item.event.id])


def test_the_same_events_from_two_threads_are_stored_once(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    services = [ConversationService(sessions, engine), ConversationService(sessions, engine)]
    events = [message(f"e{n}", n, f"Where is order {n}?") for n in range(12)]
    answers: list[list[Guidance]] = [[], []]

    def feed(t: int) -> None:
        for event in events:
            answers[t].append(services[t].ingest("shared", event, create=True))

    assert _run_threads(lambda: feed(0), lambda: feed(1)) == []
    assert [e.event.id for e in services[0].events("shared")] == [e.id for e in events]
    assert [as_json(g) for g in answers[0]] == [as_json(g) for g in answers[1]]


def test_times_are_kept_as_given_instants(service: ConversationService) -> None:
    plus_two = timezone(timedelta(hours=2))
    shifted = Event("e2", EventKind.CUSTOMER_MESSAGE, at(30).astimezone(plus_two), "Hello?")
    service.ingest("c1", message("e1", 0), create=True)
    service.ingest("c1", shifted)
    stored = service.events("c1")
    assert stored[1].event.at == shifted.at
    assert service.get_conversation("c1").last_event_at == T0 + timedelta(seconds=30)


def test_an_unknown_incident_has_its_own_error_code(sessions: Any) -> None:
    from calmline import default_engine
    from calmline.errors import UnknownIncident
    from calmline.store.service import ConversationService

    service = ConversationService(sessions, default_engine())
    with pytest.raises(UnknownIncident, match="no incident 4242") as info:
        service.incident(4242)
    assert info.value.code == "incident_unknown"
    with pytest.raises(UnknownIncident):
        service.acknowledge(4242, by="Lee")
