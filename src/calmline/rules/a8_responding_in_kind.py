"""A8: a reply that swears, insults, shouts or sneers, i.e. one that could not be published."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.rule import Draft, ReplyContext, ReplyRule
from calmline.core.types import Finding, Rewrite, Severity, Signal, Span
from calmline.rules.b7_taking_bait import own_clause

_WORD_RE = re.compile(r"[A-Za-z0-9]+")
_CAPS_WORD_RE = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_SENTENCE_START_RE = re.compile(r"(^|[.!?]\s{1,4})([a-z])")
_TRAILING_CONTEMPT = ".!?…\n"


class RespondingInKindParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: severity of a draft written in capitals (swearing and insults use the rule's severity)
    shouting_severity: Severity = Severity.WARN
    #: severity of a contemptuous remark about the customer
    contempt_severity: Severity = Severity.WARN
    #: words that must be left of a sentence for it to be kept without the offending word
    min_rest_words: int = Field(default=3, ge=1, le=20)
    #: the messages for each kind of problem
    swearing_message: str = Field(min_length=1, max_length=300)
    insult_message: str = Field(min_length=1, max_length=300)
    shouting_message: str = Field(min_length=1, max_length=300)
    contempt_message: str = Field(min_length=1, max_length=300)


class RespondingInKind(ReplyRule):
    """A reply that swears, insults, shouts or sneers: one that would embarrass the company if
    it were published.

    Any reply can end up screenshotted and shared. Answering rudeness with rudeness hands the
    customer the story, and a remark about a "crazy customer" that was meant for a colleague
    reads the same way when it is sent by mistake (principle A8). Swearing and insults block
    the draft (the pre-send hook exits with an error); a draft in capitals and contemptuous
    remarks are warnings. The draft is read with the customer-message detectors, so disguised
    swear words (f*ck, sh!t) are caught the same way.

    Anti-pattern:
        What the hell do you want me to do about it? This customer is crazy.

    Best practice:
        I want to get this put right for you. Let me look at what happened with the order.
    """

    id = "A8"
    name = "responding-in-kind"
    lexicon_names = (
        "contempt",
        "contempt_if_alone",
        "intensifiers",
        "keep_capitals",
        "proper_nouns",
    )
    Params: ClassVar[type[BaseModel] | None] = RespondingInKindParams

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        view = draft.view
        if not view.norms:
            return
        params: RespondingInKindParams = self.params
        analysis = draft.as_message
        insults = [s for s in analysis.signals if s.type == "insult" and self._live(draft, s)]
        swears = [s for s in analysis.signals if s.type == "profanity" and self._live(draft, s)]
        insult_sentences = {view.sentence_of(s.span) for s in insults}
        for sig in insults:
            yield self.finding(
                draft,
                sig.span,
                evidence=sig.evidence or (sig.text,),
                message=params.insult_message,
                rewrite=self.rewrite_sentence(draft, sig.span, ctx),
            )
        per_sentence: dict[Span, list[Signal]] = {}
        for sig in swears:
            sentence = view.sentence_of(sig.span)
            if sentence not in insult_sentences:  # that sentence is rewritten as a whole
                per_sentence.setdefault(sentence, []).append(sig)
        for group in per_sentence.values():
            for n, sig in enumerate(group):
                yield self.finding(
                    draft,
                    sig.span,
                    evidence=sig.evidence or (sig.text,),
                    message=params.swearing_message,
                    rewrite=self.clean(draft, group, ctx) if n == 0 else None,
                )
        for sig in analysis.signals:
            if sig.type != "shouting":
                continue
            # One finding per sentence, so that each sentence's fix stands on its own.
            for s, e in view.sentences():
                part = (max(s, sig.span[0]), min(e, sig.span[1]))
                words = _CAPS_WORD_RE.findall(view.slice(part)) if part[0] < part[1] else []
                if not any(len(w) > 1 and w.isupper() for w in words):
                    continue
                yield self.finding(
                    draft,
                    part,
                    evidence=sig.evidence,
                    message=params.shouting_message,
                    severity=params.shouting_severity,
                    rewrite=self.lower(draft, part),
                )
        yield from self.contempt(draft, ctx)

    def _live(self, draft: Draft, sig: Signal) -> bool:
        """Not inside quotes (the agent quoting what the customer wrote)."""
        return not draft.view.quoted(sig.span)

    def clean(self, draft: Draft, group: list[Signal], ctx: ReplyContext) -> Rewrite | None:
        """The sentence without its swear word when that leaves a whole sentence: an
        intensifier ("the f*cking order") or an exclamation of its own ("Shit, I sent ...").
        Otherwise one of the rule's replacement sentences."""
        view = draft.view
        if len(group) == 1:
            span = group[0].span
            tokens = view.tokens_in(span)
            sentence = view.sentence_of(span)
            if tokens and (
                self._intensifier(draft, tokens[0], tokens[-1]) or own_clause(draft, span, sentence)
            ):
                cut = self.rewrite_phrase(draft, span, "", ctx)
                if len(_WORD_RE.findall(cut.text)) >= self.params.min_rest_words:
                    return cut
        return self.rewrite_sentence(draft, group[0].span, ctx)

    def _intensifier(self, draft: Draft, first: int, last: int) -> bool:
        """A swear word used to intensify the next word of its clause ("bloody useless")."""
        view = draft.view
        nxt = last + 1
        if nxt >= len(view.norms) or view.clause_break_before(nxt):
            return False
        return any(h.first <= first and last <= h.last for h in self.hits(draft, "intensifiers"))

    def lower(self, draft: Draft, span: Span) -> Rewrite:
        """The capitalised stretch in sentence case, keeping acronyms (PIN, UPS), "I" and the
        capital of days and months."""
        view = draft.view
        keep = {
            view.text[view.starts[i] : view.ends[i]]
            for h in self.hits(draft, "keep_capitals")
            for i in range(h.first, h.last + 1)
        }
        names = {
            view.norms[i]
            for h in self.hits(draft, "proper_nouns")
            for i in range(h.first, h.last + 1)
        }
        text = view.slice(span)

        def fix(m: re.Match[str]) -> str:
            word = m.group()
            if not word.isupper() or word in keep:
                return word
            if word.lower() in names:
                return word.capitalize()
            if word == "I" or word.startswith(("I'", "I’")):
                return word[:2] + word[2:].lower()
            return word.lower()

        text = _CAPS_WORD_RE.sub(fix, text)
        at_start = span[0] == view.sentence_of(span)[0]
        text = _SENTENCE_START_RE.sub(
            lambda m: m.group(1) + m.group(2).upper() if (m.group(1) or at_start) else m.group(),
            text,
        )
        return Rewrite(span, text)

    def contempt(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        """Remarks about the customer that nobody would want to see published."""
        params: RespondingInKindParams = self.params
        view = draft.view
        hits = list(self.live_hits(draft, "contempt", allow_negated=True))
        for hit in self.live_hits(draft, "contempt_if_alone", allow_negated=True):
            after = view.text[view.ends[hit.last] :].lstrip(" ,")
            if not after or after[0] in _TRAILING_CONTEMPT:
                hits.append(hit)
        done: set[Span] = set()
        for hit in sorted(hits, key=lambda h: (h.first, -h.last)):
            span = view.span_of(hit.first, hit.last)
            sentence = view.sentence_of(span)
            if sentence in done:
                continue
            done.add(sentence)
            yield self.finding(
                draft,
                span,
                evidence=(hit.phrase,),
                message=params.contempt_message,
                severity=params.contempt_severity,
                rewrite=self.drop(draft, span, sentence, ctx),
            )

    def drop(self, draft: Draft, span: Span, sentence: Span, ctx: ReplyContext) -> Rewrite | None:
        """Cut the remark when it is a clause of its own; otherwise the sentence goes, or is
        replaced when it is all the draft says."""
        view = draft.view
        if own_clause(draft, span, sentence):
            cut = self.rewrite_phrase(draft, span, "", ctx)
            if len(_WORD_RE.findall(cut.text)) >= self.params.min_rest_words:
                return cut
        text = view.text
        instead = self.rewrite_sentence(draft, span, ctx)
        others = text[: sentence[0]] + " " + text[sentence[1] :]
        if not _WORD_RE.search(others):
            return instead
        end = sentence[1]
        while end < len(text) and text[end] in " \t":
            end += 1
        # Should other rules' cuts leave nothing of the draft, a template stands in.
        return Rewrite((sentence[0], end), "", fallback=instead.text if instead else None)
