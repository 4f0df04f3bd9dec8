"""Shapes shared by several areas: spans, signals, findings, credits, conversation turns."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The longest name or id a client may send (the store's column width).
NAME_CHARS = 200


class Request(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """A response body."""

    model_config = ConfigDict(extra="allow")


class SignalPublic(Public):
    type: str = Field(examples=["insult"])
    principle: str = Field(examples=["B7"])
    span: tuple[int, int] = Field(description="character offsets [start, end) in the message")
    score: float = Field(ge=0, le=1)
    explanation: str
    text: str = ""
    evidence: list[str] = []
    detail: dict[str, Any] = {}


class AnalysisPublic(Public):
    signals: list[SignalPublic]
    anger: float = Field(ge=0, le=1)
    abuse: Literal["none", "venting", "abusive", "safety"]


class FindingPublic(Public):
    rule: str = Field(examples=["B3"])
    principle: str = Field(examples=["B3"])
    severity: Literal["info", "warn", "block"]
    span: tuple[int, int]
    message: str
    text: str = ""
    evidence: list[str] = []
    rewrite: str | None = None
    rewrite_span: tuple[int, int] | None = None


class CreditPublic(Public):
    behaviour: str = Field(examples=["apology"])
    principle: str
    span: tuple[int, int]
    text: str = ""


class CheckPublic(Public):
    draft: str
    findings: list[FindingPublic]
    credits: list[CreditPublic]
    blocked: bool = Field(description="true when any finding has severity block")
    fixed: str = Field(description="the draft with every rewrite applied")
    politeness: float | None = Field(
        default=None,
        description="how likely the draft reads as polite (0-1), from the shipped model; "
        "null when the playbook turns the models off",
    )


class TurnCreate(Request):
    role: Literal["customer", "agent"]
    text: str
    timestamp: datetime | None = None
    author: str | None = Field(default=None, max_length=NAME_CHARS)
