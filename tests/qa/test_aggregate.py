"""The aggregator: roll-ups per agent, team and week from a stream of scores, the weakest
principles per agent mapped to scenarios, and a bounded, redacted sample of quotes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from calmline.qa.aggregate import (
    CUSTOMER_NAME_KEY,
    UNKNOWN,
    Aggregator,
    scenarios_by_principle,
)
from calmline.qa.types import ConversationScore, PrincipleHit

SCORES = Path(__file__).parent / "data" / "aggregate-scores.jsonl"


def score_from(record: dict[str, Any]) -> ConversationScore:
    """A ConversationScore from one fixture line (the customer's name goes into extra)."""
    record = dict(record)
    hits = tuple(PrincipleHit(**h) for h in record.pop("hits"))
    started = record.pop("started_at")
    name = record.pop("customer_name", None)
    steps = tuple(record.pop("protocol_steps"))
    return ConversationScore(
        **record,
        hits=hits,
        protocol_steps=steps,
        started_at=datetime.fromisoformat(started) if started else None,
        extra={CUSTOMER_NAME_KEY: name} if name else {},
    )


def load_scores(path: Path = SCORES) -> list[ConversationScore]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [score_from(json.loads(line)) for line in lines if line.strip()]


@pytest.fixture
def scores() -> list[ConversationScore]:
    return load_scores()


def test_groups_count_conversations_and_messages(scores: list[ConversationScore]) -> None:
    agg = Aggregator().add_all(scores)
    assert agg.overall.conversations == len(scores)
    assert agg.overall.messages == sum(s.customer_messages + s.agent_messages for s in scores)
    assert set(agg.agents) == {s.agent or UNKNOWN for s in scores}
    assert set(agg.teams) == {s.team or UNKNOWN for s in scores}
    assert set(agg.weeks) == {s.week or UNKNOWN for s in scores}
    for level in ("agent", "team", "week"):
        groups = agg.groups(level)
        assert sum(g.conversations for g in groups.values()) == len(scores)
        assert list(groups) == sorted(groups)


def test_means_rates_and_outcomes_match_the_scores(scores: list[ConversationScore]) -> None:
    agg = Aggregator().add_all(scores)
    for agent, stats in agg.agents.items():
        mine = [s for s in scores if (s.agent or UNKNOWN) == agent]
        assert stats.mean_score == pytest.approx(sum(s.score for s in mine) / len(mine))
        assert stats.anger_start_mean == pytest.approx(sum(s.anger_start for s in mine) / len(mine))
        assert stats.anger_end_mean == pytest.approx(sum(s.anger_end for s in mine) / len(mine))
        needed = [s for s in mine if s.protocol_needed]
        kept = [s for s in needed if s.protocol_followed]
        assert stats.protocol_needed == len(needed)
        assert stats.protocol_rate == (len(kept) / len(needed) if needed else None)
        for outcome in {s.outcome for s in mine}:
            assert stats.outcomes[outcome] == sum(1 for s in mine if s.outcome == outcome)
        for pid, tally in stats.principles.items():
            hits = [h for s in mine for h in s.hits if h.principle == pid]
            assert tally.followed == sum(1 for h in hits if h.followed)
            assert tally.violated == sum(1 for h in hits if not h.followed)
            assert tally.follow_rate == tally.followed / len(hits)


def test_the_order_of_the_stream_does_not_change_the_roll_ups(
    scores: list[ConversationScore],
) -> None:
    forward = Aggregator().add_all(scores)
    backward = Aggregator().add_all(reversed(scores))
    for level in ("agent", "team", "week"):
        assert [g.row() for g in forward.groups(level).values()] == [
            pytest.approx(g.row()) for g in backward.groups(level).values()
        ]


def test_weakest_principles_need_enough_evidence(scores: list[ConversationScore]) -> None:
    scenarios = {"B1": ("claim",), "B7": ("insults", "shouts")}
    agg = Aggregator(scenarios=scenarios, min_evidence=5).add_all(scores)
    ben = agg.weakest("Ben")
    # B1 is always broken, A3 followed once in five: both have five hits
    assert [w.principle for w in ben] == ["B1", "A3"]
    assert ben[0].follow_rate == 0.0 and ben[0].scenarios == ("claim",)
    # no scenario trains A3 in this mapping: none is recommended, not a wrong one
    assert ben[1].scenarios == ()
    assert [w.principle for w in agg.weakest("Ana")] == ["B7"]
    # with a higher bar nobody has enough evidence
    strict = Aggregator(scenarios=scenarios, min_evidence=6).add_all(scores)
    assert strict.recommendations() == {}
    assert agg.weakest("nobody") == []


def test_built_in_scenarios_train_the_principles_they_list() -> None:
    mapping = scenarios_by_principle()
    assert "shouter" in mapping["D1"]
    assert "insurance-claim" in mapping["B1"]
    # the playbook has principles no built-in scenario trains (A4 take a time-out)
    assert "A4" not in mapping


def test_quotes_are_bounded_and_redacted(scores: list[ConversationScore]) -> None:
    agg = Aggregator(quotes_per_principle=2).add_all(scores * 50)
    for pid in agg.principles():
        for followed in (True, False):
            assert len(agg.quotes(pid, followed=followed)) <= 2
    texts = [
        q.text
        for pid in agg.principles()
        for f in (True, False)
        for q in agg.quotes(pid, followed=f)
    ]
    joined = "\n".join(texts)
    assert "@example.com" not in joined
    assert "7946" not in joined
    assert "Maria" not in joined and "Tom," not in joined


def test_every_quote_is_redacted_when_all_are_kept(scores: list[ConversationScore]) -> None:
    agg = Aggregator(quotes_per_principle=100).add_all(scores)
    c2 = [q.text for q in agg.quotes("C2", followed=True)]
    assert "I will handle this myself and email [email] today." in c2
    b7 = [q.text for q in agg.quotes("B7", followed=False)]
    assert "[name], insulting me won't help, call [phone]." in b7
    c1 = [q.text for q in agg.quotes("C1", followed=True)]
    assert c1 == ["I'm sorry [name], that sounds really frustrating."]


def test_the_sample_is_the_same_for_the_same_seed(scores: list[ConversationScore]) -> None:
    one = Aggregator(quotes_per_principle=1, seed=3).add_all(scores * 20)
    two = Aggregator(quotes_per_principle=1, seed=3).add_all(scores * 20)
    assert one.quotes("B1", followed=False) == two.quotes("B1", followed=False)


def test_memory_does_not_grow_with_conversations(scores: list[ConversationScore]) -> None:
    agg = Aggregator(quotes_per_principle=3)
    for _ in range(500):
        agg.add_all(scores)
    kept = sum(len(r.items) for r in agg._quotes.values())
    assert kept <= 3 * 2 * len(agg.principles())
    assert len(agg.agents) == 3 and len(agg.weeks) == 3
    assert agg.overall.conversations == 500 * len(scores)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks MARIA, I'll call you on +44 (20) 7946-0958 tomorrow.",
        "maria.lopez@example.com will get the label; lopez, please check.",
        "Order 2026-11-30 12:00, ref 12345: nothing personal here.",
        "Hello Ma-ria and Lopezia (not her name).",
        "",
    ],
)
def test_quick_redaction_equals_the_full_passes(text: str) -> None:
    from calmline.core.redact import redact_contacts, redact_names
    from calmline.qa.aggregate import redact_quote

    names = ("Maria Lopez", "Maria", "Lopez")
    assert redact_quote(text, names) == redact_names(redact_contacts(text), names)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("@780661 Sorry to hear that!", "[handle] Sorry to hear that!"),
        ("Hi @Maria_L, DM us (cc @AskSupport).", "Hi [handle], DM us (cc [handle])."),
        ("Mail help@example.com, not @me", "Mail [email], not [handle]"),
        ("Meet at 5 @ the desk", "Meet at 5 @ the desk"),
    ],
)
def test_social_handles_are_redacted(text: str, redacted: str) -> None:
    from calmline.qa.aggregate import redact_quote

    assert redact_quote(text) == redacted
