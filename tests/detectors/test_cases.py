"""Every detector case in tests/cases/detectors/*.yml: texts that must fire and must not."""

from __future__ import annotations

from typing import Any

import pytest

from calmline import Engine, Signal
from tests.caseload import load_cases


def _matches(sig: Signal, case: dict[str, Any]) -> bool:
    if case.get("type") and sig.type != case["type"]:
        return False
    if "span" in case and sig.text.lower() != str(case["span"]).lower():
        return False
    return all(sig.detail.get(k) == v for k, v in (case.get("detail") or {}).items())


@pytest.mark.parametrize(("expect", "case"), load_cases("detectors", "text"))
def test_detector_case(engine: Engine, expect: str, case: dict[str, Any]) -> None:
    analysis = engine.analyze_message(case["text"], names=case.get("names", ()))
    found = [s for s in analysis.signals if _matches(s, case)]
    shown = [(s.type, s.text, round(s.score, 2), dict(s.detail)) for s in analysis.signals]
    if expect == "fires":
        assert found, f"expected {case.get('type')} in {case['text']!r}; got {shown}"
        for sig in found:
            assert sig.explanation, "every signal explains itself"
            assert sig.text == case["text"][sig.span[0] : sig.span[1]]
    else:
        assert not found, f"expected no {case.get('type')} in {case['text']!r}; got {shown}"
    if "abuse" in case:
        assert analysis.abuse.value == case["abuse"], shown
