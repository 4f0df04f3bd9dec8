"""Insults: name-calling and contempt aimed at the agent or the company (principle B7).

An insult word ("idiot", "useless", "a joke", "thieves") is only an insult when it is aimed at
someone on the company's side. Following the idea of context words, the word counts when a
*target* sits right next to it in the same clause:

* before it, with only linking words in between: "you idiot", "you people are useless",
  "your staff are a bunch of clowns", "this company is a joke", "are you stupid?";
* just after it: "what a moron you are", "idiots like you";
* or when a name stands alone in its clause, which addresses whoever reads it: "Idiots!",
  "Thank you, genius... morons.", "f*cking useless idiots".

Everything else is left alone: a complaint about a thing ("this app is useless", "the website
is a joke"), a third party ("my neighbour is an idiot"), the customer about themselves ("I'm
such an idiot, I forgot"), denials ("you're not an idiot", "I never said you were useless"),
and reported speech in quotes ('your bot replied "you are an idiot"').

The score is the insult word's weight times the target's weight (a name on its own is scored
with ``bare_weight``). One signal covers the target and all the insult words next to it
("you useless incompetent idiots").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.detector import Detector, Scan
from calmline.core.matcher import Hit
from calmline.core.text import NEGATORS, TextView
from calmline.core.types import Signal, Span
from calmline.detectors._cues import SpanSet

#: the playbook keys this module reads hits of
INSULT = "insult"
PROFANITY = "profanity"

#: lexicons of words that can be insults; nouns may stand alone as a name ("Morons!")
NOUN_LEXICONS = ("nouns", "ambiguous")
WORD_LEXICONS = ("nouns", "ambiguous", "adjectives")
#: the lexicons whose hits make the detector run
_WANTED = (*WORD_LEXICONS, "phrases")
#: how far a target may be from the insult word when the playbook does not say
DEFAULT_BEFORE_WINDOW = 5
DEFAULT_AFTER_WINDOW = 2

# Words that may sit between a target and the insult word without changing who it is about:
# copulas, articles, intensifiers, quantities and milder descriptions ("you are all such a
# bunch of idiots", "this bank is run by clowns", "your crew were rude idiots").
LINKING_WORDS = frozenset(
    {
        "are",
        "is",
        "am",
        "was",
        "were",
        "be",
        "been",
        "being",
        "must",
        "can",
        "could",
        "possibly",
        "get",
        "getting",
        "only",
        "any",
        "all",
        "both",
        "full",
        "run",
        "staffed",
        "managed",
        "by",
        "rude",
        "lazy",
        "arrogant",
        "a",
        "an",
        "the",
        "such",
        "so",
        "some",
        "one",
        "of",
        "bunch",
        "pack",
        "load",
        "lot",
        "shower",
        "band",
        "gang",
        "set",
        "just",
        "most",
        "more",
        "biggest",
        "bigger",
        "very",
        "too",
        "quite",
        "pretty",
        "really",
        "truly",
        "totally",
        "total",
        "complete",
        "completely",
        "absolute",
        "absolutely",
        "utter",
        "utterly",
        "entirely",
        "thoroughly",
        "simply",
        "literally",
        "actually",
        "clearly",
        "obviously",
        "honestly",
        "seriously",
        "genuinely",
        "incredibly",
        "ridiculously",
        "beyond",
        "proper",
        "right",
        "real",
        "certified",
        "sheer",
        "whole",
        "little",
        "lying",
        "freaking",
        "frigging",
        "flipping",
        "still",
        "always",
        "officially",
        "even",
        "worst",
        "dumbest",
        "stupidest",
    }
)
# Words that may sit between the insult word and a target after it ("idiots like you").
_AFTER_LINKING = frozenset({"are", "is", "were", "was", "can", "could", "must", "like", "all"})
# A target right after the insult word must end its clause or be followed by one of these
# ("what a moron you are"), so that "it's stupid you can't ..." is not read as an insult.
_COPULAS = frozenset({"are", "is", "were", "was", "must"})
# Words that may share a clause with a name used on its own ("what a bunch of clowns").
_BARE_WORDS = frozenset(
    {
        "what",
        "such",
        "a",
        "an",
        "bunch",
        "of",
        "lot",
        "load",
        "pack",
        "shower",
        "total",
        "absolute",
        "absolutely",
        "complete",
        "completely",
        "utter",
        "utterly",
        "totally",
        "proper",
        "right",
        "real",
        "oh",
        "ugh",
        "honestly",
        "seriously",
        "thank",
        "thanks",
        "just",
        "so",
        "and",
        "or",
        "freaking",
        "frigging",
    }
)
# Clause openers: a negation before one of them does not reach the insult word.
_CLAUSE_OPENERS = frozenset(
    {
        "but",
        "however",
        "although",
        "though",
        "yet",
        "because",
        "and",
        "or",
        "while",
        "if",
        "unless",
        "until",
        "when",
        "since",
        "whereas",
    }
)
# Auxiliaries that turn "not you" into a question rather than a denial ("can't you idiots ...").
_AUXILIARIES = frozenset(
    {"do", "does", "did", "can", "could", "will", "would", "should", "are", "is", "were", "was"}
)
_BREAK_CHARS = frozenset(',.;:!?()[]{}\n–—"“”')
_HARD_BREAK_CHARS = _BREAK_CHARS - {","}
# Targets that mean the reader, as opposed to their colleagues.
_SECOND_PERSON = frozenset({"you", "yourself", "yourselves", "yall"})


def gap_has(view: TextView, a: int, b: int, chars: frozenset[str] = _BREAK_CHARS) -> bool:
    """Whether the text between tokens ``a`` and ``b`` (a < b) holds one of ``chars``."""
    gap = view.text[view.ends[a] : view.starts[b]]
    if len(gap) == 1:  # most words are one space apart
        return gap in chars
    return any(c in chars for c in gap)


def word_tokens(scan: Scan, owner: str = INSULT) -> tuple[set[int], set[int]]:
    """Tokens covered by insult words, and the subset covered by names (nouns and slurs)."""
    words: set[int] = set()
    nouns: set[int] = set()
    for lexicon in WORD_LEXICONS:
        for hit in scan.hits.get(owner, lexicon):
            covered = range(hit.first, hit.last + 1)
            words.update(covered)
            if lexicon in NOUN_LEXICONS:
                nouns.update(covered)
    for hit in scan.hits.get(PROFANITY, "slurs"):
        covered = range(hit.first, hit.last + 1)
        words.update(covered)
        nouns.update(covered)
    return words, nouns


@dataclass
class TargetReading:
    """Who a word in a message is aimed at: the targets found and the clause around a word.

    Shared by the insult detector and the profanity detector (to tell "you f*cking idiot",
    swearing aimed at the reader, from "this f*cking app").
    """

    view: TextView
    #: target hits by their last token (the longest one when several end there)
    by_last: dict[int, Hit]
    #: target hits by their first token (the longest one when several start there)
    by_first: dict[int, Hit]
    #: (first, last) of the targets that are the company rather than people
    company: set[tuple[int, int]]
    #: tokens that may sit inside an insult: insult words and swear words
    loose: set[int]
    before_window: int = DEFAULT_BEFORE_WINDOW
    after_window: int = DEFAULT_AFTER_WINDOW
    #: answers of :meth:`bare` so far, by token, looking back and looking ahead
    _alone_before: dict[int, bool] = field(default_factory=dict, repr=False)
    _alone_after: dict[int, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def read(
        cls,
        scan: Scan,
        loose: set[int],
        owner: str = INSULT,
        before_window: int = DEFAULT_BEFORE_WINDOW,
        after_window: int = DEFAULT_AFTER_WINDOW,
    ) -> TargetReading:
        by_last: dict[int, Hit] = {}
        by_first: dict[int, Hit] = {}
        company: set[tuple[int, int]] = set()
        for lexicon in ("targets", "companies"):
            for hit in scan.hits.get(owner, lexicon):
                if lexicon == "companies":
                    company.add((hit.first, hit.last))
                known = by_last.get(hit.last)
                if known is None or hit.first < known.first:
                    by_last[hit.last] = hit
                known = by_first.get(hit.first)
                if known is None or hit.last > known.last:
                    by_first[hit.first] = hit
        return cls(scan.view, by_last, by_first, company, loose, before_window, after_window)

    def target_before(self, first: int) -> Hit | None:
        """A target before token ``first`` with only linking words in between."""
        view, norms = self.view, self.view.norms
        k = first - 1
        gap = 0
        while k >= 0:
            if gap_has(view, k, k + 1):
                return None
            hit = self.by_last.get(k)
            if hit is not None:
                return hit
            if gap >= self.before_window:
                return None
            norm = norms[k]
            linking = (
                k in self.loose
                or norm in LINKING_WORDS
                or (norm in ("have", "has") and norms[k + 1] == "been")
                # "you're not only useless ...", "you couldn't be more useless"
                or (norm in NEGATORS and self._not_a_denial(k, first))
            )
            if not linking:
                return None
            gap += 1
            k -= 1
        return None

    def target_after(self, last: int) -> Hit | None:
        """A target just after token ``last`` ("what a moron you are", "idiots like you")."""
        view, norms = self.view, self.view.norms
        n = len(norms)
        k = last + 1
        gap = 0
        while k < n:
            if gap_has(view, k - 1, k):
                return None
            hit = self.by_first.get(k)
            if hit is not None:
                end = hit.last + 1
                if gap or (end < n and norms[end] in _COPULAS):
                    return hit
                # "useless idiots, the lot of you" ends the clause; a bare "you" there is more
                # likely the object of a verb ("trying to fool you?")
                clause_ends = end >= n or gap_has(view, hit.last, end)
                return hit if clause_ends and hit.last > hit.first else None
            if gap >= self.after_window or norms[k] not in _AFTER_LINKING:
                return None
            gap += 1
            k += 1
        return None

    def bare(self, first: int, last: int) -> bool:
        """Whether tokens ``first``..``last`` make up their clause alone ("Useless idiots!")."""
        return self._alone(first, -1, self._alone_before) and self._alone(
            last, 1, self._alone_after
        )

    def _alone(self, start: int, step: int, known: dict[int, bool]) -> bool:
        """Whether only loose and bare words follow token ``start`` in direction ``step`` up
        to the end of its clause. Every token walked over gets the same answer, remembered,
        so a clause is walked once however many names it holds."""
        view, norms = self.view, self.view.norms
        walked: list[int] = []
        k = start
        while True:
            answer = known.get(k)
            if answer is not None:
                break
            walked.append(k)
            nxt = k + step
            if not 0 <= nxt < len(norms) or gap_has(view, min(k, nxt), max(k, nxt)):
                answer = True
                break
            if nxt not in self.loose and norms[nxt] not in _BARE_WORDS:
                answer = False
                break
            k = nxt
        for k in walked:
            known[k] = answer
        return answer

    def denied(self, first: int, window: int = 6) -> bool:
        """Whether a negation before token ``first`` denies the insult ("you're not stupid").

        Not a denial: "not only useless but ...", "couldn't be more useless", and questions
        such as "can't you idiots read?" or "can you not be such idiots?".
        """
        view, norms = self.view, self.view.norms
        k = first - 1
        steps = 0
        while k >= 0 and steps < window:
            if gap_has(view, k, k + 1):
                return False
            norm = norms[k]
            if norm in _CLAUSE_OPENERS:
                return False
            if norm in NEGATORS and not self._not_a_denial(k, first):
                return True
            k -= 1
            steps += 1
        return False

    def _not_a_denial(self, k: int, first: int) -> bool:
        norms = self.view.norms
        following = norms[k + 1 : first]
        if following[:1] in (["only"], ["just"]):
            return True
        if "more" in following or "any" in following:
            return True
        if norms[k] != "not" or k == 0:
            return False
        if norms[k - 1] in _AUXILIARIES and k + 1 in self.by_first:
            return True  # "can't you idiots read?"
        target = self.by_last.get(k - 1)
        # "can you not be such idiots": a request, not a denial
        return target is not None and target.first > 0 and norms[target.first - 1] in _AUXILIARIES

    def aimed_at(self, hit: Hit) -> str:
        """Who a target hit means: "you", "the staff" or "the company"."""
        if (hit.first, hit.last) in self.company:
            return "the company"
        if any(n in _SECOND_PERSON for n in self.view.norms[hit.first : hit.last + 1]):
            return "you"
        return "the staff"


@dataclass(frozen=True, slots=True)
class _Word:
    first: int
    last: int
    weight: float
    noun: bool
    phrase: str


class InsultParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: score factor for a name standing alone in its clause, with no target ("Idiots!")
    bare_weight: float = Field(default=0.75, ge=0.0, le=1.0)
    #: how many linking words may sit between the insult word and a target after it
    after_window: int = Field(default=DEFAULT_AFTER_WINDOW, ge=0, le=6)


class InsultDetector(Detector):
    """Name-calling and contempt aimed at the agent, their colleagues or the company.

    Reads its insult words (``nouns``, ``adjectives``, ``ambiguous``, ``phrases``) and its
    targets (``targets`` for people, ``companies`` for the company) from the playbook, plus
    the profanity detector's ``slurs``, which are insults when aimed. A word counts when a
    target is next to it in the same clause, or when a name stands alone; ``context_window``
    is how many linking words may separate a target before the word from the word itself.
    Negated, quoted and third-party uses are ignored, and words in ``ambiguous`` that read
    as a person's name ("Dick") are skipped.

    ``detail["target"]`` says who is insulted: ``"agent"`` (the reader or their colleagues),
    ``"company"``, or ``"none"`` for a name used on its own ("Idiots!").
    """

    name = "insult"
    order: ClassVar[int] = 20
    signal_types = ("insult",)
    lexicon_names = ("targets", "companies", "nouns", "ambiguous", "adjectives", "phrases")
    Params: ClassVar[type[BaseModel] | None] = InsultParams

    def wants(self, scan: Scan) -> bool:
        hits = scan.hits
        return (
            bool(self.patterns)
            or hits.any_of(self.key, _WANTED)
            or hits.any_of(PROFANITY, ("slurs",))
        )

    def triggers(self) -> frozenset[str] | None:
        return None if self.patterns else frozenset({self.key, PROFANITY})

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        params: InsultParams = self.params
        words = self._words(scan)
        found: list[Span] = []
        if words:
            profane = {t for s in scan.found("profanity") for t in view.tokens_in(s.span)}
            loose = profane | {t for w in words for t in range(w.first, w.last + 1)}
            reading = TargetReading.read(
                scan, loose, self.key, self.settings.context_window, params.after_window
            )
            for chain in _chains(view, words, loose):
                signal = self._chain_signal(chain, reading, profane, params)
                if signal is not None:
                    found.append(signal.span)
                    yield signal
        chains = SpanSet(found)
        # In the order they end, a phrase can only overlap the last one reported.
        reported_to = -1
        for hit in sorted(self.hits(scan, "phrases"), key=lambda h: h.last):
            span = view.span_of(hit.first, hit.last)
            if hit.weight < self.threshold or view.quoted(span) or chains.overlaps(span):
                continue
            if span[0] < reported_to:
                continue
            reported_to = span[1]
            yield self.signal(
                "insult",
                span,
                hit.weight,
                f"'{view.slice(span)}' is contempt aimed at you",
                view,
                evidence=(hit.phrase,),
                detail={"target": "agent"},
            )
        yield from self.pattern_signals(scan, "insult", self.settings.explanation or "insult")

    def _words(self, scan: Scan) -> list[_Word]:
        """Insult words in the message, longest first where two overlap, in text order."""
        view = scan.view
        found: list[_Word] = []
        for lexicon in WORD_LEXICONS:
            noun = lexicon in NOUN_LEXICONS
            for hit in self.hits(scan, lexicon):
                if lexicon == "ambiguous" and view.looks_like_name(hit.first, scan.names):
                    continue
                found.append(_Word(hit.first, hit.last, hit.weight, noun, hit.phrase))
        for hit in self.hits(scan, "slurs", owner=PROFANITY):
            found.append(_Word(hit.first, hit.last, hit.weight, True, hit.phrase))
        found.sort(key=lambda w: (w.first, w.first - w.last, -w.weight))
        kept: list[_Word] = []
        for word in found:
            if view.quoted(view.span_of(word.first, word.last)):
                continue  # reported speech: 'the bot said "you are an idiot"'
            if kept and word.first <= kept[-1].last:
                continue
            kept.append(word)
        return kept

    def _chain_signal(
        self,
        chain: Sequence[_Word],
        reading: TargetReading,
        profane: set[int],
        params: InsultParams,
    ) -> Signal | None:
        view = reading.view
        first, last = chain[0].first, chain[-1].last
        if reading.denied(first):
            return None
        top = max(chain, key=lambda w: w.weight)
        target = reading.target_before(first)
        after = False
        if target is None:
            target = reading.target_after(last)
            after = target is not None
        if target is None:
            if not any(w.noun for w in chain) or not reading.bare(first, last):
                return None
            while first > 0 and first - 1 in profane and not gap_has(view, first - 1, first):
                first -= 1  # "f*cking useless idiots": the swearing is part of the name
            factor = params.bare_weight
        else:
            factor = target.weight
        start = (
            view.starts[target.first] if target is not None and not after else view.starts[first]
        )
        end = view.ends[target.last] if target is not None and after else view.ends[last]
        span = (start, end)
        score = top.weight * factor + 0.05 * (len(chain) - 1)
        if any(t in profane for t in view.tokens_in(span)):
            score += 0.05
        if score < self.threshold:
            return None
        word = view.slice(view.span_of(top.first, top.last))
        evidence = [w.phrase for w in chain]
        if target is None:
            who = "none"
            explanation = f"'{word}' used on its own as a name reads as name-calling"
        else:
            aimed = reading.aimed_at(target)
            who = "company" if aimed == "the company" else "agent"
            target_text = view.slice(view.span_of(target.first, target.last))
            kind = "contempt" if who == "company" else "name-calling"
            explanation = f"'{word}' aimed at {aimed} ('{target_text}') reads as {kind}"
            evidence.append(target.phrase)
        return self.signal(
            "insult", span, score, explanation, view, evidence=evidence, detail={"target": who}
        )


def _chains(view: TextView, words: Sequence[_Word], loose: set[int]) -> Iterator[list[_Word]]:
    """Group insult words that run together ("useless, incompetent idiots") into one."""
    chain: list[_Word] = []
    for word in words:
        if chain and _joins(view, chain[-1].last, word.first, loose):
            chain.append(word)
            continue
        if chain:
            yield chain
        chain = [word]
    if chain:
        yield chain


def _joins(view: TextView, last: int, first: int, loose: set[int]) -> bool:
    for k in range(last + 1, first):
        if (
            k not in loose
            and view.norms[k] not in LINKING_WORDS
            and view.norms[k]
            not in (
                "and",
                "or",
            )
        ):
            return False
    return not any(gap_has(view, k, k + 1, _HARD_BREAK_CHARS) for k in range(last, first))
