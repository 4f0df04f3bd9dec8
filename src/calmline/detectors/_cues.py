"""Reading around a lexicon hit, shared by the intent detectors (threat, demand, escalation ...).

The intent detectors all ask the same few questions about a hit: is it negated or quoted, is
there an intent cue close enough before it in the same sentence, is a cue cancelled by a
negation, does the sentence end in a question mark, which number stands next to it. Every
answer here looks only at the few tokens around one hit, so the cost follows the number of
hits, not the length of the message or the size of the playbook.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from typing import Any

from calmline.core.matcher import Hit, Hits
from calmline.core.text import NEGATORS, TextView, normalise_phrase
from calmline.core.types import Span

# The end of a sentence: ! ? a line break, or a full stop that is not a decimal point.
_SENTENCE_END = re.compile(r"[!?\n]|\.(?!\d)")
#: Characters searched for the end of a sentence: longer "sentences" are cut there, which
#: keeps every look-up bounded on adversarial input.
SENTENCE_LIMIT = 1000
_PUNCTUATION = frozenset(".,;:!?()[]\n–—")
_ORDINAL_SUFFIX = re.compile(r"^(\d{1,4})(?:st|nd|rd|th)$")

#: Words that open a new clause with its own subject: a negation before them is not ours.
SUBJECTS = frozenset({"i", "we", "you", "he", "she", "they", "it", "this", "that", "me", "my"})

#: Number words people write instead of digits (cardinals).
CARDINALS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "dozen": 12,
    "hundred": 100,
}

#: Ordinal words ("the third time").
ORDINALS: dict[str, int] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "twentieth": 20,
}


class PhraseSet:
    """A small lexicon of common words read only around a hit, not in the shared scan.

    Context words such as "is", "when", "you" or "but" occur in most messages; matching them
    in the one Aho-Corasick pass would cost a hit object each time. A detector keeps them
    here instead and looks them up on the few tokens next to a phrase it already found.
    """

    __slots__ = ("_by_first",)

    def __init__(self, phrases: Mapping[str, float] | None = None) -> None:
        by_first: dict[str, list[tuple[tuple[str, ...], float, str]]] = {}
        for phrase, weight in (phrases or {}).items():
            tokens = normalise_phrase(phrase)
            if tokens and weight > 0:
                by_first.setdefault(tokens[0], []).append((tokens, weight, phrase))
        for options in by_first.values():
            options.sort(key=lambda option: -len(option[0]))
        self._by_first = by_first

    def __bool__(self) -> bool:
        return bool(self._by_first)

    def at(self, norms: Sequence[str], i: int) -> tuple[int, float, str] | None:
        """The longest phrase starting at token ``i``: (length in tokens, weight, phrase)."""
        options = self._by_first.get(norms[i])
        if not options:
            return None
        for tokens, weight, phrase in options:
            n = len(tokens)
            if n == 1 or tuple(norms[i : i + n]) == tokens:
                return n, weight, phrase
        return None

    def inside(self, norms: Sequence[str], first: int, end: int) -> bool:
        """Whether a phrase lies wholly within tokens first..end-1."""
        for i in range(first, end):
            found = self.at(norms, i)
            if found is not None and i + found[0] <= end:
                return True
        return False

    def after(self, view: TextView, last: int, window: int) -> tuple[int, int, str] | None:
        """The first phrase starting within ``window`` tokens after ``last``, same sentence:
        (first token, last token, phrase)."""
        norms = view.norms
        for i in range(last + 1, min(len(norms), last + window + 2)):
            found = self.at(norms, i)
            if found is not None:
                if sentence_break(view, last, i):
                    return None
                return i, i + found[0] - 1, found[2]
        return None


class Near:
    """Hits sorted by first token, so a look-up near one token costs the same however many
    hits a long message has."""

    __slots__ = ("_firsts", "_hits", "_longest")

    def __init__(self, hits: Sequence[Hit] = ()) -> None:
        if len(hits) > 1:
            hits = sorted(hits, key=lambda h: h.first)
        self._hits = hits
        self._firsts = [h.first for h in hits]
        self._longest = max((h.last - h.first for h in hits), default=0) if hits else 0

    def __bool__(self) -> bool:
        return bool(self._hits)

    def starting(self, lo: int, hi: int) -> Sequence[Hit]:
        """The hits whose first token is within lo..hi, in text order."""
        return self._hits[bisect_left(self._firsts, lo) : bisect_right(self._firsts, hi)]

    def overlapping(self, first: int, last: int) -> list[Hit]:
        """The hits sharing a token with first..last."""
        return [h for h in self.starting(first - self._longest, last) if h.last >= first]

    def ending(self, lo: int, hi: int) -> list[Hit]:
        """The hits whose last token is within lo..hi."""
        return [h for h in self.starting(lo - self._longest, hi) if lo <= h.last <= hi]


class SpanSet:
    """Character spans (signals found so far) that other spans are tested against for
    overlap, by bisection: a long message with thousands of them stays linear."""

    __slots__ = ("_reach", "_starts")

    def __init__(self, spans: Iterable[Span] = ()) -> None:
        ordered = sorted(spans)
        self._starts = [s for s, _ in ordered]
        #: the furthest end among the spans up to each one
        self._reach = list(accumulate((e for _, e in ordered), max))

    def __bool__(self) -> bool:
        return bool(self._starts)

    def overlaps(self, span: Span) -> bool:
        """Whether ``span`` shares a character with one of the spans."""
        k = bisect_left(self._starts, span[1])  # the spans starting before it ends
        return k > 0 and self._reach[k - 1] > span[0]


def has_hits(hits: Hits, owner: str, lexicons: Iterable[str]) -> bool:
    """Whether any of an owner's ``lexicons`` has a hit (cheap when the owner has none)."""
    return hits.any_of(owner, lexicons)


