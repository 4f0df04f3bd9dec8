"""Scripted conversations as data: the YAML scenario files of tests/cases/<kind>/ as events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from calmline.coach.events import Event, EventKind
from tests.caseload import CASES

START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
KINDS = {
    "customer": EventKind.CUSTOMER_MESSAGE,
    "agent": EventKind.AGENT_MESSAGE,
    "draft": EventKind.AGENT_DRAFT,
    "end": EventKind.CONVERSATION_END,
}


def scenarios(kind: str) -> list[Any]:
    """pytest params: every tests/cases/<kind>/*.yml, by file name."""
    return [
        pytest.param(yaml.safe_load(path.read_text(encoding="utf-8")), id=path.stem)
        for path in sorted((CASES / kind).glob("*.yml"))
    ]


def event(n: int, step: dict[str, Any]) -> Event:
    """The n-th step of a scenario (`customer:`, `agent:`, `draft:` or `end:`, `at:` seconds)."""
    (role,) = (k for k in KINDS if k in step)
    return Event(
        id=f"e{n}",
        kind=KINDS[role],
        at=START + timedelta(seconds=step["at"]),
        text=step[role] or "",
        author="Agent" if role in ("agent", "draft") else None,
        duration_s=step.get("duration"),
    )
