"""B2: arguing with the customer or disputing their account."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import ClassVar

from pydantic import BaseModel

from calmline.core.matcher import Hit
from calmline.core.rule import Draft, PhraseParams, ReplyContext, ReplyRule, clause_place
from calmline.core.types import Finding

# Openers that are only a rebuttal when they open a sentence ("Actually, ...", "No, ...").
_OPENING = frozenset({"openers", "interjections"})
# Phrases that are only a rebuttal as a clause of their own ("I'm right." but not "I'm right
# here"; "No, ..." but not "No problem").
_OWN_CLAUSE = frozenset({"own_clause", "interjections"})
_REPEATS = frozenset({"no", "nope", "nah"})


class Arguing(ReplyRule):
    """Arguing the point: "actually, ...", "No, ...", "I disagree", "but you said", "the fact is".

    Winning the argument loses the customer: a reply that sets out to prove them wrong turns a
    problem to solve into a contest to win, and the customer digs in (principle B2). State what
    happens next and leave out the rebuttal. "Actually" and "no" only count at the start of a
    sentence, so "I've actually sent it" and "no problem" are fine, and a "No" that answers
    the customer's question ("Will I be charged again?" "No, ...") is an answer, not a dispute.

    Anti-pattern:
        Actually, the fee is in the contract you signed.

    Best practice:
        The fee is in the contract, and I'm happy to go through it with you.
    """

    id = "B2"
    name = "arguing"
    #: phrases: a rebuttal wherever it is; own_clause: a rebuttal when it stands alone;
    #: openers: a rebuttal at the start of a sentence; interjections: a rebuttal at the start
    #: and standing alone ("No, ..."); follow_ups: words after "No," that make it an answer
    #: ("No, no charge at all"); exceptions: harmless phrases containing a flagged one
    lexicon_names = (
        "phrases",
        "own_clause",
        "openers",
        "interjections",
        "follow_ups",
        "exceptions",
    )
    Params: ClassVar[type[BaseModel] | None] = PhraseParams

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        found = self.phrase_hits(
            draft, "phrases", "own_clause", "openers", "interjections", unless="exceptions"
        )
        view = draft.view
        answer: Callable[[Hit], bool] | None = None
        for hit in found:
            lexicon = hit.entry.lexicon
            if lexicon != "phrases":
                place = clause_place(view, hit.first, hit.last)
                if lexicon in _OPENING and not place.opens:
                    continue
                if lexicon in _OWN_CLAUSE and not place.closes:
                    continue
                if lexicon == "interjections":
                    answer = answer or self.answers(draft, ctx)
                    if answer(hit):
                        continue
            span = view.span_of(hit.first, hit.last)
            yield self.finding(
                draft, span, evidence=(hit.phrase,), rewrite=self.rewrite_hit(draft, hit, ctx)
            )

    def answers(self, draft: Draft, ctx: ReplyContext) -> Callable[[Hit], bool]:
        """Whether a "No" answers a question rather than disputing a point: the customer just
        asked one, or reassuring words follow it ("No, no charge at all").

        Worked out once per draft, so that a draft of thousands of "No"s is read in linear
        time rather than each one looking along all the others.
        """
        if any("?" in analysis.text for analysis in ctx.recent_customer()):
            return lambda hit: True
        follow_ups = sorted(f.first for f in self.hits(draft, "follow_ups"))
        if not follow_ups:
            return lambda hit: False
        norms = draft.view.norms
        # The first token from each one on that is not another "no" ("No, no, you did ...").
        past_repeats = list(range(len(norms) + 1))
        for i in range(len(norms) - 1, -1, -1):
            if norms[i] in _REPEATS:
                past_repeats[i] = past_repeats[i + 1]

        def answered(hit: Hit) -> bool:
            k = bisect_right(follow_ups, hit.last)
            return k < len(follow_ups) and follow_ups[k] <= past_repeats[hit.last + 1]

        return answered
