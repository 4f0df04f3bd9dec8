"""B3: an authoritative or condescending tone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.rule import Draft, ReplyContext, ReplyRule
from calmline.core.settings import RuleSettings
from calmline.core.text import normalise_phrase
from calmline.core.types import Finding, Severity


class CondescendingParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: phrase -> what to say instead ("" removes the phrase and keeps the sentence)
    replacements: dict[str, str] = Field(default_factory=dict)
    #: flag a draft that the politeness model reads as impolite with at least this
    #: probability, when no phrase was found (1.0 turns the model's reading off)
    impolite_threshold: float = Field(default=0.95, ge=0.5, le=1.0)
    #: what the agent is told then
    impolite_message: str = Field(
        default="This reads as curt or commanding; soften it and speak as an equal.",
        max_length=300,
    )


class Condescending(ReplyRule):
    """Talking down to the customer: lecturing, ordering them about, pointing out they missed it.

    Phrases such as "calm down", "as I already explained" or "you need to understand" put the
    agent above the customer. Even when the agent is right, the customer hears that they are
    being told off, and the conversation heats up (principle B3).

    Anti-pattern:
        Calm down. As I already explained, the refund takes five working days.

    Best practice:
        I can hear how frustrating the wait is. The refund takes five working days.

    Where no phrase is found, the shipped politeness model reads the tone of the whole draft:
    a draft it finds impolite with at least ``impolite_threshold`` probability gets an
    ``info`` finding with no rewrite ("Read the FAQ before contacting us again." reads as an
    order). A phrase that is only quoted or negated keeps the model out too.
    """

    id = "B3"
    name = "condescending-tone"
    lexicon_names = ("phrases",)
    Params: ClassVar[type[BaseModel] | None] = CondescendingParams

    def __init__(self, settings: RuleSettings) -> None:
        super().__init__(settings)
        self.replacements = {normalise_phrase(k): v for k, v in self.params.replacements.items()}

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        replacements = self.replacements
        found = False
        for hit in self.live_hits(draft, "phrases"):
            span = draft.view.span_of(hit.first, hit.last)
            replacement = replacements.get(normalise_phrase(hit.phrase))
            rewrite = (
                self.rewrite_phrase(draft, span, replacement, ctx)
                if replacement is not None
                else self.rewrite_sentence(draft, span, ctx)
            )
            found = True
            yield self.finding(draft, span, evidence=(hit.phrase,), rewrite=rewrite)
        # A phrase found but quoted or negated ("you said 'calm down'") is not the agent's
        # tone either, though the words are there for the model to read.
        if found or self.params.impolite_threshold >= 1.0 or self.hits(draft, "phrases"):
            return
        polite = draft.politeness
        if polite is not None and 1.0 - polite >= self.params.impolite_threshold:
            yield self.finding(
                draft,
                (0, len(draft.text)),
                evidence=(f"politeness model: {polite:.2f} polite",),
                message=self.params.impolite_message,
                severity=Severity.INFO,
            )
