"""The scorecard of one conversation: outcome, protocol, anger, hits with quotes, score, week."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from calmline import load_engine
from calmline.core.analyzer import Engine
from calmline.core.types import Role, Turn
from calmline.qa.score import Scorer
from calmline.qa.types import Conversation, ConversationScore, Message
from tests.qa.scripted import conversation, load_cases

CASES = load_cases()
FIELDS = set(ConversationScore.__dataclass_fields__)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(models=False)


@pytest.fixture(scope="module")
def scorer(engine: Engine) -> Scorer:
    return Scorer(engine)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_scripted_conversations(scorer: Scorer, case: dict[str, Any]) -> None:
    conv = conversation(case)
    got = scorer.score(conv)
    expect = dict(case["expect"])
    principles_followed = {h.principle for h in got.followed}
    principles_violated = {h.principle for h in got.violated}
    assert set(expect.pop("followed", ())) <= principles_followed
    assert set(expect.pop("violated", ())) <= principles_violated
    assert not set(expect.pop("not_violated", ())) & principles_violated
    for key, value in expect.items():
        assert key in FIELDS, key
        actual = getattr(got, key)
        if isinstance(actual, tuple):
            actual = list(actual)
        assert actual == value, key
    assert got.conversation_id == conv.id
    assert got.source == conv.source
    assert 0 <= got.score <= 100


def test_hits_quote_the_agent_message_they_are_about(scorer: Scorer) -> None:
    for case in CASES:
        conv = conversation(case)
        for hit in scorer.score(conv).hits:
            message = conv.messages[hit.message]
            assert message.role is Role.AGENT
            assert hit.quote and hit.quote in message.text
            assert (hit.severity is None) == hit.followed


def test_anger_runs_from_first_to_last_customer_message(scorer: Scorer, engine: Engine) -> None:
    conv = conversation(next(c for c in CASES if c["id"] == "escalation"))
    got = scorer.score(conv)
    angers = [
        engine.analyze_message(m.text).anger for m in conv.messages if m.role is Role.CUSTOMER
    ]
    assert (got.anger_start, got.anger_end, got.anger_peak) == (angers[0], angers[-1], max(angers))


def test_the_score_falls_with_findings_and_an_abandoned_protocol(scorer: Scorer) -> None:
    by_id = {c["id"]: scorer.score(conversation(c)) for c in CASES}
    assert by_id["de-escalation"].score > by_id["escalation"].score
    assert by_id["abusive-protocol-followed"].score > by_id["abusive-ended-early"].score
    assert by_id["abusive-ended-early"].score > by_id["abusive-insulted-back"].score


def test_messages_after_the_protocol_ended_are_counted_not_scored(scorer: Scorer) -> None:
    conv = conversation(next(c for c in CASES if c["id"] == "abusive-protocol-followed"))
    last = conv.messages[-1]
    late = Message(Role.AGENT, "Are you still there?", last.at + timedelta(minutes=1), "Ana")  # type: ignore[operator]
    got = scorer.score(replace(conv, messages=(*conv.messages, late)))
    assert got.agent_messages == 6
    assert got.outcome == "ended-by-protocol"
    assert list(got.extra["unscored"]) == [str(len(conv.messages))]
    assert all(h.message < len(conv.messages) for h in got.hits)


def test_a_message_too_long_is_said_and_the_rest_scored(scorer: Scorer, engine: Engine) -> None:
    conv = conversation(next(c for c in CASES if c["id"] == "de-escalation"))
    huge = Message(Role.CUSTOMER, "so slow " * (engine.max_chars // 8 + 1))
    got = scorer.score(replace(conv, messages=(huge, *conv.messages)))
    assert got.customer_messages == 3
    assert "0" in got.extra["unscored"]
    assert got.outcome == "de-escalated"


def test_out_of_order_and_naive_timestamps_do_not_stop_scoring(scorer: Scorer) -> None:
    at = datetime(2026, 1, 4, 12, 0)  # naive: read as UTC
    conv = Conversation(
        id="clock",
        messages=(
            Message(Role.CUSTOMER, "Where is my order?", at),
            Message(Role.AGENT, "Let me check that for you.", at - timedelta(hours=1)),
            Message(Role.CUSTOMER, "Thanks.", None),
        ),
        source="t",
        record="1",
        format="t",
    )
    got = scorer.score(conv)
    assert got.started_at == at.replace(tzinfo=UTC)
    assert got.week == "2026-W01"  # 4 January is always in ISO week 1
    assert "unscored" not in got.extra


def test_timing_advice_only_where_the_archive_gives_times(scorer: Scorer) -> None:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    hostile = "YOU ARE A F***ING IDIOT, FIX MY ACCOUNT NOW YOU USELESS MORON"
    timed = Conversation(
        id="fast",
        messages=(
            Message(Role.CUSTOMER, hostile, at),
            Message(Role.AGENT, "Sorry, let me look into it.", at + timedelta(seconds=1), "Ana"),
        ),
        source="t",
        record="1",
        format="t",
    )
    untimed = replace(timed, messages=tuple(replace(m, at=None) for m in timed.messages))
    timing = {"A2", "A3", "A4"}
    assert timing & {h.principle for h in scorer.score(timed).violated}
    assert not timing & {h.principle for h in scorer.score(untimed).violated}


def test_no_agent_message_scores_full_marks_and_is_visible(scorer: Scorer) -> None:
    conv = Conversation(
        id="alone",
        messages=(Message(Role.CUSTOMER, "Hello?"),),
        source="t",
        record="1",
        format="t",
    )
    got = scorer.score(conv)
    assert (got.agent_messages, got.customer_messages, got.score) == (0, 1, 100.0)
    assert got.outcome == "steady"
    assert got.agent is None


def test_the_engine_models_setting_is_respected() -> None:
    conv = conversation(CASES[0])
    with_models = Scorer(load_engine(models=True)).score(conv)
    without = Scorer(load_engine(models=False)).score(conv)
    assert with_models.conversation_id == without.conversation_id
    # the model adds its evidence to the customer's anger
    assert with_models.anger_start != without.anger_start


def test_review_reply_finds_what_check_reply_finds(engine: Engine) -> None:
    context = [Turn(Role.CUSTOMER, "YOU USELESS IDIOT, FIX IT")]
    draft = "You are wrong, calm down."
    check = engine.check_reply(draft, context)
    findings, credits = engine.review_reply(draft, context)
    assert findings == check.findings and credits == check.credits
    assert check.fixed != draft
    assert engine.for_review().check_reply(draft, context).fixed == draft
