"""Bodies of the playbook routes: what is in force, checking a new one, replacing it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from calmline.api.schemas.common import Public, Request

#: The largest playbook text accepted (the whole request is bounded by serve.max_body_bytes).
MAX_PLAYBOOK_CHARS = 1_000_000


class PlaybookText(Request):
    yaml: str = Field(
        max_length=MAX_PLAYBOOK_CHARS,
        description="a team playbook in YAML (merged over the default unless `extends: none`)",
        examples=["rules:\n  B3:\n    enabled: false\n"],
    )


class PlaybookReplace(PlaybookText):
    note: str | None = Field(default=None, max_length=500, description="why it changed")


class PrinciplePublic(Public):
    id: str = Field(examples=["B3"])
    group: str
    title: str
    summary: str


class RulePublic(Public):
    id: str = Field(examples=["B3"])
    principle: str
    severity: Literal["info", "warn", "block"]
    enabled: bool
    summary: str


class SignalSourcePublic(Public):
    detector: str = Field(examples=["insult"])
    principle: str
    enabled: bool
    threshold: float


class PlaybookPublic(Public):
    source: Literal["default", "file", "stored"]
    version: int | None = Field(description="the stored version's id when source is stored")
    name: str
    principles: list[PrinciplePublic]
    rules: list[RulePublic]
    signals: list[SignalSourcePublic]


class ValidationPublic(Public):
    valid: bool
    problems: list[str] = Field(description="each with the file, line and key it is about")


class PlaybookVersionPublic(Public):
    version: int
    source: Literal["stored"]
