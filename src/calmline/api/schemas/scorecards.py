"""The body of ``GET /v1/scorecards``."""

from __future__ import annotations

from pydantic import Field

from calmline.api.schemas.common import Public


class ScorecardPublic(Public):
    agent: str
    team: str | None
    conversations: int
    messages: int = Field(description="messages the agent sent")
    findings_by_principle: dict[str, int]
    blocked: int = Field(description="messages sent with a finding of severity block")
    credits_by_behaviour: dict[str, int]
    incidents: int
    ended_by_protocol: int
    score: int | None = Field(description="0-100 over the sent messages; null with none")


class ScorecardList(Public):
    agents: list[ScorecardPublic]
