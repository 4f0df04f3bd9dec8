"""ForgivenessDetector beyond the case file: kinds, sign-offs under hostility, sarcasm."""

from __future__ import annotations

from calmline import Engine


def _kinds(engine: Engine, text: str) -> list[object]:
    return [
        s.detail["kind"] for s in engine.analyze_message(text).signals if s.type == "forgiveness"
    ]


def test_thanks_signed_under_a_threat_is_a_sign_off(engine: Engine) -> None:
    assert _kinds(engine, "Thanks.") == ["thanks"]
    assert _kinds(engine, "Fix it or I will sue. Thanks.") == []


def test_an_apology_counts_even_next_to_abuse(engine: Engine) -> None:
    assert _kinds(engine, "Sorry for shouting, I'm just fuming about the bill") == ["apology"]


def test_strong_thanks_survive_a_hostile_message(engine: Engine) -> None:
    text = "Thanks for all your help, but I'm still going to leave a bad review"
    assert _kinds(engine, text) == ["thanks"]


def test_forgiveness_lowers_the_anger_of_the_message(engine: Engine) -> None:
    angry = engine.analyze_message("This is ridiculous and unacceptable!")
    softened = engine.analyze_message("This is ridiculous and unacceptable! Sorry for shouting.")
    assert softened.anger < angry.anger


def test_sarcasm_far_after_the_thanks_does_not_cancel_it(engine: Engine) -> None:
    assert _kinds(engine, "Thanks. The last agent was useless for nothing") == ["thanks"]
