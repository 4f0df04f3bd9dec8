"""The engine's contracts: limits, input types, evidence from models, rewrites applied."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from calmline import Engine, InputError, MessageTooLong, Rewrite, Role, Turn, load_engine
from calmline.core.detector import Evidence
from calmline.core.rule import apply_rewrites
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
    ],
)
def test_apply_rewrites(text: str, rewrites: list[Rewrite], expected: str) -> None:
    assert apply_rewrites(text, rewrites) == expected
