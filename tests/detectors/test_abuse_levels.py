"""Message-level abuse levels for whole messages, from tests/cases/abuse_levels.yml."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from calmline import AbuseLevel, Engine
from tests.caseload import CASES


def _cases() -> list[Any]:
    data = yaml.safe_load((CASES / "abuse_levels.yml").read_text(encoding="utf-8"))
    params = []
    for level, texts in data.items():
        AbuseLevel(level)  # a typo in the file is an error, not a skipped case
        for n, text in enumerate(texts):
            params.append(pytest.param(level, text, id=f"{level}-{n}-{text[:40]}"))
    return params


@pytest.mark.parametrize(("level", "text"), _cases())
def test_abuse_level(engine: Engine, level: str, text: str) -> None:
    analysis = engine.analyze_message(text)
    shown = [(s.type, s.text, round(s.score, 2), dict(s.detail)) for s in analysis.signals]
    assert analysis.abuse.value == level, f"{text!r}: {shown}"


def test_every_level_but_safety_is_covered() -> None:
    data = yaml.safe_load((CASES / "abuse_levels.yml").read_text(encoding="utf-8"))
    assert {"none", "venting", "abusive"} <= set(data)
    assert all(len(texts) >= 10 for texts in data.values())
