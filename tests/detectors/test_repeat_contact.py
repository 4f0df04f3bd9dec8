"""RepeatContactDetector and the number reading it shares with loyalty."""

from __future__ import annotations

import pytest

from calmline import Engine
from calmline.core.text import TextView
from calmline.detectors._cues import number_before, sentence_bounds


def _counts(engine: Engine, text: str) -> list[object]:
    return [
        s.detail.get("count")
        for s in engine.analyze_message(text).signals
        if s.type == "repeat_contact"
    ]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("I have called you twice", 2),
        ("I have phoned three times", 3),
        ("This is the 4th time I have called", 4),
        ("For the fifth time, I have emailed you", 5),
        ("I have sent 12 emails", 12),
        ("I have spoken to thirty two different people", 32),
        ("I have called so many times", None),
    ],
)
def test_count_of_contacts(engine: Engine, text: str, count: int | None) -> None:
    assert _counts(engine, text) == [count]


def test_a_counted_word_scores_more_with_a_way_of_getting_in_touch(engine: Engine) -> None:
    def score(text: str) -> float:
        return next(
            s.score for s in engine.analyze_message(text).signals if s.type == "repeat_contact"
        )

    assert score("This is the third time") < score("This is the third time I have called")


@pytest.mark.parametrize(
    ("words", "value", "ordinal"),
    [
        (["the", "third"], 3.0, True),
        (["called", "3rd"], 3.0, True),
        (["twenty", "five"], 25.0, False),
        (["5"], 5.0, False),
        (["several"], None, False),
    ],
)
def test_number_before(words: list[str], value: float | None, ordinal: bool) -> None:
    view = TextView.read(" ".join([*words, "times"]))
    got, got_ordinal, _ = number_before(view, len(view.norms) - 1)
    assert got == value
    assert got_ordinal is ordinal


def test_a_decimal_point_does_not_end_a_sentence() -> None:
    view = TextView.read("I paid $49.99 for it. Refund me.")
    start, end = sentence_bounds(view, 0, 2)
    assert view.text[start:end] == "I paid $49.99 for it."
