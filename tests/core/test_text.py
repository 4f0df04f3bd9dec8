"""Tokenising and normalising messages: spans, disguised words, negation, quotes, names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from calmline.core.text import TextView, Vocabulary, normalise_phrase

DATA = yaml.safe_load(
    (Path(__file__).parents[1] / "cases" / "text_normalisation.yml").read_text(encoding="utf-8")
)
VOCAB = Vocabulary(DATA["vocab"])


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["text"][:30] or "empty")
def test_normalisation(case: dict[str, object]) -> None:
    view = TextView.read(str(case["text"]), VOCAB)
    assert view.norms == case["norms"]
    # Every token's span points into the original text.
    for s, e in zip(view.starts, view.ends, strict=True):
        assert 0 <= s < e <= len(view.text)


def test_spans_cover_the_written_word() -> None:
    view = TextView.read("oh f*ck, you're late", VOCAB)
    i = view.norms.index("fuck")
    assert view.slice(view.span_of(i, i)) == "f*ck"
    j = view.norms.index("are")
    assert view.slice(view.span_of(j, j)) == "you're"


def test_phrases_normalise_like_messages() -> None:
    assert normalise_phrase("You're an IDIOT") == ("you", "are", "an", "idiot")
    assert normalise_phrase("don't") == ("do", "not")


@pytest.mark.parametrize(
    ("text", "word", "negated"),
    [
        ("you're not an idiot", "idiot", True),
        ("I never said you were useless", "useless", True),
        ("I'm not going to sue", "sue", True),
        ("you are an idiot", "idiot", False),
        ("not happy, and you are an idiot", "idiot", False),
        ("I'm not angry but you are useless", "useless", False),
        ("no, you are useless", "useless", False),
    ],
)
def test_negation_scope(text: str, word: str, negated: bool) -> None:
    view = TextView.read(text, VOCAB)
    assert view.negated(view.norms.index(word)) is negated


def test_quoted_spans() -> None:
    text = 'the bot said "you are an idiot" to me'
    view = TextView.read(text, VOCAB)
    at = text.index("idiot")
    assert view.quoted((at, at + 5))
    assert not view.quoted((0, 3))


def test_sentences_and_sentence_of() -> None:
    text = "Calm down. As I said, it ships Monday!  Thanks"
    view = TextView.read(text)
    assert [view.slice(s) for s in view.sentences()] == [
        "Calm down.",
        "As I said, it ships Monday!",
        "Thanks",
    ]
    assert view.slice(view.sentence_of((14, 18))) == "As I said, it ships Monday!"


@pytest.mark.parametrize(
    ("text", "word", "is_name"),
    [
        ("My name is Dick and my parcel is late", "dick", True),
        ("I spoke to Mr Cock yesterday", "cock", True),
        ("Dick Smith here, my order is late", "dick", True),
        ("you are a dick", "dick", False),
    ],
)
def test_names(text: str, word: str, is_name: bool) -> None:
    view = TextView.read(text, Vocabulary([*VOCAB, "dick", "cock"]))
    assert view.looks_like_name(view.norms.index(word)) is is_name


def test_a_word_reads_the_same_however_often_and_by_vocabulary() -> None:
    # A vocabulary remembers how the words it has read decode: a second reading of every
    # case must match the first and a fresh vocabulary's, and another vocabulary must read
    # the same word its own way.
    texts = [str(c["text"]) for c in DATA["cases"]]
    warm = Vocabulary(DATA["vocab"])
    for text in texts + texts:
        fresh = TextView.read(text, Vocabulary(DATA["vocab"]))
        again = TextView.read(text, warm)
        assert (again.norms, again.starts, again.ends) == (fresh.norms, fresh.starts, fresh.ends)
    assert TextView.read("kiss my @ss", warm).norms == ["kiss", "my", "ass"]
    assert TextView.read("kiss my @ss", Vocabulary(["kiss"])).norms == ["kiss", "my"]