def local_sets(
    lexicons: Mapping[str, Mapping[str, float]], names: Iterable[str]
) -> dict[str, PhraseSet]:
    """A :class:`PhraseSet` for each named lexicon of a detector's settings."""
    return {name: PhraseSet(lexicons.get(name)) for name in names}


def scanned(
    lexicons: Iterable[tuple[str, str, Mapping[str, float]]], local: Iterable[str]
) -> Iterator[tuple[str, str, Mapping[str, float]]]:
    """The lexicons that go into the shared scan: all but the ``local`` ones."""
    skip = frozenset(local)
    for owner, name, phrases in lexicons:
        if name not in skip:
            yield owner, name, phrases


@dataclass(slots=True)
class Found:
    """A candidate signal, before overlaps are resolved.

    ``first``..``last`` are the tokens of the phrase itself (what overlaps are judged on);
    ``lead`` is where the reported span starts when an intent cue before it is included, and
    ``tail`` where it ends when a cue after it is.
    """

    first: int
    last: int
    score: float
    evidence: tuple[str, ...]
    lead: int = -1
    tail: int = -1
    kind: str = ""
    trigger: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def span_tokens(self) -> tuple[int, int]:
        first = self.lead if 0 <= self.lead < self.first else self.first
        return first, max(self.last, self.tail)


def keep_longest(found: Iterable[Found]) -> list[Found]:
    """One candidate per phrase: the longest (then strongest) of those that overlap.

    The kept candidate takes the best score of the ones it absorbs, so "a 1-star review"
    keeps the weight of "1 star" with the span of the whole phrase. When two kept phrases
    share one cue ("I want a refund and a voucher"), only the first span reaches back to it.
    """
    ordered = sorted(found, key=lambda f: (f.first - f.last, -f.score, f.first))
    kept: list[Found] = []
    taken: dict[int, Found] = {}  # token -> the kept candidate covering it
    for f in ordered:
        over = next((taken[t] for t in range(f.first, f.last + 1) if t in taken), None)
        if over is None:
            kept.append(f)
            taken.update(dict.fromkeys(range(f.first, f.last + 1), f))
            continue
        if f.score > over.score:
            over.score = f.score
            over.evidence = tuple(dict.fromkeys((*over.evidence, *f.evidence)))
        for key, value in f.detail.items():
            if over.detail.get(key) is None:
                over.detail[key] = value
    kept.sort(key=lambda f: f.first)
    for before, f in pairwise(kept):
        if 0 <= f.lead <= before.last:
            f.lead = -1
    return kept


