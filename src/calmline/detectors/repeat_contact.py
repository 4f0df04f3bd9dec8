"""Repeat contact: the customer has been in touch about this before, maybe many times.

"This is the third time I've called", "I already explained this", "still not fixed", "nobody
ever gets back to me": the customer is tired of starting over, and the fix is ownership (C2):
one person who says they will see it through. ``detail["count"]`` is the number of contacts
when the message states it, in digits or words ("5 times", "twice", "for the fourth time",
"I've spoken to three agents"), else None.

A counted word needs a number or a word such as "several" before it, and only scores fully
when the sentence says how they were in touch ("called", "emailed", "chatted"): "I restarted
it 5 times" is not a repeat contact, "this is the third time" on its own scores lower but
still counts. "again" alone is everyday English; it counts when it is said with force
("broken again!", "yet again", "here we go again").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.detector import Detector, Scan
from calmline.core.matcher import Hit
from calmline.core.settings import DetectorSettings
from calmline.core.text import TextView, normalise_phrase
from calmline.core.types import Signal
from calmline.detectors._cues import (
    Found,
    Near,
    has_hits,
    keep_longest,
    negated_before,
    number_before,
    quoted,
    sentence_bounds,
    touches,
)

# What follows a forceful "again": "!", "?!" or "??" (spaces allowed before them).
_FORCE = re.compile(r"\s{0,3}(?:!|\?[!?])")


class RepeatContactParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: score factor for a counted word when the sentence names no way of getting in touch
    no_contact_factor: float = Field(default=0.6, ge=0.0, le=1.0)
    #: counted words that carry their own count ("twice" -> 2)
    own_counts: dict[str, int] = Field(default_factory=dict)
    #: counted words that need an ordinal before them ("the third time"), not a cardinal
    ordinal_units: list[str] = Field(default_factory=list)


class RepeatContactDetector(Detector):
    """The customer has had to get in touch before (detail: how many times, when stated)."""

    name = "repeat_contact"
    signal_types = ("repeat_contact",)
    lexicon_names = ("repeats", "units", "quantifiers", "contact", "emphatic", "ignore")
    Params: ClassVar[type[BaseModel] | None] = RepeatContactParams

    def __init__(self, settings: DetectorSettings, key: str | None = None) -> None:
        super().__init__(settings, key)
        params: RepeatContactParams = self.params
        self.own_counts = {normalise_phrase(k): v for k, v in params.own_counts.items()}
        self.ordinal_units = frozenset(normalise_phrase(u) for u in params.ordinal_units)

    def wants(self, scan: Scan) -> bool:
        return has_hits(scan.hits, self.key, ("repeats", "units", "emphatic"))

    def triggers(self) -> frozenset[str] | None:
        return frozenset({self.key})

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        ignore = Near(self.hits(scan, "ignore"))
        found: list[Found] = []
        for hit in self.hits(scan, "repeats"):
            if self._live(view, hit, ignore):
                found.append(_found(view, hit.first, hit.last, hit.weight, hit.phrase, None))
        # No negation test: "not working again!" is as fed up as "broken again!".
        for hit in self.hits(scan, "emphatic"):
            if _FORCE.match(view.text, view.ends[hit.last]) and not (
                quoted(view, hit.first, hit.last) or touches(hit.first, hit.last, ignore)
            ):
                found.append(_found(view, hit.first, hit.last, hit.weight, hit.phrase, None))
        units = self.hits(scan, "units")
        if units:
            found.extend(self._counted(scan, units, ignore))
        for f in keep_longest(found):
            if f.score < self.threshold:
                continue
            count = f.detail["count"]
            times = f", {count} times" if count else ""
            yield self.signal(
                "repeat_contact",
                view.span_of(f.first, f.last),
                f.score,
                f'says they have been in touch about this before ("{f.trigger}"{times})',
                view,
                evidence=f.evidence,
                detail=f.detail,
            )

    def _live(self, view: TextView, hit: Hit, ignore: Near) -> bool:
        return not (
            quoted(view, hit.first, hit.last)
            or touches(hit.first, hit.last, ignore)
            or negated_before(view, hit.first)
        )

    def _counted(self, scan: Scan, units: Sequence[Hit], ignore: Near) -> list[Found]:
        """ "3 times", "the fourth time", "twice", "several emails": a number of contacts."""
        view = scan.view
        params: RepeatContactParams = self.params
        quantifiers = {q.last: q for q in self.hits(scan, "quantifiers")}
        contacts = Near(self.hits(scan, "contact"))
        out: list[Found] = []
        for unit in units:
            phrase = unit.entry.tokens
            first = unit.first
            count: float | None
            if phrase in self.own_counts:
                count = self.own_counts[phrase]
            else:
                value, ordinal, start = number_before(view, unit.first)
                quantifier = quantifiers.get(unit.first - 1)
                if value is not None and ordinal == (phrase in self.ordinal_units):
                    if value < 2:
                        continue  # "the first time", "one call": nothing repeated yet
                    count = value
                    first = start
                elif quantifier is not None and phrase not in self.ordinal_units:
                    count = None
                    first = quantifier.first
                else:
                    continue
            if not self._live(view, unit, ignore) or negated_before(view, first):
                continue
            score = unit.weight
            if not _in_sentence(view, contacts, first, unit.last):
                score *= params.no_contact_factor
            out.append(
                _found(view, first, unit.last, score, unit.phrase, int(count) if count else None)
            )
        return out


def _found(
    view: TextView, first: int, last: int, score: float, phrase: str, count: int | None
) -> Found:
    return Found(
        first,
        last,
        score,
        (phrase,),
        trigger=view.slice(view.span_of(first, last)),
        detail={"count": count},
    )


def _in_sentence(view: TextView, hits: Near, first: int, last: int) -> bool:
    """Whether one of ``hits`` lies in the sentence of tokens first..last."""
    if not hits:
        return False
    start, end = sentence_bounds(view, first, last)
    lo = bisect_left(view.starts, start)
    hi = bisect_left(view.starts, end) - 1
    return bool(hits.starting(lo, hi))
