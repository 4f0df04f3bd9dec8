"""The body of ``POST /v1/relent``: the inputs of ``calmline relent``, as JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from calmline.api.schemas.common import NAME_CHARS, Public, Request

#: An amount (480, "£480", "1,200.50") or a percent of the claim ("50%").
FigureIn = str | float


class RelentCreate(Request):
    policy: FigureIn = Field(
        description="what the policy allows: an amount or a percent of the claim",
        examples=["50%"],
    )
    demand: FigureIn | None = Field(
        default=None,
        description="what the customer asks for; read from `message` when not given",
        examples=["100%"],
    )
    claim: float | None = Field(
        default=None, description="the amount at stake; needed for percents", examples=[640]
    )
    annual_spend: float = Field(default=0.0, description="what the customer spends a year")
    tenure: float = Field(default=0.0, description="years they have been a customer")
    threats: list[Literal["public", "churn", "legal"]] = Field(
        default=[], max_length=3, description="threats the customer made"
    )
    audience: int = Field(default=0, description="followers a public post would reach")
    promised: bool = Field(
        default=False, description="we caused the expectation (told it was covered)"
    )
    message: str | None = Field(
        default=None, description="the customer's message: the demand and threats are read from it"
    )
    reason: str | None = Field(
        default=None, description="why the policy says what it says, for the suggested wording"
    )
    name: str | None = Field(
        default=None, max_length=NAME_CHARS, description="the customer's name, for the wording"
    )


class RelentPublic(Public):
    """RelentAdvice.to_dict(), plus the request as it was understood."""

    recommendation: Literal["stand_firm", "bargain", "grant"]
    principle: str
    figure: float
    currency: str
    options: list[dict[str, Any]]
    reasoning: list[str]
    wording: str
    request: dict[str, Any]
