"""Manager requests: the customer asks for a manager, a supervisor or to escalate.

Asking for someone more senior says the customer has stopped believing this agent will fix
it; the answer is to take ownership (C2) rather than to pass them on or to argue. A word such
as "manager" or "someone senior" counts only when the customer asks for that person ("let me
speak to", "get me", "put me through to", "is there a", "... now"); "my manager" (the
customer's own) and "your manager is useless" are not requests. Phrases such as "escalate
this" are requests on their own. A negated request ("I don't want a manager") is silent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.detector import Detector, Scan
from calmline.core.settings import DetectorSettings
from calmline.core.types import Signal
from calmline.detectors._cues import (
    Cues,
    Found,
    Near,
    has_hits,
    keep_longest,
    local_sets,
    quoted,
    read_intent,
    scanned,
    touches,
)


class ManagerRequestParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: most tokens between an asking cue and the person asked for
    window: int = Field(default=5, ge=1, le=12)
    #: score factor for a request in a question that opens with a neutral question word
    question_factor: float = Field(default=0.6, ge=0.0, le=1.0)


class ManagerRequestDetector(Detector):
    """The customer asks for a manager, a supervisor, someone senior, or an escalation."""

    name = "manager_request"
    signal_types = ("manager_request",)
    lexicon_names = ("people", "outright", "asks", "asks_after", "blockers", "ignore", "neutral")
    Params: ClassVar[type[BaseModel] | None] = ManagerRequestParams
    #: common context words, read around a request rather than in the shared scan
    _LOCAL = ("blockers", "neutral")

    def __init__(self, settings: DetectorSettings, key: str | None = None) -> None:
        super().__init__(settings, key)
        self.local = local_sets(settings.lexicons, self._LOCAL)

    def lexicons(self) -> Iterator[tuple[str, str, Mapping[str, float]]]:
        yield from scanned(super().lexicons(), self._LOCAL)

    def wants(self, scan: Scan) -> bool:
        return has_hits(scan.hits, self.key, ("people", "outright"))

    def triggers(self) -> frozenset[str] | None:
        return frozenset({self.key})

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        params: ManagerRequestParams = self.params
        cues = Cues(
            before=Near(self.hits(scan, "asks")),
            after=Near(self.hits(scan, "asks_after")),
            blockers=self.local["blockers"],
            openers=self.local["neutral"],
            window=params.window,
        )
        ignore = Near(self.hits(scan, "ignore"))
        found: list[Found] = []
        for lexicon, needs_cue in (("people", True), ("outright", False)):
            for hit in self.hits(scan, lexicon):
                if quoted(view, hit.first, hit.last) or touches(hit.first, hit.last, ignore):
                    continue
                intent = read_intent(view, hit.first, hit.last, cues, needs_cue=needs_cue)
                if intent is None:
                    continue
                score = hit.weight * (intent.cue.weight if intent.cue is not None else 1.0)
                if intent.question == "neutral":
                    score *= params.question_factor
                cue = (intent.cue.phrase,) if intent.cue is not None else ()
                found.append(
                    Found(
                        hit.first,
                        hit.last,
                        score,
                        (*cue, hit.phrase),
                        lead=intent.lead,
                        tail=intent.tail,
                        trigger=view.slice(view.span_of(hit.first, hit.last)),
                    )
                )
        for f in keep_longest(found):
            if f.score >= self.threshold:
                yield self.signal(
                    "manager_request",
                    view.span_of(*f.span_tokens()),
                    f.score,
                    f'asks for someone more senior or to escalate ("{f.trigger}")',
                    view,
                    evidence=f.evidence,
                )
