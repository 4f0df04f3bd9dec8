"""C2: no ownership of a problem the customer reported, or passing the customer on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.matcher import Hit, PhraseMatcher
from calmline.core.rule import Draft, ReplyContext, ReplyRule, name_slots, render
from calmline.core.settings import RuleSettings
from calmline.core.types import Finding, Rewrite, Span

# Lexicons read in the customer's message, not in the draft.
_CUSTOMER_LEXICONS = ("problem", "resolved")
# "I'll contact the courier" is ownership; "contact the courier" alone hands the job back.
_AGENT_DOES_IT = frozenset({"i", "we", "me", "us", "let", "myself", "ourselves"})
# "You can also contact the courier" offers a choice; it does not hand the problem back.
_OPTION = frozenset({"can", "could", "may", "might", "welcome", "prefer", "rather"})
#: customer messages whose reading is kept for the next draft
_MESSAGES_KEPT = 256


class NoOwnershipParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: the message when the draft sends the customer somewhere else
    passing_the_buck_message: str = Field(min_length=1, max_length=300)


class NoOwnership(ReplyRule):
    """A reply to a reported problem that does not take ownership of it, or that sends the
    customer somewhere else.

    A customer with a problem wants to know that one person has it in hand. Saying that you
    will personally look into it and come back to them turns "who do I chase now?" into
    trust; "you'll need to contact the courier" or "that's another department" tells them the
    problem is still theirs (principle C2). With the conversation, the rule fires when the
    customer's latest message reports a problem (not arrived, charged twice, not working ...)
    and the reply shows no ownership; passing the customer on is flagged with or without it.

    Anti-pattern:
        Customer: My router has stopped working again and I work from home.
        Agent: You'll need to contact the engineers' team about that.

    Best practice:
        Customer: My router has stopped working again and I work from home.
        Agent: I'm sorry it's dropped out again. I'll book the engineer myself and keep you
        updated today.
    """

    id = "C2"
    name = "no-ownership"
    lexicon_names = (
        "problem",
        "resolved",
        "passing_the_buck",
        "handoff_targets",
        "ending_conversation",
        "sign_offs",
    )
    Params: ClassVar[type[BaseModel] | None] = NoOwnershipParams

    def __init__(self, settings: RuleSettings) -> None:
        super().__init__(settings)
        owner = f"rule:{self.id}"
        self.customer_matcher = PhraseMatcher(
            (owner, name, settings.lexicons.get(name, {})) for name in _CUSTOMER_LEXICONS
        )
        # The customer's messages come back with every draft of a conversation.
        self._read = lru_cache(maxsize=_MESSAGES_KEPT)(self._read_message)

    def lexicons(self) -> Iterator[tuple[str, str, Mapping[str, float]]]:
        """Only the draft-side lexicons go to the reply matcher."""
        for owner, name, phrases in super().lexicons():
            if name not in _CUSTOMER_LEXICONS:
                yield owner, name, phrases

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        view = draft.view
        if not view.norms:
            return
        params: NoOwnershipParams = self.params
        handoffs = self.handoffs(draft)
        for span, phrases in handoffs:
            yield self.finding(
                draft,
                span,
                evidence=phrases,
                message=params.passing_the_buck_message,
                rewrite=self.rewrite_sentence(draft, span, ctx),
            )
        if handoffs or ctx.empty or self.owns_it(draft):
            return
        problems = self.reported_problems(ctx)
        if not problems:
            return
        # Ending the conversation under the boundary protocol is no place to promise a fix.
        if self.live_hits(draft, "ending_conversation", allow_negated=True):
            return
        text = view.text
        span = (len(text) - len(text.lstrip()), len(text.rstrip()))
        yield self.finding(draft, span, evidence=problems, rewrite=self.promise(draft, ctx))

    def owns_it(self, draft: Draft) -> bool:
        """Whether the draft takes the problem on: the ownership credit (the playbook's
        ``credits.ownership`` phrases: "I'll look into it", "I've chased the courier") or a
        handoff the agent makes themselves ("I'll contact the airline")."""
        if draft.has_credit("ownership"):
            return True
        view = draft.view
        return any(
            _AGENT_DOES_IT.intersection(view.norms[max(0, h.first - 3) : h.first])
            for h in self.live_hits(draft, "handoff_targets")
        )

    def handoffs(self, draft: Draft) -> list[tuple[Span, tuple[str, ...]]]:
        """Sentences that pass the customer on, with the phrases that do it."""
        view = draft.view
        found: list[Hit] = list(self.live_hits(draft, "passing_the_buck"))
        for hit in self.live_hits(draft, "handoff_targets"):
            before = view.norms[max(0, hit.first - 3) : hit.first]
            if not (_AGENT_DOES_IT | _OPTION).intersection(before):
                found.append(hit)
        by_sentence: dict[Span, tuple[Span, list[str]]] = {}
        for hit in sorted(found, key=lambda h: (h.first, -h.last)):
            span = view.span_of(hit.first, hit.last)
            sentence = view.sentence_of(span)
            if sentence in by_sentence:
                by_sentence[sentence][1].append(hit.phrase)
            else:
                by_sentence[sentence] = (span, [hit.phrase])
        return [(span, tuple(dict.fromkeys(p))) for span, p in by_sentence.values()]

    def reported_problems(self, ctx: ReplyContext) -> tuple[str, ...]:
        """Problem phrases in the customer's latest messages, leaving out any reported before
        they said it was sorted ("the missing parcel turned up" -> none; "it turned up, but
        it's damaged" -> damaged)."""
        recent = ctx.answering()
        found: list[str] = []
        for analysis in recent:
            problems, resolved_at = self._read(analysis.text)
            if resolved_at >= 0:
                found = []
            found.extend(phrase for at, phrase in problems if at > resolved_at)
        return tuple(dict.fromkeys(found))

    def _read_message(self, text: str) -> tuple[tuple[tuple[int, str], ...], int]:
        """(token index, phrase) of each problem in a customer's message, and the last token of
        the last "sorted" phrase (-1 when there is none)."""
        view = self.customer_matcher.read(text)
        hits = self.customer_matcher.scan(view)
        owner = f"rule:{self.id}"

        def live(lexicon: str) -> list[Hit]:
            return [
                h
                for h in hits.get(owner, lexicon)
                if not view.negated(h.first) and not view.quoted(view.span_of(h.first, h.last))
            ]

        problems = live("problem")
        # "stopped working again" is a problem, whatever "working again" says on its own.
        resolved = [
            r
            for r in live("resolved")
            if not any(p.first <= r.last and r.first <= p.last for p in problems)
        ]
        resolved_at = max((h.last for h in resolved), default=-1)
        return tuple((h.first, h.phrase) for h in problems), resolved_at

    def promise(self, draft: Draft, ctx: ReplyContext) -> Rewrite | None:
        """An ownership sentence at the end of the draft, before any sign-off."""
        options = self.settings.rewrites
        if not options:
            return None
        view = draft.view
        sentences = view.sentences()
        at = len(view.text.rstrip())
        starts = [s for s, _ in sentences]
        for hit in self.hits(draft, "sign_offs"):
            start = view.starts[hit.first]
            if start in starts[-2:] and starts.index(start) > 0:
                # Between sentences, after the one before the sign-off.
                at = min(at, sentences[starts.index(start) - 1][1])
        slots = ctx.slots()
        if draft.has_credit("name"):
            slots.update(name_slots(None))  # the draft already says their name
        return Rewrite((at, at), render(self.choose(options, view.text), slots))
