"""B4: absolute refusals ("we will never", "there's nothing I can do")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel

from calmline.core.rule import Draft, PhraseParams, ReplyContext, ReplyRule, clause_place
from calmline.core.types import Finding


class AbsoluteRefusal(ReplyRule):
    """An absolute refusal: "we will never", "there's nothing I can do", "that's impossible".

    A flat, final no shuts the door: the customer has nowhere to go but further up, louder
    (principle B4). Even when the answer stays no, invite the customer to say more ("tell me
    about it") and say what can be done. Reassurances that only look like refusals ("we will
    never ask for your password", "it must have been impossible to get through") and
    conditions ("if that's not possible, ...") are left alone.

    Anti-pattern:
        There's nothing I can do about the late fee.

    Best practice:
        Let me see what I can do about the late fee. Could you tell me what happened?
    """

    id = "B4"
    name = "absolute-refusal"
    #: phrases: absolute refusals; own_clause: refusals only as a clause of their own
    #: ("Absolutely not."); exceptions: reassurances and sympathy that contain one
    lexicon_names = ("phrases", "own_clause", "exceptions")
    Params: ClassVar[type[BaseModel] | None] = PhraseParams

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        view = draft.view
        found = self.phrase_hits(
            draft, "phrases", "own_clause", unless="exceptions", skip_conditional=True
        )
        for hit in found:
            if hit.entry.lexicon == "own_clause":
                place = clause_place(view, hit.first, hit.last)
                if not (place.opens and place.closes):
                    continue
            span = view.span_of(hit.first, hit.last)
            yield self.finding(
                draft, span, evidence=(hit.phrase,), rewrite=self.rewrite_hit(draft, hit, ctx)
            )
