"""Properties that hold for any input: the engine never raises on text within the limit, every
span it reports lies inside the text it was given, scores stay in 0-1, and the same input
always gives the same answer.

Inputs come from two generators: arbitrary Unicode (lone surrogates included, since a Python
str can hold them) and "chatty" text built from the playbook's own phrases, disguised the way
customers disguise them (f*ck, sh1t, f u c k, capitals, quotes, negation), so that detectors
and rules actually fire and their spans are exercised.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmline import (
    AbuseLevel,
    CalmlineError,
    InputError,
    MessageAnalysis,
    MessageTooLong,
    ReplyCheck,
    Role,
    Severity,
    Turn,
    build_engine,
    default_engine,
    load_playbook,
)
from calmline.core.types import CREDIT_TYPES, SIGNAL_TYPES

ENGINE = default_engine()
#: A second engine from the same playbook: answers must not depend on which one is asked.
TWIN = build_engine(load_playbook())
SMALL_LIMIT = 150
SMALL = build_engine(load_playbook(text=f"limits: {{max_message_chars: {SMALL_LIMIT}}}".encode()))
RULE_IDS = frozenset(r.id for r in ENGINE.rules)
PRINCIPLE = re.compile(r"[A-E][1-9]")

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ----- generators ---------------------------------------------------------------------------


def _playbook_phrases() -> list[str]:
    pb = load_playbook()
    phrases: set[str] = set(pb.anger.lexicon)
    for det in pb.detectors.values():
        for lexicon in det.lexicons.values():
            phrases.update(lexicon)
    for rule in pb.rules.values():
        for lexicon in rule.lexicons.values():
            phrases.update(lexicon)
    for credit in pb.credits.values():
        phrases.update(credit.lexicon)
    return sorted(p for p in phrases if p.strip())


def _case_texts() -> list[str]:
    """Every message, draft and context turn of the case files: realistic text that fires."""
    out: list[str] = []
    for path in sorted((Path(__file__).parent.parent / "cases").glob("*/*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for expect in ("fires", "silent"):
            for item in data.get(expect) or []:
                if isinstance(item, str):
                    out.append(item)
                    continue
                out.extend(str(item[k]) for k in ("text", "draft") if k in item)
                out.extend(str(turn.get("text", "")) for turn in item.get("context") or [])
    texts = sorted({t for t in out if t.strip()})
    # Hypothesis favours the first items of a list; mix the files so no one file comes first.
    random.Random(2024).shuffle(texts)
    return texts


PHRASES = _playbook_phrases()
SEEDS = _case_texts() or PHRASES
FILLER = [
    "my order",
    "the refund",
    "I",
    "you",
    "your",
    "we",
    "not",
    "never",
    "please",
    "today",
    "again",
    "Dick",
    "Sarah",
    "the manager",
    "@AmazonHelp",
    "https://t.co/x1",
    "#fail",
    "3 times",
    "$49.99",
    "😡",
    "🙏",
]
SEPARATORS = [" ", " ", " ", ", ", ". ", "! ", "? ", "!!! ", "\n", "", '"', "“", "” ", " - ", "..."]
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "$"})


def _mask(word: str) -> str:
    if len(word) < 3:
        return word
    return word[0] + "".join("*" if c in "aeiou" else c for c in word[1:-1]) + word[-1]


def _stretch(word: str) -> str:
    for i, c in enumerate(word):
        if c.isalpha():
            return word[: i + 1] + c * 4 + word[i + 1 :]
    return word


DISGUISES = [
    lambda w: w,
    lambda w: w,
    str.upper,
    str.title,
    lambda w: w.translate(_LEET),
    _mask,
    _stretch,
    lambda w: " ".join(w),
    lambda w: ".".join(w),
    lambda w: f'"{w}"',
    lambda w: f"not {w}",
    lambda w: w.replace("you are", "you're").replace("do not", "don't"),
]

any_char = st.one_of(
    st.characters(), st.characters(), st.characters(), st.characters(categories=["Cs"])
)
raw_text = st.text(any_char, max_size=200)
piece = st.one_of(
    st.builds(lambda p, d: d(p), st.sampled_from(PHRASES), st.sampled_from(DISGUISES)),
    st.sampled_from(FILLER),
    st.text(any_char, max_size=6),
)
chatty_text = st.lists(st.tuples(piece, st.sampled_from(SEPARATORS)), max_size=25).map(
    lambda parts: "".join(p + s for p, s in parts)
)


@st.composite
def case_text(draw: st.DrawFn) -> str:
    """A case-file text, changed a few times: a word disguised, characters spliced in, cut,
    joined to another case, shouted."""
    text: str = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(0, 3))):
        change = draw(
            st.sampled_from(["disguise", "splice", "cut", "join", "disguise", "splice", "shout"])
        )
        if change == "disguise":
            words = text.split(" ")
            i = draw(st.integers(0, len(words) - 1))
            words[i] = draw(st.sampled_from(DISGUISES))(words[i])
            text = " ".join(words)
        elif change == "splice":
            at = draw(st.integers(0, len(text)))
            bit = draw(st.one_of(st.text(any_char, max_size=4), st.sampled_from(SEPARATORS)))
            text = text[:at] + bit + text[at:]
        elif change == "cut":
            a = draw(st.integers(0, len(text)))
            text = text[:a] if draw(st.booleans()) else text[a:]
        elif change == "join":
            text = text + draw(st.sampled_from(SEPARATORS)) + draw(st.sampled_from(SEEDS))
        else:
            text = text.upper()
    return text


message_text = st.one_of(raw_text, chatty_text, case_text(), case_text(), case_text())
names = st.lists(
    st.one_of(st.sampled_from(["Dick", "Sarah", "Willy", "Mr Patel"]), st.text(max_size=12)),
    max_size=3,
)
customer_name = st.one_of(st.none(), st.sampled_from(["Dana", "Dick"]), st.text(max_size=15))
turns = st.lists(st.builds(Turn, role=st.sampled_from(list(Role)), text=message_text), max_size=6)

# ----- what every answer must look like --------------------------------------------------


def check_analysis(text: str, analysis: MessageAnalysis) -> None:
    """The invariants of a MessageAnalysis of ``text``."""
    assert analysis.text == text
    assert isinstance(analysis.anger, float)
    assert 0.0 <= analysis.anger <= 1.0
    assert isinstance(analysis.abuse, AbuseLevel)
    last: tuple[int, int] = (-1, -1)
    for sig in analysis.signals:
        start, end = sig.span
        assert 0 <= start < end <= len(text), (sig.type, sig.span, len(text))
        assert sig.text == text[start:end], (sig.type, sig.span)
        assert 0.0 <= sig.score <= 1.0, (sig.type, sig.score)
        assert sig.type in SIGNAL_TYPES, sig.type
        assert PRINCIPLE.fullmatch(sig.principle), sig.principle
        assert isinstance(sig.explanation, str)
        assert sig.explanation.strip(), f"{sig.type} signal without an explanation"
        assert (start, end) >= last, "signals come in text order"
        last = (start, end)
    if not analysis.signals:
        assert analysis.abuse is AbuseLevel.NONE, "an abuse level needs a signal behind it"
    if analysis.abuse is AbuseLevel.SAFETY:
        assert analysis.has("threat.safety")
    json.dumps(analysis.to_dict())


def check_reply_result(draft: str, check: ReplyCheck) -> None:
    """The invariants of a ReplyCheck of ``draft``."""
    assert check.draft == draft
    assert isinstance(check.fixed, str)
    starts = []
    for f in check.findings:
        start, end = f.span
        assert 0 <= start <= end <= len(draft), (f.rule, f.span, len(draft))
        assert f.text == draft[start:end], (f.rule, f.span)
        assert f.rule in RULE_IDS, f.rule
        assert PRINCIPLE.fullmatch(f.principle), f.principle
        assert isinstance(f.severity, Severity)
        assert isinstance(f.message, str)
        assert f.message.strip(), f"{f.rule} finding without a message"
        if f.rewrite is not None:
            rs, re_ = f.rewrite.span
            assert 0 <= rs <= re_ <= len(draft), (f.rule, f.rewrite.span, len(draft))
            assert isinstance(f.rewrite.text, str)
        starts.append(start)
    assert starts == sorted(starts), "findings come in text order"
    for c in check.credits:
        start, end = c.span
        assert 0 <= start <= end <= len(draft), (c.behaviour, c.span)
        assert c.text == draft[start:end]
        assert c.behaviour in CREDIT_TYPES, c.behaviour
    if not any(f.rewrite for f in check.findings):
        assert check.fixed == draft.strip(), "nothing to rewrite leaves the draft as it was"
    assert check.blocked == any(f.severity is Severity.BLOCK for f in check.findings)
    json.dumps(check.to_dict())


# ----- customer messages ---------------------------------------------------------------------


@PROPERTY
@given(text=message_text, names=names)
def test_analysis_of_any_text_is_well_formed(text: str, names: list[str]) -> None:
    check_analysis(text, ENGINE.analyze_message(text, names=names))


@PROPERTY
@given(text=message_text)
def test_analysis_is_deterministic(text: str) -> None:
    first = ENGINE.analyze_message(text)
    assert ENGINE.analyze_message(text) == first
    assert TWIN.analyze_message(text) == first


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(chatty_text, min_size=1, max_size=40))
def test_long_messages_within_the_limit_are_analysed(parts: list[str]) -> None:
    text = "\n".join(parts)[: ENGINE.max_chars]
    check_analysis(text, ENGINE.analyze_message(text))


# ----- agent drafts ---------------------------------------------------------------------------


@PROPERTY
@given(draft=message_text, context=turns, name=customer_name)
def test_check_of_any_draft_and_context_is_well_formed(
    draft: str, context: list[Turn], name: str | None
) -> None:
    check_reply_result(draft, ENGINE.check_reply(draft, context, customer_name=name))


@PROPERTY
@given(draft=message_text, context=turns, name=customer_name)
def test_check_is_deterministic_and_prebuilt_context_agrees(
    draft: str, context: list[Turn], name: str | None
) -> None:
    first = ENGINE.check_reply(draft, context, customer_name=name)
    assert ENGINE.check_reply(draft, context, customer_name=name) == first
    assert TWIN.check_reply(draft, context, customer_name=name) == first
    prebuilt = ENGINE.context(context, customer_name=name)
    assert ENGINE.check_reply(draft, prebuilt) == first
    assert ENGINE.check_reply(draft, prebuilt) == first, "a context can be reused"


@PROPERTY
@given(draft=message_text)
def test_check_without_context_is_well_formed(draft: str) -> None:
    check_reply_result(draft, ENGINE.check_reply(draft))


# ----- limits and input types -------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(text=st.text(any_char, min_size=SMALL_LIMIT - 20, max_size=SMALL_LIMIT + 20))
def test_the_size_limit_is_exact(text: str) -> None:
    if len(text) <= SMALL_LIMIT:
        check_analysis(text, SMALL.analyze_message(text))
        check_reply_result(text, SMALL.check_reply(text))
        return
    for call in (
        lambda: SMALL.analyze_message(text),
        lambda: SMALL.check_reply(text),
        lambda: SMALL.check_reply("Sorry about that.", [Turn(Role.CUSTOMER, text)]),
    ):
        with pytest.raises(MessageTooLong) as info:
            call()
        assert isinstance(info.value, InputError)
        assert isinstance(info.value, CalmlineError)
        assert info.value.limit == SMALL_LIMIT
        assert info.value.length == len(text)
        assert f"{SMALL_LIMIT:,}" in str(info.value), "the message names the limit"
        assert info.value.code == "message_too_long"


def test_the_default_limit_is_named_when_exceeded() -> None:
    limit = ENGINE.max_chars
    check_analysis("a" * limit, ENGINE.analyze_message("a" * limit))
    with pytest.raises(MessageTooLong, match=f"the limit is {limit:,}"):
        ENGINE.analyze_message("a" * (limit + 1))
    with pytest.raises(MessageTooLong, match=f"the limit is {limit:,}"):
        ENGINE.check_reply("b" * (limit + 1))


NOT_TEXT: list[Any] = [None, 42, 4.2, b"bytes", bytearray(b"x"), ["a list"], {"text": "hi"}]


@pytest.mark.parametrize("bad", NOT_TEXT, ids=lambda v: type(v).__name__)
def test_input_that_is_not_text_raises_input_error(bad: Any) -> None:
    calls: list[Callable[[], object]] = [
        lambda: ENGINE.analyze_message(bad),
        lambda: ENGINE.check_reply(bad),
        lambda: ENGINE.check_reply("Sorry for the wait.", [Turn(Role.CUSTOMER, bad)]),
        lambda: ENGINE.context([Turn(Role.CUSTOMER, bad)]),
    ]
    for call in calls:
        with pytest.raises(InputError) as info:
            call()
        assert isinstance(info.value, CalmlineError)
        assert info.value.code == "input_invalid"
        assert type(bad).__name__ in str(info.value)


# ----- the checks above can fail ------------------------------------------------------------


def test_the_checks_reject_broken_answers() -> None:
    """The invariants are real: a wrong span, score, level or rewrite is caught."""
    text = "You are a useless idiot and I want my money back!!!"
    analysis = ENGINE.analyze_message(text)
    check_analysis(text, analysis)
    assert analysis.signals, "this message must give signals for the test to mean anything"
    sig = analysis.signals[0]
    broken_signals = [
        dataclasses.replace(sig, span=(sig.span[0], len(text) + 1)),
        dataclasses.replace(sig, text=sig.text + "x"),
        dataclasses.replace(sig, score=1.5),
        dataclasses.replace(sig, type="not_a_signal"),
        dataclasses.replace(sig, explanation=" "),
    ]
    for bad in broken_signals:
        with pytest.raises(AssertionError):
            check_analysis(text, dataclasses.replace(analysis, signals=(bad,)))
    with pytest.raises(AssertionError):
        check_analysis(text, dataclasses.replace(analysis, anger=-0.1))
    with pytest.raises(AssertionError):
        check_analysis(text, dataclasses.replace(analysis, signals=(), abuse=AbuseLevel.ABUSIVE))

    draft = "Calm down, you are wrong and there is nothing we can do."
    check = ENGINE.check_reply(draft)
    check_reply_result(draft, check)
    found = next(f for f in check.findings if f.rewrite is not None)
    assert found.rewrite is not None
    broken_findings = [
        dataclasses.replace(found, span=(0, len(draft) + 5)),
        dataclasses.replace(found, rule="Z9"),
        dataclasses.replace(
            found, rewrite=dataclasses.replace(found.rewrite, span=(-1, len(draft)))
        ),
    ]
    for bad_finding in broken_findings:
        with pytest.raises(AssertionError):
            check_reply_result(draft, dataclasses.replace(check, findings=(bad_finding,)))
    with pytest.raises(AssertionError):
        check_reply_result(draft, dataclasses.replace(check, findings=(), fixed="changed"))
