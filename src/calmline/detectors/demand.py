"""Demands: a refund, compensation, a replacement, credit, a discount ... and how much.

Knowing exactly what the customer asks for is where a bargain starts (E1: meet an outrageous
demand with an offer slightly in their favour). Each lexicon of this detector is one kind of
demand, reported in ``detail["kind"]``; the amount, currency and percentage are read from the
same sentence when they are stated ("refund me $49.99", "I expect £200 compensation", "at
least 20% off", "a full refund" = 100%, "half my money back" = 50%).

A word such as "refund" is a demand only with the customer asking for it: a cue before it
("I want", "I expect", "give me", "refund me", "you owe me", "can I get") or right after it
("... now", "... please"). A neutral question ("how long do refunds take?", "when will my
refund arrive?") has no such cue, or opens with a neutral question word, and stays silent.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.detector import Detector, Scan
from calmline.core.matcher import Hit
from calmline.core.settings import DetectorSettings
from calmline.core.text import TextView, normalise_phrase
from calmline.core.types import Signal
from calmline.detectors._cues import (
    CARDINALS,
    Cues,
    Found,
    Near,
    has_hits,
    keep_longest,
    local_sets,
    quoted,
    read_intent,
    scanned,
    sentence_bounds,
    sentence_break,
    touches,
)

#: The kinds of demand, one lexicon each; the kind is reported in the signal's detail.
KINDS = (
    "refund",
    "compensation",
    "replacement",
    "credit",
    "discount",
    "reimbursement",
    "upgrade",
    "voucher",
    "waiver",
)
_KIND_WORDS = {
    "refund": "a refund",
    "compensation": "compensation",
    "replacement": "a replacement",
    "credit": "a credit",
    "discount": "a discount",
    "reimbursement": "to be reimbursed",
    "upgrade": "an upgrade",
    "voucher": "a voucher",
    "waiver": "a charge waived",
}

# Amounts: a currency sign or code before the number, or a currency word or sign after it.
# Every repetition is bounded and the separators keep the parts from overlapping.
_NUMBER = r"\d{1,9}(?:[.,]\d{1,3}){0,3}"
_AMOUNT = re.compile(
    rf"(?P<sign>[$£€])\s?(?P<n1>{_NUMBER})"
    rf"|\b(?P<code>usd|gbp|eur)\s?(?P<n2>{_NUMBER})"
    rf"|(?<![\d.,])(?P<n3>{_NUMBER})\s?(?:(?P<sign2>[$£€])|(?P<word>dollars?|usd|bucks|"
    r"pounds?|quid|gbp|euros?|eur)(?![a-z]))",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"(?<![\d.])(?P<p>\d{1,3}(?:\.\d{1,2})?)\s?(?:%|per\s?cent(?![a-z]))", re.I)
_CURRENCY = {
    "$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
}
#: Characters around a demand searched for an amount.
_REACH = 60
_JOINERS = frozenset({"and", "or", "plus", "also"})
_CURRENCY_WORDS = frozenset({"dollars", "dollar", "bucks", "pounds", "pound", "quid", "euros"})


class DemandParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: most tokens between a cue and the demand word it governs
    window: int = Field(default=6, ge=1, le=12)
    #: most tokens between a demand word and a cue after it ("refund, now")
    after_window: int = Field(default=2, ge=0, le=6)
    #: score factor for a question that opens with a neutral question word
    question_factor: float = Field(default=0.5, ge=0.0, le=1.0)
    #: phrases that name a share of the money -> that share in percent ("half" -> 50)
    portions: dict[str, float] = Field(default_factory=dict)
    #: most tokens between a share word and the demand ("half of my money back")
    portion_window: int = Field(default=2, ge=0, le=6)
    #: demand words that only count straight after an amount ("20% off", "£50 back")
    needs_amount: list[str] = Field(default_factory=list)


class DemandDetector(Detector):
    """What the customer demands (refund, compensation, replacement ...), with any amount."""

    name = "demand"
    signal_types = ("demand",)
    lexicon_names = (
        *KINDS,
        "intent",
        "intent_after",
        "blockers",
        "ignore",
        "neutral_questions",
    )
    Params: ClassVar[type[BaseModel] | None] = DemandParams

    def __init__(self, settings: DetectorSettings, key: str | None = None) -> None:
        super().__init__(settings, key)
        params: DemandParams = self.params
        needs = frozenset(normalise_phrase(p) for p in params.needs_amount)
        # The phrases, as written in the playbook, that only count after an amount.
        self.needs_amount = frozenset(
            phrase
            for kind in KINDS
            for phrase in settings.lexicons.get(kind, {})
            if normalise_phrase(phrase) in needs
        )
        self.local = local_sets(settings.lexicons, self._LOCAL)

    #: common context words, read around a demand word rather than in the shared scan
    _LOCAL = ("blockers", "neutral_questions")

    def lexicons(self) -> Iterator[tuple[str, str, Mapping[str, float]]]:
        yield from scanned(super().lexicons(), self._LOCAL)
        params: DemandParams = self.params
        yield self.key, "portions", dict.fromkeys(params.portions, 1.0)

    def wants(self, scan: Scan) -> bool:
        return has_hits(scan.hits, self.key, KINDS)

    def triggers(self) -> frozenset[str] | None:
        return frozenset({self.key})

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        params: DemandParams = self.params
        # "back" and "off" are common words: drop those not after an amount before anything
        # else is read.
        topics = [
            (kind, hit)
            for kind in KINDS
            for hit in self.hits(scan, kind)
            if not self.needs_amount or self._amount_ok(view, hit)
        ]
        if not topics:
            return
        topics.sort(key=lambda pair: pair[1].first)
        cues = Cues(
            before=Near(self.hits(scan, "intent")),
            after=Near(self.hits(scan, "intent_after")),
            blockers=self.local["blockers"],
            openers=self.local["neutral_questions"],
            window=params.window,
            after_window=params.after_window,
        )
        ignore = Near(self.hits(scan, "ignore"))
        found: list[Found] = []
        factors: dict[int, float] = {}
        for kind, hit in topics:
            if quoted(view, hit.first, hit.last) or touches(hit.first, hit.last, ignore):
                continue
            intent = read_intent(view, hit.first, hit.last, cues, needs_cue=False)
            if intent is None:
                continue
            if intent.cue is not None:
                factor = intent.cue.weight
            else:
                # "I want a refund of £40 and a £10 voucher": a demand joined to one before it
                # shares its cue.
                factor = _joined(view, found, factors, hit.first, params.window)
                if not factor:
                    continue
            score = hit.weight * factor
            if intent.question == "neutral":
                score *= params.question_factor
            cue_phrase = intent.cue.phrase if intent.cue is not None else "and"
            factors[hit.first] = factor
            found.append(
                Found(
                    hit.first,
                    hit.last,
                    score,
                    (cue_phrase, hit.phrase),
                    lead=intent.lead,
                    tail=intent.tail,
                    kind=kind,
                    trigger=view.slice(view.span_of(hit.first, hit.last)),
                )
            )
        kept = [f for f in keep_longest(found) if f.score >= self.threshold]
        if not kept:
            return
        self._measure(scan, kept)
        for f in kept:
            yield self.signal(
                "demand",
                view.span_of(*f.span_tokens()),
                f.score,
                _explain(f),
                view,
                evidence=f.evidence,
                detail=f.detail,
            )

    def _amount_ok(self, view: TextView, hit: Hit) -> bool:
        """Words such as "off" and "back" are demands only straight after an amount."""
        return hit.phrase not in self.needs_amount or _after_amount(view, hit.first)

    # ----- how much ------------------------------------------------------------------

    def _measure(self, scan: Scan, kept: Sequence[Found]) -> None:
        """Fill kind, amount, currency and percent from the text close to each demand."""
        view = scan.view
        params: DemandParams = self.params
        firsts = [f.first for f in kept]  # kept is in text order
        for f in kept:
            f.detail = {"kind": f.kind, "amount": None, "currency": None, "percent": None}
        # A share word belongs to the closest demand: "a full refund and compensation".
        for p in self.hits(scan, "portions"):
            lo = bisect_left(firsts, p.first - 2)
            hi = bisect_right(firsts, p.last + params.portion_window + 1)
            near = [
                (f.first - p.last if p.last < f.first else max(0, p.first - f.last), f)
                for f in kept[lo:hi]
                if f.first - p.last - 1 <= params.portion_window and p.first <= f.last + 2
            ]
            if near:
                min(near, key=lambda pair: pair[0])[1].detail["percent"] = params.portions[p.phrase]
        text = view.text
        seen: set[int] = set()
        for f in kept:
            sentence = sentence_bounds(view, *f.span_tokens())
            fs, fe = view.span_of(f.first, f.last)
            s, e = max(sentence[0], fs - _REACH), min(sentence[1], fe + _REACH)
            chunk = text[s:e]
            if not any(map(str.isdigit, chunk)):
                continue
            for m in _AMOUNT.finditer(chunk):
                if s + m.start() in seen:
                    continue
                seen.add(s + m.start())
                owner = _nearest(view, kept, firsts, f, s + m.start(), s + m.end(), sentence)
                amount = _parse_number(m.group("n1") or m.group("n2") or m.group("n3"))
                mark = m.group("sign") or m.group("code") or m.group("sign2") or m.group("word")
                if amount is not None and owner.detail["amount"] is None:
                    owner.detail["amount"] = amount
                    owner.detail["currency"] = _CURRENCY.get(mark.lower())
            for m in _PERCENT.finditer(chunk):
                if -(s + m.start()) - 1 in seen:
                    continue
                seen.add(-(s + m.start()) - 1)
                owner = _nearest(view, kept, firsts, f, s + m.start(), s + m.end(), sentence)
                owner.detail["percent"] = float(m.group("p"))


def _joined(
    view: TextView, found: Sequence[Found], factors: Mapping[int, float], first: int, window: int
) -> float:
    """The cue weight of a demand just before token ``first`` that it is joined to by "and",
    "or" or "plus" in the same sentence (0 when there is none)."""
    norms = view.norms
    for f in reversed(found):
        if f.last >= first:
            continue
        if first - f.last - 1 > window:
            return 0.0
        between = norms[f.last + 1 : first]
        if _JOINERS.intersection(between) and not sentence_break(view, f.last, first):
            return factors.get(f.first, 0.0)
        return 0.0
    return 0.0


def _explain(f: Found) -> str:
    what = _KIND_WORDS.get(f.kind, f.kind)
    amount, currency, percent = f.detail["amount"], f.detail["currency"], f.detail["percent"]
    if amount is not None:
        what += f" of {amount:g} {currency}" if currency else f" of {amount:g}"
    elif percent is not None:
        what += f" ({percent:g}%)"
    return f'asks for {what} ("{f.trigger}")'


def _nearest(
    view: TextView,
    kept: Sequence[Found],
    firsts: Sequence[int],
    found_by: Found,
    start: int,
    end: int,
    sentence: tuple[int, int],
) -> Found:
    """The demand closest to a number at characters start..end, in the same sentence."""
    at = bisect_left(firsts, view.token_at(start))
    best, best_distance = found_by, len(view.text)
    for f in kept[max(0, at - 2) : at + 2]:
        fs, fe = view.span_of(f.first, f.last)
        if fs < sentence[0] or fe > sentence[1]:
            continue
        distance = max(0, fs - end, start - fe)
        if distance < best_distance:
            best, best_distance = f, distance
    return best


def _after_amount(view: TextView, i: int) -> bool:
    """Whether token ``i`` follows an amount: "20% off", "£50 back", "fifty quid back"."""
    norms = view.norms
    for back in (1, 2):
        j = i - back
        if j < 0:
            return False
        surface = view.text[view.starts[j] : view.ends[j]]
        if any(map(str.isdigit, surface)) or (back == 2 and norms[j] in CARDINALS):
            return True
        if back == 1 and norms[j] not in _CURRENCY_WORDS and norms[j] not in ("percent", "cent"):
            return False
    return False


def _parse_number(raw: str | None) -> float | None:
    """'1,299.99' -> 1299.99; '49,99' -> 49.99; '1.299' (several dots) -> 1299."""
    if not raw:
        return None
    if "," in raw and "." in raw:
        raw = raw.replace(",", "")
    elif "," in raw:
        head, _, tail = raw.rpartition(",")
        raw = f"{head.replace(',', '')}.{tail}" if len(tail) == 2 else raw.replace(",", "")
    elif raw.count(".") > 1:
        raw = raw.replace(".", "")
    try:
        return float(raw)
    except ValueError:
        return None
