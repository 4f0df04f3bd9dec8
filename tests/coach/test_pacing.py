"""Pacing advice (A2-A4): the scenarios in tests/cases/pacing/*.yml, and the pacer's contract."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from calmline import Engine, load_playbook
from calmline.coach.events import Event, EventKind
from calmline.coach.pacing import Pacer, seconds_text, text_size
from calmline.core.types import AbuseLevel, MessageAnalysis
from calmline.errors import EventError, EventOrderError, PlaybookError
from calmline.playbook.pacing import PacingSettings
from tests.coach.scripted import START, scenarios
from tests.coach.scripted import event as scripted_event


@pytest.mark.parametrize("scenario", scenarios("pacing"))
def test_pacing_scenario(engine: Engine, scenario: dict[str, Any]) -> None:
    pacer = Pacer(PacingSettings(**scenario.get("settings", {})))
    for n, step in enumerate(scenario["events"]):
        event = scripted_event(n, step)
        analysis = (
            engine.analyze_message(event.text) if event.kind is EventKind.CUSTOMER_MESSAGE else None
        )
        advice = pacer.feed(event, analysis)
        where = f"{scenario['scenario']}, event at {step['at']} s"
        assert [a.kind for a in advice] == step["expect"], f"{where}: {advice}"
        for a in advice:
            assert a.principle in ("A2", "A3", "A4") and a.message, where
        if "value" in step:
            assert advice[0].value == pytest.approx(step["value"], abs=0.01), where
        if "hold_seconds" in step:
            assert advice[0].hold_seconds == pytest.approx(step["hold_seconds"]), where


def _analysis(abuse: AbuseLevel = AbuseLevel.NONE, anger: float = 0.0) -> MessageAnalysis:
    return MessageAnalysis(text="(not read)", signals=(), anger=anger, abuse=abuse)


@pytest.mark.parametrize(
    ("abuse", "anger", "hostile"),
    [
        (AbuseLevel.NONE, 0.0, False),
        (AbuseLevel.NONE, 0.59, False),
        (AbuseLevel.NONE, 0.6, True),
        (AbuseLevel.VENTING, 0.0, True),
        (AbuseLevel.ABUSIVE, 0.1, True),
        (AbuseLevel.SAFETY, 0.0, True),
    ],
)
def test_hostile_is_abuse_from_venting_up_or_anger_from_the_threshold(
    abuse: AbuseLevel, anger: float, hostile: bool
) -> None:
    assert Pacer().is_hostile(_analysis(abuse, anger)) is hostile


def test_hostile_follows_the_settings() -> None:
    pacer = Pacer(PacingSettings(hostile_abuse=AbuseLevel.ABUSIVE, hostile_anger=0.9))
    assert not pacer.is_hostile(_analysis(AbuseLevel.VENTING, 0.8))
    assert pacer.is_hostile(_analysis(AbuseLevel.ABUSIVE, 0.0))
    assert pacer.is_hostile(_analysis(AbuseLevel.NONE, 0.9))


def _at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_streak_counts_customer_messages_and_a_calm_one_ends_it() -> None:
    pacer = Pacer()
    hostile, calm = _analysis(AbuseLevel.ABUSIVE), _analysis()
    pacer.customer_message(Event("1", EventKind.CUSTOMER_MESSAGE, _at(0), "x"), hostile)
    pacer.agent_message(Event("2", EventKind.AGENT_MESSAGE, _at(10), "sorry"))
    pacer.customer_message(Event("3", EventKind.CUSTOMER_MESSAGE, _at(20), "x"), hostile)
    assert pacer.hostile_streak == 2 and pacer.heated
    assert pacer.hold_until == _at(22)
    pacer.customer_message(Event("4", EventKind.CUSTOMER_MESSAGE, _at(30), "x"), calm)
    assert pacer.hostile_streak == 0 and not pacer.heated and pacer.hold_until is None


def test_a_draft_changes_nothing() -> None:
    pacer = Pacer()
    pacer.customer_message(Event("1", EventKind.CUSTOMER_MESSAGE, _at(0), "x"), _analysis())
    for n in range(5):
        assert pacer.agent_draft(Event(f"d{n}", EventKind.AGENT_DRAFT, _at(1), "Checking.")) == ()
    assert pacer.agent_message(Event("2", EventKind.AGENT_MESSAGE, _at(2), "Checking.")) == ()


def test_events_out_of_order_are_refused() -> None:
    pacer = Pacer()
    pacer.customer_message(Event("1", EventKind.CUSTOMER_MESSAGE, _at(10), "x"), _analysis())
    with pytest.raises(EventOrderError, match=r"event 2: .* earlier than the event before"):
        pacer.agent_message(Event("2", EventKind.AGENT_MESSAGE, _at(5), "hello"))
    with pytest.raises(EventOrderError):
        pacer.agent_draft(Event("3", EventKind.AGENT_DRAFT, _at(9), "hello"))
    # Nothing was counted: the next message in order is judged on its own.
    assert pacer.agent_message(Event("4", EventKind.AGENT_MESSAGE, _at(11), "hello")) == ()


def test_wrong_kind_and_missing_analysis_are_refused() -> None:
    pacer = Pacer()
    with pytest.raises(EventError, match="event 1: expected a agent_message, got a agent_draft"):
        pacer.agent_message(Event("1", EventKind.AGENT_DRAFT, _at(0), "hello"))
    with pytest.raises(EventError, match="needs its analysis"):
        pacer.feed(Event("2", EventKind.CUSTOMER_MESSAGE, _at(0), "hello"))
    assert pacer.feed(Event("3", EventKind.CONVERSATION_END, _at(1))) == ()


def test_advice_is_json_ready() -> None:
    pacer = Pacer()
    (hold,) = pacer.customer_message(
        Event("1", EventKind.CUSTOMER_MESSAGE, _at(0), "x"), _analysis(AbuseLevel.VENTING)
    )
    assert hold.to_dict() == {
        "kind": "hold",
        "principle": "A3",
        "message": hold.message,
        "hold_seconds": 2.0,
    }
    assert "2 s" in hold.message


@pytest.mark.parametrize(
    ("text", "words", "sentences"),
    [
        ("I'm sorry, we can't do that.", 6, 1),
        ("Sorry!!! Really. Truly?", 3, 3),
        ("See https://example.com/help for the form.", 4, 1),
        ("It costs £3.50 a well-known month. That is all.", 9, 2),
        ("", 0, 0),
    ],
)
def test_text_size_counts_written_words_and_sentences(
    text: str, words: int, sentences: int
) -> None:
    assert text_size(text) == (words, sentences)


@pytest.mark.parametrize(
    ("seconds", "shown"), [(2.0, "2 s"), (1.5, "1.5 s"), (60, "1 min"), (90, "1 min 30 s")]
)
def test_seconds_text(seconds: float, shown: str) -> None:
    assert seconds_text(seconds) == shown


def test_the_default_playbook_has_the_pacing_section() -> None:
    pacing = load_playbook().pacing
    assert pacing.pause_seconds == 2.0 and pacing.hostile_abuse is AbuseLevel.VENTING


def test_a_team_file_changes_pacing_and_mistakes_name_file_and_key(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text("pacing:\n  pause_seconds: 4\n", encoding="utf-8")
    pacing = load_playbook(team).pacing
    assert pacing.pause_seconds == 4 and pacing.hostile_streak_for_time_out == 3
    team.write_text("pacing:\n  hostile_abuse: none\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match=r"team.yaml:2: pacing.hostile_abuse: .*venting"):
        load_playbook(team)
    team.write_text("pacing:\n  pause_second: 4\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match=r"team.yaml:2: pacing.pause_second: unknown key"):
        load_playbook(team)
