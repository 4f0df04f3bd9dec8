"""Forgiveness: the customer softens, apologises or says thank you.

"Sorry for shouting", "I know it's not your fault", "fair enough", "thanks for your help": the
moment to accept it and move on to the fix (C6). ``detail["kind"]`` is "apology", "thanks"
or "softening" (the lexicon the phrase came from).

Sarcasm is not forgiveness: a thank-you followed by "for nothing", "for wasting my time" or
"for ruining my day", or introduced by "oh great", is silent, as are "sorry, but ..." and
"you'll be sorry". A bare "thanks" signed under threats or insults is a sign-off rather than
a softening, so it scores below the threshold there; an apology never is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.detector import Detector, Scan
from calmline.core.matcher import Hit
from calmline.core.text import TextView
from calmline.core.types import Signal
from calmline.detectors._cues import (
    Found,
    Near,
    has_hits,
    is_question,
    keep_longest,
    negated_before,
    quoted,
    sentence_break,
    touches,
)

KINDS = ("apology", "thanks", "softening")
_SAID = {
    "apology": "apologises",
    "thanks": "thanks the agent",
    "softening": "softens",
}


class ForgivenessParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: tokens after a phrase in which a sarcasm marker cancels it ("thanks a lot for nothing")
    sarcasm_after: int = Field(default=4, ge=0, le=10)
    #: tokens before a phrase in which a sarcasm marker cancels it ("oh great, thanks")
    sarcasm_before: int = Field(default=2, ge=0, le=10)
    #: signals that make a thank-you in the same message a sign-off rather than a softening
    hostile_signals: list[str] = Field(default_factory=list)
    #: score factor for thanks in a message with a hostile signal
    hostile_factor: float = Field(default=0.6, ge=0.0, le=1.0)
    #: score factor for a phrase in a sentence that ends with a question mark ("sorry?")
    question_factor: float = Field(default=0.6, ge=0.0, le=1.0)


class ForgivenessDetector(Detector):
    """The customer apologises, thanks the agent or softens (detail: which)."""

    name = "forgiveness"
    signal_types = ("forgiveness",)
    lexicon_names = (*KINDS, "sarcasm", "ignore")
    Params: ClassVar[type[BaseModel] | None] = ForgivenessParams
    #: after the abuse and threat detectors, whose signals decide whether thanks is a sign-off
    order: ClassVar[int] = 80

    def wants(self, scan: Scan) -> bool:
        return has_hits(scan.hits, self.key, KINDS)

    def triggers(self) -> frozenset[str] | None:
        return frozenset({self.key})

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        params: ForgivenessParams = self.params
        sarcasm = Near(self.hits(scan, "sarcasm"))
        ignore = Near(self.hits(scan, "ignore"))
        hostile_types = set(params.hostile_signals)
        hostile = any(s.type in hostile_types for s in scan.signals)
        found: list[Found] = []
        for kind in KINDS:
            for hit in self.hits(scan, kind):
                if quoted(view, hit.first, hit.last) or touches(hit.first, hit.last, ignore):
                    continue
                if negated_before(view, hit.first) or self._sarcastic(view, hit, sarcasm):
                    continue
                score = hit.weight
                if kind == "thanks" and hostile:
                    score *= params.hostile_factor
                if is_question(view, hit.last):
                    score *= params.question_factor
                found.append(
                    Found(
                        hit.first,
                        hit.last,
                        score,
                        (hit.phrase,),
                        kind=kind,
                        trigger=view.slice(view.span_of(hit.first, hit.last)),
                        detail={"kind": kind},
                    )
                )
        for f in keep_longest(found):
            if f.score >= self.threshold:
                yield self.signal(
                    "forgiveness",
                    view.span_of(f.first, f.last),
                    f.score,
                    f'{_SAID[f.kind]} ("{f.trigger}"): accept it and move to the fix',
                    view,
                    evidence=f.evidence,
                    detail=f.detail,
                )

    def _sarcastic(self, view: TextView, hit: Hit, sarcasm: Near) -> bool:
        """A sarcasm marker on the phrase, just after it, or just before it, same sentence."""
        params: ForgivenessParams = self.params
        lo = hit.first - params.sarcasm_before - 1
        for s in sarcasm.overlapping(lo, hit.last + params.sarcasm_after + 1):
            if s.first <= hit.last and s.last >= hit.first:
                return True
            after = hit.last < s.first <= hit.last + params.sarcasm_after + 1
            if after and not sentence_break(view, hit.last, s.first):
                return True
            before = hit.first - params.sarcasm_before - 1 <= s.last < hit.first
            if before and not sentence_break(view, s.last, hit.first):
                return True
        return False
