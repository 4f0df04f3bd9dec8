"""B8: sounding rushed, or inviting doubt that the problem will be fixed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.rule import Draft, PhraseParams, ReplyContext, ReplyRule, clause_place
from calmline.core.types import Finding, Severity


class RushedDoubtParams(PhraseParams):
    # The two inherited fields are repeated so that their comments reach the docs.
    #: phrase -> words that can stand in its place anywhere ("" removes the phrase)
    replacements: dict[str, str] = Field(default_factory=dict)
    #: phrase -> words to open the sentence with when the phrase is a clause of its own
    #: ("" removes the clause, and so does any other place in the sentence)
    lead_ins: dict[str, str] = Field(default_factory=dict)
    #: the message for rushing the customer (the rule's ``message`` is for doubt)
    rushing_message: str = Field(default="", max_length=300)
    #: how strongly a hedge ("hopefully", "I guess", "I'm not sure why") is flagged
    hedging_severity: Severity = Severity.INFO


class RushedDoubt(ReplyRule):
    """Sounding rushed ("I have other customers") or unsure of the fix ("I'll try", "no promises").

    A customer who feels hurried, or who hears that the agent may not manage it, starts pushing
    harder: for a manager, a promise, a guarantee (principle B8). Take the time the problem
    needs and speak with confidence about what will happen. Rushing and doubt are warnings;
    softer hedges ("hopefully", "I guess", "I'm not sure why") are flagged for information, and
    "I'll try" only counts on its own ("I'll try calling the depot" is an action).

    Anti-pattern:
        I'll try to get an engineer out this week, but no promises.

    Best practice:
        I'll do everything I can to get an engineer out this week, and I'll update you by 5pm.
    """

    id = "B8"
    name = "rushed-or-doubtful"
    #: rushing: hurrying the customer; doubt: doubting the fix wherever it is; doubt_alone:
    #: doubt when it is a clause of its own ("I'll try."); hedging: softer hedges, flagged
    #: with ``hedging_severity``; exceptions: harmless phrases containing a flagged one
    lexicon_names = ("rushing", "doubt", "doubt_alone", "hedging", "exceptions")
    Params: ClassVar[type[BaseModel] | None] = RushedDoubtParams

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        found = self.phrase_hits(
            draft,
            "rushing",
            "doubt",
            "doubt_alone",
            "hedging",
            unless="exceptions",
            skip_conditional=True,
        )
        view = draft.view
        params: RushedDoubtParams = self.params
        for hit in found:
            lexicon = hit.entry.lexicon
            if lexicon == "doubt_alone":
                place = clause_place(view, hit.first, hit.last)
                if not (place.opens and place.closes):
                    continue
            span = view.span_of(hit.first, hit.last)
            yield self.finding(
                draft,
                span,
                evidence=(hit.phrase,),
                message=(params.rushing_message or None) if lexicon == "rushing" else None,
                severity=params.hedging_severity if lexicon == "hedging" else None,
                rewrite=self.rewrite_hit(draft, hit, ctx),
            )
