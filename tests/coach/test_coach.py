"""The coach over whole conversations: the scenarios in tests/cases/coach/*.yml, and its contract
(idempotent events, order, closed conversations, history for a returning customer)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from calmline import default_engine
from calmline.coach.coach import Coach
from calmline.coach.events import Event, EventKind, Guidance
from calmline.errors import ConversationClosed, EventError, EventOrderError
from tests.coach.scripted import START, event, scenarios


def _check(n: int, guidance: Guidance, expect: dict[str, Any]) -> None:
    where = f"event {n}"
    if "state" in expect:
        assert guidance.state.value == expect["state"], where
    if "stage" in expect:
        assert guidance.protocol_stage == expect["stage"], where
    if "next" in expect:
        assert guidance.next_step is not None, where
        assert guidance.next_step.action == expect["next"], where
        assert guidance.next_step.why, where
    if "findings" in expect:
        assert sorted({f.rule for f in guidance.findings}) == sorted(expect["findings"]), where
    if "blocked" in expect:
        assert guidance.blocked is expect["blocked"], where
    if "incident" in expect:
        assert guidance.incident is not None, where
        assert guidance.incident.reason == expect["incident"], where
    if "notify" in expect:
        assert guidance.notify_manager is expect["notify"], where
    if "pacing" in expect:
        assert {p.kind for p in guidance.pacing} >= set(expect["pacing"]), where
    if "note" in expect:
        assert any(expect["note"] in note for note in guidance.notes), where


@pytest.mark.parametrize("scenario", scenarios("coach"))
def test_scenario(scenario: dict[str, Any]) -> None:
    coach = Coach(
        default_engine(), conversation_id="conv", customer_name=scenario.get("customer_name")
    )
    for n, step in enumerate(scenario["events"]):
        guidance = coach.feed(event(n, step))
        _check(n, guidance, step.get("expect", {}))
        # every suggested line names the customer when their name is known
        name = scenario.get("customer_name")
        step = guidance.next_step
        if name and step and step.wording and step.principle.startswith("D"):
            assert name in step.wording


def test_the_same_event_twice_gives_the_same_guidance_and_changes_nothing() -> None:
    coach = Coach(default_engine(), conversation_id="c")
    first = Event("e1", EventKind.CUSTOMER_MESSAGE, START, "WHY IS THIS STILL BROKEN")
    g1 = coach.feed(first)
    g2 = coach.feed(Event("e1", EventKind.CUSTOMER_MESSAGE, START, "WHY IS THIS STILL BROKEN"))
    assert g1 is g2
    with pytest.raises(EventError, match="already used for a different event"):
        coach.feed(Event("e1", EventKind.CUSTOMER_MESSAGE, START, "something else"))


def test_events_out_of_order_are_refused() -> None:
    coach = Coach(default_engine(), conversation_id="c")
    coach.feed(Event("e1", EventKind.CUSTOMER_MESSAGE, START, "Hello"))
    with pytest.raises(EventOrderError, match="older than the last event"):
        coach.feed(Event("e0", EventKind.AGENT_MESSAGE, START - timedelta(seconds=1), "Hi"))


def test_a_closed_conversation_takes_no_more_messages() -> None:
    coach = Coach(default_engine(), conversation_id="c")
    coach.feed(Event("e1", EventKind.CUSTOMER_MESSAGE, START, "Hello"))
    coach.feed(Event("e2", EventKind.CONVERSATION_END, START + timedelta(seconds=5)))
    assert coach.closed
    with pytest.raises(ConversationClosed):
        coach.feed(Event("e3", EventKind.CUSTOMER_MESSAGE, START + timedelta(seconds=9), "Hi?"))


def test_an_event_without_a_time_zone_or_text_is_refused() -> None:
    with pytest.raises(EventError, match="no time zone"):
        Event("e1", EventKind.CUSTOMER_MESSAGE, datetime(2026, 1, 1), "Hello")
    with pytest.raises(EventError, match="needs text"):
        Event("e1", EventKind.CUSTOMER_MESSAGE, START, "   ")
    with pytest.raises(EventError, match="kind"):
        Event("e1", "shout", START, "Hello")  # type: ignore[arg-type]
    with pytest.raises(EventError, match="author must be a non-empty name"):
        Event("e1", EventKind.AGENT_MESSAGE, START, "Hello", author=5)  # type: ignore[arg-type]
    with pytest.raises(EventError, match="duration_s must be a finite"):
        Event("e1", EventKind.AGENT_MESSAGE, START, "Hello", duration_s=float("inf"))


def test_a_returning_customer_brings_the_last_incident_summary_once() -> None:
    coach = Coach(
        default_engine(), conversation_id="c", history="Dana's last conversation ended badly."
    )
    g1 = coach.feed(Event("e1", EventKind.CUSTOMER_MESSAGE, START, "Hi, it's me again"))
    g2 = coach.feed(Event("e2", EventKind.CUSTOMER_MESSAGE, START + timedelta(seconds=3), "Hello?"))
    assert g1.history == "Dana's last conversation ended badly." and g2.history is None


def test_a_draft_does_not_move_the_protocol_but_the_sent_message_does() -> None:
    coach = Coach(default_engine(), conversation_id="c", customer_name="Dana")
    coach.feed(Event("e1", EventKind.CUSTOMER_MESSAGE, START, "STOP WASTING MY TIME"))
    line = "Dana, I want to help. Are you aware that you are shouting at me?"
    draft = coach.feed(Event("d1", EventKind.AGENT_DRAFT, START + timedelta(seconds=9), line))
    assert draft.protocol_stage == "none"
    sent = coach.feed(Event("s1", EventKind.AGENT_MESSAGE, START + timedelta(seconds=10), line))
    assert sent.protocol_stage == "made_aware"
    assert [s.step for s in coach.machine.timeline] == ["D1"]


def test_guidance_is_json_ready() -> None:
    import json

    coach = Coach(default_engine(), conversation_id="c", customer_name="Dana")
    g = coach.feed(Event("e1", EventKind.CUSTOMER_MESSAGE, START, "You idiots, I want a refund"))
    data = json.loads(json.dumps(g.to_dict()))
    for key in ("state", "protocol_stage", "next_step", "pacing", "findings", "trend", "anger"):
        assert key in data


def test_the_python_example_in_docs_coach_md_runs_and_says_what_it_shows() -> None:
    from pathlib import Path

    text = (Path(__file__).parent.parent.parent / "docs" / "coach.md").read_text(encoding="utf-8")
    section = text.split('<a id="coach-python"></a>', 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/coach.md", "exec"), namespace)
    g, draft = namespace["g"], namespace["draft"]
    shown = (g.state.value, g.protocol_stage, g.next_step.action)
    assert f"# {shown!r}" in code
    assert f"# {(draft.blocked, [f.rule for f in draft.findings])!r}" in code
    assert f'# "{g.next_step.wording}"' in code
