"""Hostile inputs finish and give sane answers (how long they take is measured only in
benchmarks/adversarial.py, never here).

The families are the ones the benchmark times, from benchmarks/hostile_inputs.py: one huge
word, masked and spaced letters, quotes, brackets, combining marks, emoji, RTL marks, lone
surrogates, repeated lexicon phrases, digits, URLs. Each is checked at a long-message size
and, for a few, at exactly the default size limit.
"""

from __future__ import annotations

import pytest
from benchmarks.hostile_inputs import FAMILIES

import calmline
from calmline import AbuseLevel, MessageTooLong, Role, Severity, Turn, default_engine
from calmline.engine import build_engine
from calmline.playbook.loader import load_playbook
from tests.core.test_properties import check_analysis, check_reply_result

ENGINE = default_engine()
SIZE = 3_000
ALL = sorted(FAMILIES)
#: no letters at all: nothing in them can be a swear word, an insult or a threat
NO_LETTERS = [
    "stars",
    "single_quotes",
    "double_quotes",
    "bangs",
    "question_bangs",
    "nested_brackets",
    "mixed_brackets",
    "emoji",
    "emoji_zwj",
    "rtl_only",
    "lone_surrogates",
    "digits",
    "digit_words",
    "dollars",
    "at_signs",
    "newlines",
    "spaces",
]
#: plain or masked text with nothing abusive in it
HARMLESS = ["word_same_letter", "you_repeated", "contractions", "handles", "urls_many"]
AT_THE_LIMIT = ["insult_repeated", "all_caps", "lone_surrogates", "emoji", "double_quotes"]
ABUSE_TYPES = ("insult", "profanity", "threat")


def _text(family: str, size: int = SIZE) -> str:
    return FAMILIES[family][1](size)


@pytest.mark.parametrize("family", ALL)
def test_hostile_message_is_analysed(family: str) -> None:
    text = _text(family)
    assert len(text) == SIZE
    check_analysis(text, ENGINE.analyze_message(text))


@pytest.mark.parametrize("family", ALL)
def test_hostile_draft_is_checked(family: str) -> None:
    text = _text(family)
    context = [Turn(Role.CUSTOMER, _text(family, 500)), Turn(Role.AGENT, "Sorry about that.")]
    check_reply_result(text, ENGINE.check_reply(text))
    check_reply_result(text, ENGINE.check_reply(text, context, customer_name="Dana"))


@pytest.mark.parametrize("family", NO_LETTERS + HARMLESS)
def test_text_without_abuse_reads_as_no_abuse(family: str) -> None:
    text = _text(family)
    analysis = ENGINE.analyze_message(text)
    assert not [s for s in analysis.signals if s.type.startswith(ABUSE_TYPES)], analysis.types
    assert analysis.abuse.rank <= AbuseLevel.VENTING.rank
    assert not [f for f in ENGINE.check_reply(text).findings if f.rule == "A8"]


def test_repeated_insults_are_abusive_and_the_reply_is_flagged() -> None:
    text = _text("insult_repeated")
    analysis = ENGINE.analyze_message(text)
    assert analysis.has("insult")
    assert analysis.abuse is AbuseLevel.ABUSIVE
    check = ENGINE.check_reply(text)
    assert any(f.rule == "A8" for f in check.findings), "an agent insulting back is flagged"


@pytest.mark.parametrize("family", ["spaced_letters", "leet"])
def test_disguised_swearing_is_still_read_as_swearing(family: str) -> None:
    assert ENGINE.analyze_message(_text(family)).has("profanity")


def test_a_wall_of_capitals_is_shouting() -> None:
    assert ENGINE.analyze_message(_text("all_caps")).has("shouting")


def test_a_draft_full_of_donts_gets_findings_and_a_different_fix() -> None:
    text = _text("agent_phrases")
    check = ENGINE.check_reply(text)
    assert any(f.severity.rank >= Severity.WARN.rank for f in check.findings)
    assert check.fixed != text.strip()


@pytest.mark.parametrize("family", ["lone_surrogates", "mixed_surrogates", "emoji"])
def test_text_outside_the_basic_plane_comes_back_unchanged(family: str) -> None:
    text = _text(family, 500)
    assert ENGINE.analyze_message(text).text == text
    assert ENGINE.check_reply(text).draft == text


@pytest.mark.parametrize("family", AT_THE_LIMIT)
def test_hostile_text_at_exactly_the_limit_is_accepted(family: str) -> None:
    limit = ENGINE.max_chars
    text = _text(family, limit)
    check_analysis(text, ENGINE.analyze_message(text))
    with pytest.raises(MessageTooLong):
        ENGINE.analyze_message(_text(family, limit + 1))


def test_a_draft_within_the_limit_never_raises_because_its_fix_is_longer() -> None:
    text = _text("leet", 10_000)
    assert len(text) <= ENGINE.max_chars
    check_reply_result(text, ENGINE.check_reply(text))


def test_a_draft_at_the_limit_is_checked_even_when_its_fix_outgrows_it() -> None:
    # The limit guards what the caller sends; the engine's own rewrites may be longer (each
    # sentence of these gets its own replacement), and they are not refused.
    engine = build_engine(load_playbook(text=b"limits: {max_message_chars: 200}"))
    text = _text("agent_phrases", 200)
    check = engine.check_reply(text)
    check_reply_result(text, check)
    assert len(check.fixed) > engine.max_chars


@pytest.mark.parametrize("ligature", ["\ufdfa", "\ufdfb", "\u3392"])
def test_a_character_that_folds_into_several_words_keeps_every_later_span_right(
    ligature: str,
) -> None:
    # NFKC turns U+FDFA into four words; the tokens after it must still line up.
    analysis = calmline.analyze_message(f"{ligature} you idiot, fuck you")
    assert {"insult", "profanity"} <= analysis.types
    for signal in analysis.signals:
        assert analysis.text[signal.span[0] : signal.span[1]] == signal.text
    check = calmline.check_reply(f"{ligature} No, you are wrong, damn it.")
    assert "B1" in {f.rule for f in check.findings}
