"""Bodies of ``POST /v1/analyze`` and ``POST /v1/check``."""

from __future__ import annotations

from pydantic import Field

from calmline.api.schemas.common import NAME_CHARS, Request, TurnCreate

#: The most context turns one draft check takes (the rules read the recent ones).
MAX_CONTEXT_TURNS = 200


class AnalyzeCreate(Request):
    text: str = Field(description="one customer message", examples=["you people are USELESS"])
    names: list[str] = Field(
        default=[],
        max_length=20,
        description="names that appear in the message (the customer's, the agent's): never "
        "read as shouting or insults",
    )


class CheckCreate(Request):
    draft: str = Field(description="the agent's reply before it is sent")
    context: list[TurnCreate] = Field(
        default=[],
        max_length=MAX_CONTEXT_TURNS,
        description="the conversation so far, oldest first",
    )
    customer_name: str | None = Field(default=None, max_length=NAME_CHARS)
