"""LoyaltyDetector beyond the case file: years, months and how short stays read."""

from __future__ import annotations

import pytest

from calmline import Engine


def _loyalty(engine: Engine, text: str) -> list[dict[str, object]]:
    return [dict(s.detail) for s in engine.analyze_message(text).signals if s.type == "loyalty"]


@pytest.mark.parametrize(
    ("text", "years", "since"),
    [
        ("I've been a customer for 10 years", 10.0, None),
        ("I've been a loyal customer for 18 months", 1.5, None),
        ("I've been a customer for two decades", 20.0, None),
        ("Loyal member since 1987", None, 1987),
        ("I'm a loyal customer", None, None),
    ],
)
def test_years_and_since(engine: Engine, text: str, years: float | None, since: int | None) -> None:
    assert _loyalty(engine, text) == [{"years": years, "since": since}]


def test_a_short_stay_is_not_loyalty(engine: Engine) -> None:
    assert _loyalty(engine, "I've been with you for three weeks") == []
    assert _loyalty(engine, "I've been with you for three years") != []


def test_a_year_out_of_range_is_not_a_joining_year(engine: Engine) -> None:
    assert _loyalty(engine, "Customer since 3021") == []
