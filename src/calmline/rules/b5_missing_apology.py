"""B5: no apology in a reply to a customer who is upset."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel

from calmline.core.rule import Draft, ReplyContext, ReplyRule, name_slots, render
from calmline.core.types import AbuseLevel, Finding, Rewrite
from calmline.rules.c3_bad_news import bad_news_hits


class MissingApologyParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: stay silent after a threat to someone's safety (that calls for the safety procedure,
    #: not a "sorry for the trouble")
    skip_on_safety: bool = True


class MissingApology(ReplyRule):
    """No apology in a reply to a customer who is upset.

    An apology says "I regret how this went for you"; it is not an admission that the company
    was at fault, so there is no reason to hold it back. Leaving it out when someone is angry
    or distressed reads as indifference, and they keep pushing until they hear it
    (principle B5). The rule reads the conversation: it stays quiet when the customer is calm,
    when the reply is a step of the boundary protocol (pointing out the shouting, asking them
    to stop, warning, inviting them back), and when the reply gives bad news (rule C3 then adds
    the apology).

    Anti-pattern:
        Customer: This is the third time I've chased my refund and I'm fed up.
        Agent: Your refund was processed on Monday and should reach you within five days.

    Best practice:
        Customer: This is the third time I've chased my refund and I'm fed up.
        Agent: I'm sorry you've had to chase this. Your refund was processed on Monday and
        should reach you within five days.
    """

    id = "B5"
    name = "missing-apology"
    lexicon_names = ("protocol_language", "greetings")
    uses_context = True
    Params: ClassVar[type[BaseModel] | None] = MissingApologyParams

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        view = draft.view
        if ctx.empty or not ctx.upset or not view.norms or draft.has_credit("apology"):
            return
        params: MissingApologyParams = self.params
        if params.skip_on_safety:
            recent = ctx.answering()
            if any(a.abuse is AbuseLevel.SAFETY for a in recent):
                return
        # A protocol step is firm on purpose; an apology there would blur the boundary.
        if self.live_hits(draft, "protocol_language", allow_negated=True):
            return
        if bad_news_hits(draft):
            return
        text = view.text
        span = (len(text) - len(text.lstrip()), len(text.rstrip()))
        yield self.finding(draft, span, rewrite=self.apology(draft, ctx))

    def apology(self, draft: Draft, ctx: ReplyContext) -> Rewrite | None:
        """A short apology at the start, or after an opening greeting ("Hi Sam, ...")."""
        options = self.settings.rewrites
        if not options:
            return None
        view = draft.view
        sentences = view.sentences()
        slots = ctx.slots()
        if draft.has_credit("name"):
            slots.update(name_slots(None))  # the draft already says their name
        at = sentences[0][0] if sentences else 0
        opening = sentences[0][0] if sentences else -1
        if any(view.starts[h.first] == opening for h in self.hits(draft, "greetings")):
            # After the greeting's sentence, never inside a sentence, so that no other rule's
            # rewrite of that sentence is cut in two; the greeting already has the name.
            at = sentences[0][1]
            slots = {**slots, **name_slots(None)}
        return Rewrite((at, at), render(self.choose(options, view.text), slots))