def quoted(view: TextView, first: int, last: int) -> bool:
    return view.quoted(view.span_of(first, last))


def negated_before(view: TextView, i: int, window: int = 4) -> bool:
    """A negator shortly before token ``i`` in its own clause ("I'm not going to ...").

    Stops at punctuation, clause words and a new subject, so the "not" of "if you don't fix
    it" does not cancel "I will sue" after it.
    """
    norms = view.norms
    j = i
    while j > 0 and i - j < window:
        if view.clause_break_before(j):
            return False
        j -= 1
        word = norms[j]
        if word in NEGATORS:
            return True
        if word in SUBJECTS:
            return False
    return False


def negator_between(view: TextView, after: int, before: int) -> bool:
    """Whether a negator sits strictly between tokens ``after`` and ``before``."""
    norms = view.norms
    return any(norms[j] in NEGATORS for j in range(after + 1, before))


def sentence_break(view: TextView, after: int, before: int) -> bool:
    """Whether a sentence ends between token ``after`` and token ``before``."""
    if before <= after + 1:
        return False
    text = view.text
    # One character past the gap lets "49.99" keep its decimal point inside the sentence.
    return _SENTENCE_END.search(text[view.ends[after] : view.starts[before] + 1]) is not None


def unbroken(view: TextView, first: int, last: int) -> bool:
    """Whether tokens first..last follow each other with no punctuation between them."""
    text, starts, ends = view.text, view.starts, view.ends
    return not any(
        ch in _PUNCTUATION for i in range(first, last) for ch in text[ends[i] : starts[i + 1]]
    )


def touches(hit_first: int, hit_last: int, others: Near) -> bool:
    """Whether one of ``others`` overlaps tokens first..last or ends right before them."""
    return bool(others) and bool(others.overlapping(hit_first - 1, hit_last))


def cue_before(
    view: TextView,
    cues: Near,
    first: int,
    window: int,
    blockers: PhraseSet | None = None,
) -> Hit | None:
    """The nearest cue that starts at or before token ``first`` and ends at most ``window``
    tokens before it, in the same sentence, with no blocker word in between.

    A cue may overlap the hit ("refund me" is both a cue and a refund).
    """
    best: Hit | None = None
    for c in cues.ending(first - window - 1, first + 8) if cues else ():
        if c.first > first:
            continue
        # A cue running on past the phrase must not jump punctuation ("refund, this is ...").
        if c.last > first and not unbroken(view, first, c.last):
            continue
        if best is None or c.last > best.last or (c.last == best.last and c.first < best.first):
            best = c
    if best is None or best.last >= first - 1:
        return best
    if sentence_break(view, best.last, first):
        return None
    if blockers and blockers.inside(view.norms, best.last + 1, first):
        return None
    return best


def cue_after(
    view: TextView,
    cues: Near,
    last: int,
    window: int,
    blockers: PhraseSet | None = None,
) -> Hit | None:
    """The nearest cue starting within ``window`` tokens after token ``last``, same sentence."""
    found = cues.starting(last + 1, last + window + 1) if cues else []
    best: Hit | None = found[0] if found else None
    if best is None:
        return None
    if sentence_break(view, last, best.first):
        return None
    if blockers and blockers.inside(view.norms, last + 1, best.first):
        return None
    return best


def cue_negated(view: TextView, cue: Hit, first: int) -> bool:
    """Whether the link from ``cue`` to the hit at ``first`` is negated.

    A negator between them counts ("I will never ..."); so does one just before a cue that
    has no subject of its own ("I'm not going to ...").
    """
    if negator_between(view, cue.last, first):
        return True
    return view.norms[cue.first] not in SUBJECTS and negated_before(view, cue.first)


@dataclass(frozen=True, slots=True)
class Cues:
    """A detector's cue hits in one message and how far they reach."""

    before: Near
    after: Near = field(default_factory=Near)
    blockers: PhraseSet | None = None
    openers: PhraseSet | None = None
    window: int = 6
    after_window: int = 2


