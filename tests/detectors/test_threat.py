"""ThreatDetector beyond the case file: principles per type, question scores, settings errors."""

from __future__ import annotations

import pytest

from calmline import Engine, PlaybookError, build_engine, load_playbook
from calmline.core.detector import Scan
from calmline.detectors._cues import Found, keep_longest


def _threats(engine: Engine, text: str) -> list[tuple[str, str, float]]:
    return [
        (s.type, s.principle, s.score)
        for s in engine.analyze_message(text).signals
        if s.type.startswith("threat.")
    ]


@pytest.mark.parametrize(
    ("text", "signal_type", "principle"),
    [
        ("I will sue you", "threat.legal", "B7"),
        ("I'm going to post this on Twitter", "threat.public", "E2"),
        ("Close my account now", "threat.churn", "E2"),
        ("I know where you live", "threat.safety", "D7"),
    ],
)
def test_each_type_cites_its_own_principle(
    engine: Engine, text: str, signal_type: str, principle: str
) -> None:
    assert (signal_type, principle) in [(t, p) for t, p, _ in _threats(engine, text)]


def test_a_question_scores_lower_than_a_statement(engine: Engine) -> None:
    stated = _threats(engine, "I will go to the ombudsman.")
    asked = _threats(engine, "I will go to the ombudsman?")
    assert stated and asked
    assert asked[0][2] < stated[0][2]


def test_a_question_about_rights_is_below_the_threshold(engine: Engine) -> None:
    assert _threats(engine, "Can I get a chargeback?") == []
    assert _threats(engine, "I will be doing a chargeback.") != []


def test_safety_threat_sets_the_abuse_level_but_a_vague_one_does_not(engine: Engine) -> None:
    assert engine.analyze_message("I'll kill you").abuse.value == "safety"
    vague = engine.analyze_message("You'll regret this")
    assert [s.type for s in vague.signals] == ["threat.safety"]
    assert vague.abuse.value == "none"


def test_one_signal_for_one_public_threat_with_the_strongest_score(engine: Engine) -> None:
    signals = engine.analyze_message("I'll leave a 1-star review on Trustpilot").signals
    public = [s for s in signals if s.type == "threat.public"]
    assert len(public) == 1
    assert public[0].score == pytest.approx(0.95)
    assert public[0].detail["channel"] == "trustpilot"


def test_a_detector_without_threat_words_does_not_run(engine: Engine) -> None:
    detector = next(d for d in engine.detectors if d.key == "threat")
    view = engine.message_matcher.read("you know what, I will call you back")
    assert not detector.wants(Scan(view=view, hits=engine.message_matcher.scan(view)))


def test_an_unknown_signal_type_in_principles_is_a_playbook_error() -> None:
    team = b"detectors:\n  threat:\n    params:\n      principles:\n        threat.spam: B7\n"
    with pytest.raises(PlaybookError, match=r"threat\.spam"):
        build_engine(load_playbook("team.yaml", text=team))


def test_a_team_can_move_a_type_to_another_principle() -> None:
    team = b"detectors:\n  threat:\n    params:\n      principles:\n        threat.churn: E3\n"
    engine = build_engine(load_playbook("team.yaml", text=team))
    signals = engine.analyze_message("Close my account").signals
    assert [(s.type, s.principle) for s in signals] == [("threat.churn", "E3")]


def test_keep_longest_keeps_the_longest_and_the_best_score() -> None:
    short = Found(3, 4, 0.95, ("1 star",))
    long = Found(3, 5, 0.55, ("review",))
    apart = Found(8, 8, 0.6, ("tweet",))
    kept = keep_longest([short, long, apart])
    assert [(f.first, f.last, f.score) for f in kept] == [(3, 5, 0.95), (8, 8, 0.6)]
