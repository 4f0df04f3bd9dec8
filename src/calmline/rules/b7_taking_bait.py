"""B7: answering the customer's insult or threat instead of letting it pass."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.matcher import Hit
from calmline.core.rule import Draft, ReplyContext, ReplyRule
from calmline.core.text import normalise_phrase
from calmline.core.types import Finding, MessageAnalysis, Rewrite, Signal, Span

#: What counts as bait: name-calling and threats that are not about anyone's safety.
BAIT_SIGNALS = frozenset({"insult", "threat.legal", "threat.public", "threat.churn"})
#: When the customer also shouts or swears at the agent, the boundary protocol applies and
#: asking them to stop is the right answer.
PROTOCOL_SIGNALS = frozenset({"shouting", "profanity"})

_WORD_RE = re.compile(r"[A-Za-z0-9]+")
# A conjunction left dangling at either end once a phrase is cut out of a sentence.
_LEADING_JOIN = re.compile(r"^(?:and|but|so|because|or|though)\b[\s,]*", re.IGNORECASE)
_TRAILING_JOIN = re.compile(r"[\s,;:]{0,4}\b(?:and|but|so|or)(?=[.!?]?$)", re.IGNORECASE)


class TakingBaitParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: words after a denial frame ("I'm not ...") searched for the insult
    frame_reach: int = Field(default=4, ge=1, le=8)
    #: a customer's insult word is echoed only if it has at least this many letters
    echo_min_letters: int = Field(default=4, ge=2, le=12)
    #: words of the customer's insult that are not the insult itself
    echo_ignore: list[str] = Field(default_factory=list)
    #: words that must be left of a sentence for it to be kept without the bait phrase
    min_rest_words: int = Field(default=4, ge=1, le=20)


class TakingBait(ReplyRule):
    """Answering the customer's name-calling or threat instead of letting it pass.

    When a customer calls the agent names or threatens to sue, post a review or leave, every
    answer to that feeds the fight: denying the insult ("I'm not an idiot"), daring them
    ("go ahead and sue", "feel free to leave a review") or telling them off ("there's no need
    to be rude"). The playbook lets insults and threats on their own pass without comment and
    steers back to the problem (principles B7 and C4). When the customer is also shouting or
    swearing at the agent, the boundary protocol applies instead, so asking them to stop is
    not flagged; daring them and denying the insult still are.

    Anti-pattern:
        Customer: You're all useless, I'm going to leave a one-star review.
        Agent: Go ahead and leave a review. We are not useless.

    Best practice:
        Customer: You're all useless, I'm going to leave a one-star review.
        Agent: I'm sorry the refund has taken so long. Let me focus on getting it sorted; I'm
        checking the payment now.
    """

    id = "B7"
    name = "taking-the-bait"
    lexicon_names = ("denial_frames", "insult_words", "rising_to_threat", "telling_off")
    uses_context = True
    Params: ClassVar[type[BaseModel] | None] = TakingBaitParams

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterator[Finding]:
        recent = ctx.answering()
        bait = [s for a in recent for s in a.signals if s.type in BAIT_SIGNALS]
        if not bait or not draft.view.norms:
            return
        hits = self.denials(draft, bait)
        hits += self.live_hits(draft, "rising_to_threat")
        if not any(s.type in PROTOCOL_SIGNALS for a in recent for s in _aimed(a)):
            hits += self.live_hits(draft, "telling_off")
        view = draft.view
        groups = _by_sentence(draft, hits)
        # Words of the draft outside every sentence that answers the bait.
        kept = view.text
        for s, e in sorted(groups, reverse=True):
            kept = kept[:s] + " " + kept[e:]
        rest_carries_on = len(_WORD_RE.findall(kept)) >= self.params.min_rest_words
        for n, (sentence, group) in enumerate(groups.items()):
            spans = _merged(view.span_of(h.first, h.last) for h in group)
            evidence = tuple(dict.fromkeys(h.phrase for h in group))
            rewrite = self.steer_back(draft, sentence, spans, ctx, drop=rest_carries_on or n > 0)
            yield self.finding(draft, spans[0], evidence=evidence, rewrite=rewrite)

    def denials(self, draft: Draft, bait: Sequence[Signal]) -> list[Hit]:
        """Denial frames ("I'm not", "we are not", "calling me") followed by an insult word.

        The insult word is one of the rule's ``insult_words`` or a word the customer used in
        the insult itself. Returns hits spanning the frame up to the insult word.
        """
        params: TakingBaitParams = self.params
        view = draft.view
        frames = self.live_hits(draft, "denial_frames")
        if not frames:
            return []
        insult_at = {h.first: h for h in self.hits(draft, "insult_words")}
        echoed = _insult_words(bait, params)
        out: list[Hit] = []
        for frame in frames:
            reach = min(len(view.norms), frame.last + 1 + params.frame_reach)
            for i in range(frame.last + 1, reach):
                if view.clause_break_before(i):
                    break
                word = insult_at.get(i)
                if word is not None:
                    out.append(Hit(frame.entry, frame.first, word.last))
                    break
                if view.norms[i] in echoed:
                    out.append(Hit(frame.entry, frame.first, i))
                    break
        return out

    def steer_back(
        self, draft: Draft, sentence: Span, spans: Sequence[Span], ctx: ReplyContext, *, drop: bool
    ) -> Rewrite | None:
        """The sentence without the bait when the rest of it stands on its own ("I'm not
        stupid, and the refund was sent" -> "The refund was sent"); else no sentence at all when
        ``drop`` (the rest of the draft carries on with the issue); else a line that steers
        back to the issue."""
        params: TakingBaitParams = self.params
        view = draft.view
        if len(spans) == 1 and own_clause(draft, spans[0], sentence):
            cut = self.rewrite_phrase(draft, spans[0], "", ctx)
            rest = _tidy(cut.text)
            if len(_WORD_RE.findall(rest)) >= params.min_rest_words:
                return Rewrite(cut.span, rest)
        instead = self.rewrite_sentence(draft, spans[0], ctx)
        if drop:
            end = sentence[1]
            while end < len(view.text) and view.text[end] in " \t":
                end += 1
            # Should other rules' cuts leave nothing of the draft, the steer-back line stays.
            return Rewrite((sentence[0], end), "", fallback=instead.text if instead else None)
        return instead


def own_clause(draft: Draft, span: Span, sentence: Span) -> bool:
    """Whether a phrase is a clause of its own, so cutting it leaves a whole sentence."""
    view = draft.view
    tokens = view.tokens_in(span)
    if not tokens:
        return False
    first, last = tokens[0], tokens[-1]
    opens = view.starts[first] == sentence[0] or view.clause_break_before(first)
    nxt = last + 1
    closes = (
        nxt >= len(view.norms) or view.starts[nxt] >= sentence[1] or view.clause_break_before(nxt)
    )
    return opens and closes


def _aimed(analysis: MessageAnalysis) -> tuple[Signal, ...]:
    """Shouting, and swearing unless the detector says it was not aimed at the agent."""
    return tuple(
        s
        for s in analysis.signals
        if s.type == "shouting" or (s.type == "profanity" and s.detail.get("aimed", True))
    )


def _insult_words(bait: Sequence[Signal], params: TakingBaitParams) -> frozenset[str]:
    """The words of the customer's insults that are the insult itself ("clueless", "muppet")."""
    ignore = {w for phrase in params.echo_ignore for w in normalise_phrase(phrase)}
    words: set[str] = set()
    for sig in bait:
        if sig.type != "insult":
            continue
        for piece in (sig.text, *sig.evidence):
            words.update(normalise_phrase(piece))
    return frozenset(
        w for w in words if len(w) >= params.echo_min_letters and w.isalpha() and w not in ignore
    )


def _by_sentence(draft: Draft, hits: Sequence[Hit]) -> dict[Span, list[Hit]]:
    view = draft.view
    groups: dict[Span, list[Hit]] = {}
    for hit in sorted(hits, key=lambda h: (h.first, -h.last)):
        sentence = view.sentence_of(view.span_of(hit.first, hit.last))
        groups.setdefault(sentence, []).append(hit)
    return groups


def _merged(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans joined ("please don't call me names" over "don't call me names")."""
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _tidy(text: str) -> str:
    """A sentence with a phrase cut out, without a dangling "and"/"but" at either end."""
    text = _LEADING_JOIN.sub("", text).strip()
    text = _TRAILING_JOIN.sub("", text).strip()
    if not text:
        return ""
    if text[-1] not in ".!?":
        text += "."
    return text[0].upper() + text[1:]
