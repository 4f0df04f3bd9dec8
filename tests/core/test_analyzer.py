"""The engine's contracts: limits, input types, evidence from models, rewrites applied."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calmline import (
    Engine,
    InputError,
    MessageAnalysis,
    MessageTooLong,
    ReplyContext,
    Rewrite,
    Role,
    Turn,
    load_engine,
)
from calmline.core.detector import Evidence
from calmline.core.rule import TurnAnalyses, applicable, apply_rewrites, rewrites_clash
from calmline.core.text import TextView
from calmline.engine import build_engine
from calmline.playbook.loader import load_playbook


class _ModelLike:
    """Stands in for a learned model: scores the whole message for one signal type."""

    name = "test-model"

    def __init__(self, signal_type: str, score: float, span: tuple[int, int] | None = None):
        self.signal_type, self.score, self.span = signal_type, score, span

    def evidence(self, view: TextView) -> Iterable[Evidence]:
        yield Evidence(self.signal_type, self.score, "the model thinks so", self.span)


def _engine_with(source: _ModelLike) -> Engine:
    base = build_engine(load_playbook())
    return Engine(base.settings, base.detectors, base.rules, evidence=[source])


def test_message_over_the_limit_is_refused_with_the_limit_named() -> None:
    engine = load_engine_with_limit(200)
    with pytest.raises(MessageTooLong, match="the limit is 200"):
        engine.analyze_message("x" * 201)
    with pytest.raises(MessageTooLong, match="draft is 201"):
        engine.check_reply("y" * 201)
    assert engine.analyze_message("x" * 200).signals == ()


def load_engine_with_limit(limit: int) -> Engine:
    return build_engine(load_playbook(text=f"limits: {{max_message_chars: {limit}}}".encode()))


@pytest.mark.parametrize("bad", [None, 42, b"bytes", ["list"]])
def test_non_text_input_is_a_clear_error(engine: Engine, bad: object) -> None:
    with pytest.raises(InputError, match="must be text"):
        engine.analyze_message(bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="must be text"):
        engine.check_reply(bad)  # type: ignore[arg-type]


def test_model_evidence_raises_an_existing_signal() -> None:
    text = "I AM SO ANGRY WITH YOUR SERVICE"
    plain = load_engine().analyze_message(text)
    (before,) = plain.of_type("shouting")
    boosted = _engine_with(_ModelLike("shouting", 0.9)).analyze_message(text)
    (after,) = boosted.of_type("shouting")
    assert after.score > before.score or after.score == 1.0
    assert "test-model" in after.evidence
    assert "the model thinks so" in after.explanation


def test_model_evidence_adds_a_signal_the_rules_missed() -> None:
    analysis = _engine_with(_ModelLike("shouting", 0.8)).analyze_message("quiet words only")
    (sig,) = analysis.of_type("shouting")
    assert sig.span == (0, len("quiet words only")) and sig.evidence == ("test-model",)
    weak = _engine_with(_ModelLike("shouting", 0.1)).analyze_message("quiet words only")
    assert not weak.of_type("shouting")  # below the detector's threshold


def test_context_marks_an_upset_customer(engine: Engine) -> None:
    calm = engine.context([Turn(Role.CUSTOMER, "Hi, could you check my order please?")])
    upset = engine.context([Turn(Role.CUSTOMER, "THIS IS THE WORST SERVICE I HAVE EVER HAD")])
    assert not calm.upset
    assert upset.upset


@pytest.mark.parametrize(
    ("text", "rewrites", "expected"),
    [
        (
            "Calm down. It ships today.",
            [Rewrite((0, 10), "I hear you.")],
            "I hear you. It ships today.",
        ),
        (
            "It ships today.",
            [Rewrite((0, 0), "Sorry for the wait.")],
            "Sorry for the wait. It ships today.",
        ),
        (
            "It ships today.",
            [Rewrite((0, 0), "Sorry."), Rewrite((0, 0), "I'll check.")],
            "Sorry. I'll check. It ships today.",
        ),
        (
            "Calm down. Obviously it ships.",
            [
                Rewrite((0, 10), "I hear you."),
                Rewrite((0, 10), "Other."),
                Rewrite((11, 30), "It ships."),
            ],
            "I hear you. It ships.",
        ),
        ("abc", [], "abc"),
        # A chain of overlaps: the first wins, the second loses to it, the third overlaps only
        # the loser and still applies.
        (
            "aaaa bbbb cccc",
            [Rewrite((0, 4), "A"), Rewrite((3, 11), "B"), Rewrite((10, 14), "C")],
            "A bbbb C",
        ),
        # An insertion inside a replaced stretch goes; one at its edge stays.
        (
            "one two three",
            [Rewrite((4, 7), "2"), Rewrite((5, 5), "x"), Rewrite((7, 7), "y")],
            "one 2 y three",
        ),
        # A replacement around an insertion already taken goes.
        ("one two three", [Rewrite((5, 5), "x"), Rewrite((4, 7), "2")], "one t x wo three"),
    ],
)
def test_apply_rewrites(text: str, rewrites: list[Rewrite], expected: str) -> None:
    assert apply_rewrites(text, rewrites) == expected


def _touch(new: tuple[int, int], old: tuple[int, int]) -> bool:
    """Whether two rewrites touch the same text, spelled out pair by pair."""
    (ns, ne), (os_, oe) = new, old
    if ns == ne:
        return os_ < ns < oe
    if os_ == oe:
        return ns < os_ < ne
    return ns < oe and os_ < ne


spans = st.tuples(st.integers(0, 30), st.integers(0, 6)).map(lambda p: (p[0], p[0] + p[1]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(spans, st.sampled_from(["", "X", "YY"])), max_size=25))
def test_rewrites_resolve_as_first_come_first_served(picks: list[Any]) -> None:
    # Every rewrite applies unless it touches the text of one that came before it and applied.
    rewrites = [Rewrite(span, new) for span, new in picks]
    chosen: list[Rewrite] = []
    for rw in rewrites:
        if not any(_touch(rw.span, c.span) for c in chosen):
            chosen.append(rw)
    assert applicable(rewrites) == chosen
    left_out = len(chosen) < len(rewrites)
    duplicates_only = all(rw in chosen for rw in rewrites)
    assert rewrites_clash(rewrites) == (left_out and not duplicates_only)


def test_a_conversation_is_read_only_as_far_as_the_draft_answers(engine: Engine) -> None:
    turns = [
        Turn(Role.CUSTOMER, "Where is my parcel?"),
        Turn(Role.AGENT, "Let me check."),
        Turn(Role.CUSTOMER, "You are useless."),
        Turn(Role.CUSTOMER, "I want a refund NOW"),
    ]
    read: list[str] = []

    def reader(turn: Turn) -> MessageAnalysis:
        read.append(turn.text)
        return engine.analyze_message(turn.text)

    analyses = TurnAnalyses(turns, [], reader)
    ctx = ReplyContext(turns=turns, analyses=analyses)
    assert ctx.answering() == [engine.analyze_message(t.text) for t in turns[2:]]
    assert sorted(read) == sorted([turns[2].text, turns[3].text]), "earlier messages wait"
    assert analyses[1] is None, "an agent turn has no analysis"
    assert list(analyses) == [
        engine.analyze_message(t.text) if t.role is Role.CUSTOMER else None for t in turns
    ]
    assert len(read) == 3, "each message is read once"