@dataclass(frozen=True, slots=True)
class Intent:
    """How a phrase is asked for: the cue (None when none was needed), the tokens the span
    grows to (-1: not grown) and whether its sentence is a question ("", "question", or
    "neutral" for one opening with a neutral question word)."""

    cue: Hit | None
    lead: int
    tail: int
    question: str


def read_intent(
    view: TextView, first: int, last: int, cues: Cues, *, needs_cue: bool
) -> Intent | None:
    """The intent behind the phrase at tokens first..last, or None when it is negated or,
    with ``needs_cue``, when no cue stands before or after it."""
    cue = cue_before(view, cues.before, first, cues.window, cues.blockers)
    lead = tail = -1
    if cue is not None:
        if cue_negated(view, cue, first):
            return None
        lead, tail = cue.first, cue.last
    else:
        if negated_before(view, first):
            return None
        if cues.after:
            cue = cue_after(view, cues.after, last, cues.after_window, cues.blockers)
            if cue is not None:
                tail = cue.last
        if cue is None and needs_cue:
            return None
    question = ""
    if sentence_end(view, max(last, tail)) == "?":
        opener = sentence_first_token(view, lead if 0 <= lead < first else first)
        neutral = cues.openers is not None and cues.openers.at(view.norms, opener) is not None
        question = "neutral" if neutral else "question"
    return Intent(cue, lead, tail, question)


def sentence_start(view: TextView, first: int) -> int:
    """Character offset where the sentence containing token ``first`` begins."""
    text = view.text
    start = view.starts[first]
    floor = max(0, start - SENTENCE_LIMIT)
    left = max(
        floor - 1,
        text.rfind("!", floor, start),
        text.rfind("?", floor, start),
        text.rfind("\n", floor, start),
    )
    dot = text.rfind(".", floor, start)
    while dot > left:
        if not text[dot + 1 : dot + 2].isdigit():
            left = dot
            break
        dot = text.rfind(".", floor, dot)
    return left + 1


def sentence_bounds(view: TextView, first: int, last: int) -> tuple[int, int]:
    """Character span of the sentence around tokens first..last (decimal points do not end it)."""
    end = view.ends[last]
    m = _SENTENCE_END.search(view.text, end, end + SENTENCE_LIMIT)
    return sentence_start(view, first), (
        m.end() if m else min(len(view.text), end + SENTENCE_LIMIT)
    )


def sentence_end(view: TextView, last: int) -> str:
    """The punctuation that ends the sentence containing token ``last`` ("" at the end)."""
    end = view.ends[last]
    m = _SENTENCE_END.search(view.text, end, end + SENTENCE_LIMIT)
    return m.group() if m else ""


def is_question(view: TextView, last: int) -> bool:
    return sentence_end(view, last) == "?"


def sentence_first_token(view: TextView, first: int) -> int:
    """Index of the first token of the sentence containing token ``first``."""
    return bisect_left(view.starts, sentence_start(view, first))


def number_value(word: str) -> tuple[float | None, bool]:
    """The value of a normalised token written as a number, and whether it is an ordinal.

    "5" -> (5, False); "3rd" -> (3, True); "twice" is not handled here; "three" -> (3, False).
    """
    if word.isdigit():
        return (float(word), False) if len(word) <= 6 else (None, False)
    m = _ORDINAL_SUFFIX.match(word)
    if m:
        return float(m.group(1)), True
    if word in ORDINALS:
        return float(ORDINALS[word]), True
    if word in CARDINALS:
        return float(CARDINALS[word]), False
    return None, False


def number_before(view: TextView, i: int) -> tuple[float | None, bool, int]:
    """The number written just before token ``i`` ("twenty five", "25", "3rd"), if any:
    its value, whether it is an ordinal, and the token where it starts."""
    if i <= 0:
        return None, False, i
    value, ordinal = number_value(view.norms[i - 1])
    if value is None:
        return None, False, i
    # "twenty five", "twenty-five": add a tens word just before a unit word.
    if not ordinal and value < 10 and i >= 2:
        tens, tens_ordinal = number_value(view.norms[i - 2])
        if tens is not None and not tens_ordinal and tens >= 20 and tens % 10 == 0:
            return value + tens, False, i - 2
    return value, ordinal, i - 1
