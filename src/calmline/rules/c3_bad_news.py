"""C3: bad news given without a reason, an apology, or both."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from pydantic import BaseModel, Field, field_validator

from calmline.core.matcher import Hit
from calmline.core.rule import Draft, ReplyContext, ReplyRule, name_slots, render
from calmline.core.settings import check_template
from calmline.core.text import TextView
from calmline.core.types import Finding, Rewrite, Span

_OWNER = "rule:C3"
# A refusal after one of these words is a condition ("if we can't fix it ..."), not news.
_CONDITIONAL = frozenset({"if", "unless", "whether"})
# What ends a greeting such as "Hi Sam," or "Hello Priya -".
_GREETING_END = ",-–—:!\n"


def bad_news_hits(draft: Draft) -> list[Hit]:
    """The bad-news phrases of a draft that C3 reads (empty when C3 is switched off).

    B5 uses this too: when C3 is going to add an apology to the bad news, B5 does not add
    a second one.
    """
    hits = draft.hits.get(_OWNER, "bad_news")
    if not hits:
        return []
    view = draft.view
    exceptions = draft.hits.get(_OWNER, "exceptions")
    out: list[Hit] = []
    for hit in hits:
        span = view.span_of(hit.first, hit.last)
        if view.quoted(span) or view.negated(hit.first):
            continue
        if _conditional(view, hit.first):
            continue
        if any(e.first <= hit.last and hit.first <= e.last for e in exceptions):
            continue
        out.append(hit)
    return out


def _conditional(view: TextView, first: int, reach: int = 4) -> bool:
    """Whether an "if"/"unless" opens the clause just before token ``first``."""
    for j in range(first - 1, max(-1, first - 1 - reach), -1):
        if view.norms[j] in _CONDITIONAL:
            return True
        if view.clause_break_before(j):
            return False
    return False


def greeting_end(view: TextView, greetings: Sequence[Hit], sentence: Span) -> int | None:
    """Offset just after a greeting that opens ``sentence`` ("Hi Sam,"), or None.

    The greeting runs from a greeting word at the very start of the sentence to the first
    comma, dash, colon, exclamation mark or line break within a few words of it.
    """
    for hit in greetings:
        if view.starts[hit.first] != sentence[0]:
            continue
        last = min(len(view.norms) - 1, hit.last + 3)
        for i in range(hit.last + 1, last + 2):
            gap_end = view.starts[i] if i < len(view.norms) else sentence[1]
            gap = view.text[view.ends[i - 1] : gap_end]
            cut = next((k for k, c in enumerate(gap) if c in _GREETING_END), None)
            if cut is not None:
                end = view.ends[i - 1] + cut + 1
                return end if end < sentence[1] else None
            if gap_end >= sentence[1]:
                return None
    return None


class BadNewsParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: sentences put in front of bad news that has no apology (several variants)
    apology_sentences: list[str] = Field(min_length=1)
    #: sentences put after bad news that gives no reason (several variants)
    reason_sentences: list[str] = Field(min_length=1)
    #: the message when only the reason is missing
    missing_reason_message: str = Field(min_length=1, max_length=300)
    #: the message when only the apology is missing
    missing_apology_message: str = Field(min_length=1, max_length=300)

    @field_validator("apology_sentences", "reason_sentences")
    @classmethod
    def _templates(cls, value: list[str]) -> list[str]:
        return [check_template(t) for t in value]


class BadNews(ReplyRule):
    """Bad news (a refusal, a decline, something not covered or out of stock) with no reason or
    no apology.

    A bare "no" sounds arbitrary and final. Saying what the rule is and why it exists, and
    saying sorry for the disappointment, is what lets a customer accept an answer they did not
    want; done at the first contact it settles cases that otherwise become formal complaints
    (principle C3). The apology expresses regret, not fault (B5).

    Anti-pattern:
        Unfortunately, your claim for the hotel costs has been declined.

    Best practice:
        I'm sorry to have to tell you this: your claim for the hotel costs has been declined,
        because the policy only covers accommodation when the home cannot be lived in.
    """

    id = "C3"
    name = "bad-news-without-reason"
    lexicon_names = ("bad_news", "exceptions", "greetings")
    Params: ClassVar[type[BaseModel] | None] = BadNewsParams

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        hits = bad_news_hits(draft)
        if not hits:
            return
        # The reasons and apologies are the playbook's credit phrases (credits.yaml).
        has_reason = draft.has_credit("explanation")
        has_apology = draft.has_credit("apology")
        if has_reason and has_apology:
            return
        params: BadNewsParams = self.params
        if has_apology:
            message = params.missing_reason_message
        elif has_reason:
            message = params.missing_apology_message
        else:
            message = self.settings.message or self.doc().summary
        view = draft.view
        first = view.span_of(hits[0].first, hits[0].last)
        sentence = view.sentence_of(first)
        # The finding covers the bad news of that sentence ("Unfortunately ... we cannot").
        last = max(
            h.last for h in hits if view.sentence_of(view.span_of(h.first, h.last)) == sentence
        )
        span = (first[0], view.ends[last])
        rewrite = self.reshape(draft, span, ctx, apology=not has_apology, reason=not has_reason)
        evidence = tuple(dict.fromkeys(h.phrase for h in hits))
        yield self.finding(draft, span, evidence=evidence, message=message, rewrite=rewrite)

    def reshape(
        self, draft: Draft, span: Span, ctx: ReplyContext, *, apology: bool, reason: bool
    ) -> Rewrite:
        """The bad-news sentence with an apology before it and/or a reason promised after it.

        The agent's own sentence is kept word for word; a greeting that opens it ("Hi Sam,")
        stays in front.
        """
        view = draft.view
        sentence = view.sentence_of(span)
        seed = view.slice(sentence)
        params: BadNewsParams = self.params
        greeting = greeting_end(view, self.hits(draft, "greetings"), sentence)
        apology_line = self.choose(params.apology_sentences, seed) if apology else None
        reason_line = self.choose(params.reason_sentences, seed + "!") if reason else None
        slots = ctx.slots()
        if draft.has_credit("name"):
            slots.update(name_slots(None))  # the draft already says their name
        text = self.compose(
            seed,
            apology_line,
            reason_line,
            slots,
            greeting_end=None if greeting is None else greeting - sentence[0],
        )
        return Rewrite(sentence, text)

    @staticmethod
    def compose(
        sentence: str,
        apology_line: str | None,
        reason_line: str | None,
        slots: dict[str, str],
        *,
        greeting_end: int | None = None,
    ) -> str:
        """Put an apology before and a reason after a sentence (templates are rendered here).

        The customer's name is used once at most: not after a greeting that already has it,
        and only in the first added line.
        """
        greeting, body = "", sentence.strip()
        if greeting_end is not None and apology_line is not None:
            greeting, body = sentence[:greeting_end].strip(), sentence[greeting_end:].strip()
            body = body[:1].upper() + body[1:]
        no_name = name_slots(None)
        parts: list[str] = []
        named = greeting_end is None  # a greeting has already said their name
        if greeting:
            parts.append(greeting)
        if apology_line is not None:
            parts.append(render(apology_line, {**slots, **no_name} if not named else slots))
            named = False
        if reason_line is not None and body[-1:] not in ".!?":
            body += "."
        parts.append(body)
        if reason_line is not None:
            parts.append(render(reason_line, slots if named else {**slots, **no_name}))
        return " ".join(p for p in parts if p)
