"""Loyalty: the customer points to how long they have been a customer.

"I've been a customer for 10 years", "loyal customer since 2009", "I've banked with you all my
life": tenure is what an unhappy customer puts on the scale against the company (E2: weigh the
cost of giving way against the business and goodwill lost). ``detail`` carries ``years`` (a
number of years when stated, months as a fraction) and ``since`` (the year they joined).

Phrases that say loyalty outright ("loyal customer", "long-standing member") count on their
own. Phrases that only say "with you" ("I've been with you", "customer for") count when a
long stretch of time stands next to them: a number of years, "since 2009", "all my life".
Hours, days or weeks ("I've been on hold with you for an hour") lower the score instead.
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
    number_before,
    quoted,
    sentence_break,
    touches,
)

#: Units of time, in years.
_UNIT_YEARS = {
    "year": 1.0,
    "years": 1.0,
    "yr": 1.0,
    "yrs": 1.0,
    "decade": 10.0,
    "decades": 10.0,
    "month": 1 / 12,
    "months": 1 / 12,
    "week": 1 / 52,
    "weeks": 1 / 52,
    "day": 1 / 365,
    "days": 1 / 365,
    "hour": 1 / 8760,
    "hours": 1 / 8760,
    "hrs": 1 / 8760,
    "minute": 1 / 525600,
    "minutes": 1 / 525600,
    "mins": 1 / 525600,
}


class LoyaltyParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: tokens before and after a tenure phrase searched for how long
    before: int = Field(default=4, ge=0, le=10)
    after: int = Field(default=6, ge=0, le=12)
    #: added to the score when a stated length of time is at least ``long_years``
    duration_bonus: float = Field(default=0.3, ge=0.0, le=1.0)
    long_years: float = Field(default=1.0, ge=0.0, le=100.0)
    #: score factor when the stated length is shorter (an hour on hold is not loyalty)
    short_factor: float = Field(default=0.5, ge=0.0, le=1.0)
    #: years accepted after "since" ("since 2009")
    first_year: int = Field(default=1920, ge=1800, le=2100)
    last_year: int = Field(default=2100, ge=1800, le=2100)


class LoyaltyDetector(Detector):
    """How long the customer has been a customer (detail: years, since)."""

    name = "loyalty"
    signal_types = ("loyalty",)
    lexicon_names = ("tenure", "durations", "ignore")
    Params: ClassVar[type[BaseModel] | None] = LoyaltyParams

    def wants(self, scan: Scan) -> bool:
        return has_hits(scan.hits, self.key, ("tenure",))

    def triggers(self) -> frozenset[str] | None:
        return frozenset({self.key})

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        params: LoyaltyParams = self.params
        ignore = Near(self.hits(scan, "ignore"))
        durations = Near(self.hits(scan, "durations"))
        found: list[Found] = []
        for hit in self.hits(scan, "tenure"):
            if quoted(view, hit.first, hit.last) or touches(hit.first, hit.last, ignore):
                continue
            if negated_before(view, hit.first):
                continue
            lo = max(0, hit.first - params.before)
            hi = min(len(view.norms) - 1, hit.last + params.after)
            years, since, first, last = self._length(view, lo, hi, hit)
            score = hit.weight
            evidence: tuple[str, ...] = (hit.phrase,)
            if years is not None and years < params.long_years:
                score *= params.short_factor
            elif years is not None or since is not None:
                score += params.duration_bonus
            else:
                phrase = _nearby(view, durations, hit, lo, hi)
                if phrase is not None:
                    score += phrase.weight
                    evidence += (phrase.phrase,)
                    first, last = min(first, phrase.first), max(last, phrase.last)
            found.append(
                Found(
                    first,
                    last,
                    min(1.0, score),
                    evidence,
                    trigger=view.slice(view.span_of(hit.first, hit.last)),
                    detail={"years": years, "since": since},
                )
            )
        for f in keep_longest(found):
            if f.score < self.threshold:
                continue
            how_long = ""
            if f.detail["years"] is not None:
                how_long = f", {f.detail['years']:g} years"
            elif f.detail["since"] is not None:
                how_long = f", since {f.detail['since']}"
            yield self.signal(
                "loyalty",
                view.span_of(f.first, f.last),
                f.score,
                f'points to how long they have been a customer ("{f.trigger}"{how_long})',
                view,
                evidence=f.evidence,
                detail=f.detail,
            )

    def _length(
        self, view: TextView, lo: int, hi: int, hit: Hit
    ) -> tuple[float | None, int | None, int, int]:
        """Years and joining year stated in tokens lo..hi of the tenure phrase's sentence,
        and the token span grown to cover them."""
        params: LoyaltyParams = self.params
        norms = view.norms
        first, last = hit.first, hit.last
        years: float | None = None
        since: int | None = None
        for i in range(lo, hi + 1):
            word = norms[i]
            if i < hit.first and sentence_break(view, i, hit.first):
                continue
            if i > hit.last and sentence_break(view, hit.last, i):
                break
            if word in _UNIT_YEARS and years is None:
                value, _, start = number_before(view, i)
                if value is not None:
                    years = round(value * _UNIT_YEARS[word], 3)
                    first, last = min(first, start), max(last, i)
            elif word == "since" and since is None and i + 1 < len(norms):
                year = norms[i + 1]
                if year.isdigit() and params.first_year <= int(year) <= params.last_year:
                    since = int(year)
                    first, last = min(first, i), max(last, i + 1)
        return years, since, first, last


def _nearby(view: TextView, hits: Near, hit: Hit, lo: int, hi: int) -> Hit | None:
    """The first of ``hits`` within tokens lo..hi in the same sentence as ``hit``."""
    for h in hits.overlapping(lo, hi):
        if h.first > hit.last and sentence_break(view, hit.last, h.first):
            continue
        if h.last < hit.first and sentence_break(view, h.last, hit.first):
            continue
        return h
    return None
