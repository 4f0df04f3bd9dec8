"""B1: telling the customer they are wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel

from calmline.core.rule import Draft, PhraseParams, ReplyContext, ReplyRule
from calmline.core.types import Finding


class TellingWrong(ReplyRule):
    """Telling the customer they are wrong: "you're wrong", "that's not true", "you misread it".

    Even when the records back the agent up, hearing that they are wrong puts the customer on
    the defensive and makes them want to fight the point (principle B1). Share what the records
    show and leave out the verdict on the customer. Flat contradictions such as "that's not
    correct" are left alone when the draft has just agreed with the customer ("you're right,
    that's not correct") or puts them as a condition ("let me know if that's not correct").

    Anti-pattern:
        You're wrong, the parcel was delivered on Monday.

    Best practice:
        From what I can see, the parcel was delivered on Monday.
    """

    id = "B1"
    name = "telling-customer-wrong"
    #: phrases: always a verdict on the customer; statements: a contradiction that may be
    #: agreement in disguise; agreeing: the agent siding with the customer; exceptions:
    #: harmless phrases that contain a flagged one ("your error message")
    lexicon_names = ("phrases", "statements", "agreeing", "exceptions")
    Params: ClassVar[type[BaseModel] | None] = PhraseParams

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        found = self.phrase_hits(
            draft, "phrases", "statements", unless="exceptions", skip_conditional=True
        )
        if not found:
            return
        agreeing = self.phrase_hits(draft, "agreeing")
        agreed_at = agreeing[0].first if agreeing else len(draft.view.norms)
        for hit in found:
            if hit.entry.lexicon == "statements" and agreed_at < hit.first:
                continue  # "You're right, that's not correct": the agent agrees
            span = draft.view.span_of(hit.first, hit.last)
            yield self.finding(
                draft, span, evidence=(hit.phrase,), rewrite=self.rewrite_hit(draft, hit, ctx)
            )
