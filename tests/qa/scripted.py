"""The scripted conversations of tests/qa/data/scripted.yaml as Conversation objects."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from calmline.core.types import Role
from calmline.qa.types import Conversation, Message

SCRIPTED = Path(__file__).parent / "data" / "scripted.yaml"


def load_cases(path: Path = SCRIPTED) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return cases


def conversation(case: dict[str, Any], source: str = "scripted.yaml") -> Conversation:
    messages = tuple(
        Message(
            role=Role(m["role"]),
            text=m["text"],
            at=datetime.fromisoformat(m["at"]) if m.get("at") else None,
            author=m.get("author"),
        )
        for m in case["messages"]
    )
    return Conversation(
        id=case["id"],
        messages=messages,
        source=source,
        record=case["id"],
        format="scripted",
        agent=case.get("agent"),
        team=case.get("team"),
        customer_name=case.get("customer_name"),
    )


def conversations() -> list[Conversation]:
    return [conversation(case) for case in load_cases()]
