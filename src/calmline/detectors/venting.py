"""Venting: frustration that is not aimed at anyone (principle A6: it is not personal).

"Ugh, I'm so fed up", "this is driving me mad", "for crying out loud", "what a shambles",
"this damn app crashed again". The customer is angry at what happened, not at the agent, and
knowing that helps the agent keep some distance.

Two kinds of cue count:

* the playbook's venting ``phrases``, unless they are negated ("this isn't a joke"), quoted,
  part of an insult ("this company is a joke" is contempt, reported by the insult detector)
  or said of a person ("I never said you were useless"; the insult detector's targets);
* swearing that is not aimed at anyone ("this f*cking router", "what the hell"), read from the
  profanity detector's signals. Swearing aimed at the agent or inside an insult is not
  venting, nor is a slur, and a swear word before praise ("damn good job") is not
  frustration.

Cues close together in one sentence make one signal, scored as the noisy-OR of their
weights.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.detector import Detector, Scan
from calmline.core.settings import DetectorSettings
from calmline.core.text import TextView
from calmline.core.types import Signal, Span
from calmline.detectors._cues import SpanSet
from calmline.detectors.insult import INSULT, PROFANITY, TargetReading


class VentingParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: weight of a cue that comes from mild swearing not aimed at anyone
    mild_swearing_weight: float = Field(default=0.6, ge=0.0, le=1.0)
    #: weight of a cue that comes from strong swearing not aimed at anyone
    strong_swearing_weight: float = Field(default=0.75, ge=0.0, le=1.0)
    #: how many words apart two cues in one sentence may be and still make one signal
    join_within: int = Field(default=6, ge=0, le=50)
    #: words that turn a swear word before them into praise ("bloody brilliant")
    praise_words: list[str] = Field(default_factory=list, max_length=200)
    #: words that, up to three words before a phrase, make it about someone else's feelings
    #: ("I understand how frustrating this is")
    empathy_leads: list[str] = Field(default_factory=list, max_length=200)


class VentingDetector(Detector):
    """Frustration at the situation rather than at the agent: sighs, "fed up", idle swearing.

    Reads its ``phrases`` lexicon and the profanity signals found before it (it runs after
    the profanity and insult detectors). Each sentence with venting cues gives one signal.
    """

    name = "venting"
    order: ClassVar[int] = 30
    signal_types = ("venting",)
    lexicon_names = ("phrases",)
    Params: ClassVar[type[BaseModel] | None] = VentingParams

    def __init__(self, settings: DetectorSettings, key: str | None = None) -> None:
        super().__init__(settings, key)
        self.praise = frozenset(word.lower() for word in self.params.praise_words)
        self.empathy_leads = frozenset(word.lower() for word in self.params.empathy_leads)

    def wants(self, scan: Scan) -> bool:
        return (
            bool(self.patterns)
            or scan.hits.any_of(self.key, ("phrases",))
            or (bool(scan.signals) and any(s.type == "profanity" for s in scan.signals))
        )

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        cues = self._phrase_cues(scan) + self._swearing_cues(scan)
        if cues:
            for group in self._groups(view, cues):
                signal = self._group_signal(view, group)
                if signal is not None:
                    yield signal
        yield from self.pattern_signals(scan, "venting", self.settings.explanation or "venting")

    def _phrase_cues(self, scan: Scan) -> list[_Cue]:
        view = scan.view
        phrases = self.hits(scan, "phrases")
        if not phrases:
            return []
        insults = SpanSet(s.span for s in scan.found("insult"))
        # Said of a person ("I never said you were useless"), a phrase is not venting.
        people = TargetReading.read(scan, set(), INSULT)
        cues: list[_Cue] = []
        for hit in phrases:
            span = view.span_of(hit.first, hit.last)
            if view.quoted(span) or view.negated(hit.first, window=3) or insults.overlaps(span):
                continue
            if self._empathy_before(view, hit.first):
                continue  # "I can see how this is frustrating": someone else's feelings
            if (
                people.target_before(hit.first) is not None
                or people.target_after(hit.last) is not None
            ):
                continue
            cues.append(_Cue(span, hit.first, hit.last, hit.weight, view.slice(span), False))
        return cues

    def _swearing_cues(self, scan: Scan) -> list[_Cue]:
        view = scan.view
        params: VentingParams = self.params
        swearing = [s for s in scan.found("profanity") if not s.detail.get("aimed")]
        if not swearing:
            return []
        insults = SpanSet(s.span for s in scan.found("insult"))
        slurs = SpanSet(view.span_of(h.first, h.last) for h in scan.hits.get(PROFANITY, "slurs"))
        cues: list[_Cue] = []
        for sig in swearing:
            if insults.overlaps(sig.span):
                continue
            if slurs.overlaps(sig.span):
                continue  # a slur, even reported ("he called me a ..."), is not frustration
            tokens = view.tokens_in(sig.span)
            if not tokens or self._praise_follows(view, tokens.stop):
                continue
            strong = sig.detail.get("severity") == "strong"
            weight = params.strong_swearing_weight if strong else params.mild_swearing_weight
            cues.append(_Cue(sig.span, tokens.start, tokens.stop - 1, weight, sig.text, True))
        return cues

    def _groups(self, view: TextView, cues: list[_Cue]) -> Iterator[list[_Cue]]:
        """Cues close together in one sentence ("ugh, what a bloody mess") make one group."""
        params: VentingParams = self.params
        cues.sort(key=lambda c: (c.first, -c.last))
        # Sentence of each cue by bisection: a long message may have thousands of sentences.
        sentence_starts = [s for s, _ in view.sentences()]
        group: list[_Cue] = []
        sentence = -1
        for cue in cues:
            if group and cue.last <= group[-1].last:
                group[-1] = group[-1].absorbing(cue)  # "fed up" inside "so fed up"
                continue
            here = bisect_right(sentence_starts, cue.span[0])
            if group and here == sentence and cue.first - group[-1].last <= params.join_within:
                group.append(cue)
                continue
            if group:
                yield group
            group, sentence = [cue], here
        if group:
            yield group

    def _group_signal(self, view: TextView, group: list[_Cue]) -> Signal | None:
        keep = 1.0
        for cue in group:
            keep *= 1.0 - cue.weight
        score = 1.0 - keep
        if score < self.threshold:
            return None
        span = (group[0].span[0], max(c.span[1] for c in group))
        words = list(dict.fromkeys(c.text for c in group))
        quoted = ", ".join(f"'{w}'" for w in words)
        verb = "reads" if len(words) == 1 else "read"
        return self.signal(
            "venting",
            span,
            score,
            f"{quoted} {verb} as frustration at the situation, not at you",
            view,
            evidence=words,
            detail={"swearing": any(c.swearing for c in group)},
        )

    def _empathy_before(self, view: TextView, first: int) -> bool:
        lead = self.empathy_leads
        return bool(lead) and any(view.norms[k] in lead for k in range(max(0, first - 3), first))

    def _praise_follows(self, view: TextView, nxt: int) -> bool:
        return bool(self.praise) and nxt < len(view.norms) and view.norms[nxt] in self.praise


@dataclass(frozen=True, slots=True)
class _Cue:
    span: Span
    first: int
    last: int
    weight: float
    text: str
    swearing: bool

    def absorbing(self, inner: _Cue) -> _Cue:
        """This cue, counted once, remembering swearing inside it ("what a bloody mess")."""
        if inner.swearing and not self.swearing:
            return replace(self, swearing=True)
        return self
