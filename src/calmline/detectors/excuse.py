"""Excuses: the customer explains or justifies their own part in the problem.

"I didn't know I had to", "nobody told me", "I was in hospital", "it's not my fault", "I only
missed one payment", "I never received the email": the playbook's advice is not to argue
with the excuse first but to turn it into information both sides can act on (C7).
``detail["kind"]`` says which sort: "unaware" (nobody told them), "circumstance" (what got
in the way), "not_my_fault", or "missed_notice" (a letter, e-mail or reminder that never
reached them).

A missed-notice phrase needs the notice itself next to it: "I never received the reminder"
is an excuse, "I never received my parcel" is a complaint and stays silent. "I forgot my
password" is the problem itself, not an excuse.
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
    keep_longest,
    negated_before,
    quoted,
    sentence_break,
    touches,
)

KINDS = ("unaware", "circumstance", "not_my_fault", "missed_notice")
_SAID = {
    "unaware": "says they did not know",
    "circumstance": "explains what got in the way",
    "not_my_fault": "says it is not their fault",
    "missed_notice": "says a notice never reached them",
}


class ExcuseParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: most tokens between "I never received" and the notice it names
    notice_window: int = Field(default=3, ge=0, le=8)


class ExcuseDetector(Detector):
    """The customer explains or justifies their own part (detail: which sort of excuse)."""

    name = "excuse"
    signal_types = ("excuse",)
    lexicon_names = (*KINDS, "notices", "ignore")
    Params: ClassVar[type[BaseModel] | None] = ExcuseParams

    def wants(self, scan: Scan) -> bool:
        return has_hits(scan.hits, self.key, KINDS)

    def triggers(self) -> frozenset[str] | None:
        return frozenset({self.key})

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        params: ExcuseParams = self.params
        ignore = Near(self.hits(scan, "ignore"))
        notices = Near(self.hits(scan, "notices"))
        found: list[Found] = []
        for kind in KINDS:
            for hit in self.hits(scan, kind):
                last = hit.last
                if kind == "missed_notice":
                    notice = _notice_after(view, notices, hit.last, params.notice_window)
                    if notice is None:
                        continue
                    last = notice.last
                if quoted(view, hit.first, last) or touches(hit.first, hit.last, ignore):
                    continue
                if negated_before(view, hit.first):
                    continue
                found.append(
                    Found(
                        hit.first,
                        last,
                        hit.weight,
                        (hit.phrase,),
                        kind=kind,
                        trigger=view.slice(view.span_of(hit.first, last)),
                        detail={"kind": kind},
                    )
                )
        for f in keep_longest(found):
            if f.score >= self.threshold:
                yield self.signal(
                    "excuse",
                    view.span_of(f.first, f.last),
                    f.score,
                    f'{_SAID[f.kind]} ("{f.trigger}")',
                    view,
                    evidence=f.evidence,
                    detail=f.detail,
                )


def _notice_after(view: TextView, notices: Near, last: int, window: int) -> Hit | None:
    """The notice named within ``window`` tokens after token ``last``, in the same sentence."""
    for n in notices.starting(last + 1, last + window + 1):
        if not sentence_break(view, last, n.first):
            return n
    return None
