"""B6: sarcasm and defensiveness."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel

from calmline.core.matcher import Hit
from calmline.core.rule import Draft, PhraseParams, ReplyContext, ReplyRule, clause_place
from calmline.core.types import Finding, Span

# Sarcastic only as a remark of their own ("Good luck with that." but not "Good luck with
# that interview"), and the praise words only then too.
_OWN_CLAUSE = frozenset({"own_clause", "praise"})


class SarcasmDefensive(ReplyRule):
    """Sarcasm ("good luck with that", "if you say so") and defensiveness ("it's not my fault").

    A sarcastic or defensive line tells the customer the agent is against them. In the
    insurance case behind the playbook, a sarcastic, defensive adjuster turned a small claim
    into a formal complaint and a larger payout (principle B6). "Sorry you feel that way" is
    flagged too: it apologises for the customer's feelings, not for what happened. Words of
    praise ("congratulations", "well done", "wow") only count when the customer is upset and
    they stand alone, with nothing sincere after them.

    Anti-pattern:
        It's not my fault the courier lost it. Good luck with that.

    Best practice:
        I'm sorry the courier lost your parcel. I've reported it and I'll send a replacement
        today.
    """

    id = "B6"
    name = "sarcasm-or-defensiveness"
    #: sarcasm: sarcastic wherever it is; own_clause: sarcastic as a remark of its own;
    #: praise: sarcastic as a remark of its own to an upset customer; sincere: words after a
    #: praise word that make it genuine; defensive: defending oneself instead of helping;
    #: exceptions: harmless phrases containing a flagged one
    lexicon_names = ("sarcasm", "own_clause", "praise", "sincere", "defensive", "exceptions")
    Params: ClassVar[type[BaseModel] | None] = PhraseParams

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        found = self.phrase_hits(
            draft,
            "sarcasm",
            "own_clause",
            "praise",
            "defensive",
            unless="exceptions",
            skip_conditional=True,
        )
        view = draft.view
        for hit in found:
            lexicon = hit.entry.lexicon
            if lexicon in _OWN_CLAUSE:
                place = clause_place(view, hit.first, hit.last)
                if not (place.opens and place.closes):
                    continue
                if lexicon == "praise" and (
                    not ctx.upset or self.sincere(draft, hit, place.sentence)
                ):
                    continue
            span = view.span_of(hit.first, hit.last)
            yield self.finding(
                draft, span, evidence=(hit.phrase,), rewrite=self.rewrite_hit(draft, hit, ctx)
            )

    def sincere(self, draft: Draft, hit: Hit, sentence: Span) -> bool:
        """Whether something sincere follows a praise word in its sentence ("Wow, I'm so
        sorry", "Well done, thank you for spotting it")."""
        view = draft.view
        return any(
            s.first > hit.last and view.starts[s.first] < sentence[1]
            for s in self.hits(draft, "sincere")
        )
