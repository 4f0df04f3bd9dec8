"""DemandDetector beyond the case file: amounts, currencies, shares and the detail shape."""

from __future__ import annotations

import pytest

from calmline import Engine
from calmline.detectors.demand import _parse_number


def _demands(engine: Engine, text: str) -> list[dict[str, object]]:
    return [dict(s.detail) for s in engine.analyze_message(text).signals if s.type == "demand"]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("49.99", 49.99),
        ("1,299.99", 1299.99),
        ("1,299", 1299.0),
        ("49,99", 49.99),
        ("1.299.000", 1299000.0),
        ("200", 200.0),
    ],
)
def test_numbers_are_read_as_people_write_them(raw: str, value: float) -> None:
    assert _parse_number(raw) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("Refund me $49.99 now", 49.99, "USD"),
        ("I expect £200 compensation", 200.0, "GBP"),
        ("I want 75 euros back", 75.0, "EUR"),
        ("I want a refund of USD 120", 120.0, "USD"),
        ("I want a refund of 30 bucks", 30.0, "USD"),
        ("I want a refund of 49,99 €", 49.99, "EUR"),
        ("I want a refund of £1,250.50", 1250.5, "GBP"),
    ],
)
def test_amount_and_currency(engine: Engine, text: str, amount: float, currency: str) -> None:
    (detail,) = _demands(engine, text)
    assert detail["amount"] == pytest.approx(amount)
    assert detail["currency"] == currency


def test_every_demand_reports_the_four_detail_keys(engine: Engine) -> None:
    for detail in _demands(engine, "I want a refund and a voucher"):
        assert set(detail) == {"kind", "amount", "currency", "percent"}


def test_each_number_goes_to_the_nearest_demand(engine: Engine) -> None:
    details = _demands(engine, "I want a refund of £40 and a £10 voucher for the trouble")
    assert [(d["kind"], d["amount"]) for d in details] == [("refund", 40.0), ("voucher", 10.0)]


def test_a_share_word_goes_to_its_own_demand(engine: Engine) -> None:
    details = _demands(engine, "I want a full refund and compensation")
    assert [(d["kind"], d["percent"]) for d in details] == [
        ("refund", 100.0),
        ("compensation", None),
    ]


def test_the_explanation_names_the_amount(engine: Engine) -> None:
    (signal,) = list(engine.analyze_message("Refund me $49.99").signals)
    assert signal.explanation == 'asks for a refund of 49.99 USD ("Refund")'


def test_a_polite_request_scores_lower_than_a_demand(engine: Engine) -> None:
    def score(text: str) -> float:
        return next(s.score for s in engine.analyze_message(text).signals if s.type == "demand")

    assert score("Can I get a refund?") < score("I demand a refund")


def test_amount_reading_is_linear_on_long_digit_runs(engine: Engine) -> None:
    text = "I want a refund of " + "1," * 5000 + "5 dollars"
    assert _demands(engine, text)
