"""Bodies of the training routes: scenarios, live roleplay sessions, debriefs and progress."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from calmline.api.schemas.common import NAME_CHARS, Public, Request

#: Seeds a client may give (what the store keeps: a signed 64-bit number, from 0).
MAX_SEED = 2**63 - 1


class ScenarioPublic(Public):
    id: str = Field(examples=["insulter"])
    title: str
    summary: str = Field(description="who the customer is (the briefing's first line)")
    customer: str
    principles: list[str]
    difficulty: str = Field(description="the mood the customer starts in: easy, medium or hard")
    scored_on: list[str] = Field(description="principle groups the debrief scores (A-E)")
    briefing: dict[str, Any]


class ScenarioList(Public):
    scenarios: list[ScenarioPublic]


class PracticeCreate(Request):
    scenario: str = Field(min_length=1, max_length=60, examples=["insulter"])
    trainee: str | None = Field(
        default=None,
        max_length=NAME_CHARS,
        description="whose session it is (default: the key's holder; agents train as themselves)",
    )
    seed: int | None = Field(
        default=None, ge=0, le=MAX_SEED, description="the same seed and replies play the same way"
    )


class ReplyCreate(Request):
    text: str = Field(min_length=1, description="the trainee's reply")
    turn: int | None = Field(
        default=None,
        ge=0,
        description="how many replies the client has seen in the session; a stale count is a 409",
    )


class TurnPublic(Public):
    role: str = Field(examples=["customer"])
    text: str
    seconds: float | None = Field(default=None, description="trainee: how long the reply took")


class PracticePublic(Public):
    id: str
    scenario: str
    title: str
    customer_name: str
    trainee: str
    seed: int
    replies: int = Field(description="replies so far: the `turn` to send with the next one")
    turns: list[TurnPublic]
    done: bool
    outcome: str | None
    debriefed: bool
    started_at: str
    finished_at: str | None
    briefing: dict[str, Any]


class ReplyPublic(PracticePublic):
    customer: dict[str, Any] = Field(description="the customer's answer (CustomerTurn.to_dict())")
