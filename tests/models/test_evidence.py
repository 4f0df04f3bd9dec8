"""How the shipped model's evidence reaches the engine, and how the playbook's thresholds set it."""

from __future__ import annotations

from typing import Any

import pytest

from calmline import AbuseLevel, Engine, Role, Turn, load_engine
from calmline.engine import build_engine
from calmline.models import shipped_models
from calmline.models.probes import identity_probes, must_flag_controls
from calmline.playbook.loader import load_playbook

#: offensive messages aimed at the reader in slang the rules' word lists do not hold
AIMED_SLANG = [
    "you hoe",
    "you're such a hoe lol",
    "ur a hoe",
    "you're a ho",
    "you look like a ho",
    "you such a ho",
    "you are a ho lol",
]


def offensive(text: str) -> float:
    return shipped_models().predict(text)["offensive"]


def engine_with(playbook_yaml: str) -> Engine:
    return build_engine(load_playbook(text=playbook_yaml.encode()))


@pytest.fixture(scope="module")
def rules_only() -> Engine:
    return load_engine(models=False)


def model_insult(engine: Engine, text: str) -> bool:
    return any("model" in s.evidence for s in engine.analyze_message(text).of_type("insult"))


def test_the_rules_miss_these_messages(rules_only: Engine) -> None:
    for text in AIMED_SLANG:
        assert rules_only.analyze_message(text).abuse is AbuseLevel.NONE, text


def test_the_model_adds_an_insult_exactly_from_the_playbook_threshold(engine: Engine) -> None:
    threshold = engine.settings.models.insult_threshold
    above = [t for t in AIMED_SLANG if offensive(t) >= threshold]
    below = [t for t in AIMED_SLANG if offensive(t) < threshold]
    assert above and below, "the examples should fall on both sides of the default threshold"
    for text in above:
        analysis = engine.analyze_message(text)
        assert model_insult(engine, text), text
        assert analysis.abuse is AbuseLevel.ABUSIVE
        (signal,) = analysis.of_type("insult")
        assert signal.span == (0, len(text)), "with no rule's span, the signal covers the message"
        assert signal.score == pytest.approx(offensive(text))
    for text in below:
        assert not model_insult(engine, text), text
        assert engine.analyze_message(text).abuse is AbuseLevel.NONE, text


def test_a_lower_insult_threshold_in_the_playbook_flags_more() -> None:
    lowest = min(offensive(t) for t in AIMED_SLANG)
    lower = round(lowest - 0.05, 2)
    assert lower > 0.3
    engine = engine_with(f"models: {{insult_threshold: {lower}, venting_threshold: {lower}}}")
    for text in AIMED_SLANG:
        assert model_insult(engine, text), text
        assert engine.analyze_message(text).abuse is AbuseLevel.ABUSIVE
    # the probes stay unflagged even then
    flagged = [
        p for p in identity_probes() if engine.analyze_message(p).abuse is not AbuseLevel.NONE
    ]
    assert len(flagged) <= 0.02 * len(identity_probes()), flagged


def test_a_threshold_of_one_leaves_the_insults_to_the_rules(rules_only: Engine) -> None:
    engine = engine_with("models: {insult_threshold: 1.0, venting_threshold: 1.0}")
    for text in AIMED_SLANG:
        assert offensive(text) < 1.0
        assert not model_insult(engine, text), text
    for text in must_flag_controls():
        assert engine.analyze_message(text).abuse is AbuseLevel.ABUSIVE, text


def test_a_rule_signal_keeps_its_span_and_gains_the_model(
    engine: Engine, rules_only: Engine
) -> None:
    text = "Shut up, you stupid bitch."
    assert offensive(text) >= engine.settings.models.insult_threshold
    by_rules = {s.span for s in rules_only.analyze_message(text).of_type("insult")}
    with_model = engine.analyze_message(text).of_type("insult")
    assert by_rules and {s.span for s in with_model} == by_rules
    assert any("model" in s.evidence for s in with_model)


MESSAGES = [
    *AIMED_SLANG,
    *must_flag_controls(),
    *identity_probes()[:40],
    "I AM FURIOUS. This is the third time I've called and nobody fixes it!",
    "fuck this company, seriously",
    "Thanks, that sorted it.",
]
DRAFTS = [
    "Stop emailing us and wait.",
    "Calm down. As I already explained, the refund takes five working days.",
    "I'm sorry about the delay. Would you mind sending me the order number so I can check?",
]


def test_models_enabled_false_is_the_rules_alone(rules_only: Engine) -> None:
    off = engine_with("models: {enabled: false}")
    for text in MESSAGES:
        assert off.analyze_message(text).to_dict() == rules_only.analyze_message(text).to_dict()
    context = [Turn(Role.CUSTOMER, "Where is my refund?!")]
    for draft in DRAFTS:
        got, want = off.check_reply(draft, context), rules_only.check_reply(draft, context)
        assert got.to_dict() == want.to_dict()
        assert got.politeness is None


def test_the_model_changes_some_analyses(engine: Engine, rules_only: Engine) -> None:
    """The comparison above is not empty: with the model on, signals and anger scores move."""
    moved = [
        t
        for t in MESSAGES
        if engine.analyze_message(t).to_dict() != rules_only.analyze_message(t).to_dict()
    ]
    assert len(moved) >= 10
    assert {t for t in MESSAGES if model_insult(engine, t)} <= set(moved)


# ----- B3: the tone of a draft ----------------------------------------------------------------

CURT = "Stop emailing us and wait."
POLITE = "I'm sorry about the delay. Would you mind sending me the order number so I can check?"


def b3_params(engine: Engine) -> Any:
    (rule,) = [r for r in engine.rules if r.id == "B3"]
    return rule.params


def tone_findings(engine: Engine, draft: str) -> list[str]:
    return [
        f.message
        for f in engine.check_reply(draft).findings
        if f.rule == "B3" and any(e.startswith("politeness model") for e in f.evidence)
    ]


def test_b3_reads_the_tone_of_a_curt_draft_and_not_of_a_polite_one(engine: Engine) -> None:
    threshold = b3_params(engine).impolite_threshold
    curt = engine.check_reply(CURT)
    assert curt.politeness is not None and 1 - curt.politeness >= threshold
    (message,) = tone_findings(engine, CURT)
    (finding,) = [f for f in curt.findings if f.rule == "B3"]
    assert finding.severity.value == "info" and finding.span == (0, len(CURT))
    assert message == b3_params(engine).impolite_message
    polite = engine.check_reply(POLITE)
    assert polite.politeness is not None and polite.politeness > 0.5
    assert tone_findings(engine, POLITE) == []


def test_b3_phrases_come_first(engine: Engine) -> None:
    draft = "Calm down and wait."
    findings = [f for f in engine.check_reply(draft).findings if f.rule == "B3"]
    assert findings and not tone_findings(engine, draft)


def test_b3_threshold_and_message_come_from_the_playbook() -> None:
    off = engine_with("rules: {B3: {params: {impolite_threshold: 1.0}}}")
    assert tone_findings(off, CURT) == []
    custom = engine_with(
        "rules: {B3: {params: {impolite_threshold: 0.5, impolite_message: Say it kindly.}}}"
    )
    assert tone_findings(custom, CURT) == ["Say it kindly."]
    assert tone_findings(custom, POLITE) == []
