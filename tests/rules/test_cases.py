"""Every rule case in tests/cases/rules/*.yml, and every rewrite re-checked after it is applied."""

from __future__ import annotations

from typing import Any

import pytest

from calmline import Engine, Role, Severity, Turn
from tests.caseload import load_cases


def _context(case: dict[str, Any]) -> list[Turn]:
    return [Turn(Role(t["role"]), t["text"]) for t in case.get("context") or []]


@pytest.mark.parametrize(("expect", "case"), load_cases("rules", "draft"))
def test_rule_case(engine: Engine, expect: str, case: dict[str, Any]) -> None:
    rule = case["owner"]
    ctx = engine.context(_context(case), customer_name=case.get("customer_name"))
    result = engine.check_reply(case["draft"], ctx)
    mine = [f for f in result.findings if f.rule == rule]
    shown = [(f.rule, f.text, f.rewrite.text if f.rewrite else None) for f in result.findings]
    if expect == "silent":
        assert not mine, f"{rule} fired on {case['draft']!r}: {shown}"
        return
    assert mine, f"{rule} did not fire on {case['draft']!r}; got {shown}"
    for f in mine:
        assert f.principle and f.message and f.severity in Severity
        assert f.text == case["draft"][f.span[0] : f.span[1]]
    if "severity" in case:
        assert mine[0].severity.value == case["severity"]
    if "rewrite" in case:
        assert mine[0].rewrite is not None and mine[0].rewrite.text == case["rewrite"]
    if "fixed" in case:
        assert result.fixed == case["fixed"]
    # Applying calmline's own suggestions must give a draft calmline is happy with.
    again = engine.check_reply(result.fixed, ctx)
    left = [(f.rule, f.text) for f in again.findings if f.severity is not Severity.INFO]
    assert not left, f"the fixed draft {result.fixed!r} still has {left}"
